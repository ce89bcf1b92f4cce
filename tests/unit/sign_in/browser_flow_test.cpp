#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <cstdio>
#include <cstdlib>

#include "fake_transport.hpp"
#include "freshtoken/sign_in.hpp"
#include "socket_client.hpp"
#include "test_keys.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeTransport;
using testing::json_response;

const auto kNow = std::chrono::system_clock::time_point(seconds(1'700'000'000));

std::map<std::string, std::string> query_of(std::string_view url) {
  std::map<std::string, std::string> out;
  auto q = url.find('?');
  auto fields = util::form_decode_fields(q == std::string_view::npos ? "" : url.substr(q + 1));
  if (fields) {
    for (auto& [k, v] : *fields) out[k] = v;
  }
  return out;
}

std::uint16_t port_of(const std::string& redirect_uri) {
  auto colon = redirect_uri.rfind(':');
  return static_cast<std::uint16_t>(std::stoi(redirect_uri.substr(colon + 1)));
}

class BrowserFlowTest : public ::testing::Test {
 protected:
  BrowserFlowTest() {
    metadata_.issuer = "https://as.example";
    metadata_.authorization_endpoint = "https://as.example/authorize";
    metadata_.token_endpoint = "https://as.example/token";
    metadata_.jwks_uri = "https://as.example/jwks";
    metadata_.code_challenge_methods_supported = {"plain", "S256"};
    options_.scope = "openid profile";
    options_.timeout = milliseconds(10'000);
    // The "browser": remembers the URL and, like a real one, comes back asynchronously.
    options_.open_browser = [this](const std::string& url) -> Result<void> {
      auto q = query_of(url);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        url_ = url;
        query_ = q;
      }
      std::string target = "/callback?code=AUTH-CODE&state=" + util::form_encode(q["state"]);
      if (!iss_.empty()) target += "&iss=" + util::form_encode(iss_);
      browser_ = std::thread([this, target, port = port_of(q["redirect_uri"])] {
        std::string page = testing::get(port, target);
        std::lock_guard<std::mutex> lock(mutex_);
        page_ = page;
      });
      return {};
    };
    transport_->set_handler([this](const Request& r) -> Result<Response> {
      if (r.url == metadata_.jwks_uri) {
        return json_response(200, testing::jwks_of({&testing::rsa_key()}).dump());
      }
      if (r.url == metadata_.token_endpoint) {
        std::lock_guard<std::mutex> lock(mutex_);
        token_request_ = query_of("?" + r.body);
        return token_answer_ ? token_answer_(query_) : json_response(500, "{}");
      }
      return Error(ErrorCode::network, "unexpected URL");
    });
    token_answer_ = [](const std::map<std::string, std::string>& q) {
      json claims = {{"iss", "https://as.example"},
                     {"sub", "alice"},
                     {"aud", "desktop-app"},
                     {"exp", 1'700'000'300},
                     {"iat", 1'700'000'000}};
      if (q.count("nonce")) claims["nonce"] = q.at("nonce");
      return json_response(200, json{{"access_token", "AT"},
                                     {"token_type", "Bearer"},
                                     {"expires_in", 3600},
                                     {"refresh_token", "RT"},
                                     {"id_token", testing::rsa_key().sign(claims)}}
                                    .dump());
    };
  }
  ~BrowserFlowTest() override {
    if (browser_.joinable()) browser_.join();
  }

  Result<TokenSet> sign_in() {
    AuthorizationServer server(transport_, metadata_,
                               ClientConfig{"desktop-app", Secret(), ClientAuth::none}, clock_);
    auto result = sign_in_with_browser(server, options_);
    if (browser_.joinable()) browser_.join();
    return result;
  }

  std::mutex mutex_;
  ServerMetadata metadata_;
  BrowserSignInOptions options_;
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::function<Response(const std::map<std::string, std::string>&)> token_answer_;
  std::thread browser_;
  std::string iss_;
  std::string url_, page_;
  std::map<std::string, std::string> query_, token_request_;
};

TEST_F(BrowserFlowTest, CompletesWithPkceStateAndNonce) {
  auto result = sign_in();
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->access_token.reveal(), "AT");
  EXPECT_EQ(result->refresh_token.reveal(), "RT");
  EXPECT_FALSE(result->id_token.empty());

  EXPECT_EQ(url_.rfind("https://as.example/authorize?", 0), 0u);
  EXPECT_EQ(query_["response_type"], "code");
  EXPECT_EQ(query_["client_id"], "desktop-app");
  EXPECT_EQ(query_["scope"], "openid profile");
  EXPECT_EQ(query_["code_challenge_method"], "S256");
  EXPECT_GE(query_["state"].size(), 22u);
  EXPECT_GE(query_["nonce"].size(), 22u);
  EXPECT_EQ(query_["redirect_uri"].rfind("http://127.0.0.1:", 0), 0u);

  EXPECT_EQ(token_request_["grant_type"], "authorization_code");
  EXPECT_EQ(token_request_["code"], "AUTH-CODE");
  EXPECT_EQ(token_request_["redirect_uri"], query_["redirect_uri"]);
  EXPECT_EQ(token_request_["code_verifier"].size(), 43u);
  EXPECT_EQ(util::base64url_encode(util::sha256(token_request_["code_verifier"])),
            query_["code_challenge"]);

  EXPECT_NE(page_.find("Sign-in finished"), std::string::npos) << page_;
}

TEST_F(BrowserFlowTest, NoNonceWithoutOpenidScope) {
  options_.scope = "api.read";
  auto result = sign_in();
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(query_.count("nonce"), 0u);
}

TEST_F(BrowserFlowTest, IdTokenWithAnotherNonceFailsAndTheBrowserIsTold) {
  token_answer_ = [inner = token_answer_](const std::map<std::string, std::string>& q) {
    auto copy = q;
    copy["nonce"] = "replayed-nonce";
    return inner(copy);
  };
  auto result = sign_in();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::invalid_response);
  EXPECT_NE(result.error().message().find("nonce"), std::string::npos);
  EXPECT_NE(page_.find("Sign-in failed"), std::string::npos);
}

TEST_F(BrowserFlowTest, TokenExchangeFailureIsReportedToCallerAndBrowser) {
  token_answer_ = [](const std::map<std::string, std::string>&) {
    return json_response(400, "{\"error\":\"invalid_grant\"}");
  };
  auto result = sign_in();
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().is_oauth("invalid_grant"));
  EXPECT_NE(page_.find("Sign-in failed"), std::string::npos);
}

TEST_F(BrowserFlowTest, MatchingIssIsAcceptedAndRequiredWhenAdvertised) {
  metadata_.authorization_response_iss_parameter_supported = true;
  auto result = sign_in();
  ASSERT_FALSE(result) << "no iss although advertised";
  EXPECT_NE(result.error().message().find("iss"), std::string::npos);
  iss_ = "https://as.example";
  EXPECT_TRUE(sign_in());
}

TEST_F(BrowserFlowTest, BrowserThatCannotOpenFailsTheSignIn) {
  options_.open_browser = [](const std::string&) -> Result<void> {
    return Error(ErrorCode::config, "no browser");
  };
  auto result = sign_in();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message(), "no browser");
}

TEST_F(BrowserFlowTest, TimesOutWhenTheBrowserNeverComesBack) {
  options_.open_browser = [](const std::string&) -> Result<void> { return {}; };
  options_.timeout = milliseconds(100);
  auto result = sign_in();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::timeout);
  EXPECT_EQ(transport_->request_count(), 0u);
}

