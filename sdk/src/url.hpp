// The SDK's one URL parser (internal): absolute http(s) URLs as HttpClient and the
// authorization-server checks see them, and RFC 3986 §5.2 resolution of a redirect's
// Location. Deliberately strict: whitespace, control characters, '\' and odd host
// characters are refused, so that the scheme and host we check are what the transport will
// connect to.
//
// Thread safety: values and free functions without shared state. Errors: parse_url returns
// config errors whose message never repeats the URL (it may carry credentials or codes).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "freshtoken/error.hpp"

namespace freshtoken::detail {

struct Url {
  std::string scheme;    // "http" or "https"
  std::string userinfo;  // as written, without '@'; empty when absent. Never logged.
  std::string host;      // lower case; an IPv6 literal keeps its brackets ("[::1]")
  int port = 0;          // the effective port: as written, else 80 / 443
  bool explicit_port = false;
  std::string path;   // as written (no dot-segment removal); may be empty
  std::string query;  // without the '?'
  bool has_query = false;
  bool has_fragment = false;  // the fragment itself is dropped: it is never sent

  // host, plus ":port" when the port was written.
  std::string host_port() const;
  // scheme://host[:port] with the default port left out (RFC 6454 serialisation).
  std::string origin() const;
  // The URL to send: scheme://[userinfo@]host[:port]path[?query], no fragment.
  std::string serialize() const;
  // For logs and error messages: no userinfo, no query (it may hold codes or keys).
  std::string redacted() const;
};

// The parts of an absolute http(s) URL as views into the text it was parsed from, checked as
// parse_url checks them but neither copied nor lowered: what HttpClient needs of every
// request's URL, without the allocations and copies of a Url. Valid while that text is.
struct UrlView {
  std::string_view scheme;  // "http" or "https" in any case
  bool https = false;
  std::string_view userinfo;  // never logged
  std::string_view host;      // as written, so compare it case-insensitively; "[...]" for IPv6
  int port = 0;               // the effective port
  bool explicit_port = false;
  std::string_view path;
  std::string_view query;  // without the '?'
  bool has_query = false;
  bool has_fragment = false;

  // The owning, normalised (lower-case scheme and host) form.
  Url to_url() const;
};

// An absolute http or https URL. Userinfo is accepted (the caller put it there; it is
// never logged); an empty port ("host:") means the default. Error: config, "bad URL: ...".
Result<UrlView> parse_url_view(std::string_view text);
// parse_url_view, owned: the same checks and errors.
Result<Url> parse_url(std::string_view text);

// The scheme of a URI reference ("https" in "https://..."), empty when it has none.
std::string_view scheme_of(std::string_view reference);

// RFC 3986 §5.2.4.
std::string remove_dot_segments(std::string_view path);

// Same scheme, host and effective port (RFC 6454).
bool same_origin(const Url& a, const Url& b);

// RFC 3986 §5.2.2 resolution of a redirect's Location against the URL that answered:
// absolute, scheme-relative ("//host/p"), absolute-path, relative-path and query-only
// references; a fragment is dropped. nullopt when the target is not an http(s) URL this
// parser accepts, or when a Location names userinfo (a server has no business planting
// credentials in the next request).
std::optional<Url> resolve_reference(const Url& base, std::string_view reference);

// localhost, 127.0.0.0/8, ::1 (bracketed or not) and IPv4-mapped 127/8: the hosts to which
// plain http is allowed (RFC 8252 §8.3) and which are reached without any proxy. Not
// "localhost." nor any other name that a resolver (rather than libcurl itself) answers.
bool is_loopback_host(std::string_view host);

}  // namespace freshtoken::detail
