// Fuzzes the SDK's one URL parser as HttpClient uses it: a request URL (as a view and as a
// Url), then a redirect's Location resolved against it (RFC 3986 §5.2). Input:
// "<request URL>\n<Location>".
// Properties: a parsed URL serialises to text that parses to the same URL; its origin is a
// well-formed URL of the same origin; a resolved Location is such a URL too, with dot
// segments gone, no userinfo unless it kept the request's own authority, and nothing in it
// that could split an HTTP header; the loopback predicate agrees with what the parser gives.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "url.hpp"

using namespace freshtoken;
using namespace freshtoken::detail;

namespace {

bool equal(const Url& a, const Url& b) {
  return a.scheme == b.scheme && a.userinfo == b.userinfo && a.host == b.host && a.port == b.port &&
         a.explicit_port == b.explicit_port && a.path == b.path && a.has_query == b.has_query &&
         a.query == b.query;
}

bool has_upper_or_space(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || u <= 0x20 || u == 0x7f) return true;
  }
  return false;
}

// Everything a parsed URL must satisfy, whatever text it came from.
void check_url(const Url& url) {
  FUZZ_CHECK(url.scheme == "http" || url.scheme == "https");
  FUZZ_CHECK(!url.host.empty() && !has_upper_or_space(url.host));
  FUZZ_CHECK(url.port >= 1 && url.port <= 65535);
  if (!url.explicit_port) FUZZ_CHECK(url.port == (url.scheme == "https" ? 443 : 80));
  FUZZ_CHECK(url.path.empty() || url.path[0] == '/');
  FUZZ_CHECK(url.path.find_first_of("?#") == std::string::npos);
  FUZZ_CHECK(url.query.find('#') == std::string::npos);
  FUZZ_CHECK(url.has_query || url.query.empty());

  // parse -> serialise -> parse is stable.
  const std::string text = url.serialize();
  for (char c : text) FUZZ_CHECK(c != '\r' && c != '\n' && c != ' ' && c != '\0');
  auto again = parse_url(text);
  FUZZ_CHECK(again && equal(*again, url) && again->serialize() == text);

  // The origin is a URL of its own, of the same origin, with no path, query or userinfo.
  const std::string origin = url.origin();
  auto parsed_origin = parse_url(origin);
  FUZZ_CHECK(parsed_origin);
  FUZZ_CHECK(same_origin(*parsed_origin, url));
  FUZZ_CHECK(parsed_origin->path.empty() && !parsed_origin->has_query);
  FUZZ_CHECK(parsed_origin->userinfo.empty());
  FUZZ_CHECK(parsed_origin->origin() == origin);

  // What reaches a log: no userinfo, no query.
  const std::string redacted = url.redacted();
  FUZZ_CHECK(redacted ==
             url.scheme + "://" + url.host_port() + (url.path.empty() ? "/" : url.path));

  // Plain http is allowed to loopback hosts only: names that look like one must be one, and
  // an IPv4 literal is one exactly when inet_pton reads it as 127.0.0.0/8.
  if (is_loopback_host(url.host)) {
    FUZZ_CHECK(url.host == "localhost" || url.host[0] == '[' ||
               (url.host[0] >= '0' && url.host[0] <= '9'));
  }
  if (url.host[0] != '[') {
    in_addr v4{};
    const bool ipv4_loopback =
        inet_pton(AF_INET, url.host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
    // "localhost." is not loopback: libcurl hands it to the resolver.
    FUZZ_CHECK(is_loopback_host(url.host) == (ipv4_loopback || url.host == "localhost"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  const auto newline = input.find('\n');
  const std::string_view request = input.substr(0, newline);
  const std::string_view location =
      newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);

  auto base = parse_url(request);
  if (!base) {
    FUZZ_CHECK(base.error().code() == ErrorCode::config);
    FUZZ_CHECK(!fuzz::leaks_canary(request, base.error().message()));
    // The Location on its own, as an absolute URL.
    if (auto alone = parse_url(location)) check_url(*alone);
    return 0;
  }
  check_url(*base);
  // HttpClient decides from the view, before any Url exists: it must see the same URL.
  auto view = parse_url_view(request);
  FUZZ_CHECK(view && view->https == (base->scheme == "https"));
  FUZZ_CHECK(is_loopback_host(view->host) == is_loopback_host(base->host));
  FUZZ_CHECK(view->to_url().serialize() == base->serialize());

  auto target = resolve_reference(*base, location);
  if (!target) return 0;
  check_url(*target);
  FUZZ_CHECK(!target->has_fragment);
  // Resolution removes dot segments (RFC 3986 §5.2.2), unless only the query changed.
  const std::string_view ref_path = location.substr(0, location.find_first_of("?#"));
  if (!ref_path.empty()) {
    FUZZ_CHECK(remove_dot_segments(target->path) == target->path);
  } else {
    FUZZ_CHECK(target->path == base->path);
  }
  const bool new_authority = !scheme_of(location).empty() || location.substr(0, 2) == "//";
  if (new_authority) {
    // Absolute and scheme-relative references name their own origin; never credentials.
    FUZZ_CHECK(target->userinfo.empty());
    auto absolute = location[0] == '/' ? parse_url(base->scheme + ":" + std::string(location))
                                       : parse_url(location);
    FUZZ_CHECK(absolute && same_origin(*absolute, *target));
  } else {
    // Relative references stay on the request's origin, with its userinfo.
    FUZZ_CHECK(same_origin(*base, *target) && target->origin() == base->origin());
    FUZZ_CHECK(target->userinfo == base->userinfo);
  }
  FUZZ_CHECK(same_origin(*base, *target) == (base->origin() == target->origin()));
  return 0;
}
