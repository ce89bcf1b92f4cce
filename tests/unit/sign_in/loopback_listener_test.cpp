#include "sign_in/loopback_listener.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "socket_client.hpp"

namespace freshtoken::detail {
namespace {

using std::chrono::milliseconds;
using testing::get;

class LoopbackListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = LoopbackListener::open(options_);
    ASSERT_TRUE(opened) << opened.error().to_string();
    listener_ = std::move(*opened);
    expected_.state = Secret(std::string_view("state-123"));
    expected_.issuer = "https://as.example";
  }
  void TearDown() override {
    if (client_.joinable()) client_.join();
  }

  // Runs `body` as the browser, on its own thread.
  template <class F>
  void browser(F body) {
    client_ = std::thread(body);
  }

  Result<Secret> wait(milliseconds timeout = milliseconds(10'000)) {
    return listener_->wait_for_code(expected_, timeout, cancel_);
  }

  LoopbackListener::Options options_;
  std::unique_ptr<LoopbackListener> listener_;
  RedirectExpectation expected_;
  CancelToken cancel_;
  std::thread client_;
};

TEST_F(LoopbackListenerTest, RedirectUriIsLoopbackIpWithTheEphemeralPort) {
  EXPECT_GT(listener_->port(), 0);
  EXPECT_EQ(listener_->redirect_uri(),
            "http://127.0.0.1:" + std::to_string(listener_->port()) + "/callback");
}

TEST_F(LoopbackListenerTest, CorrectRedirectYieldsTheCodeAndTheFinishedPage) {
  std::string page;
  auto port = listener_->port();
  browser([&] { page = get(port, "/callback?code=CODE-XYZ-987&state=state-123"); });
  auto code = wait();
  ASSERT_TRUE(code) << code.error().to_string();
  EXPECT_EQ(code->reveal(), "CODE-XYZ-987");
  listener_->finish(true);
  client_.join();
  EXPECT_EQ(page.rfind("HTTP/1.1 200", 0), 0u) << page;
  EXPECT_NE(page.find("Sign-in finished"), std::string::npos);
  EXPECT_EQ(page.find("CODE-XYZ-987"), std::string::npos) << "the page never echoes the code";
}

TEST_F(LoopbackListenerTest, FinishWithFailureTellsTheBrowserWhy) {
  std::string page;
  auto port = listener_->port();
  browser([&] { page = get(port, "/callback?code=c&state=state-123"); });
  ASSERT_TRUE(wait());
  listener_->finish(false, "The token exchange failed.");
  client_.join();
  EXPECT_NE(page.find("Sign-in failed"), std::string::npos);
  EXPECT_NE(page.find("The token exchange failed."), std::string::npos);
}

// Any local process, or a web page spraying requests at 127.0.0.1 ports, can send these.
TEST_F(LoopbackListenerTest, StrayRequestsGetAnErrorPageAndTheRedirectStillSignsIn) {
  std::vector<std::string> strays;
  std::string page;
  auto port = listener_->port();
  browser([&] {
    for (const char* target : {"/callback?code=STRAY-CODE-1&state=forged",
                               "/callback?code=STRAY-CODE-2", "/callback?error=access_denied",
                               "/callback?code=c&code=d&state=forged", "/favicon.ico", "/"}) {
      strays.push_back(get(port, target));
    }
    strays.push_back(testing::send_raw(port, "\x16\x03\x01 not http\r\n\r\n"));
    page = get(port, "/callback?code=CODE-XYZ-987&state=state-123");
  });
  auto code = wait();
  ASSERT_TRUE(code) << code.error().to_string();
  EXPECT_EQ(code->reveal(), "CODE-XYZ-987");
  listener_->finish(true);
  client_.join();
  ASSERT_EQ(strays.size(), 7u);
  for (const auto& stray : strays) {
    EXPECT_TRUE(stray.rfind("HTTP/1.1 400", 0) == 0 || stray.rfind("HTTP/1.1 404", 0) == 0)
        << stray;
    EXPECT_EQ(stray.find("STRAY-CODE"), std::string::npos) << "no echo";
    EXPECT_EQ(stray.find("state-123"), std::string::npos);
  }
  EXPECT_NE(strays[0].find("does not belong to the sign-in in progress"), std::string::npos);
  EXPECT_EQ(page.rfind("HTTP/1.1 200", 0), 0u) << page;
}

TEST_F(LoopbackListenerTest, StrayRequestThenTheDeadlineIsATimeoutThatCountsThem) {
  std::string stray;
  auto port = listener_->port();
  browser([&] { stray = get(port, "/callback?code=c&state=forged"); });
  auto code = wait(milliseconds(300));
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code(), ErrorCode::timeout);
  EXPECT_NE(code.error().message().find("1 request(s) without this sign-in's state"),
            std::string::npos)
      << code.error().message();
  client_.join();
  EXPECT_EQ(stray.rfind("HTTP/1.1 400", 0), 0u) << stray;
}

