// The SDK's one URL parser (sdk/src/url.hpp): what HttpClient sends to and what the
// authorization-server checks compare, and RFC 3986 §5.2 resolution of Location.
#include "url.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace freshtoken::detail {
namespace {

Url parsed(const std::string& text) {
  auto url = parse_url(text);
  EXPECT_TRUE(url) << text;
  return url ? *url : Url{};
}

TEST(ParseUrl, LowerCasesSchemeAndHostAndKeepsPathAndQueryAsWritten) {
  Url url = parsed("HTTPS://API.Example:8443/A/b?X=1&y=%41#frag");
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.host, "api.example");
  EXPECT_EQ(url.port, 8443);
  EXPECT_TRUE(url.explicit_port);
  EXPECT_EQ(url.path, "/A/b");
  EXPECT_TRUE(url.has_query);
  EXPECT_EQ(url.query, "X=1&y=%41");
  EXPECT_TRUE(url.has_fragment);
  EXPECT_EQ(url.serialize(), "https://api.example:8443/A/b?X=1&y=%41");
}

TEST(ParseUrl, DefaultPortsPerSchemeAndEmptyPortMeansDefault) {
  EXPECT_EQ(parsed("http://a.example/").port, 80);
  EXPECT_EQ(parsed("https://a.example").port, 443);
  Url empty_port = parsed("https://a.example:/x");
  EXPECT_EQ(empty_port.port, 443);
  EXPECT_FALSE(empty_port.explicit_port);
  EXPECT_EQ(parsed("https://a.example:65535/").port, 65535);
}

// The loopback check reads IPv4 literals itself; it must agree with inet_pton on every
// spelling, odd ones included.
TEST(IsLoopbackHost, ReadsIpv4LiteralsExactlyAsInetPtonDoes) {
  for (const char* host :
       {"127.0.0.1",   "127.255.255.255", "127.0.0.0",   "127.1.2.3",  "126.0.0.1",
        "128.0.0.1",   "0.0.0.0",         "127.0.0.01",  "127.00.0.1", "0127.0.0.1",
        "127.0.0",     "127.0.0.1.",      "127.0.0.1.1", "127..0.1",   ".127.0.0.1",
        "127.0.0.256", "127.0.0.1000",    "1270.0.0.1",  "127.0.0.1a", "127.0.0.-1",
        "127.0.0.+1",  "127.0.0. 1",      "127",         "",           "."}) {
    in_addr v4{};
    const bool expected = inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
    EXPECT_EQ(is_loopback_host(host), expected) << host;
  }
  EXPECT_TRUE(is_loopback_host("LocalHost"));
  // libcurl answers "localhost" itself; "localhost." goes to the resolver like any name.
  EXPECT_FALSE(is_loopback_host("localhost."));
  EXPECT_FALSE(is_loopback_host("LOCALHOST."));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("[0:0:0:0:0:0:0:1]"));
  EXPECT_FALSE(is_loopback_host("[::2]"));
  EXPECT_FALSE(is_loopback_host("localhost.example"));
}

TEST(ParseUrl, Ipv6LiteralsKeepTheirBracketsAndAreLowerCased) {
  Url url = parsed("http://[::FFFF:127.0.0.1]:9/x");
  EXPECT_EQ(url.host, "[::ffff:127.0.0.1]");
  EXPECT_EQ(url.port, 9);
  EXPECT_TRUE(is_loopback_host(url.host));
  EXPECT_EQ(parsed("http://[::1]").origin(), "http://[::1]");
}

// HttpClient checks every request through the view: the same parts, as written.
TEST(ParseUrlView, ViewsThePartsAsWrittenAndOwnsThemNormalised) {
  const std::string text = "HTTP://u@LocalHost:8080/A/b?X=1#f";
  auto view = parse_url_view(text);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->scheme, "HTTP");
  EXPECT_FALSE(view->https);
  EXPECT_EQ(view->userinfo, "u");
  EXPECT_EQ(view->host, "LocalHost");
  EXPECT_TRUE(is_loopback_host(view->host));
  EXPECT_EQ(view->port, 8080);
  EXPECT_EQ(view->path, "/A/b");
  EXPECT_EQ(view->query, "X=1");
  EXPECT_TRUE(view->has_fragment);
  EXPECT_EQ(view->to_url().serialize(), "http://u@localhost:8080/A/b?X=1");
  EXPECT_EQ(parse_url_view("https://[::FFFF:127.0.0.1]/")->host, "[::FFFF:127.0.0.1]");
  EXPECT_TRUE(parse_url_view("HTTPS://a.example")->https);
}

