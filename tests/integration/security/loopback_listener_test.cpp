// The browser sign-in's loopback listener, seen from outside through the public API
// (sign_in_with_browser against the mock server): it listens on 127.0.0.1 only — checked in
// the kernel's socket tables while the browser is "open" — accepts one redirect, and requests
// without the sign-in's state neither end it nor cause a token request. The listener's
// request handling in detail (wrong path, second request, garbage, slow clients) is pinned by
// tests/unit/sign_in/loopback_listener_test.cpp.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "freshtoken/sign_in.hpp"
#include "headless_browser.hpp"
#include "mock_session_fixture.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;

// Listening sockets (state 0A) on `port` in /proc/net/tcp or tcp6: their local addresses as
// the kernel writes them (hex, e.g. "0100007F" for 127.0.0.1).
std::vector<std::string> listening_addresses(const char* table, int port) {
  std::vector<std::string> out;
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const auto colon = local.rfind(':');
    if (colon == std::string::npos || state != "0A") continue;
    if (std::stoi(local.substr(colon + 1), nullptr, 16) == port) {
      out.push_back(local.substr(0, colon));
    }
  }
  return out;
}

int redirect_port(const std::string& authorize_url) {
  const auto at = authorize_url.find("redirect_uri=");
  if (at == std::string::npos) return 0;
  // http%3A%2F%2F127.0.0.1%3A<port>%2Fcallback
  const std::string encoded = authorize_url.substr(at + 13);
  const auto host = encoded.find("127.0.0.1%3A");
  if (host == std::string::npos) return 0;
  return std::stoi(encoded.substr(host + 12));
}

class LoopbackListenerSecurityTest : public testing::MockServerSessionTest {
 protected:
  LoopbackListenerSecurityTest() {
    server_options_.auto_approve = true;
    server_options_.threads = 8;
  }
  void TearDown() override {
    if (browser_.joinable()) browser_.join();
    MockServerSessionTest::TearDown();
  }

  // Follows the server's redirects; `tamper` may rewrite the one to the listener.
  static void follow(const std::string& url,
                     const std::function<std::string(std::string)>& tamper) {
    testing::follow_redirects(url, [&](const std::string& location) {
      return location.find("127.0.0.1") != std::string::npos && tamper ? tamper(location)
                                                                       : location;
    });
  }
  // The browser, on its own thread.
  void browse(const std::string& url, std::function<std::string(std::string)> tamper) {
    browser_ = std::thread([url, tamper] { follow(url, tamper); });
  }

  int code_grants() const { return server_->stats().token_requests.authorization_code; }

  std::thread browser_;
};

TEST_F(LoopbackListenerSecurityTest, ListensOn127001OnlyAndAcceptsTheRedirect) {
  int port = 0;
  std::vector<std::string> v4, v6;
  BrowserSignInOptions options;
  options.timeout = 20s;
  options.open_browser = [&](const std::string& url) -> Result<void> {
    port = redirect_port(url);
    v4 = listening_addresses("/proc/net/tcp", port);
    v6 = listening_addresses("/proc/net/tcp6", port);
    browse(url, nullptr);
    return {};
  };
  auto tokens = sign_in_with_browser(*as_, options);
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  ASSERT_GT(port, 0);
  EXPECT_EQ(v4, std::vector<std::string>{"0100007F"});  // 127.0.0.1, not 0.0.0.0
  EXPECT_TRUE(v6.empty());                              // nothing on :: or ::1
  EXPECT_EQ(code_grants(), 1);
  // Once the redirect arrived the port is closed.
  browser_.join();
  EXPECT_TRUE(listening_addresses("/proc/net/tcp", port).empty());
}

// A redirect with a forged state is not this sign-in's: the listener refuses it, sends no
// token request, and keeps waiting (here until the sign-in's deadline).
TEST_F(LoopbackListenerSecurityTest, RedirectWithTheWrongStateIsRefusedWithoutATokenRequest) {
  BrowserSignInOptions options;
  options.timeout = 1s;
  options.open_browser = [&](const std::string& url) -> Result<void> {
    browse(url, [](std::string location) {
      const auto at = location.find("state=");
      if (at != std::string::npos) location.insert(at + 6, "forged");
      return location;
    });
    return {};
  };
  auto tokens = sign_in_with_browser(*as_, options);
  ASSERT_FALSE(tokens);
  EXPECT_EQ(tokens.error().code(), ErrorCode::timeout);
  EXPECT_EQ(code_grants(), 0);
}

// Another local process sends requests to the listener's port before the browser comes back
// (forged state, none, a refusal without state, another path, garbage): the sign-in goes on
// and completes with the browser's redirect.
TEST_F(LoopbackListenerSecurityTest, StrayRequestsThenTheRedirectSignIn) {
  std::vector<int> statuses;
  BrowserSignInOptions options;
  options.timeout = 20s;
  options.open_browser = [&](const std::string& url) -> Result<void> {
    browser_ = std::thread([url, &statuses] {
      httplib::Client stray("127.0.0.1", redirect_port(url));
      for (const char* target : {"/callback?code=stray&state=forged", "/callback?code=stray",
                                 "/callback?error=access_denied", "/favicon.ico"}) {
        auto answer = stray.Get(target);
        statuses.push_back(answer ? answer->status : 0);
      }
      follow(url, nullptr);
    });
    return {};
  };
  auto tokens = sign_in_with_browser(*as_, options);
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  browser_.join();
  EXPECT_EQ(statuses, (std::vector<int>{400, 400, 400, 404}));
  EXPECT_EQ(code_grants(), 1);
}

}  // namespace
}  // namespace freshtoken
