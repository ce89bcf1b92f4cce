// DesktopClient against the mock server: the browser sign-in through $BROWSER (a headless
// script), the resumed session, the device sign-in and sign-out.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "freshtoken/mock_server.hpp"
#include "freshtoken/platform/desktop_client.hpp"
#include "freshtoken/platform/secret_stores.hpp"
#include "temp_dir.hpp"

namespace freshtoken {
namespace {

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

class DesktopClientMockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock::MockServerOptions o;
    o.auto_approve = true;  // the authorization endpoint redirects at once, as alice
    server_ = std::make_unique<mock::MockServer>(o);
    server_->start();
    clear_discovery_cache();
    // The headless "browser": follows the redirects to the loopback listener, like a user
    // who is already signed in at the server.
    browser_ = dir_.path() / "browser";
    std::ofstream(browser_) << "#!/bin/sh\nexec curl -sSL -o /dev/null \"$1\"\n";
    std::filesystem::permissions(browser_, std::filesystem::perms::owner_all);
  }
  void TearDown() override { server_->stop(); }

  DesktopClientOptions options() const {
    DesktopClientOptions o;
    o.issuer = server_->issuer();
    o.client_id = "freshtoken-demo";
    o.scope = "openid profile api";
    o.service = "desktop-client-test";
    o.store = store_;
    o.browser.timeout = std::chrono::seconds(20);
    return o;
  }
  std::string me() const { return server_->issuer() + "/api/me"; }
  long code_grants() const { return server_->stats().token_requests.authorization_code; }

  testing::TempDir dir_;
  std::filesystem::path browser_;
  std::shared_ptr<SecretStore> store_ = make_file_store(dir_.path() / "store");
  std::unique_ptr<mock::MockServer> server_;
};

TEST_F(DesktopClientMockTest, GetSignsInThroughBrowserThenASecondClientResumesWithoutIt) {
  {
    ScopedEnv browser("BROWSER", browser_.string());
    auto app = DesktopClient::create(options());
    ASSERT_TRUE(app) << app.error().to_string();
    auto response = (*app)->get(me());
    ASSERT_TRUE(response) << response.error().to_string();
    EXPECT_EQ(response->status, 200);
    EXPECT_NE(response->body.find("\"sub\":\"alice\""), std::string::npos);
    EXPECT_EQ(code_grants(), 1);
  }
  ScopedEnv no_browser("BROWSER", "/bin/false");
  auto again = DesktopClient::create(options());
  ASSERT_TRUE(again) << again.error().to_string();
  auto response = (*again)->get(me());
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(code_grants(), 1) << "the stored sign-in was resumed";
  EXPECT_TRUE(store_->load("desktop-client-test", server_->issuer() + "|freshtoken-demo"));
}

TEST_F(DesktopClientMockTest, SignOutRevokesAndTheNextCallSignsInAgain) {
  ScopedEnv browser("BROWSER", browser_.string());
  auto app = DesktopClient::create(options());
  ASSERT_TRUE(app) << app.error().to_string();
  ASSERT_TRUE((*app)->get(me()));
  auto out = (*app)->sign_out();
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(server_->stats().revocations, 1);
  auto response = (*app)->get(me());
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(code_grants(), 2);
}

TEST_F(DesktopClientMockTest, TheDeviceSignInShowsTheCodeAndCallsTheApi) {
  ScopedEnv no_browser("BROWSER", "/bin/false");
  auto o = options();
  o.sign_in_method = SignInMethod::device;
  int codes = 0;
  // The auto-approving server approves the code as alice the moment it issues it.
  o.device.on_code = [&](const DeviceAuthorization& authorization) {
    ++codes;
    EXPECT_FALSE(authorization.user_code.empty());
  };
  o.device.sleep = [](std::chrono::milliseconds) {};
  auto app = DesktopClient::create(o);
  ASSERT_TRUE(app) << app.error().to_string();
  auto response = (*app)->get(me());
  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(codes, 1);
  EXPECT_EQ(server_->stats().token_requests.device_code, 1);
  EXPECT_EQ(code_grants(), 0);
}

}  // namespace
}  // namespace freshtoken
