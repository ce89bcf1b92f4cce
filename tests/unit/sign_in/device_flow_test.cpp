#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fake_transport.hpp"
#include "freshtoken/sign_in.hpp"
#include "test_keys.hpp"
#include "util/encoding.hpp"

namespace freshtoken {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeTransport;
using testing::json_response;

const auto kStart = std::chrono::system_clock::time_point(seconds(1'700'000'000));

Response oauth_error(const std::string& error) {
  return json_response(400, "{\"error\":\"" + error + "\"}");
}

class DeviceFlowTest : public ::testing::Test {
 protected:
  DeviceFlowTest() {
    ServerMetadata metadata;
    metadata.issuer = "https://as.example";
    metadata.token_endpoint = "https://as.example/token";
    metadata.device_authorization_endpoint = "https://as.example/device_authorization";
    metadata.jwks_uri = "https://as.example/jwks";
    server_ = std::make_shared<AuthorizationServer>(
        transport_, metadata, ClientConfig{"cli", Secret(), ClientAuth::none}, clock_);
    options_.scope = "openid offline_access";
    options_.on_code = [this](const DeviceAuthorization& a) {
      shown_user_code_ = a.user_code;
      shown_uri_ = a.verification_uri;
    };
    options_.sleep = [this](milliseconds d) {
      sleeps_.push_back(d);
      clock_->advance(d);
    };
  }

  void start(int expires_in = 600, int interval = 5) {
    transport_->enqueue(json_response(
        200,
        "{\"device_code\":\"DEVICE-CODE\",\"user_code\":\"WDJB-MJHT\","
        "\"verification_uri\":\"https://as.example/device\",\"expires_in\":" +
            std::to_string(expires_in) + ",\"interval\":" + std::to_string(interval) + "}"));
  }
  // Signs in while every poll (after what is queued) answers authorization_pending.
  Result<TokenSet> sign_in_while_pending() {
    transport_->set_handler(
        [](const Request&) -> Result<Response> { return oauth_error("authorization_pending"); });
    return sign_in_with_device(*server_, options_);
  }

  // The first poll answers `error`: the sign-in stops with `code`, the server's error kept.
  void expect_polling_stops_with(const std::string& error, ErrorCode code) {
    start();
    transport_->enqueue(oauth_error(error));
    auto result = sign_in_with_device(*server_, options_);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), code);
    EXPECT_TRUE(result.error().is_oauth(error));
  }
  static Response tokens() {
    return json_response(200,
                         "{\"access_token\":\"AT\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
                         "\"refresh_token\":\"RT\"}");
  }

  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kStart);
  std::shared_ptr<AuthorizationServer> server_;
  DeviceSignInOptions options_;
  std::vector<milliseconds> sleeps_;
  std::string shown_user_code_, shown_uri_;
};

TEST_F(DeviceFlowTest, PendingThenSlowDownThenSuccessHonoursTheInterval) {
  start();
  transport_->enqueue(oauth_error("authorization_pending"));
  transport_->enqueue(oauth_error("slow_down"));
  transport_->enqueue(oauth_error("authorization_pending"));
  transport_->enqueue(tokens());
  auto result = sign_in_with_device(*server_, options_);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->access_token.reveal(), "AT");
  EXPECT_EQ(result->refresh_token.reveal(), "RT");
  EXPECT_EQ(shown_user_code_, "WDJB-MJHT");
  EXPECT_EQ(shown_uri_, "https://as.example/device");
  // Polls after 5 s, 5 s; slow_down makes it 10 s from then on.
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{seconds(5), seconds(5), seconds(10), seconds(10)}));
  auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_NE(requests[0].body.find("scope=openid+offline_access"), std::string::npos);
  for (std::size_t i = 1; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i].url, "https://as.example/token");
    EXPECT_NE(
        requests[i].body.find("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"),
        std::string::npos);
    EXPECT_NE(requests[i].body.find("device_code=DEVICE-CODE"), std::string::npos);
  }
}

TEST_F(DeviceFlowTest, AccessDeniedStopsWithLoginRequired) {
  start();
  transport_->enqueue(oauth_error("authorization_pending"));
  transport_->enqueue(oauth_error("access_denied"));
  auto result = sign_in_with_device(*server_, options_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::login_required);
  EXPECT_TRUE(result.error().is_oauth("access_denied"));
  EXPECT_EQ(transport_->request_count(), 3u);
}

