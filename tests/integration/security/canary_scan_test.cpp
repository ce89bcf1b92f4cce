// No secret in any output: a whole session life against the mock server — browser sign-in
// (authorization code + PKCE), API calls, refreshes with rotation, a 401 retry, token endpoint
// faults, a confidential client with a wrong and a right secret, a refused plain-http send,
// a lost rotation ending in login_required, sign-out — with every log sink at debug level and
// every Error's to_string() collected. Every token, code and client secret the run saw is then
// looked for in all of it.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "freshtoken/http_client.hpp"
#include "freshtoken/sign_in.hpp"
#include "headless_browser.hpp"
#include "mock_session_fixture.hpp"
#include "stored_tokens.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class CanaryScanTest : public testing::MockServerSessionTest {
 protected:
  CanaryScanTest() {
    server_options_.auto_approve = true;
    server_options_.threads = 16;
    transport_options_.log = sink("transport");
    transport_options_.timeout = 5s;
  }
  void TearDown() override {
    if (browser_.joinable()) browser_.join();
    MockServerSessionTest::TearDown();
  }

  LogSink sink(std::string who) {
    return [this, who](LogLevel level, std::string_view message) {
      std::lock_guard<std::mutex> lock(mutex_);
      output_.push_back(who + " " + std::string(to_string(level)) + ": " + std::string(message));
    };
  }

  void seen(const Error& error) {
    std::lock_guard<std::mutex> lock(mutex_);
    output_.push_back("error: " + error.to_string());
    output_.push_back("message: " + error.message());
    if (error.oauth()) output_.push_back("oauth: " + error.oauth()->description);
  }
  template <class T>
  void seen(const Result<T>& result) {
    if (!result) seen(result.error());
  }

  void canary(const Secret& secret) { canary(std::string(secret.reveal())); }
  void canary(const std::string& value) {
    if (value.empty()) return;
    std::lock_guard<std::mutex> lock(mutex_);
    canaries_.insert(value);
    // A JWT leaked in part is leaked too: its payload and signature are looked for on their
    // own (the header is the same for every token and says nothing).
    const auto first = value.find('.');
    if (first == std::string::npos) return;
    const auto second = value.find('.', first + 1);
    if (second == std::string::npos) return;
    canaries_.insert(value.substr(first + 1, second - first - 1));
    canaries_.insert(value.substr(second + 1));
  }

  // Everything the store holds right now.
  void collect_store() {
    auto loaded = store_->load(service_, account());
    if (!loaded) return;
    auto decoded = detail::decode_stored_tokens(*loaded);
    ASSERT_TRUE(decoded) << decoded.error().to_string();
    canary(decoded->refresh_token);
    canary(decoded->access_token);
    canary(decoded->id_token);
  }

  // Tokens for alice straight from the server, as a sign-in now would hold them, all of them
  // canaries.
  TokenSet canaried_sign_in_tokens() {
    const auto issued = server_->issue_tokens();
    TokenSet t;
    t.access_token = Secret(issued.access_token);
    t.refresh_token = Secret(issued.refresh_token);
    t.expires_at = clock_->now() + 1h;
    canary(t.access_token);
    canary(t.refresh_token);
    canary(issued.id_token);
    return t;
  }

  // A headless browser on its own thread that follows the server's redirects to the loopback
  // listener and remembers every Location (the one to the listener carries the code).
  Result<void> browser(const std::string& url) {
    browser_ = std::thread([this, url] {
      testing::follow_redirects(url, [this](const std::string& location) {
        std::lock_guard<std::mutex> lock(mutex_);
        locations_.push_back(location);
        return location;
      });
    });
    return {};
  }

  std::string code_from_redirects() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& location : locations_) {
      const auto at = location.find("code=");
      if (at == std::string::npos || location.find("127.0.0.1") == std::string::npos) continue;
      const auto end = location.find('&', at);
      return location.substr(at + 5, end == std::string::npos ? end : end - at - 5);
    }
    return {};
  }

  std::thread browser_;

  std::mutex mutex_;
  std::vector<std::string> output_;
  std::vector<std::string> locations_;
  std::set<std::string> canaries_;
};

