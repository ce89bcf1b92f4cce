// DesktopClient with a scripted transport and a memory store: when it signs in (and when not),
// the defaults it derives, and that every part stays reachable.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "fake_transport.hpp"
#include "freshtoken/platform/desktop_client.hpp"
#include "freshtoken/platform/secret_stores.hpp"

namespace freshtoken {
namespace {

using testing::FakeTransport;
using testing::json_response;

const std::string kIssuer = "https://as.example";
const std::string kApi = "https://api.example/me";

// A store that cannot be read, as a locked keyring.
class LockedStore : public SecretStore {
 public:
  Result<Secret> load(const std::string&, const std::string&) override {
    return Error(ErrorCode::storage_unavailable, "locked");
  }
  Result<void> save(const std::string&, const std::string&, const Secret&) override {
    return Error(ErrorCode::storage_unavailable, "locked");
  }
  Result<void> erase(const std::string&, const std::string&) override {
    return Error(ErrorCode::storage_unavailable, "locked");
  }
  std::string describe() const override { return "locked"; }
};

class DesktopClientTest : public ::testing::Test {
 protected:
  DesktopClientTest() {
    clear_discovery_cache();
    transport_->set_handler([this](const Request& r) { return answer(r); });
  }

  // The server: discovery, device authorization granted at the first poll, refresh per
  // refresh_answer_, and an API that accepts the newest access token only.
  Result<Response> answer(const Request& r) {
    if (as_offline_ && r.url.rfind(kIssuer + "/", 0) == 0) {
      return Error(ErrorCode::network, "the authorization server is unreachable");
    }
    if (r.url == kIssuer + "/.well-known/openid-configuration") {
      ++discoveries_;
      return json_response(200, "{\"issuer\":\"" + kIssuer + "\",\"token_endpoint\":\"" + kIssuer +
                                    "/token\",\"device_authorization_endpoint\":\"" + kIssuer +
                                    "/device\",\"authorization_endpoint\":\"" + kIssuer +
                                    "/authorize\"}");
    }
    if (r.url == kIssuer + "/device") {
      ++device_authorizations_;
      return json_response(200,
                           "{\"device_code\":\"DC\",\"user_code\":\"WDJB-MJHT\","
                           "\"verification_uri\":\"https://as.example/activate\","
                           "\"expires_in\":600,\"interval\":1}");
    }
    if (r.url == kIssuer + "/token") {
      if (r.body.find("grant_type=refresh_token") != std::string::npos) {
        ++refreshes_;
        if (reject_refresh_) return json_response(400, "{\"error\":\"invalid_grant\"}");
      }
      const auto n = std::to_string(++issued_);
      current_token_ = "AT" + n;
      return json_response(200, "{\"access_token\":\"AT" + n +
                                    "\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
                                    "\"refresh_token\":\"RT" +
                                    n + "\"}");
    }
    if (r.url == kApi) {
      ++api_calls_;
      if (r.headers.get("Authorization") == "Bearer " + current_token_) {
        return json_response(200, "{\"sub\":\"alice\"}");
      }
      Response refused = json_response(401, "");
      refused.headers.set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      return refused;
    }
    return Error(ErrorCode::network, "unexpected URL");
  }

  DesktopClientOptions options() {
    DesktopClientOptions o;
    o.issuer = kIssuer;
    o.client_id = "desktop-app";
    o.scope = "openid api offline_access";
    o.service = "my-app";
    o.transport = transport_;
    o.store = store_;
    o.sign_in_method = SignInMethod::device;
    o.device.on_code = [this](const DeviceAuthorization&) { ++codes_shown_; };
    o.device.sleep = [](std::chrono::milliseconds) {};
    // The browser is never the one asked for here: opening it is a failure.
    o.browser.open_browser = [this](const std::string&) -> Result<void> {
      ++browsers_opened_;
      return Error(ErrorCode::config, "no browser in this test");
    };
    return o;
  }