// Another local process (or a web page) that knows the port sends requests first: none of
// them ends the sign-in, the browser's redirect then completes it.
TEST_F(BrowserFlowTest, StrayRequestsBeforeTheRedirectDoNotEndTheSignIn) {
  std::string forged, stateless, denied;
  options_.open_browser = [this, &forged, &stateless, &denied](const std::string& url) {
    auto q = query_of(url);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      query_ = q;
    }
    browser_ = std::thread([&forged, &stateless, &denied, q] {
      auto port = port_of(q.at("redirect_uri"));
      forged = testing::get(port, "/callback?code=STRAY-CODE&state=forged");
      stateless = testing::get(port, "/callback?code=STRAY-CODE");
      denied = testing::get(port, "/callback?error=access_denied");
      testing::get(port, "/callback?code=AUTH-CODE&state=" + util::form_encode(q.at("state")));
    });
    return Result<void>();
  };
  auto result = sign_in();
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->access_token.reveal(), "AT");
  EXPECT_EQ(token_request_["code"], "AUTH-CODE");
  for (const std::string* page : {&forged, &stateless, &denied}) {
    EXPECT_EQ(page->rfind("HTTP/1.1 400", 0), 0u) << *page;
    EXPECT_EQ(page->find("STRAY-CODE"), std::string::npos);
  }
}

