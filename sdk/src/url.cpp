#include "url.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "freshtoken/http.hpp"  // iequals

namespace freshtoken::detail {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower(c);
  return out;
}

bool has_forbidden_chars(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '\\') return true;
  }
  return false;
}

// RFC 3986 reg-name without percent-encoding (which would hide what we compare), plus raw
// UTF-8 bytes for internationalised names.
bool valid_reg_name(std::string_view host) {
  for (char c : host) {
    auto u = static_cast<unsigned char>(c);
    if (!(u >= 0x80 || is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_'))
      return false;
  }
  return true;
}

// A dotted-quad IPv4 address, read as inet_pton(AF_INET) reads one: four decimal parts of
// 0-255, no leading zeros, nothing else.
std::optional<std::array<unsigned char, 4>> parse_ipv4(std::string_view name) {
  std::array<unsigned char, 4> bytes{};
  std::size_t i = 0;
  for (std::size_t part = 0; part < bytes.size(); ++part) {
    if (part > 0) {
      if (i >= name.size() || name[i] != '.') return std::nullopt;
      ++i;
    }
    const std::size_t start = i;
    unsigned value = 0;
    for (; i < name.size() && is_digit(name[i]); ++i) {
      if (i > start && value == 0) return std::nullopt;  // a leading zero
      value = value * 10 + unsigned(name[i] - '0');
      if (value > 255) return std::nullopt;
    }
    if (i == start) return std::nullopt;
    bytes[part] = static_cast<unsigned char>(value);
  }
  if (i != name.size()) return std::nullopt;
  return bytes;
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  c = lower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// An IPv6 address in RFC 4291 §2.2 text form, read as inet_pton(AF_INET6) reads one: up to
// eight groups of 1-4 hex digits, at most one "::", optionally ending in a dotted quad (which
// stands for the last two groups). No zone index.
std::optional<std::array<unsigned char, 16>> parse_ipv6(std::string_view text) {
  std::array<unsigned char, 16> bytes{};
  std::size_t filled = 0;          // bytes written so far
  std::optional<std::size_t> gap;  // where "::" stands, in bytes
  std::size_t i = 0;
  if (text.substr(0, 2) == "::") {
    gap = 0;
    i = 2;
  } else if (!text.empty() && text[0] == ':') {
    return std::nullopt;
  }
  while (i < text.size()) {
    if (filled == bytes.size()) return std::nullopt;
    const std::size_t start = i;
    unsigned value = 0;
    for (; i < text.size() && i - start < 5 && hex_value(text[i]) >= 0; ++i)
      value = value * 16 + unsigned(hex_value(text[i]));
    const std::size_t digits = i - start;
    if (i < text.size() && text[i] == '.') {  // the dotted quad ends the address
      auto v4 = parse_ipv4(text.substr(start));
      if (!v4 || filled + 4 > bytes.size()) return std::nullopt;
      for (unsigned char b : *v4) bytes[filled++] = b;
      i = text.size();
      break;
    }
    if (digits == 0 || digits > 4) return std::nullopt;
    bytes[filled++] = static_cast<unsigned char>(value >> 8);
    bytes[filled++] = static_cast<unsigned char>(value & 0xff);
    if (i == text.size()) break;
    if (text[i] != ':') return std::nullopt;
    ++i;
    if (i < text.size() && text[i] == ':') {
      if (gap) return std::nullopt;  // a second "::"
      gap = filled;
      ++i;
    } else if (i == text.size()) {
      return std::nullopt;  // a single trailing ':'
    }
  }
  if (gap) {
    if (filled == bytes.size()) return std::nullopt;  // "::" must stand for at least one group
    const std::size_t tail = filled - *gap;
    std::copy_backward(bytes.begin() + static_cast<std::ptrdiff_t>(*gap),
                       bytes.begin() + static_cast<std::ptrdiff_t>(filled), bytes.end());
    std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(*gap),
              bytes.end() - static_cast<std::ptrdiff_t>(tail), 0);
  } else if (filled != bytes.size()) {
    return std::nullopt;
  }
  return bytes;
}

Error bad(const char* what) { return Error(ErrorCode::config, std::string("bad URL: ") + what); }

}  // namespace

std::string Url::host_port() const {
  return explicit_port ? host + ":" + std::to_string(port) : host;
}

std::string Url::origin() const {
  const int default_port = scheme == "https" ? 443 : 80;
  std::string out = scheme + "://" + host;
  if (port != default_port) out += ":" + std::to_string(port);
  return out;
}

std::string Url::serialize() const {
  std::string out = scheme + "://";
  if (!userinfo.empty()) out += userinfo + "@";
  out += host_port() + path;
  if (has_query) out += "?" + query;
  return out;
}

std::string Url::redacted() const {
  return scheme + "://" + host_port() + (path.empty() ? "/" : path);
}

std::string_view scheme_of(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) return {};
  for (std::size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == ':') return s.substr(0, i);
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return {};
  }
  return {};
}

namespace {

// The authority's parts into `url`: userinfo, host (a bracketed IPv6 literal or a reg-name)
// and port (the scheme's default when absent).
Result<void> parse_authority(std::string_view authority, UrlView& url) {
  // The last '@' ends the userinfo: "http://127.0.0.1@evil.example/" goes to evil.example.
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    url.userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 literal");
    if (!parse_ipv6(authority.substr(1, close - 1))) return bad("invalid IPv6 literal");
    url.host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after IPv6 literal");
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (!valid_reg_name(url.host)) return bad("invalid host");
  }
  if (url.host.empty()) return bad("empty host");
  url.port = url.https ? 443 : 80;
  if (!port_text.empty()) {
    if (port_text.size() > 5) return bad("invalid port");
    int port = 0;
    for (char c : port_text) {
      if (!is_digit(c)) return bad("invalid port");
      port = port * 10 + (c - '0');
    }
    if (port == 0 || port > 65535) return bad("invalid port");
    url.port = port;
    url.explicit_port = true;
  }
  return {};
}

}  // namespace