  std::shared_ptr<DesktopClient> create(DesktopClientOptions o) {
    auto app = DesktopClient::create(std::move(o));
    EXPECT_TRUE(app) << app.error().to_string();
    return app ? *app : nullptr;
  }

  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::shared_ptr<SecretStore> store_ = make_memory_store();
  std::atomic<int> discoveries_{0}, device_authorizations_{0}, refreshes_{0}, issued_{0},
      api_calls_{0}, codes_shown_{0}, browsers_opened_{0};
  std::string current_token_;  // written by the handler only, under the transport's calls
  bool reject_refresh_ = false;
  std::atomic<bool> as_offline_{false};  // every request to the authorization server fails
};

TEST_F(DesktopClientTest, CreateRefusesAnEmptyIssuerOrClientId) {
  auto o = options();
  o.issuer.clear();
  auto app = DesktopClient::create(o);
  ASSERT_FALSE(app);
  EXPECT_EQ(app.error().code(), ErrorCode::config);

  o = options();
  o.client_id.clear();
  app = DesktopClient::create(o);
  ASSERT_FALSE(app);
  EXPECT_EQ(app.error().code(), ErrorCode::config);
  EXPECT_EQ(transport_->request_count(), 0u);
}

TEST_F(DesktopClientTest, CreateRefusesTheDeviceSignInWithoutACodeCallback) {
  auto o = options();
  o.device.on_code = nullptr;
  auto app = DesktopClient::create(o);
  ASSERT_FALSE(app);
  EXPECT_EQ(app.error().code(), ErrorCode::config);
}

TEST_F(DesktopClientTest, CreateSendsNothingAndTheServerIsDiscoveredWhenFirstNeeded) {
  auto app = create(options());
  ASSERT_TRUE(app);
  EXPECT_EQ(transport_->request_count(), 0u);
  EXPECT_FALSE(app->server()->has_metadata());
  EXPECT_EQ(app->server()->metadata()->token_endpoint, kIssuer + "/token");
  EXPECT_EQ(discoveries_, 1);
  EXPECT_EQ(app->server()->client().client_id, "desktop-app");
  EXPECT_EQ(app->server()->client().auth, ClientAuth::none);
  EXPECT_EQ(app->transport(), transport_);
  EXPECT_EQ(app->store(), store_);
  EXPECT_EQ(device_authorizations_, 0);
}

TEST_F(DesktopClientTest, GetSignsInWhenNothingIsStoredThenCallsTheApi) {
  auto app = create(options());
  ASSERT_TRUE(app);
  auto me = app->get(kApi);
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->status, 200);
  EXPECT_EQ(codes_shown_, 1);
  EXPECT_EQ(browsers_opened_, 0);
  auto status = app->status();
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->signed_in);
}

TEST_F(DesktopClientTest, TheHelpersTimeoutReachesTheRequest) {
  auto app = create(options());
  ASSERT_TRUE(app);
  ASSERT_TRUE(app->sign_in());
  ASSERT_TRUE(app->get(kApi, {}, std::chrono::milliseconds(1234)));
  ASSERT_TRUE(app->post(kApi, "{}", "application/json", {}, std::chrono::milliseconds(4321)));
  auto sent = transport_->requests();
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent[sent.size() - 2].timeout, std::chrono::milliseconds(1234));
  EXPECT_EQ(sent.back().timeout, std::chrono::milliseconds(4321));
}

TEST_F(DesktopClientTest, KeepsTheSignInUnderTheServiceAndAnAccountOfIssuerAndClientId) {
  auto app = create(options());
  ASSERT_TRUE(app);
  ASSERT_TRUE(app->sign_in());
  EXPECT_TRUE(store_->load("my-app", kIssuer + "|desktop-app"));

  auto o = options();
  o.account = "alice@" + kIssuer;
  auto other = create(o);
  ASSERT_TRUE(other);
  ASSERT_TRUE(other->sign_in());
  EXPECT_TRUE(store_->load("my-app", "alice@" + kIssuer));
}

TEST_F(DesktopClientTest, AStoredSignInIsResumedWithoutSigningInAgain) {
  {
    auto first = create(options());
    ASSERT_TRUE(first);
    ASSERT_TRUE(first->get(kApi));
  }
  ASSERT_EQ(codes_shown_, 1);
  auto second = create(options());
  ASSERT_TRUE(second);
  auto me = second->get(kApi);
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->status, 200);
  EXPECT_EQ(codes_shown_, 1);
  EXPECT_EQ(device_authorizations_, 1);
}

TEST_F(DesktopClientTest, ALaunchWithAValidStoredTokenCallsTheApiWithoutTheAuthorizationServer) {
  {
    auto first = create(options());
    ASSERT_TRUE(first);
    ASSERT_TRUE(first->sign_in());
  }
  clear_discovery_cache();  // as in a new process
  const int discovered = discoveries_;
  const int refreshed = refreshes_;
  as_offline_ = true;

  auto app = DesktopClient::create(options());
  ASSERT_TRUE(app) << app.error().to_string();
  auto me = (*app)->get(kApi);
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->status, 200);
  EXPECT_EQ(discoveries_, discovered);
  EXPECT_EQ(refreshes_, refreshed);
  EXPECT_EQ(api_calls_, 1);
}

TEST_F(DesktopClientTest, TheBrowserIsTheDefaultSignIn) {
  auto o = options();
  o.sign_in_method = SignInMethod::browser;
  auto app = create(o);
  ASSERT_TRUE(app);
  auto me = app->get(kApi);
  ASSERT_FALSE(me);
  EXPECT_EQ(me.error().code(), ErrorCode::config);  // what the test's "browser" answered
  EXPECT_EQ(browsers_opened_, 1);
  EXPECT_EQ(api_calls_, 0);
  EXPECT_EQ(DesktopClientOptions().sign_in_method, SignInMethod::browser);
}