TEST(ParseUrl, TheLastAtSignEndsTheUserinfo) {
  Url url = parsed("http://127.0.0.1@evil.example/");
  EXPECT_EQ(url.host, "evil.example");
  EXPECT_EQ(url.userinfo, "127.0.0.1");
  EXPECT_EQ(parsed("https://u:p@w@a.example/").host, "a.example");
}

TEST(ParseUrl, RedactedFormHasNoUserinfoQueryOrFragment) {
  Url url = parsed("https://user:PASSWORD@a.example/p?code=SECRET#f");
  EXPECT_EQ(url.redacted(), "https://a.example/p");
  EXPECT_EQ(parsed("https://a.example").redacted(), "https://a.example/");
}

class RejectedUrl : public ::testing::TestWithParam<const char*> {};

TEST_P(RejectedUrl, IsAConfigErrorThatDoesNotRepeatTheUrl) {
  auto url = parse_url(GetParam());
  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().code(), ErrorCode::config);
  EXPECT_EQ(url.error().message().find("SECRET"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Url, RejectedUrl,
                         ::testing::Values("", "/relative?SECRET", "a.example/x",
                                           "ftp://a.example/", "https:/a.example/", "https://",
                                           "https:///path", "https://:443/", "https://a.example:0/",
                                           "https://a.example:65536/", "https://a.example:123456/",
                                           "https://a.example:8a/", "https://[::1/x",
                                           "https://[not-v6]/", "https://[::1]x/",
                                           "https://[0:0:0:0:0:0:0:0:1]/", "https://a b/",
                                           "https://a\tb/", "https://a.example/\x7f",
                                           "https://a.example\\@evil/SECRET",
                                           "https://a%2eexample/", "https://SECRET@ho$t/"));

// An IPv6 literal longer than any address text is refused, and the longest real one is read.
TEST(ParseUrl, AnIpv6LiteralLongerThanAnyAddressIsRefused) {
  for (std::size_t length : {45, 46, 47, 300}) {
    const std::string literal = "::" + std::string(length - 2, '1');
    auto url = parse_url("https://[" + literal + "]/");
    ASSERT_FALSE(url) << length;
    EXPECT_EQ(url.error().message(), "bad URL: invalid IPv6 literal");
  }
  const std::string longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
  ASSERT_EQ(longest.size(), 45u);
  EXPECT_TRUE(parse_url("https://[" + longest + "]/"));
}

// The URL parser reads IPv6 literals itself (the same code on every platform); it must agree
// with inet_pton on which texts are addresses, and on which of them are loopback.
TEST(ParseUrl, ReadsIpv6LiteralsExactlyAsInetPtonDoes) {
  for (const char* text : {"::",
                           "::1",
                           "1::",
                           "1::2",
                           "0:0:0:0:0:0:0:1",
                           "::ffff:127.0.0.1",
                           "::ffff:128.0.0.1",
                           "::127.0.0.1",
                           "1:2:3:4:5:6:7:8",
                           "1:2:3:4:5:6:7::",
                           "::2:3:4:5:6:7:8",
                           "1:2:3:4:5:6:7:8::",
                           "::1:2:3:4:5:6:7:8",
                           "1:2:3:4:5:6:1.2.3.4",
                           "1:2:3:4:5:6:7:1.2.3.4",
                           "1::2::3",
                           ":1",
                           "1:",
                           ":::",
                           "1:::2",
                           "12345::",
                           "0001::",
                           "00001::",
                           "fFfF::",
                           "g::",
                           "::1.2.3",
                           "::1.2.3.04",
                           "::1.2.3.4.5",
                           "::1.2.3.4:1",
                           "1.2.3.4",
                           "::%eth0",
                           "fe80::1%1",
                           "",
                           "::ffff:7f00:1",
                           "0:0:0:0:0:ffff:127.1.2.3",
                           "::0:1",
                           "1:2:3:4:5:6:7:8:9",
                           "::a.2.3.4",
                           "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"}) {
    in6_addr v6{};
    const bool address = inet_pton(AF_INET6, text, &v6) == 1;
    EXPECT_EQ(static_cast<bool>(parse_url(std::string("https://[") + text + "]/")), address)
        << text;
    if (address) {
      const bool loopback =
          IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
      EXPECT_EQ(is_loopback_host(std::string("[") + text + "]"), loopback) << text;
    }
  }
}

TEST(Origin, SchemeHostAndEffectivePortDecide) {
  EXPECT_TRUE(same_origin(parsed("https://A.example/x"), parsed("https://a.example:443/y?q")));
  EXPECT_FALSE(same_origin(parsed("https://a.example/"), parsed("http://a.example/")));
  EXPECT_FALSE(same_origin(parsed("https://a.example/"), parsed("https://a.example:8443/")));
  EXPECT_FALSE(same_origin(parsed("https://a.example/"), parsed("https://b.example/")));
  EXPECT_EQ(parsed("https://a.example:443/x").origin(), "https://a.example");
  EXPECT_EQ(parsed("http://a.example:8080/x").origin(), "http://a.example:8080");
}

TEST(RemoveDotSegments, MatchesRfc3986Section524Examples) {
  EXPECT_EQ(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
  EXPECT_EQ(remove_dot_segments("mid/content=5/../6"), "mid/6");
  EXPECT_EQ(remove_dot_segments("/../x"), "/x");
  EXPECT_EQ(remove_dot_segments("/a/.."), "/");
}

struct Reference {
  const char* ref;
  const char* expected;
};

class ResolveReference : public ::testing::TestWithParam<Reference> {};

// RFC 3986 §5.4.1 normal examples against "http://a/b/c/d;p?q" (those HttpClient can meet).
TEST_P(ResolveReference, MatchesRfc3986Section541) {
  const Url base = parsed("http://a/b/c/d;p?q");
  auto target = resolve_reference(base, GetParam().ref);
  ASSERT_TRUE(target) << GetParam().ref;
  EXPECT_EQ(target->serialize(), GetParam().expected) << GetParam().ref;
}

INSTANTIATE_TEST_SUITE_P(
    Url, ResolveReference,
    ::testing::Values(Reference{"g", "http://a/b/c/g"}, Reference{"./g", "http://a/b/c/g"},
                      Reference{"g/", "http://a/b/c/g/"}, Reference{"/g", "http://a/g"},
                      Reference{"//g", "http://g"}, Reference{"?y", "http://a/b/c/d;p?y"},
                      Reference{"g?y", "http://a/b/c/g?y"}, Reference{"#s", "http://a/b/c/d;p?q"},
                      Reference{"g#s", "http://a/b/c/g"}, Reference{";x", "http://a/b/c/;x"},
                      Reference{".", "http://a/b/c/"}, Reference{"..", "http://a/b/"},
                      Reference{"../g", "http://a/b/g"}, Reference{"../../../g", "http://a/g"},
                      Reference{"/./g", "http://a/g"}, Reference{"g..", "http://a/b/c/g.."},
                      Reference{"./../g", "http://a/b/g"}, Reference{"g/../h", "http://a/b/c/h"},
                      Reference{"HTTPS://B.example:8443/x/../y", "https://b.example:8443/y"}));

TEST(ResolveReference, KeepsTheBaseUserinfoOnlyWithinTheSameAuthority) {
  const Url base = parsed("https://u:p@a.example/x/y");
  EXPECT_EQ(resolve_reference(base, "z")->serialize(), "https://u:p@a.example/x/z");
  EXPECT_EQ(resolve_reference(base, "//b.example/")->serialize(), "https://b.example/");
}

TEST(ResolveReference, RefusesWhatCannotBeFollowed) {
  const Url base = parsed("https://a.example/x");
  for (const char* ref : {"", "ftp://a.example/", "com.example.app:/cb?code=x", "https://a b/",
                          "//", "https://user:pw@b.example/", "//user@b.example/", "/a b",
                          "/a\r\nX-Injected: 1", "\\\\evil.example/"}) {
    EXPECT_FALSE(resolve_reference(base, ref)) << ref;
  }
}

}  // namespace
}  // namespace freshtoken::detail