// A redirect with this sign-in's state that says no ends the sign-in, as before.
TEST_F(LoopbackListenerTest, RefusalWithTheRightStateFailsAndClosesTheListener) {
  std::string page;
  auto port = listener_->port();
  browser([&] { page = get(port, "/callback?error=access_denied&state=state-123"); });
  auto code = wait();
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code(), ErrorCode::login_required);
  client_.join();
  EXPECT_EQ(page.rfind("HTTP/1.1 400", 0), 0u) << page;
  EXPECT_NE(page.find("Sign-in failed"), std::string::npos);
  EXPECT_LT(testing::connect_loopback(port), 0) << "the listener is closed after a failure";
}

// A connection that connects and says nothing, held open for the whole sign-in.
TEST_F(LoopbackListenerTest, IdleConnectionHeldOpenDoesNotDelayTheRedirect) {
  std::string page;
  auto port = listener_->port();
  auto idle = testing::connect_loopback(port);
  ASSERT_GE(idle, 0);
  browser([&] { page = get(port, "/callback?code=c&state=state-123"); });
  auto code = wait();
  ASSERT_TRUE(code) << code.error().to_string();
  listener_->finish(true);
  client_.join();
  testing::close_socket(idle);
  EXPECT_EQ(page.rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(LoopbackListenerTest, CancelStopsTheWaitWhileAnIdleConnectionIsOpen) {
  auto idle = testing::connect_loopback(listener_->port());
  ASSERT_GE(idle, 0);
  browser([this] {
    std::this_thread::sleep_for(milliseconds(50));
    cancel_.cancel();
  });
  auto code = wait(milliseconds(30'000));
  testing::close_socket(idle);
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code(), ErrorCode::cancelled);
}

TEST_F(LoopbackListenerTest, WrongPathGets404AndTheRightOneStillWorks) {
  std::string favicon, page;
  auto port = listener_->port();
  browser([&] {
    favicon = get(port, "/favicon.ico");
    page = get(port, "/callback?code=c1&state=state-123");
  });
  auto code = wait();
  ASSERT_TRUE(code);
  EXPECT_EQ(code->reveal(), "c1");
  listener_->finish(true);
  client_.join();
  EXPECT_EQ(favicon.rfind("HTTP/1.1 404", 0), 0u) << favicon;
  EXPECT_EQ(page.rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(LoopbackListenerTest, SecondRequestAfterSuccessIsRefused) {
  auto port = listener_->port();
  browser([&] { get(port, "/callback?code=c1&state=state-123"); });
  ASSERT_TRUE(wait());
  listener_->finish(true);
  client_.join();
  EXPECT_LT(testing::connect_loopback(port), 0) << "nobody listens any more";
  auto again = wait();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::config);
}

TEST_F(LoopbackListenerTest, TimesOutWhenNoRedirectArrives) {
  auto code = wait(milliseconds(150));
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code(), ErrorCode::timeout);
}

TEST_F(LoopbackListenerTest, CancelStopsTheWait) {
  browser([this] {
    std::this_thread::sleep_for(milliseconds(50));
    cancel_.cancel();
  });
  auto code = wait(milliseconds(30'000));
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code(), ErrorCode::cancelled);
}

TEST_F(LoopbackListenerTest, IssuerMismatchFails) {
  std::string page;
  auto port = listener_->port();
  browser(
      [&] { page = get(port, "/callback?code=c&state=state-123&iss=https%3A%2F%2Fevil.example"); });
  auto code = wait();
  ASSERT_FALSE(code);
  EXPECT_NE(code.error().message().find("iss"), std::string::npos);
  client_.join();
  EXPECT_NE(page.find("Sign-in failed"), std::string::npos);
}

TEST_F(LoopbackListenerTest, AccessDeniedFailsWithTheOAuthErrorAndSaysWhy) {
  std::string page;
  auto port = listener_->port();
  browser([&] {
    page = get(port, "/callback?error=access_denied&error_description=%3Cb%3Enope&state=state-123");
  });
  auto code = wait();
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code(), ErrorCode::login_required);
  EXPECT_TRUE(code.error().is_oauth("access_denied"));
  client_.join();
  EXPECT_NE(page.find("access_denied"), std::string::npos);
  EXPECT_NE(page.find("&lt;b&gt;nope"), std::string::npos) << "escaped";
}

TEST_F(LoopbackListenerTest, GarbageSilentAndOversizedConnectionsDoNotWedgeIt) {
  std::string garbage, oversized, page;
  auto port = listener_->port();
  browser([&] {
    auto silent = testing::connect_loopback(port);  // connects and never says anything
    garbage = testing::send_raw(port, std::string("\x16\x03\x01\x00\xff garbage\r\n\r\n", 17));
    oversized = testing::send_raw(port, "GET /callback?" + std::string(20'000, 'a'));
    page = get(port, "/callback?code=c&state=state-123");
    testing::close_socket(silent);
  });
  auto code = wait();
  ASSERT_TRUE(code) << code.error().to_string();
  listener_->finish(true);
  client_.join();
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
  EXPECT_TRUE(oversized.empty() || oversized.rfind("HTTP/1.1 431", 0) == 0) << oversized;
  EXPECT_EQ(page.rfind("HTTP/1.1 200", 0), 0u);
}

class SlowLoopbackListenerTest : public LoopbackListenerTest {
 protected:
  SlowLoopbackListenerTest() {
    options_.read_timeout = milliseconds(100);
    options_.max_connections = 4;
  }
};

TEST_F(SlowLoopbackListenerTest, SlowConnectionIsDroppedAfterItsReadTimeout) {
  std::string slow_answer, page;
  auto port = listener_->port();
  browser([&] {
    auto slow = testing::connect_loopback(port);
    testing::send_text(slow, "GET /callback?code=c&sta");  // and then nothing
    slow_answer = testing::read_all(slow);                 // returns when the listener drops it
    testing::close_socket(slow);
    page = get(port, "/callback?code=c&state=state-123");
  });
  auto code = wait();
  ASSERT_TRUE(code) << code.error().to_string();
  listener_->finish(true);
  client_.join();
  EXPECT_EQ(slow_answer, "") << "dropped without an answer";
  EXPECT_EQ(page.rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(SlowLoopbackListenerTest, MoreIdleConnectionsThanItServesDoNotBlockTheRedirect) {
  std::string page;
  auto port = listener_->port();
  browser([&] {
    std::vector<testing::ClientSocket> idle;
    for (int i = 0; i < 10; ++i) idle.push_back(testing::connect_loopback(port));
    page = get(port, "/callback?code=c&state=state-123");
    for (auto socket : idle) testing::close_socket(socket);
  });
  auto code = wait();
  ASSERT_TRUE(code) << code.error().to_string();
  listener_->finish(true);
  client_.join();
  EXPECT_EQ(page.rfind("HTTP/1.1 200", 0), 0u);
}

// The browser's request is already there when a burst of connections arrives after it,
// more than the listener serves at once: the burst must not push the browser's out unread.
TEST_F(SlowLoopbackListenerTest, ABurstOfConnectionsAfterTheBrowsersDoesNotPushItOut) {
  auto port = listener_->port();
  auto real = testing::connect_loopback(port);
  ASSERT_GE(real, 0);
  ASSERT_TRUE(testing::send_text(
      real, "GET /callback?code=c&state=state-123 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  std::vector<testing::ClientSocket> burst;
  for (std::size_t i = 0; i < 3 * options_.max_connections; ++i) {
    burst.push_back(testing::connect_loopback(port));
    ASSERT_GE(burst.back(), 0);
  }
  auto code = wait(milliseconds(2'000));
  for (auto socket : burst) testing::close_socket(socket);
  ASSERT_TRUE(code) << code.error().to_string();
  listener_->finish(true);
  EXPECT_EQ(testing::read_all(real).rfind("HTTP/1.1 200", 0), 0u);
  testing::close_socket(real);
}

TEST(LoopbackListenerLifetime, DestroyingItWhileABrowserWaitsAnswersFailed) {
  auto opened = LoopbackListener::open();
  ASSERT_TRUE(opened);
  auto listener = std::move(*opened);
  RedirectExpectation expected;
  expected.state = Secret(std::string_view("s"));
  std::string page;
  auto port = listener->port();
  std::thread client([&] { page = get(port, "/callback?code=c&state=s"); });
  ASSERT_TRUE(listener->wait_for_code(expected, milliseconds(10'000), CancelToken()));
  listener.reset();
  client.join();
  EXPECT_NE(page.find("Sign-in failed"), std::string::npos);
}

}  // namespace
}  // namespace freshtoken::detail