// The browser never comes back, a stray request does: still a timeout, which says so.
TEST_F(BrowserFlowTest, StrayRequestThenNoRedirectTimesOut) {
  options_.open_browser = [this](const std::string& url) -> Result<void> {
    auto port = port_of(query_of(url).at("redirect_uri"));
    browser_ = std::thread([port] { testing::get(port, "/callback?code=c&state=forged"); });
    return {};
  };
  options_.timeout = milliseconds(300);
  auto result = sign_in();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::timeout);
  EXPECT_NE(result.error().message().find("1 request(s) without this sign-in's state"),
            std::string::npos)
      << result.error().message();
  EXPECT_EQ(transport_->request_count(), 0u);
}

TEST_F(BrowserFlowTest, ServerWithoutS256IsRefused) {
  metadata_.code_challenge_methods_supported = {"plain"};
  auto result = sign_in();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config);
}

TEST_F(BrowserFlowTest, PlainHttpAuthorizationEndpointToARemoteHostIsNotOpened) {
  // Metadata built by hand skips discovery's checks; the flow must check on its own.
  metadata_.authorization_endpoint = "http://as.example/authorize";
  auto result = sign_in();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config);
  EXPECT_NE(result.error().message().find("authorization_endpoint"), std::string::npos)
      << result.error().message();
  EXPECT_TRUE(url_.empty()) << "the browser was opened on " << url_;
  EXPECT_EQ(transport_->request_count(), 0u);
}

TEST_F(BrowserFlowTest, PlainHttpAuthorizationEndpointOnLoopbackIsOpened) {
  metadata_.authorization_endpoint = "http://127.0.0.1:9/authorize";
  auto result = sign_in();
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(url_.rfind("http://127.0.0.1:9/authorize?", 0), 0u);
}

TEST(OpenSystemBrowser, RefusesNonHttpUrls) {
  for (const char* url :
       {"file:///etc/passwd", "-x http://a", "javascript:alert(1)", "http://a b", ""}) {
    auto result = open_system_browser(url);
    ASSERT_FALSE(result) << url;
    EXPECT_EQ(result.error().code(), ErrorCode::config);
  }
}

TEST(OpenSystemBrowser, RunsBrowserWithTheUrlAsOneArgument) {
  char dir_template[] = "/tmp/freshtoken-browser-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  std::string script = dir + "/browser";
  std::string out = dir + "/argv";
  {
    FILE* f = std::fopen(script.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f, "#!/bin/sh\nprintf '%%s\\n' \"$#\" \"$1\" > '%s.tmp' && mv '%s.tmp' '%s'\n",
                 out.c_str(), out.c_str(), out.c_str());
    std::fclose(f);
    ::chmod(script.c_str(), 0700);
  }
  const char* old = std::getenv("BROWSER");
  std::string saved = old ? old : "";
  ::setenv("BROWSER", script.c_str(), 1);
  std::string url = "http://127.0.0.1:1/a?x=1&y=$(touch%20/tmp/pwned);z";
  auto result = open_system_browser(url);
  if (old)
    ::setenv("BROWSER", saved.c_str(), 1);
  else
    ::unsetenv("BROWSER");
  ASSERT_TRUE(result) << result.error().to_string();

  std::string content;
  for (int i = 0; i < 500 && content.empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
    if (FILE* f = std::fopen(out.c_str(), "r")) {
      char buffer[512] = {0};
      std::size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, f);
      std::fclose(f);
      content.assign(buffer, n);
    }
  }
  EXPECT_EQ(content, "1\n" + url + "\n");
  std::remove(out.c_str());
  std::remove(script.c_str());
  ::rmdir(dir.c_str());
}