TEST_F(DeviceFlowTest, ExpiredTokenFromTheServerStopsWithTimeout) {
  expect_polling_stops_with("expired_token", ErrorCode::timeout);
}

TEST_F(DeviceFlowTest, LocalExpiryStopsPollingWithTimeout) {
  start(/*expires_in=*/22, /*interval=*/5);
  auto result = sign_in_while_pending();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::timeout);
  EXPECT_FALSE(result.error().oauth());
  EXPECT_EQ(transport_->request_count(), 1u + 4u) << "polls at 5, 10, 15, 20 s; not at 25 s";
}

TEST_F(DeviceFlowTest, CancelDuringTheWaitStopsBeforeTheNextPoll) {
  start();
  transport_->set_handler(
      [](const Request&) -> Result<Response> { return oauth_error("authorization_pending"); });
  options_.sleep = [this](milliseconds) {
    if (sleeps_.size() == 2) options_.cancel.cancel();
    sleeps_.push_back(milliseconds(0));
  };
  auto result = sign_in_with_device(*server_, options_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::cancelled);
  EXPECT_EQ(transport_->request_count(), 1u + 2u);
}

TEST_F(DeviceFlowTest, DefaultSleepWakesUpWhenCancelled) {
  start(600, 3600);  // an hour between polls: only cancel can end this test
  options_.sleep = nullptr;
  std::thread canceller([this] {
    std::this_thread::sleep_for(milliseconds(100));
    options_.cancel.cancel();
  });
  auto result = sign_in_with_device(*server_, options_);
  canceller.join();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::cancelled);
  EXPECT_EQ(transport_->request_count(), 1u);
}

TEST_F(DeviceFlowTest, NetworkTroubleBacksOffAndKeepsPolling) {
  start();
  transport_->enqueue(Error(ErrorCode::network, "connection reset"));
  transport_->enqueue(json_response(503, "oops", {{"Retry-After", "30"}}));
  transport_->enqueue(tokens());
  auto result = sign_in_with_device(*server_, options_);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{seconds(5), seconds(10), seconds(30)}));
}

TEST_F(DeviceFlowTest, LongRetryAfterIsCutToTheCodesRemainingLife) {
  start(/*expires_in=*/60, /*interval=*/5);
  transport_->enqueue(json_response(503, "busy", {{"Retry-After", "3600"}}));
  auto result = sign_in_while_pending();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::timeout);
  EXPECT_FALSE(result.error().oauth());
  // One poll at 5 s; then a wait of the 55 s the code has left, not the hour asked for.
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{seconds(5), seconds(55)}));
  EXPECT_EQ(clock_->now(), kStart + seconds(60));
  EXPECT_EQ(transport_->request_count(), 1u + 1u) << "no poll with an expired code";
}

TEST_F(DeviceFlowTest, IntervalLongerThanTheCodesLifeStillEndsAtItsExpiry) {
  start(/*expires_in=*/10, /*interval=*/30);
  auto result = sign_in_with_device(*server_, options_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::timeout);
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{seconds(10)}));
  EXPECT_EQ(transport_->request_count(), 1u);
}

TEST_F(DeviceFlowTest, TimeoutEndsTheWaitBeforeTheCodeExpires) {
  start(/*expires_in=*/600, /*interval=*/5);
  options_.timeout = seconds(12);
  auto result = sign_in_while_pending();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::timeout);
  EXPECT_FALSE(result.error().oauth());
  EXPECT_NE(result.error().message().find("timed out after 12000 ms"), std::string::npos)
      << result.error().message();
  // Polls at 5 and 10 s, then the 2 s left of the timeout and no poll after it.
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{seconds(5), seconds(5), seconds(2)}));
  EXPECT_EQ(clock_->now(), kStart + seconds(12));
  EXPECT_EQ(transport_->request_count(), 1u + 2u);
}

