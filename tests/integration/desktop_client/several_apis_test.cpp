// One sign-in, two APIs (#22): DesktopClient against the in-process mock server, whose /api (on
// the issuer's port) and /files (on a port of its own) each accept only tokens minted for
// their own resource. Many threads of one process on both APIs; a token presented to the
// other API; the origin list and redirects; step-up after insufficient_scope.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "freshtoken/mock_server.hpp"
#include "freshtoken/platform/desktop_client.hpp"
#include "freshtoken/platform/secret_stores.hpp"
#include "temp_dir.hpp"
#include "test_servers.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;

// Sets an environment variable for the life of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// "http://127.0.0.1:43122" of "http://127.0.0.1:43122/files".
std::string origin_of(const std::string& url) {
  return url.substr(0, url.find('/', url.find("://") + 3));
}

// What a local server saw in the Authorization headers of its requests ("" when absent).
struct Seen {
  std::mutex mutex;
  std::vector<std::string> authorization;
  void record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mutex);
    authorization.push_back(req.get_header_value("Authorization"));
  }
  std::vector<std::string> all() {
    std::lock_guard<std::mutex> lock(mutex);
    return authorization;
  }
};

class SeveralApisTest : public ::testing::Test {
 protected:
  void SetUp() override { start(std::chrono::seconds(3600)); }
  void TearDown() override { server_->stop(); }

  void start(std::chrono::seconds ttl) {
    if (server_) server_->stop();
    mock::MockServerOptions o;
    o.auto_approve = true;  // the authorization endpoint redirects at once, as alice
    o.access_token_ttl = ttl;
    o.rotation = true;
    o.reuse_grace = std::chrono::seconds(0);
    server_ = std::make_unique<mock::MockServer>(o);
    server_->start();
    clear_discovery_cache();
    const auto resources = server_->resources();
    ASSERT_EQ(resources.size(), 2u);
    api_ = TokenTarget{resources[0].resource, ""};
    files_ = TokenTarget{resources[1].resource, ""};
    api_url_ = resources[0].base_url;
    files_url_ = resources[1].base_url;
    ASSERT_NE(origin_of(api_url_), origin_of(files_url_));
    // The headless "browser": notes the authorization URL, then follows the redirects to the
    // loopback listener like a user who is already signed in at the server.
    browser_ = dir_.path() / "browser";
    authorize_log_ = dir_.path() / "authorize.log";
    std::ofstream(browser_) << "#!/bin/sh\necho \"$1\" >>'" << authorize_log_.string()
                            << "'\nexec curl -sSL -o /dev/null \"$1\"\n";
    std::filesystem::permissions(browser_, std::filesystem::perms::owner_all);
  }

  DesktopClientOptions options() const {
    DesktopClientOptions o;
    o.issuer = server_->issuer();
    o.client_id = "freshtoken-demo";
    o.scope = "openid profile api";
    o.service = "several-apis-test";
    o.store = store_;
    o.browser.timeout = std::chrono::seconds(20);
    o.http.apis = {{origin_of(api_url_), api_}, {origin_of(files_url_), files_}};
    return o;
  }

  std::shared_ptr<DesktopClient> make_client(DesktopClientOptions o) const {
    auto app = DesktopClient::create(std::move(o));
    if (!app) ADD_FAILURE() << app.error().to_string();
    return app ? *app : nullptr;
  }

  mock::ResourceCounts counts(const TokenTarget& target) const {
    const auto stats = server_->stats();
    const auto found = stats.resources.find(target.resource);
    return found == stats.resources.end() ? mock::ResourceCounts{} : found->second;
  }