// $BROWSER set to `value` (with @SCRIPT@ standing for a script that records its arguments, one
// a line) while `url` is opened; what the script recorded, or "" when it never ran.
std::string arguments_seen_by_browser(const std::string& value, const std::string& url) {
  char dir_template[] = "/tmp/freshtoken-browser-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return "mkdtemp failed";
  const std::string dir = dir_template;
  const std::string script = dir + "/browser";
  const std::string out = dir + "/argv";
  if (FILE* f = std::fopen(script.c_str(), "w")) {
    std::fprintf(f, "#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s.tmp' && mv '%s.tmp' '%s'\n",
                 out.c_str(), out.c_str(), out.c_str());
    std::fclose(f);
    ::chmod(script.c_str(), 0700);
  }
  std::string browser = value;
  browser.replace(browser.find("@SCRIPT@"), 8, script);
  const char* old = std::getenv("BROWSER");
  const std::string saved = old ? old : "";
  ::setenv("BROWSER", browser.c_str(), 1);
  auto result = open_system_browser(url);
  if (old)
    ::setenv("BROWSER", saved.c_str(), 1);
  else
    ::unsetenv("BROWSER");
  std::string content;
  for (int i = 0; result && i < 500 && content.empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
    if (FILE* f = std::fopen(out.c_str(), "r")) {
      char buffer[1024] = {0};
      std::size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, f);
      std::fclose(f);
      content.assign(buffer, n);
    }
  }
  std::remove(out.c_str());
  std::remove(script.c_str());
  ::rmdir(dir.c_str());
  return result ? content : "error: " + result.error().to_string();
}

TEST(OpenSystemBrowser, BrowserIsACommandWithArgumentsAndPercentSForTheUrl) {
  const std::string url = "http://127.0.0.1:1/authorize?state=s&x=%41";
  EXPECT_EQ(arguments_seen_by_browser("@SCRIPT@ --new-window --app=%s -x", url),
            "--new-window\n--app=" + url + "\n-x\n");
  EXPECT_EQ(arguments_seen_by_browser("@SCRIPT@ -sL", url), "-sL\n" + url + "\n");
}

TEST(OpenSystemBrowser, BrowserCandidatesAreTriedInOrderUntilOneStarts) {
  const std::string url = "https://as.example/authorize?state=s";
  EXPECT_EQ(arguments_seen_by_browser(
                "/nonexistent/freshtoken-no-such-browser %s:freshtoken-no-such-browser-2:"
                "@SCRIPT@ second %s:@SCRIPT@ third",
                url),
            "second\n" + url + "\n");
}

TEST(OpenSystemBrowser, NoCandidateStartingIsAConfigErrorNamingOnlyThePrograms) {
  const char* old = std::getenv("BROWSER");
  std::string saved = old ? old : "";
  ::setenv("BROWSER", "/nonexistent/first %s:/nonexistent/second --flag", 1);
  auto result = open_system_browser("https://as.example/authorize?state=SECRET-STATE");
  if (old)
    ::setenv("BROWSER", saved.c_str(), 1);
  else
    ::unsetenv("BROWSER");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config);
  const std::string message = result.error().message();
  EXPECT_NE(message.find("/nonexistent/first"), std::string::npos) << message;
  EXPECT_NE(message.find("/nonexistent/second"), std::string::npos) << message;
  EXPECT_EQ(message.find("SECRET-STATE"), std::string::npos) << message;
  EXPECT_EQ(message.find("--flag"), std::string::npos) << message;
}

TEST(OpenSystemBrowser, MissingProgramIsAConfigError) {
  const char* old = std::getenv("BROWSER");
  std::string saved = old ? old : "";
  ::setenv("BROWSER", "/nonexistent/freshtoken-no-such-browser", 1);
  auto result = open_system_browser("https://example.com/");
  if (old)
    ::setenv("BROWSER", saved.c_str(), 1);
  else
    ::unsetenv("BROWSER");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::config);
}

}  // namespace
}  // namespace freshtoken
