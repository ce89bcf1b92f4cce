// Sign-in flows against the in-process mock server over real HTTP (libcurl transport).
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "counting_transport.hpp"
#include "freshtoken/mock_server.hpp"
#include "freshtoken/sign_in.hpp"
#include "freshtoken/transport.hpp"
#include "headless_browser.hpp"

namespace freshtoken {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

using testing::CountingTransport;

class SignInMockTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mock::MockServerOptions options;
    options.auto_approve = false;
    server_ = new mock::MockServer(options);
    server_->start();
    mock::MockServerOptions approving;
    approving.auto_approve = true;
    approving_server_ = new mock::MockServer(approving);
    approving_server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete approving_server_;
    server_ = approving_server_ = nullptr;
  }

  void SetUp() override {
    server_->reset();
    approving_server_->reset();
    clear_discovery_cache();
  }
  void TearDown() override {
    if (browser_.joinable()) browser_.join();
  }

  std::shared_ptr<AuthorizationServer> discover(const mock::MockServer& server) {
    auto discovered =
        discover_cached(transport_, server.issuer(),
                        ClientConfig{"freshtoken-demo", Secret(), ClientAuth::none}, clock_);
    EXPECT_TRUE(discovered) << discovered.error().to_string();
    return discovered ? *discovered : nullptr;
  }

  // A headless "browser": follows the authorization server's redirects with a plain HTTP
  // client until one points at the loopback listener, then delivers it there. Asynchronous,
  // like a real browser.
  Result<void> headless_browser(const std::string& url) {
    browser_ = std::thread([this, url] {
      auto page = testing::follow_redirects(url, [this](const std::string& location) {
        std::lock_guard<std::mutex> lock(mutex_);
        redirects_.push_back(location);
        return location;
      });
      std::lock_guard<std::mutex> lock(mutex_);
      if (page) final_page_ = *page;
    });
    return {};
  }

  static mock::MockServer* server_;
  static mock::MockServer* approving_server_;
  std::shared_ptr<CountingTransport> transport_ =
      std::make_shared<CountingTransport>(make_curl_transport());
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::thread browser_;
  std::mutex mutex_;
  std::string final_page_;
  std::vector<std::string> redirects_;
};

mock::MockServer* SignInMockTest::server_ = nullptr;
mock::MockServer* SignInMockTest::approving_server_ = nullptr;

TEST_F(SignInMockTest, BrowserFlowWithAutoApproveReturnsVerifiedTokens) {
  auto as = discover(*approving_server_);
  ASSERT_TRUE(as);
  BrowserSignInOptions options;
  options.scope = "openid profile api";
  options.timeout = milliseconds(20'000);
  options.open_browser = [this](const std::string& url) { return headless_browser(url); };
  auto tokens = sign_in_with_browser(*as, options);
  if (browser_.joinable()) browser_.join();
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_FALSE(tokens->access_token.empty());
  EXPECT_FALSE(tokens->refresh_token.empty());
  ASSERT_FALSE(tokens->id_token.empty());

  ASSERT_EQ(redirects_.size(), 1u);
  EXPECT_EQ(redirects_[0].rfind("http://127.0.0.1:", 0), 0u);
  EXPECT_NE(redirects_[0].find("iss="), std::string::npos) << "the mock sends RFC 9207 iss";
  EXPECT_NE(final_page_.find("Sign-in finished"), std::string::npos) << final_page_;

  // The access token works at the mock's API, and the ID token names alice.
  Request me;
  me.url = approving_server_->issuer() + "/api/me";
  me.headers.set("Authorization", "Bearer " + std::string(tokens->access_token.reveal()));
  auto answer = transport_->send(me);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_NE(answer->body.find("alice"), std::string::npos);
  IdTokenVerifier verifier(*as);
  auto claims = verifier.verify(tokens->id_token);
  ASSERT_TRUE(claims) << claims.error().to_string();
  EXPECT_EQ(claims->subject, "alice");
  EXPECT_EQ(approving_server_->stats().token_requests.authorization_code, 1);
}

TEST_F(SignInMockTest, DiscoveryIsCachedPerIssuer) {
  ASSERT_TRUE(discover(*server_));
  ASSERT_TRUE(discover(*server_));
  ASSERT_TRUE(discover(*approving_server_));
  EXPECT_EQ(transport_->count_containing(server_->issuer() + "/.well-known/"), 1);
  EXPECT_EQ(transport_->count_containing(approving_server_->issuer() + "/.well-known/"), 1);
}

class DeviceSignInMockTest : public SignInMockTest {
 protected:
  void SetUp() override {
    SignInMockTest::SetUp();
    as_ = discover(*server_);
    ASSERT_TRUE(as_);
    options_.scope = "openid profile api";
    options_.on_code = [this](const DeviceAuthorization& a) {
      user_code_ = a.user_code;
      if (on_code_) on_code_(a);
    };
    // Time passes instantly: the SDK's clock by what it asked for, the mock's by `mock_step_`
    // (the same unless a test says otherwise).
    options_.sleep = [this](milliseconds d) {
      sleeps_.push_back(d);
      auto step = mock_step_ ? mock_step_(sleeps_.size(), d) : d;
      server_->advance_clock(std::chrono::duration_cast<seconds>(step));
      clock_->advance(d);
      if (after_sleep_) after_sleep_(sleeps_.size());
    };
  }

  std::shared_ptr<AuthorizationServer> as_;
  DeviceSignInOptions options_;
  std::vector<milliseconds> sleeps_;
  std::string user_code_;
  std::function<void(const DeviceAuthorization&)> on_code_;
  std::function<milliseconds(std::size_t, milliseconds)> mock_step_;
  std::function<void(std::size_t)> after_sleep_;
};

TEST_F(DeviceSignInMockTest, ApprovedWhileWaitingYieldsVerifiedTokens) {
  after_sleep_ = [this](std::size_t n) {
    if (n == 3) server_->approve_device(user_code_);
  };
  auto tokens = sign_in_with_device(*as_, options_);
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_FALSE(tokens->access_token.empty());
  EXPECT_FALSE(tokens->id_token.empty()) << "verified by the flow against the mock's JWKS";
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{seconds(5), seconds(5), seconds(5)}));
  EXPECT_EQ(server_->stats().token_requests.device_code, 3);
}