TEST_F(DeviceFlowTest, TimeoutLongerThanTheCodesLifeEndsAtTheCodesExpiry) {
  for (milliseconds timeout : {milliseconds(std::chrono::minutes(5)), milliseconds::max()}) {
    clock_->set(kStart);
    sleeps_.clear();
    start(/*expires_in=*/10, /*interval=*/5);
    options_.timeout = timeout;
    auto result = sign_in_while_pending();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), ErrorCode::timeout);
    EXPECT_NE(result.error().message().find("device code expired"), std::string::npos)
        << result.error().message();
    EXPECT_EQ(clock_->now(), kStart + seconds(10));
  }
}

TEST_F(DeviceFlowTest, ShortTimeoutWithTheRealSleepEndsTheSignIn) {
  start(/*expires_in=*/3, /*interval=*/3600);  // an hour between polls, a code that lives 3 s
  options_.sleep = nullptr;
  server_ = std::make_shared<AuthorizationServer>(transport_, *server_->metadata(),
                                                  ClientConfig{"cli", Secret(), ClientAuth::none});
  options_.timeout = milliseconds(50);
  auto result = sign_in_with_device(*server_, options_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::timeout);
  EXPECT_NE(result.error().message().find("timed out after 50 ms"), std::string::npos)
      << result.error().message();
  EXPECT_EQ(transport_->request_count(), 1u) << "no poll after the timeout";
}

TEST_F(DeviceFlowTest, IntervalOfZeroIsPolledOnceASecond) {
  start(/*expires_in=*/600, /*interval=*/0);
  transport_->enqueue(oauth_error("authorization_pending"));
  transport_->enqueue(oauth_error("authorization_pending"));
  transport_->enqueue(tokens());
  auto result = sign_in_with_device(*server_, options_);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{seconds(1), seconds(1), seconds(1)}));
}

TEST_F(DeviceFlowTest, MissingIntervalIsPolledEveryFiveSeconds) {
  transport_->enqueue(json_response(200,
                                    R"({"device_code":"DEVICE-CODE","user_code":"WDJB-MJHT",
          "verification_uri":"https://as.example/device","expires_in":600})"));
  transport_->enqueue(oauth_error("authorization_pending"));
  transport_->enqueue(tokens());
  auto result = sign_in_with_device(*server_, options_);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{seconds(5), seconds(5)}));
}

TEST_F(DeviceFlowTest, OtherErrorsStopPolling) {
  expect_polling_stops_with("invalid_client", ErrorCode::token_endpoint);
}

TEST_F(DeviceFlowTest, StartFailureIsReturnedAndNoCodeIsShown) {
  transport_->enqueue(oauth_error("invalid_scope"));
  auto result = sign_in_with_device(*server_, options_);
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().is_oauth("invalid_scope"));
  EXPECT_TRUE(shown_user_code_.empty());
}

TEST_F(DeviceFlowTest, MissingCallbackIsAConfigError) {
  options_.on_code = nullptr;
  auto result = sign_in_with_device(*server_, options_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config);
  EXPECT_EQ(transport_->request_count(), 0u);
}

TEST_F(DeviceFlowTest, IdTokenIsVerified) {
  using nlohmann::json;
  long long now = 1'700'000'000 + 5;
  json claims = {{"iss", "https://as.example"},
                 {"sub", "alice"},
                 {"aud", "cli"},
                 {"exp", now + 300},
                 {"iat", now}};
  auto with_id_token = [&](const std::string& id_token) {
    return json_response(200, json{{"access_token", "AT"},
                                   {"token_type", "Bearer"},
                                   {"expires_in", 3600},
                                   {"id_token", id_token}}
                                  .dump());
  };
  transport_->set_handler([](const Request& r) -> Result<Response> {
    if (r.url == "https://as.example/jwks") {
      return json_response(200, testing::jwks_of({&testing::ec_key()}).dump());
    }
    return Error(ErrorCode::network, "unexpected");
  });
  start();
  transport_->enqueue(with_id_token(testing::ec_key().sign(claims)));
  ASSERT_TRUE(sign_in_with_device(*server_, options_));

  claims["aud"] = "someone-else";
  start();
  transport_->enqueue(with_id_token(testing::ec_key().sign(claims)));
  auto result = sign_in_with_device(*server_, options_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::invalid_response);
}

}  // namespace
}  // namespace freshtoken