TEST_F(DesktopClientTest, WithoutSignInWhenNeededCallsFailWithLoginRequiredAndNothingOpens) {
  auto o = options();
  o.sign_in_when_needed = false;
  auto app = create(o);
  ASSERT_TRUE(app);
  auto me = app->get(kApi);
  ASSERT_FALSE(me);
  EXPECT_EQ(me.error().code(), ErrorCode::login_required);
  auto token = app->token();
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code(), ErrorCode::login_required);
  EXPECT_EQ(codes_shown_, 0);
  EXPECT_EQ(device_authorizations_, 0);

  ASSERT_TRUE(app->sign_in());  // the explicit sign-in still works
  EXPECT_TRUE(app->get(kApi));
  EXPECT_EQ(codes_shown_, 1);
}

TEST_F(DesktopClientTest, ARejectedRefreshTokenLeadsToOneSignInAndTheRequestIsSentAgain) {
  auto app = create(options());
  ASSERT_TRUE(app);
  ASSERT_TRUE(app->sign_in());
  // The API refuses the token, the refresh after the 401 is refused too: login_required.
  current_token_ = "revoked";
  reject_refresh_ = true;
  auto me = app->get(kApi);
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->status, 200);
  EXPECT_EQ(refreshes_, 1);
  EXPECT_EQ(codes_shown_, 2);
}

TEST_F(DesktopClientTest, AStreamedRequestIsSentOnceAndTheNextCallSignsIn) {
  auto app = create(options());
  ASSERT_TRUE(app);
  ASSERT_TRUE(app->sign_in());
  current_token_ = "revoked";
  reject_refresh_ = true;
  Request request;
  request.method = "POST";
  request.url = kApi;
  request.body_stream = [](char*, std::size_t) -> std::size_t { return 0; };
  auto sent = app->send(request);  // a spent body cannot go again: its 401 is the answer
  ASSERT_TRUE(sent) << sent.error().to_string();
  EXPECT_EQ(sent->status, 401);
  EXPECT_EQ(api_calls_, 1);
  EXPECT_EQ(codes_shown_, 1);

  auto me = app->get(kApi);  // the refresh is refused: sign in, then the call
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->status, 200);
  EXPECT_EQ(refreshes_, 1);
  EXPECT_EQ(codes_shown_, 2);
}

TEST_F(DesktopClientTest, TokenSignsInWhenNeeded) {
  auto app = create(options());
  ASSERT_TRUE(app);
  auto token = app->token();
  ASSERT_TRUE(token) << token.error().to_string();
  EXPECT_EQ(token->reveal(), "AT1");
  EXPECT_EQ(codes_shown_, 1);
}

TEST_F(DesktopClientTest, AnUnreadableStoreIsAnErrorNotASignIn) {
  auto o = options();
  o.store = std::make_shared<LockedStore>();
  auto app = create(o);
  ASSERT_TRUE(app);
  auto me = app->get(kApi);
  ASSERT_FALSE(me);
  EXPECT_EQ(me.error().code(), ErrorCode::storage_unavailable);
  EXPECT_EQ(codes_shown_, 0);
  EXPECT_EQ(api_calls_, 0);
}

TEST_F(DesktopClientTest, SignOutForgetsTheSignInAndTheNextCallSignsInAgain) {
  auto app = create(options());
  ASSERT_TRUE(app);
  ASSERT_TRUE(app->get(kApi));
  ASSERT_TRUE(app->sign_out());
  EXPECT_FALSE(store_->load("my-app", kIssuer + "|desktop-app"));
  ASSERT_TRUE(app->get(kApi));
  EXPECT_EQ(codes_shown_, 2);
}

TEST_F(DesktopClientTest, AGivenServerIsUsedWithoutDiscovery) {
  ServerMetadata metadata;
  metadata.issuer = kIssuer;
  metadata.token_endpoint = kIssuer + "/token";
  metadata.device_authorization_endpoint = kIssuer + "/device";
  auto o = options();
  o.server = std::make_shared<AuthorizationServer>(
      transport_, metadata, ClientConfig{"desktop-app", Secret(), ClientAuth::none});
  auto app = create(o);
  ASSERT_TRUE(app);
  EXPECT_EQ(app->server(), o.server);
  ASSERT_TRUE(app->get(kApi));
  EXPECT_EQ(discoveries_, 0);
}

TEST_F(DesktopClientTest, ASignInAskedForWhileAnotherRunsJoinsIt) {
  std::mutex mutex;
  std::condition_variable cv;
  bool second_done = false;
  std::shared_ptr<DesktopClient> app;
  std::thread second;
  Result<void> second_result;
  auto o = options();
  // While the first sign-in shows its code, a second thread asks for one too. Joining the
  // first, it cannot finish before the first does; starting its own, it would show a code.
  o.device.on_code = [&](const DeviceAuthorization&) {
    if (++codes_shown_ != 1) return;
    second = std::thread([&] {
      second_result = app->sign_in();
      std::lock_guard<std::mutex> lock(mutex);
      second_done = true;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return second_done; });
  };
  app = create(o);
  ASSERT_TRUE(app);
  auto first = app->sign_in();
  second.join();
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_TRUE(second_result);
  EXPECT_EQ(codes_shown_, 1);
  EXPECT_EQ(device_authorizations_, 1);
}

}  // namespace
}  // namespace freshtoken
