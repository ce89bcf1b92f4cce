#include <gtest/gtest.h>

#include <string>

#include "sign_in/loopback_request.hpp"

namespace freshtoken::detail {
namespace {

using Kind = RedirectOutcome::Kind;

RedirectExpectation expectation(bool require_iss = false) {
  RedirectExpectation e;
  e.state = Secret(std::string_view("the-state"));
  e.issuer = "https://as.example";
  e.require_iss = require_iss;
  return e;
}

RedirectOutcome evaluate(const std::string& target, bool require_iss = false) {
  return evaluate_redirect("GET " + target + " HTTP/1.1", expectation(require_iss));
}

TEST(RequestLine, ParsesOriginFormTargets) {
  auto line = parse_request_line("GET /callback?code=a&state=b HTTP/1.1");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->method, "GET");
  EXPECT_EQ(line->path, "/callback");
  EXPECT_EQ(line->query, "code=a&state=b");
  line = parse_request_line("HEAD / HTTP/1.0");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->query, "");
}

TEST(RequestLine, RefusesGarbage) {
  for (const char* bad :
       {"", "GET", "GET /", "GET  / HTTP/1.1", "GET / HTTP/2", "GET / HTTP/1.1 extra",
        "GET http://evil/ HTTP/1.1", "G(T / HTTP/1.1", "GET /a\tb HTTP/1.1", "GET /\x01 HTTP/1.1",
        "\x16\x03\x01\x02", " GET / HTTP/1.1"}) {
    EXPECT_FALSE(parse_request_line(bad)) << bad;
  }
}

