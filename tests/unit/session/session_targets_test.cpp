// One sign-in, many APIs: an access token per TokenTarget (RFC 8707 resource + scope) from the
// one refresh token, with refreshes of the account serialised and single flight per target.
#include <future>
#include <set>
#include <thread>

#include "session_test_support.hpp"
#include "util/encoding.hpp"

namespace freshtoken::testing {
namespace {

const TokenTarget kFiles{"https://files.example/", "files.read"};
const TokenTarget kCalendar{"https://calendar.example/", ""};

// A form field of a request body, decoded (resources are URLs).
std::string decoded_field(const Request& request, const std::string& name) {
  auto fields = util::form_decode_fields(request.body);
  if (!fields) return "(malformed)";
  for (const auto& [key, value] : *fields) {
    if (key == name) return value;
  }
  return "(absent)";
}

// The short name a test token carries for its resource: "files", "calendar" or "default".
std::string short_name(const std::string& resource) {
  if (resource == kFiles.resource) return "files";
  if (resource == kCalendar.resource) return "calendar";
  return "default";
}

class SessionTargetsTest : public SessionTest {
 protected:
  SessionTargetsTest() { serve_per_resource(); }

  // The token endpoint issues at-<resource>-<n> with rt-<n> (no rotation when `rotate` is
  // false), 100 s each; an unknown resource is invalid_target.
  void serve_per_resource(bool rotate = true) {
    transport_->set_handler([this, rotate](const Request& request) -> Result<Response> {
      if (request.url != "https://as.example/token") return json_response(404, "{}");
      const std::string resource = decoded_field(request, "resource");
      if (resource != "(absent)" && resource != kFiles.resource && resource != kCalendar.resource) {
        return oauth_error(400, "invalid_target");
      }
      const int n = ++issued_;
      return token_response("at-" + short_name(resource) + "-" + std::to_string(n),
                            rotate ? "rt-" + std::to_string(n) : "", 100);
    });
  }

  std::shared_ptr<Session> session_with_scope(const std::string& scope) {
    SessionOptions o = options();
    o.scope = scope;
    auto session = Session::create(o).value();
    session->subscribe([this](const SessionEvent& e) { events_.record(e); }).detach();
    EXPECT_TRUE(session->sign_in(tokens(100s)));
    return session;
  }

  std::vector<Request> token_requests_made() const {
    std::vector<Request> out;
    for (const auto& r : transport_->requests()) {
      if (r.url == "https://as.example/token") out.push_back(r);
    }
    return out;
  }

  static std::string token_for(Session& session, const TokenTarget& target) {
    auto token = session.token_for(target);
    return token ? std::string(token->token.reveal()) : "(error) " + token.error().to_string();
  }