  std::vector<std::string> authorize_urls() const {
    std::ifstream in(authorize_log_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // GET <url> with `token` by hand: the status, -1 when the exchange failed.
  static int status_with(const std::string& url, const Secret& token) {
    Request request("GET", url);
    request.headers.set("Authorization", "Bearer " + std::string(token.reveal()));
    auto response = make_curl_transport()->send(request);
    return response ? response->status : -1;
  }

  testing::TempDir dir_;
  std::filesystem::path browser_;
  std::filesystem::path authorize_log_;
  std::shared_ptr<SecretStore> store_ = make_file_store(dir_.path() / "store");
  std::unique_ptr<mock::MockServer> server_;
  TokenTarget api_;
  TokenTarget files_;
  std::string api_url_;
  std::string files_url_;
};

TEST_F(SeveralApisTest, TheSignInNamesEveryListedResourceAndEachApiGetsItsOwnToken) {
  ScopedEnv browser("BROWSER", browser_.string());
  auto app = make_client(options());
  ASSERT_TRUE(app);
  auto me = app->get(api_url_ + "/me");
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->status, 200) << me->body;
  auto files = app->get(files_url_ + "/me");
  ASSERT_TRUE(files) << files.error().to_string();
  EXPECT_EQ(files->status, 200) << files->body;
  EXPECT_NE(files->body.find(files_.resource), std::string::npos) << files->body;

  const auto urls = authorize_urls();
  ASSERT_EQ(urls.size(), 1u) << "one sign-in for both APIs";
  // Percent-encoded as a query value: ':' and '/' are escaped.
  for (const auto& resource : {api_.resource, files_.resource}) {
    std::string encoded;
    for (char c : resource) {
      if (c == ':') {
        encoded += "%3A";
      } else if (c == '/') {
        encoded += "%2F";
      } else {
        encoded += c;
      }
    }
    EXPECT_NE(urls[0].find("resource=" + encoded), std::string::npos) << urls[0];
  }
  EXPECT_EQ(counts(api_).api_401, 0);
  EXPECT_EQ(counts(files_).api_401, 0);
}

TEST_F(SeveralApisTest, ATokenForOneApiPresentedToTheOtherIsRefused) {
  ScopedEnv browser("BROWSER", browser_.string());
  auto app = make_client(options());
  ASSERT_TRUE(app);
  auto api_token = app->token(api_);
  ASSERT_TRUE(api_token) << api_token.error().to_string();
  auto files_token = app->token(files_);
  ASSERT_TRUE(files_token) << files_token.error().to_string();
  EXPECT_TRUE(api_token->reveal() != files_token->reveal()) << "a token per API";

  EXPECT_EQ(status_with(api_url_ + "/me", *api_token), 200);
  EXPECT_EQ(status_with(files_url_ + "/me", *files_token), 200);
  EXPECT_EQ(status_with(files_url_ + "/me", *api_token), 401);
  EXPECT_EQ(status_with(api_url_ + "/me", *files_token), 401);
}

TEST_F(SeveralApisTest, ManyThreadsOnBothApisRefreshEachResourceAboutOncePerLifetime) {
  start(std::chrono::seconds(2));
  ScopedEnv browser("BROWSER", browser_.string());
  auto app = make_client(options());
  ASSERT_TRUE(app);
  ASSERT_TRUE(app->sign_in());
  const auto api_before = counts(api_).refresh_requests;
  const auto files_before = counts(files_).refresh_requests;

  constexpr int kThreads = 8;
  constexpr int kRequests = 60;  // 40 ms apart: about 2.4 s, more than one lifetime
  std::atomic<int> ok{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  const auto start_time = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequests; ++i) {
        if (i > 0) std::this_thread::sleep_for(40ms);
        const auto& base = (i + t) % 2 == 0 ? api_url_ : files_url_;
        auto response = app->get(base + "/me");
        if (response && response->status == 200) {
          ++ok;
          continue;
        }
        std::lock_guard<std::mutex> lock(failures_mutex);
        failures.push_back(response ? std::to_string(response->status) + " " + response->body
                                    : response.error().to_string());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();

  EXPECT_EQ(ok.load(), kThreads * kRequests);
  for (const auto& failure : failures) ADD_FAILURE() << failure;
  const auto stats = server_->stats();
  EXPECT_EQ(stats.refresh_reuse_detected, 0);
  EXPECT_EQ(stats.families_revoked, 0);
  // One process, one single-flight refresh per token: a refresh per soft point (80% of the
  // lifetime) for each resource, one more for the lifetime in flight at the end; 8 threads
  // without single-flight would make several per point.
  const int points = static_cast<int>(std::ceil(seconds / (0.8 * 2))) + 1;
  const auto api_refreshes = counts(api_).refresh_requests - api_before;
  const auto files_refreshes = counts(files_).refresh_requests - files_before;
  EXPECT_GE(api_refreshes, 1);
  EXPECT_LE(api_refreshes, points);
  // The sign-in's own token is for the first API: /files got its first one by refresh.
  EXPECT_GE(files_refreshes, 2);
  EXPECT_LE(files_refreshes, points + 1);
  std::cout << "[ measured ] " << kThreads << " threads x " << kRequests << " requests in "
            << seconds << " s: refreshes api=" << api_refreshes << " files=" << files_refreshes
            << " (bound " << points << ")" << std::endl;
}

TEST_F(SeveralApisTest, UnlistedOriginsAndRedirectsToOtherOriginsGetNoToken) {
  ScopedEnv browser("BROWSER", browser_.string());
  // An unlisted server, and a listed one (routed to /api's token) that redirects to it and to
  // /files, another listed origin.
  Seen unlisted_seen;
  testing::TestHttpServer unlisted;
  unlisted.server().Get("/.*", [&](const httplib::Request& req, httplib::Response& res) {
    unlisted_seen.record(req);
    res.set_content("{}", "application/json");
  });
  unlisted.start();
  Seen listed_seen;
  testing::TestHttpServer listed;
  listed.server().Get("/to-unlisted", [&](const httplib::Request& req, httplib::Response& res) {
    listed_seen.record(req);
    res.set_redirect(unlisted.url("/landing"), 302);
  });
  listed.server().Get("/to-files", [&](const httplib::Request& req, httplib::Response& res) {
    listed_seen.record(req);
    res.set_redirect(files_url_ + "/me", 302);
  });
  listed.start();

  auto o = options();
  o.http.apis.push_back({origin_of(listed.url("/")), api_});
  auto app = make_client(o);
  ASSERT_TRUE(app);
  ASSERT_TRUE(app->sign_in());

  auto direct = app->get(unlisted.url("/direct"));
  ASSERT_TRUE(direct) << direct.error().to_string();
  auto via_redirect = app->get(listed.url("/to-unlisted"));
  ASSERT_TRUE(via_redirect) << via_redirect.error().to_string();
  EXPECT_EQ(via_redirect->status, 200);
  const auto files_401_before = counts(files_).api_401;
  auto to_files = app->get(listed.url("/to-files"));
  ASSERT_TRUE(to_files) << to_files.error().to_string();
  // /files was reached without a token: the first API's token never follows a redirect there.
  EXPECT_EQ(to_files->status, 401) << to_files->body;
  EXPECT_EQ(counts(files_).api_401, files_401_before + 1);

  const auto unlisted_auth = unlisted_seen.all();
  ASSERT_EQ(unlisted_auth.size(), 2u);
  for (const auto& authorization : unlisted_auth) {
    EXPECT_TRUE(authorization.empty()) << "an Authorization header reached an unlisted origin";
  }
  const auto listed_auth = listed_seen.all();
  ASSERT_EQ(listed_auth.size(), 2u);
  for (const auto& authorization : listed_auth) {
    EXPECT_EQ(authorization.rfind("Bearer ", 0), 0u) << "the listed origin gets its token";
  }
}

TEST_F(SeveralApisTest, StepUpAfterInsufficientScopeGetsTheScopeAndKeepsTheOtherApisToken) {
  ScopedEnv browser("BROWSER", browser_.string());
  auto app = make_client(options());
  ASSERT_TRUE(app);
  auto files = app->get(files_url_ + "/me");
  ASSERT_TRUE(files && files->status == 200);
  auto files_token = app->token(files_);
  ASSERT_TRUE(files_token) << files_token.error().to_string();
  const auto files_token_requests = counts(files_).token_requests;

  // /api/admin wants the admin scope, which the sign-in did not ask for.
  auto admin = app->get(api_url_ + "/admin");
  ASSERT_FALSE(admin) << admin->status << " " << admin->body;
  ASSERT_EQ(admin.error().code(), ErrorCode::insufficient_scope) << admin.error().to_string();
  ASSERT_TRUE(admin.error().oauth());
  EXPECT_EQ(admin.error().oauth()->scope, "admin");
  EXPECT_EQ(admin.error().http_status(), 403);

  auto stepped_up = app->step_up(api_, admin.error().oauth()->scope);
  ASSERT_TRUE(stepped_up) << stepped_up.error().to_string();
  const auto urls = authorize_urls();
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_NE(urls[1].find("admin"), std::string::npos) << urls[1];

  auto again = app->get(api_url_ + "/admin");
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->status, 200) << again->body;

  // /files keeps its token: no new token request for it, and the same token is served.
  auto files_again = app->get(files_url_ + "/me");
  ASSERT_TRUE(files_again) << files_again.error().to_string();
  EXPECT_EQ(files_again->status, 200);
  EXPECT_EQ(counts(files_).token_requests, files_token_requests);
  auto files_token_after = app->token(files_);
  ASSERT_TRUE(files_token_after);
  // (Compared without printing them: test output carries no token.)
  EXPECT_TRUE(files_token_after->reveal() == files_token->reveal()) << "the same token is served";
}

}  // namespace
}  // namespace freshtoken