TEST_F(DeviceSignInMockTest, PollingTooFastEarnsSlowDownAndTheIntervalGrows) {
  // The first two "sleeps" are cut short on the server's clock: the mock sees fast polling.
  mock_step_ = [](std::size_t n, milliseconds d) { return n <= 2 ? milliseconds(seconds(1)) : d; };
  after_sleep_ = [this](std::size_t n) {
    if (n == 3) server_->approve_device(user_code_);
  };
  auto tokens = sign_in_with_device(*as_, options_);
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{seconds(5), seconds(5), seconds(10)}));
}

TEST(DeviceSignInMockIntervalTest, IntervalZeroIsPolledOnceASecondWithoutSlowDown) {
  mock::MockServerOptions no_minimum;
  no_minimum.device_interval = seconds(0);
  mock::MockServer server(no_minimum);
  server.start();
  auto clock = std::make_shared<ManualClock>();
  auto as = AuthorizationServer::discover(
      make_curl_transport(), server.issuer(),
      ClientConfig{"freshtoken-demo", Secret(), ClientAuth::none}, clock);
  ASSERT_TRUE(as) << as.error().to_string();
  DeviceSignInOptions options;
  options.scope = "openid api";
  std::string user_code;
  options.on_code = [&](const DeviceAuthorization& a) {
    EXPECT_EQ(a.interval, seconds(0)) << "the mock says 0 and the SDK keeps it";
    user_code = a.user_code;
  };
  std::vector<milliseconds> sleeps;
  options.sleep = [&](milliseconds d) {
    sleeps.push_back(d);
    clock->advance(d);
    server.advance_clock(std::chrono::duration_cast<seconds>(d));
    if (sleeps.size() == 3) server.approve_device(user_code);
  };
  auto tokens = sign_in_with_device(**as, options);
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_EQ(sleeps, (std::vector<milliseconds>{seconds(1), seconds(1), seconds(1)}));
  EXPECT_EQ(server.stats().token_requests.device_code, 3) << "no slow_down in between";
}

TEST_F(DeviceSignInMockTest, DeniedStopsWithLoginRequired) {
  on_code_ = [this](const DeviceAuthorization& a) { server_->deny_device(a.user_code); };
  auto tokens = sign_in_with_device(*as_, options_);
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::login_required);
  EXPECT_TRUE(tokens.error().is_oauth("access_denied"));
}

TEST_F(DeviceSignInMockTest, ServerSideExpiryStopsWithTimeout) {
  // The server's clock runs ahead of ours: it declares the code expired first.
  mock_step_ = [](std::size_t, milliseconds) { return milliseconds(seconds(601)); };
  auto tokens = sign_in_with_device(*as_, options_);
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::timeout);
  EXPECT_TRUE(tokens.error().is_oauth("expired_token"));
}

TEST_F(DeviceSignInMockTest, LocalExpiryStopsWithTimeout) {
  auto tokens = sign_in_with_device(*as_, options_);  // nobody ever approves
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::timeout);
  EXPECT_EQ(sleeps_.size(), 120u) << "600 s at 5 s";
}

TEST_F(DeviceSignInMockTest, CancelStopsPolling) {
  after_sleep_ = [this](std::size_t n) {
    if (n == 2) options_.cancel.cancel();
  };
  auto tokens = sign_in_with_device(*as_, options_);
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::cancelled);
}

}  // namespace
}  // namespace freshtoken