Result<UrlView> parse_url_view(std::string_view text) {
  if (has_forbidden_chars(text)) return bad("contains whitespace, control characters or '\\'");
  UrlView url;
  url.scheme = scheme_of(text);
  if (url.scheme.empty()) return bad("not absolute");
  url.https = iequals(url.scheme, "https");
  if (!url.https && !iequals(url.scheme, "http")) return bad("scheme is not http or https");
  std::string_view rest = text.substr(url.scheme.size() + 1);
  if (rest.substr(0, 2) != "//") return bad("no authority");
  rest.remove_prefix(2);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) {
    url.has_fragment = true;
    rest = rest.substr(0, hash);
  }

  // A loop rather than find_first_of("/?"), which searches the set once per character: this
  // parse runs on every request HttpClient sends.
  std::size_t authority_end = 0;
  while (authority_end < rest.size() && rest[authority_end] != '/' && rest[authority_end] != '?')
    ++authority_end;
  std::string_view authority = rest.substr(0, authority_end);
  rest.remove_prefix(authority_end);

  if (auto parsed = parse_authority(authority, url); !parsed) return parsed.error();
  auto q = rest.find('?');
  url.path = rest.substr(0, q);
  if (q != std::string_view::npos) {
    url.has_query = true;
    url.query = rest.substr(q + 1);
  }
  return url;
}

Url UrlView::to_url() const {
  Url url;
  url.scheme = lowered(scheme);
  url.userinfo = std::string(userinfo);
  url.host = lowered(host);
  url.port = port;
  url.explicit_port = explicit_port;
  url.path = std::string(path);
  url.query = std::string(query);
  url.has_query = has_query;
  url.has_fragment = has_fragment;
  return url;
}

Result<Url> parse_url(std::string_view text) {
  auto view = parse_url_view(text);
  if (!view) return view.error();
  return view->to_url();
}

std::string remove_dot_segments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.substr(0, 3) == "../") {
      in.remove_prefix(3);
    } else if (in.substr(0, 2) == "./") {
      in.remove_prefix(2);
    } else if (in.substr(0, 3) == "/./") {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.substr(0, 4) == "/../" || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      auto slash = out.rfind('/');
      out.erase(slash == std::string::npos ? 0 : slash);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      auto next = in.find('/', in[0] == '/' ? 1 : 0);
      if (next == std::string_view::npos) next = in.size();
      out.append(in.substr(0, next));
      in.remove_prefix(next);
    }
  }
  return out;
}

bool same_origin(const Url& a, const Url& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port;
}

std::optional<Url> resolve_reference(const Url& base, std::string_view ref) {
  if (ref.empty() || has_forbidden_chars(ref)) return std::nullopt;
  if (!scheme_of(ref).empty() || ref.substr(0, 2) == "//") {
    // Absolute or scheme-relative: a new authority, parsed like any request URL.
    auto url = ref[0] == '/' ? parse_url(base.scheme + ":" + std::string(ref)) : parse_url(ref);
    if (!url || !url->userinfo.empty()) return std::nullopt;
    url->path = remove_dot_segments(url->path);
    url->has_fragment = false;
    return std::move(*url);
  }
  if (auto hash = ref.find('#'); hash != std::string_view::npos) ref = ref.substr(0, hash);
  Url url = base;
  url.has_fragment = false;
  auto q = ref.find('?');
  std::string_view path = ref.substr(0, q);
  url.has_query = q != std::string_view::npos;
  url.query = url.has_query ? std::string(ref.substr(q + 1)) : std::string();
  if (path.empty()) {
    if (!url.has_query) {
      url.has_query = base.has_query;
      url.query = base.query;
    }
  } else if (path[0] == '/') {
    url.path = remove_dot_segments(path);
  } else {
    // §5.2.3 merge: a base with an authority and an empty path merges as "/".
    std::string merged = base.path.empty()
                             ? "/" + std::string(path)
                             : base.path.substr(0, base.path.rfind('/') + 1) + std::string(path);
    url.path = remove_dot_segments(merged);
  }
  return url;
}

bool is_loopback_host(std::string_view host) {
  // "localhost" only: libcurl answers it itself with 127.0.0.1 and ::1, but "localhost."
  // (and any other name) goes to the system's resolver, which may answer anything.
  if (iequals(host, "localhost")) return true;
  std::string_view name = host;
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  // Only an IPv6 address has a ':'. An IPv4 one is read in place: HttpClient asks this for
  // every plain-http request.
  if (name.find(':') == std::string_view::npos) {
    auto v4 = parse_ipv4(name);
    return v4 && (*v4)[0] == 127;
  }
  auto v6 = parse_ipv6(name);
  if (!v6) return false;
  static constexpr std::array<unsigned char, 16> kLoopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                           0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr std::array<unsigned char, 12> kV4Mapped{0, 0, 0, 0, 0,    0,
                                                           0, 0, 0, 0, 0xff, 0xff};
  const bool v4_mapped = std::equal(kV4Mapped.begin(), kV4Mapped.end(), v6->begin());
  return *v6 == kLoopback || (v4_mapped && (*v6)[12] == 127);
}

}  // namespace freshtoken::detail