  std::optional<detail::StoredTokens> stored() const {
    auto loaded = store_->load("freshtoken", "https://as.example|app|alice");
    if (!loaded) return std::nullopt;
    auto decoded = detail::decode_stored_tokens(*loaded);
    if (!decoded) return std::nullopt;
    return std::move(*decoded);
  }
};

TEST_F(SessionTargetsTest, EachTargetGetsItsOwnTokenFromARefreshNamingItsResourceAndScope) {
  auto session = session_with_scope("api");
  EXPECT_EQ(token_for(*session, kFiles), "at-files-1");
  EXPECT_EQ(token_for(*session, kCalendar), "at-calendar-2");
  // Served again without refreshing, and the default target's token is untouched.
  EXPECT_EQ(token_for(*session, kFiles), "at-files-1");
  EXPECT_EQ(token_of(*session), "at-0");

  const auto requests = token_requests_made();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(decoded_field(requests[0], "resource"), kFiles.resource);
  EXPECT_EQ(decoded_field(requests[0], "scope"), "files.read");
  EXPECT_EQ(decoded_field(requests[0], "refresh_token"), "rt-0");
  // An empty scope is SessionOptions::scope; the rotated refresh token serves every target.
  EXPECT_EQ(decoded_field(requests[1], "resource"), kCalendar.resource);
  EXPECT_EQ(decoded_field(requests[1], "scope"), "api");
  EXPECT_EQ(decoded_field(requests[1], "refresh_token"), "rt-1");

  const auto record = stored();
  ASSERT_TRUE(record);
  EXPECT_EQ(record->refresh_token.reveal(), "rt-2");
  EXPECT_EQ(record->access_token.reveal(), "at-0");  // the default target's, top level
  ASSERT_EQ(record->targets.size(), 2u);
  auto status = session->status();
  ASSERT_TRUE(status);
  ASSERT_EQ(status->targets.size(), 2u);
  EXPECT_EQ(status->targets[0].target, kFiles);
  EXPECT_EQ(status->targets[1].target, (TokenTarget{kCalendar.resource, "api"}));
  EXPECT_EQ(status->targets[0].expires_at, kStart + 100s);
}

TEST_F(SessionTargetsTest, TheDefaultTargetSpelledOutIsTheDefaultToken) {
  auto session = session_with_scope("api");
  EXPECT_EQ(token_for(*session, TokenTarget{"", "api"}), "at-0");
  EXPECT_EQ(token_for(*session, TokenTarget{}), "at-0");
  EXPECT_EQ(token_requests(), 0u);
}

TEST_F(SessionTargetsTest, ManyThreadsOnTwoTargetsGetOneRefreshPerTargetNeverTwoAtOnce) {
  constexpr int kThreads = 32;
  std::atomic<int> arrived{0};
  std::atomic<int> in_flight{0};
  std::atomic<bool> overlapped{false};
  std::mutex presented_mutex;
  std::multiset<std::string> presented;
  transport_->set_handler([&](const Request& request) -> Result<Response> {
    if (++in_flight > 1) overlapped = true;
    {
      std::lock_guard<std::mutex> lock(presented_mutex);
      presented.insert(decoded_field(request, "refresh_token"));
    }
    // Hold the first refresh until every thread has asked (bounded: a bug fails, not hangs).
    for (int i = 0; i < 20000 && arrived.load() < kThreads; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    const int n = ++issued_;
    const std::string resource = decoded_field(request, "resource");
    --in_flight;
    return token_response("at-" + short_name(resource) + "-" + std::to_string(n),
                          "rt-" + std::to_string(n), 100);
  });
  auto session = signed_in_session(100s);

  Gate start;
  std::vector<std::future<std::pair<bool, std::string>>> results;
  for (int i = 0; i < kThreads; ++i) {
    const TokenTarget target = i % 2 == 0 ? kFiles : kCalendar;
    results.push_back(std::async(std::launch::async, [&, target] {
      start.wait();
      ++arrived;
      return std::make_pair(target == kFiles, token_for(*session, target));
    }));
  }
  start.open();
  std::set<std::string> files_tokens;
  std::set<std::string> calendar_tokens;
  for (auto& f : results) {
    auto [files, token] = f.get();
    (files ? files_tokens : calendar_tokens).insert(token);
  }
  ASSERT_EQ(files_tokens.size(), 1u);
  ASSERT_EQ(calendar_tokens.size(), 1u);
  EXPECT_EQ(files_tokens.begin()->rfind("at-files-", 0), 0u) << *files_tokens.begin();
  EXPECT_EQ(calendar_tokens.begin()->rfind("at-calendar-", 0), 0u) << *calendar_tokens.begin();
  EXPECT_EQ(token_requests(), 2u);
  EXPECT_FALSE(overlapped) << "two refreshes of one account were in flight at once";
  EXPECT_EQ(presented, (std::multiset<std::string>{"rt-0", "rt-1"}))
      << "a refresh token was presented twice, or a rotated one was not used";
  EXPECT_EQ(stored_refresh_token(), "rt-2");
}

TEST_F(SessionTargetsTest, ACallerWhoseTargetTokenIsValidDoesNotWaitForAnotherTargetsRefresh) {
  auto session = signed_in_session(100s);
  ASSERT_EQ(token_for(*session, kFiles), "at-files-1");
  Gate entered;
  Gate release;
  transport_->set_handler([&](const Request&) -> Result<Response> {
    entered.open();
    release.wait();
    return token_response("at-calendar-2", "rt-2", 100);
  });
  auto calendar = std::async(std::launch::async, [&] { return token_for(*session, kCalendar); });
  ASSERT_TRUE(entered.wait_for_a_long_time());
  auto files = std::async(std::launch::async, [&] { return token_for(*session, kFiles); });
  auto fallback = std::async(std::launch::async, [&] { return token_of(*session); });
  ASSERT_EQ(files.wait_for(20s), std::future_status::ready) << "a valid-token caller waited";
  ASSERT_EQ(fallback.wait_for(20s), std::future_status::ready) << "a valid-token caller waited";
  EXPECT_EQ(files.get(), "at-files-1");
  EXPECT_EQ(fallback.get(), "at-0");
  release.open();
  EXPECT_EQ(calendar.get(), "at-calendar-2");
}

TEST_F(SessionTargetsTest, AnotherSessionsTargetTokenIsAdoptedFromTheStoreInsteadOfRefreshing) {
  for (const bool rotate : {true, false}) {
    SCOPED_TRACE(rotate ? "rotating" : "not rotating");
    serve_per_resource(rotate);
    issued_ = 0;
    auto first = signed_in_session(100s);
    auto second = make_session();          // another process, same store
    ASSERT_EQ(token_of(*second), "at-0");  // loaded before the first got its files token
    const std::size_t before = token_requests();
    ASSERT_EQ(token_for(*first, kFiles), "at-files-1");
    // The second has no files token: its re-read before refreshing finds the first's.
    EXPECT_EQ(token_for(*second, kFiles), "at-files-1");
    EXPECT_EQ(token_requests(), before + 1);
    // And its next save keeps the first's token in the record.
    ASSERT_EQ(token_for(*second, kCalendar), "at-calendar-2");
    const auto record = stored();
    ASSERT_TRUE(record);
    EXPECT_EQ(record->targets.size(), 2u);
  }
}

TEST_F(SessionTargetsTest, StepUpServesTheNewTokenAndKeepsTheOtherTargets) {
  auto session = signed_in_session(100s);
  ASSERT_EQ(token_for(*session, kFiles), "at-files-1");
  TokenSet more = tokens(300s, "at-more", "rt-more");
  more.scope = "api admin";
  ASSERT_TRUE(session->step_up(std::move(more)));
  EXPECT_EQ(token_of(*session), "at-more");
  EXPECT_EQ(token_for(*session, kFiles), "at-files-1");
  EXPECT_EQ(token_requests(), 1u);
  const auto record = stored();
  ASSERT_TRUE(record);
  EXPECT_EQ(record->refresh_token.reveal(), "rt-more");
  EXPECT_EQ(record->scope, "api admin");
  ASSERT_EQ(record->targets.size(), 1u);
  EXPECT_EQ(record->targets[0].access_token.reveal(), "at-files-1");
  // The next refresh spends the step-up's refresh token.
  session->invalidate(Secret(std::string("at-files-1")));
  EXPECT_EQ(token_for(*session, kFiles), "at-files-2");
  EXPECT_EQ(refresh_token_sent(1), "rt-more");
}

TEST_F(SessionTargetsTest, StepUpForATargetReplacesOnlyThatTargetsToken) {
  auto session = signed_in_session(100s);
  ASSERT_EQ(token_for(*session, kFiles), "at-files-1");
  ASSERT_EQ(token_for(*session, kCalendar), "at-calendar-2");
  ASSERT_TRUE(session->step_up(tokens(300s, "at-files-admin", "rt-more"), kFiles));
  EXPECT_EQ(token_for(*session, kFiles), "at-files-admin");
  EXPECT_EQ(token_for(*session, kCalendar), "at-calendar-2");
  EXPECT_EQ(token_of(*session), "at-0");
  EXPECT_EQ(token_requests(), 2u);
}

TEST_F(SessionTargetsTest, SignInDropsEveryOtherTargetsToken) {
  auto session = signed_in_session(100s);
  ASSERT_EQ(token_for(*session, kFiles), "at-files-1");
  ASSERT_TRUE(session->sign_in(tokens(100s, "at-new", "rt-new")));
  EXPECT_EQ(token_for(*session, kFiles), "at-files-2");
  EXPECT_EQ(refresh_token_sent(1), "rt-new");
}

TEST_F(SessionTargetsTest, SignInForATargetServesItsTokenThereAndRefreshesTheDefault) {
  auto session = make_session();
  ASSERT_TRUE(session->sign_in(tokens(100s, "at-files-0", "rt-0"), kFiles));
  EXPECT_EQ(token_for(*session, kFiles), "at-files-0");
  EXPECT_EQ(token_requests(), 0u);
  EXPECT_EQ(token_of(*session), "at-default-1");
  EXPECT_EQ(decoded_field(token_requests_made()[0], "resource"), "(absent)");
}

TEST_F(SessionTargetsTest, InvalidatingATargetTokenRefreshesThatTargetAlone) {
  auto session = signed_in_session(100s);
  ASSERT_EQ(token_for(*session, kFiles), "at-files-1");
  ASSERT_EQ(token_for(*session, kCalendar), "at-calendar-2");
  session->invalidate(Secret(std::string("at-files-1")));
  EXPECT_EQ(token_for(*session, kCalendar), "at-calendar-2");
  EXPECT_EQ(token_of(*session), "at-0");
  EXPECT_EQ(token_requests(), 2u);
  EXPECT_EQ(token_for(*session, kFiles), "at-files-3");
  EXPECT_EQ(decoded_field(token_requests_made()[2], "resource"), kFiles.resource);
  EXPECT_EQ(token_requests(), 3u);
}

TEST_F(SessionTargetsTest, AnExpiredTargetTokenIsRefreshedOnDemand) {
  auto session = signed_in_session(1000s);
  ASSERT_EQ(token_for(*session, kFiles), "at-files-1");
  clock_->advance(95s);  // inside the files token's hard margin (10 s of 100 s)
  EXPECT_EQ(token_for(*session, kFiles), "at-files-2");
  EXPECT_EQ(token_of(*session), "at-0");
}

TEST_F(SessionTargetsTest, InvalidTargetFailsThatTargetAndErasesNothing) {
  auto session = signed_in_session(100s);
  auto token = session->token_for(TokenTarget{"https://unknown.example/", ""});
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::token_endpoint);
  EXPECT_TRUE(token.error().is_oauth("invalid_target"));
  EXPECT_EQ(stored_refresh_token(), "rt-0");
  EXPECT_EQ(events_.count(SessionEventKind::login_required), 0u);
  EXPECT_EQ(token_of(*session), "at-0");
  EXPECT_EQ(token_for(*session, kFiles), "at-files-1");
}

TEST_F(SessionTargetsTest, ARecordWithoutTargetsServesTheDefaultAndGainsTargetsBesideIt) {
  store_record("at-stored", "rt-stored", kStart + 100s);  // as an earlier version wrote it
  auto session = make_session();
  EXPECT_EQ(token_of(*session), "at-stored");
  EXPECT_TRUE(session->status()->targets.empty());
  EXPECT_EQ(token_for(*session, kFiles), "at-files-1");
  const auto record = stored();
  ASSERT_TRUE(record);
  // The default target's token stays in the top-level fields older readers use.
  EXPECT_EQ(record->access_token.reveal(), "at-stored");
  EXPECT_EQ(record->expires_at, kStart + 100s);
  EXPECT_EQ(record->refresh_token.reveal(), "rt-1");
}

TEST_F(SessionTargetsTest, ARecordWithMalformedTargetsIsAStorageErrorAndIsNotErased) {
  const std::string document =
      R"({"v":1,"refresh_token":"rt-0","access_token":"at-0","targets":{"resource":"x"}})";
  ASSERT_TRUE(store_->save("freshtoken", "https://as.example|app|alice", Secret(document)));
  auto session = make_session();
  auto token = session->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::storage);
  auto loaded = store_->load("freshtoken", "https://as.example|app|alice");
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->reveal(), document);
  EXPECT_EQ(token_requests(), 0u);
}

}  // namespace
}  // namespace freshtoken::testing