TEST_F(CanaryScanTest, NoTokenCodeOrClientSecretReachesAnyLogOrErrorMessage) {
  auto as = as_;

  // Browser sign-in: code, PKCE, ID token verification.
  BrowserSignInOptions browser_options;
  browser_options.scope = "openid profile api";
  browser_options.timeout = 20s;
  browser_options.open_browser = [this](const std::string& url) { return browser(url); };
  auto signed_in = sign_in_with_browser(*as, browser_options);
  ASSERT_TRUE(signed_in) << signed_in.error().to_string();
  browser_.join();
  const std::string code = code_from_redirects();
  ASSERT_FALSE(code.empty());
  canary(code);
  canary(signed_in->access_token);
  canary(signed_in->refresh_token);
  canary(signed_in->id_token);
  ASSERT_FALSE(signed_in->id_token.empty());

  RefreshPolicy policy;
  policy.initial_backoff = 1ms;
  policy.max_backoff = 2ms;
  SessionOptions so = session_options(policy);
  so.log = sink("session");
  auto session = Session::create(so).value();
  session
      ->subscribe([this](const SessionEvent& event) {
        if (event.error) seen(*event.error);
      })
      .detach();
  ASSERT_TRUE(session->sign_in(std::move(*signed_in)));
  HttpClientOptions ho;
  ho.log = sink("client");
  HttpClient http(transport_, session, ho);
  const std::string api = server_->issuer() + "/api/me";

  auto call = [&](const std::string& url) {
    auto response = http.get(url);
    seen(response);
    collect_store();
    if (auto token = session->token()) canary(*token);
    return response;
  };

  // Plain use, then a refresh with rotation.
  ASSERT_EQ(call(api)->status, 200);
  clock_->advance(2h);
  ASSERT_EQ(call(api)->status, 200);
  // A 401: the access tokens are revoked server-side; invalidate, refresh, resend.
  server_->revoke_access_tokens();
  ASSERT_EQ(call(server_->issuer() + "/api/echo")->status, 200);
  // Token endpoint faults that are retried, with a query string that must not be logged.
  for (mock::FaultKind kind :
       {mock::FaultKind::status, mock::FaultKind::not_json, mock::FaultKind::drop}) {
    mock::Fault fault;
    fault.kind = kind;
    server_->arm_fault(fault);
  }
  clock_->advance(2h);
  ASSERT_EQ(call(api + "?access_token=x")->status, 200);
  // Faults that outlast the retries: the errors the application sees.
  mock::Fault persistent;
  persistent.kind = mock::FaultKind::status;
  persistent.status = 400;
  persistent.body = R"({"error":"invalid_request","error_description":"bad"})";
  server_->arm_fault(persistent);
  clock_->advance(2h);
  EXPECT_FALSE(call(api));
  // A bearer token refused over plain http off loopback (nothing is sent).
  auto refused = call("http://example.invalid/api");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::config);

  // A confidential client: a wrong secret, then the right one.
  ServerMetadata metadata = *as->metadata();
  for (const char* secret : {"wrong-secret-canary-0123456789", "service-secret"}) {
    canary(std::string(secret));
    AuthorizationServer service(transport_, metadata,
                                ClientConfig{"freshtoken-service", Secret(std::string_view(secret)),
                                             ClientAuth::client_secret_basic},
                                clock_);
    auto granted = service.client_credentials("api");
    seen(granted);
    if (granted) canary(granted->access_token);
  }

  // A lost rotation: login_required, the store erased.
  ASSERT_TRUE(session->sign_in(canaried_sign_in_tokens()));
  mock::Fault lost;
  lost.kind = mock::FaultKind::commit_then_drop;
  server_->arm_fault(lost);
  clock_->advance(2h);
  auto after_lost = call(api);
  ASSERT_FALSE(after_lost);
  EXPECT_EQ(after_lost.error().code(), ErrorCode::login_required);

  // Sign in once more and sign out (revocation).
  ASSERT_TRUE(session->sign_in(canaried_sign_in_tokens()));
  ASSERT_EQ(call(api)->status, 200);
  auto out = session->sign_out();
  seen(out);
  EXPECT_TRUE(out);
  auto gone = session->token();
  ASSERT_FALSE(gone);
  seen(gone);
  session.reset();

  std::lock_guard<std::mutex> lock(mutex_);
  // The scan means something only if the run said a lot, about tokens, by fingerprint.
  ASSERT_GE(canaries_.size(), 20u);
  ASSERT_GE(output_.size(), 30u);
  int fingerprints = 0;
  for (const auto& line : output_) fingerprints += line.find("sha256:") != std::string::npos;
  EXPECT_GE(fingerprints, 5);
  for (const auto& line : output_) {
    EXPECT_EQ(line.find("access_token=x"), std::string::npos) << "query string logged: " << line;
    for (const auto& secret : canaries_) {
      // Never print the secret itself: say which line and its fingerprint.
      EXPECT_EQ(line.find(secret), std::string::npos)
          << "secret " << Secret(std::string_view(secret))
          << " in: " << Secret(std::string_view(line)).fingerprint() << " (line length "
          << line.size() << ")";
    }
  }
}

}  // namespace
}  // namespace freshtoken