TEST(RequestHead, NeedsTheEmptyLineAndHasASizeLimit) {
  std::string_view line;
  EXPECT_EQ(find_request_head("GET / HTTP/1.1\r\nHost: x\r\n", &line), HeadStatus::incomplete);
  EXPECT_EQ(find_request_head("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &line), HeadStatus::complete);
  EXPECT_EQ(line, "GET / HTTP/1.1");
  EXPECT_EQ(find_request_head("GET /x HTTP/1.1\n\n", &line), HeadStatus::complete);
  EXPECT_EQ(line, "GET /x HTTP/1.1");
  EXPECT_EQ(find_request_head(std::string(kMaxRequestHeadBytes, 'a'), &line),
            HeadStatus::too_large);
  EXPECT_EQ(find_request_head(std::string(kMaxRequestHeadBytes - 1, 'a'), &line),
            HeadStatus::incomplete);
}

TEST(Redirect, CorrectRedirectIsAccepted) {
  auto out = evaluate("/callback?code=the%2Bcode&state=the-state");
  ASSERT_EQ(out.kind, Kind::accepted);
  EXPECT_EQ(out.code.reveal(), "the+code");
}

TEST(Redirect, OtherPathsAndMethodsKeepWaiting) {
  EXPECT_EQ(evaluate("/favicon.ico").kind, Kind::not_found);
  EXPECT_EQ(evaluate("/callbackx?code=a&state=the-state").kind, Kind::not_found);
  EXPECT_EQ(evaluate_redirect("POST /callback?code=a&state=the-state HTTP/1.1", expectation()).kind,
            Kind::method_not_allowed);
  EXPECT_EQ(evaluate_redirect("garbage", expectation()).kind, Kind::bad_request);
  EXPECT_EQ(evaluate("/callback?code=%zz&state=the-state").kind, Kind::bad_request);
}

// Anyone on the machine can send these: they must not end the sign-in (and keep no code).
TEST(Redirect, WithoutThisSignInsStateIsUnsolicited) {
  for (const char* target :
       {"/callback?code=c&state=other", "/callback?code=c",
        "/callback?code=c&state=", "/callback?error=access_denied",
        "/callback?error=access_denied&state=other", "/callback?code=c&state=the-statex",
        "/callback", "/callback?", "/callback?code=c&iss=https%3A%2F%2Fevil.example"}) {
    auto out = evaluate(target);
    EXPECT_EQ(out.kind, Kind::unsolicited) << target;
    EXPECT_FALSE(out.error) << target;
    EXPECT_TRUE(out.code.empty()) << target;
  }
}

TEST(Redirect, RepeatedParametersWithoutThisSignInsStateAreUnsolicited) {
  for (const char* target : {"/callback?a=1&a=2", "/callback?code=c&code=d&state=forged",
                             "/callback?code=c&state=forged&state=other"}) {
    auto out = evaluate(target);
    EXPECT_EQ(out.kind, Kind::unsolicited) << target;
    EXPECT_TRUE(out.code.empty()) << target;
  }
}

TEST(Redirect, RepeatedParametersFail) {
  auto out = evaluate("/callback?code=c&state=the-state&state=the-state");
  ASSERT_EQ(out.kind, Kind::failed);
  out = evaluate("/callback?code=c&state=forged&state=the-state");
  ASSERT_EQ(out.kind, Kind::failed) << "a repeat beside this sign-in's state is an injection";
  out = evaluate("/callback?code=c&code=d&state=the-state");
  ASSERT_EQ(out.kind, Kind::failed);
  EXPECT_TRUE(out.code.empty());
  // RFC 6749 §3.1 holds for every parameter, also ones the SDK does not read.
  EXPECT_NE(out.error->message().find("parameter 'code' is repeated"), std::string::npos);
  out = evaluate("/callback?code=c&state=the-state&extra=1&%65xtra=2");
  ASSERT_EQ(out.kind, Kind::failed);
  EXPECT_NE(out.error->message().find("a parameter is repeated"), std::string::npos);
  // A name is whatever the page sent, so it could be the state itself: never shown.
  out = evaluate("/callback?code=c&state=the-state&the-state=1&the-state=2");
  ASSERT_EQ(out.kind, Kind::failed);
  EXPECT_EQ(out.error->message().find("the-state"), std::string::npos);
  EXPECT_EQ(out.reason.find("the-state"), std::string::npos);
}

TEST(Redirect, IssuerMismatchFails) {
  auto out = evaluate("/callback?code=c&state=the-state&iss=https%3A%2F%2Fevil.example");
  ASSERT_EQ(out.kind, Kind::failed);
  EXPECT_NE(out.error->message().find("iss"), std::string::npos);
  EXPECT_EQ(evaluate("/callback?code=c&state=the-state&iss=https%3A%2F%2Fas.example").kind,
            Kind::accepted);
}

TEST(Redirect, MissingIssFailsOnlyWhenTheServerAdvertisesIt) {
  EXPECT_EQ(evaluate("/callback?code=c&state=the-state", true).kind, Kind::failed);
  EXPECT_EQ(evaluate("/callback?code=c&state=the-state", false).kind, Kind::accepted);
}

TEST(Redirect, AuthorizationErrorsFailWithTheOAuthFields) {
  auto out =
      evaluate("/callback?error=access_denied&error_description=User+said+no&state=the-state");
  ASSERT_EQ(out.kind, Kind::failed);
  EXPECT_EQ(out.error->code(), ErrorCode::login_required);
  ASSERT_TRUE(out.error->oauth());
  EXPECT_EQ(out.error->oauth()->error, "access_denied");
  EXPECT_EQ(out.error->oauth()->description, "User said no");
  EXPECT_NE(out.reason.find("access_denied"), std::string::npos);

  out = evaluate("/callback?error=invalid_scope&state=the-state");
  EXPECT_EQ(out.error->code(), ErrorCode::config);
  out = evaluate("/callback?error=server_error&state=the-state");
  EXPECT_EQ(out.error->code(), ErrorCode::token_endpoint);
}

TEST(Redirect, MissingCodeFails) {
  auto out = evaluate("/callback?state=the-state");
  ASSERT_EQ(out.kind, Kind::failed);
  EXPECT_NE(out.error->message().find("code"), std::string::npos);
}

TEST(Page, EscapesWhatItShowsAndIsAWholeResponse) {
  std::string page = http_page(400, "Sign-in failed", "<script>alert(1)</script> & more");
  EXPECT_EQ(page.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;"), std::string::npos);
  auto body = page.substr(page.find("\r\n\r\n") + 4);
  EXPECT_NE(page.find("Content-Length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos);
}

}  // namespace
}  // namespace freshtoken::detail
