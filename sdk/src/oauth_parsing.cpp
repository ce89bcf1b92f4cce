#include "oauth_parsing.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace freshtoken::detail {

namespace {

using nlohmann::json;

// A seconds value read from JSON, saturated far above any cap so that callers clamp.
constexpr std::int64_t kSaturate = 1'000'000'000'000LL;
// 2200-01-01T00:00:00Z: later HTTP-dates are read as this one.
constexpr std::int64_t kLatestHttpDate = 7'258'118'400LL;

Error invalid(std::string_view what, std::string_view detail) {
  std::string message(what);
  message += ": ";
  message += detail;
  return Error(ErrorCode::invalid_response, std::move(message));
}

// Parses without throwing; nullopt for anything that is not JSON.
std::optional<json> parse_json(std::string_view body) {
  try {
    json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return std::nullopt;
    return doc;
  } catch (...) {
    return std::nullopt;
  }
}

// Parses the body as a JSON object; the error says why not.
Result<json> parse_object(std::string_view body, std::string_view what) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return invalid(what, "empty body");
  }
  auto doc = parse_json(body);
  if (!doc) return invalid(what, "body is not valid JSON");
  if (!doc->is_object()) return invalid(what, "body is not a JSON object");
  return std::move(*doc);
}

// Optional string member: absent or null → nullopt; a non-string → error.
Result<std::optional<std::string>> optional_string(json& object, const char* name,
                                                   std::string_view what) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) return invalid(what, std::string(name) + " is not a string");
  // Move the value out so that no second copy of a token stays in the document.
  return std::optional<std::string>(std::move(it->get_ref<std::string&>()));
}

Result<std::string> required_string(json& object, const char* name, std::string_view what) {
  auto value = optional_string(object, name, what);
  if (!value) return value.error();
  if (!value->has_value()) return invalid(what, std::string(name) + " missing");
  if ((*value)->empty()) return invalid(what, std::string(name) + " is empty");
  return std::move(**value);
}

// "3600", " 3600 ", "-5": an integer in a string. Saturates at kSaturate.
std::optional<std::int64_t> parse_integer_text(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = std::min<std::int64_t>(value * 10 + (c - '0'), kSaturate);
  }
  return negative ? -value : value;
}

// Optional seconds member (number or numeric string): absent or null → nullopt.
Result<std::optional<std::int64_t>> optional_seconds(const json& object, const char* name,
                                                     std::string_view what) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::optional<std::int64_t>{};
  if (it->is_number_unsigned()) {
    auto v = it->get<std::uint64_t>();
    return std::optional<std::int64_t>(
        static_cast<std::int64_t>(std::min<std::uint64_t>(v, kSaturate)));
  }
  if (it->is_number_integer()) {
    auto v = it->get<std::int64_t>();
    return std::optional<std::int64_t>(std::clamp<std::int64_t>(v, -kSaturate, kSaturate));
  }
  if (it->is_number_float()) {
    double v = it->get<double>();
    if (!(v == v)) return invalid(what, std::string(name) + " is not a number");
    v = std::clamp(v, -static_cast<double>(kSaturate), static_cast<double>(kSaturate));
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v));
  }
  if (it->is_string()) {
    if (auto v = parse_integer_text(it->get_ref<const std::string&>())) {
      return std::optional<std::int64_t>(*v);
    }
  }
  return invalid(what, std::string(name) + " is not a number");
}

Result<std::vector<std::string>> optional_string_array(const json& object, const char* name,
                                                       std::string_view what) {
  std::vector<std::string> out;
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return out;
  if (!it->is_array()) return invalid(what, std::string(name) + " is not an array of strings");
  for (const auto& element : *it) {
    if (!element.is_string()) {
      return invalid(what, std::string(name) + " is not an array of strings");
    }
    out.push_back(element.get<std::string>());
  }
  return out;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

// Howard Hinnant's days_from_civil: days since 1970-01-01 in the proleptic Gregorian calendar.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

std::optional<unsigned> month_number(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths{
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  auto lowered = to_lower(name);
  for (unsigned i = 0; i < kMonths.size(); ++i) {
    if (lowered == kMonths[i]) return i + 1;
  }
  return std::nullopt;
}

bool is_day_name(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kDays{
      "mon",    "tue",     "wed",       "thu",      "fri",    "sat",      "sun",
      "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
  auto lowered = to_lower(name);
  return std::find(kDays.begin(), kDays.end(), lowered) != kDays.end();
}

std::optional<unsigned> small_number(std::string_view text, std::size_t min_digits,
                                     std::size_t max_digits) {
  if (text.size() < min_digits || text.size() > max_digits) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

bool parse_clock_time(std::string_view text, unsigned& h, unsigned& m, unsigned& s) {
  if (text.size() != 8 || text[2] != ':' || text[5] != ':') return false;
  auto hh = small_number(text.substr(0, 2), 2, 2);
  auto mm = small_number(text.substr(3, 2), 2, 2);
  auto ss = small_number(text.substr(6, 2), 2, 2);
  if (!hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 60) return false;
  h = *hh;
  m = *mm;
  s = std::min(*ss, 59u);  // a leap second is as good as the second before it
  return true;
}

std::string strip_trailing_slash(std::string_view text) {
  while (!text.empty() && text.back() == '/') text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

Result<TokenSet> parse_token_response(std::string_view body, TimePoint received_at,
                                      bool dpop_requested) {
  constexpr std::string_view what = "token response";
  try {
    auto doc = parse_object(body, what);
    if (!doc) return doc.error();
    json& object = *doc;

    TokenSet tokens;
    tokens.issued_at = received_at;

    auto access_token = required_string(object, "access_token", what);
    if (!access_token) return access_token.error();
    tokens.access_token = Secret(std::move(*access_token));

    auto token_type = required_string(object, "token_type", what);
    if (!token_type) return token_type.error();
    // RFC 6749 §7.1: the type is case-insensitive. We send Bearer tokens (RFC 6750) and, to a
    // request that carried a proof, DPoP ones (RFC 9449 §5); any other type sent as one of
    // those would be refused, so say so now.
    if (dpop_requested && iequals(*token_type, "dpop")) {
      tokens.token_type = "DPoP";
    } else if (iequals(*token_type, "bearer")) {
      tokens.token_type = "Bearer";
    } else {
      return invalid(what, dpop_requested ? "token_type is neither DPoP nor Bearer"
                                          : "token_type is not Bearer (the only type this "
                                            "client can use without DPoP)");
    }

    auto expires_in = optional_seconds(object, "expires_in", what);
    if (!expires_in) return expires_in.error();
    if (expires_in->has_value()) {
      std::int64_t seconds = std::clamp<std::int64_t>(**expires_in, 0, kMaxExpiresIn.count());
      tokens.expires_at = received_at + std::chrono::seconds(seconds);
    }

    auto refresh_token = optional_string(object, "refresh_token", what);
    if (!refresh_token) return refresh_token.error();
    if (refresh_token->has_value()) tokens.refresh_token = Secret(std::move(**refresh_token));

    auto scope = optional_string(object, "scope", what);
    if (!scope) return scope.error();
    if (scope->has_value()) tokens.scope = std::move(**scope);

    auto id_token = optional_string(object, "id_token", what);
    if (!id_token) return id_token.error();
    if (id_token->has_value()) tokens.id_token = Secret(std::move(**id_token));

    return tokens;
  } catch (...) {
    return invalid(what, "could not be read");
  }
}

std::optional<OAuthError> parse_oauth_error(std::string_view body) {
  try {
    auto doc = parse_json(body);
    if (!doc || !doc->is_object()) return std::nullopt;
    auto error = doc->find("error");
    if (error == doc->end() || !error->is_string() ||
        error->get_ref<const std::string&>().empty()) {
      return std::nullopt;
    }
    OAuthError out;
    out.error = printable(error->get_ref<const std::string&>(), 100);
    auto description = doc->find("error_description");
    if (description != doc->end() && description->is_string()) {
      out.description = printable(description->get_ref<const std::string&>(), 500);
    }
    auto uri = doc->find("error_uri");
    if (uri != doc->end() && uri->is_string()) {
      out.uri = printable(uri->get_ref<const std::string&>(), 500);
    }
    return out;
  } catch (...) {
    return std::nullopt;
  }
}

Result<ServerMetadata> parse_discovery_document(std::string_view body) {
  constexpr std::string_view what = "discovery document";
  try {
    auto doc = parse_object(body, what);
    if (!doc) return doc.error();
    json& object = *doc;
    ServerMetadata metadata;

    const std::pair<const char*, std::string*> strings[] = {
        {"issuer", &metadata.issuer},
        {"authorization_endpoint", &metadata.authorization_endpoint},
        {"token_endpoint", &metadata.token_endpoint},
        {"device_authorization_endpoint", &metadata.device_authorization_endpoint},
        {"revocation_endpoint", &metadata.revocation_endpoint},
        {"introspection_endpoint", &metadata.introspection_endpoint},
        {"userinfo_endpoint", &metadata.userinfo_endpoint},
        {"jwks_uri", &metadata.jwks_uri},
    };
    for (const auto& [name, target] : strings) {
      auto value = optional_string(object, name, what);
      if (!value) return value.error();
      if (value->has_value()) *target = std::move(**value);
    }
    if (metadata.issuer.empty()) return invalid(what, "issuer missing");

    auto methods = optional_string_array(object, "code_challenge_methods_supported", what);
    if (!methods) return methods.error();
    metadata.code_challenge_methods_supported = std::move(*methods);
    auto grants = optional_string_array(object, "grant_types_supported", what);
    if (!grants) return grants.error();
    metadata.grant_types_supported = std::move(*grants);
    auto dpop_algs = optional_string_array(object, "dpop_signing_alg_values_supported", what);
    if (!dpop_algs) return dpop_algs.error();
    metadata.dpop_signing_alg_values_supported = std::move(*dpop_algs);

    auto iss = object.find("authorization_response_iss_parameter_supported");
    if (iss != object.end() && !iss->is_null()) {
      if (!iss->is_boolean()) {
        return invalid(what, "authorization_response_iss_parameter_supported is not a boolean");
      }
      metadata.authorization_response_iss_parameter_supported = iss->get<bool>();
    }
    return metadata;
  } catch (...) {
    return invalid(what, "could not be read");
  }
}

Result<void> validate_metadata(const ServerMetadata& metadata, std::string_view expected_issuer) {
  // RFC 8414 §3.3 / OpenID Discovery §4.3: exact string comparison, no normalisation.
  if (metadata.issuer != expected_issuer) {
    return Error(ErrorCode::invalid_response,
                 "discovery: issuer mismatch: requested '" + printable(expected_issuer) +
                     "' but the document says '" + printable(metadata.issuer) + "'");
  }
  if (metadata.token_endpoint.empty()) {
    return Error(ErrorCode::invalid_response, "discovery document: token_endpoint missing");
  }
  const std::pair<std::string_view, const std::string*> endpoints[] = {
      {"authorization_endpoint", &metadata.authorization_endpoint},
      {"token_endpoint", &metadata.token_endpoint},
      {"device_authorization_endpoint", &metadata.device_authorization_endpoint},
      {"revocation_endpoint", &metadata.revocation_endpoint},
      {"introspection_endpoint", &metadata.introspection_endpoint},
      {"userinfo_endpoint", &metadata.userinfo_endpoint},
      {"jwks_uri", &metadata.jwks_uri},
  };
  for (const auto& [name, url] : endpoints) {
    if (url->empty()) continue;
    auto checked = check_endpoint_url(name, *url);
    if (!checked) return checked.error();
  }
  return {};
}

Result<DeviceAuthorization> parse_device_authorization(std::string_view body) {
  constexpr std::string_view what = "device authorization response";
  try {
    auto doc = parse_object(body, what);
    if (!doc) return doc.error();
    json& object = *doc;
    DeviceAuthorization out;

    auto device_code = required_string(object, "device_code", what);
    if (!device_code) return device_code.error();
    out.device_code = Secret(std::move(*device_code));

    auto user_code = required_string(object, "user_code", what);
    if (!user_code) return user_code.error();
    out.user_code = std::move(*user_code);

    const char* uri_name = object.contains("verification_uri")   ? "verification_uri"
                           : object.contains("verification_url") ? "verification_url"
                                                                 : "verification_uri";
    auto uri = required_string(object, uri_name, what);
    if (!uri) return uri.error();
    out.verification_uri = std::move(*uri);

    auto complete = optional_string(object, "verification_uri_complete", what);
    if (!complete) return complete.error();
    if (complete->has_value()) out.verification_uri_complete = std::move(**complete);

    auto expires_in = optional_seconds(object, "expires_in", what);
    if (!expires_in) return expires_in.error();
    if (!expires_in->has_value()) return invalid(what, "expires_in missing");
    out.expires_in =
        std::chrono::seconds(std::clamp<std::int64_t>(**expires_in, 0, kMaxExpiresIn.count()));

    auto interval = optional_seconds(object, "interval", what);
    if (!interval) return interval.error();
    // 0 is kept (the server asks for no wait; sign_in_with_device bounds it); a negative
    // interval is meaningless and treated as absent.
    if (interval->has_value() && **interval >= 0) {
      out.interval = std::chrono::seconds(std::min<std::int64_t>(**interval, 3600));
    }
    return out;
  } catch (...) {
    return invalid(what, "could not be read");
  }
}

std::optional<TimePoint> parse_http_date(std::string_view value) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < value.size() && tokens.size() < 8) {
    while (i < value.size() && (value[i] == ' ' || value[i] == ',' || value[i] == '-')) ++i;
    std::size_t start = i;
    while (i < value.size() && value[i] != ' ' && value[i] != ',' && value[i] != '-') ++i;
    if (i > start) tokens.push_back(value.substr(start, i - start));
  }
  if (i < value.size()) return std::nullopt;
  if (tokens.size() < 5 || !is_day_name(tokens[0])) return std::nullopt;

  std::optional<unsigned> day, month;
  std::int64_t year = 0;
  std::string_view time;
  if (tokens.size() == 6) {
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" or RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT".
    if (tokens[5] != "GMT" && tokens[5] != "UTC") return std::nullopt;
    day = small_number(tokens[1], 1, 2);
    month = month_number(tokens[2]);
    auto y = small_number(tokens[3], 2, 4);
    if (!y || tokens[3].size() == 3) return std::nullopt;
    year = *y;
    // RFC 9110 §5.6.7 asks to read a two-digit year as within the past 50 years; without
    // the clock here, 70..99 → 19xx and 00..69 → 20xx is the same answer until 2050.
    if (tokens[3].size() == 2) year += year >= 70 ? 1900 : 2000;
    time = tokens[4];
  } else if (tokens.size() == 5) {
    // asctime "Sun Nov  6 08:49:37 1994".
    month = month_number(tokens[1]);
    day = small_number(tokens[2], 1, 2);
    time = tokens[3];
    auto y = small_number(tokens[4], 4, 4);
    if (!y) return std::nullopt;
    year = *y;
  } else {
    return std::nullopt;
  }
  unsigned h = 0, m = 0, s = 0;
  if (!day || !month || !parse_clock_time(time, h, m, s)) return std::nullopt;
  if (*day < 1 || *day > days_in_month(year, *month)) return std::nullopt;
  std::int64_t seconds = days_from_civil(year, *month, *day) * 86400 + h * 3600 + m * 60 + s;
  // The clock's nanosecond time_point spans about 1678..2262; keep far-off dates inside it.
  seconds = std::clamp<std::int64_t>(seconds, 0, kLatestHttpDate);
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::seconds(seconds)));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  using std::chrono::milliseconds;
  const milliseconds cap = kMaxRetryAfter;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t seconds = 0;
    for (char c : value) seconds = std::min<std::int64_t>(seconds * 10 + (c - '0'), kSaturate);
    return std::min<milliseconds>(std::chrono::seconds(seconds), cap);
  }
  auto date = parse_http_date(value);
  if (!date) return std::nullopt;
  if (*date <= now) return milliseconds(0);
  auto delay = std::chrono::duration_cast<milliseconds>(*date - now);
  return std::min(delay, cap);
}

Result<void> check_endpoint_url(std::string_view what, std::string_view url) {
  auto parsed = parse_url(url);
  if (!parsed) {
    return Error(ErrorCode::config, std::string(what) + " is not an absolute http(s) URL");
  }
  if (parsed->scheme == "https") return {};
  if (is_loopback_host(parsed->host)) return {};
  return Error(ErrorCode::config, std::string(what) +
                                      " must use https (plain http is allowed only to a "
                                      "loopback host)");
}

std::string openid_configuration_url(std::string_view issuer) {
  return strip_trailing_slash(issuer) + "/.well-known/openid-configuration";
}

std::string oauth_metadata_url(std::string_view issuer) {
  auto parsed = parse_url(issuer);
  if (!parsed) return strip_trailing_slash(issuer) + "/.well-known/oauth-authorization-server";
  Url url = std::move(*parsed);
  url.path = "/.well-known/oauth-authorization-server" + strip_trailing_slash(url.path);
  return url.serialize();
}

Error error_from_response(const Response& response, TimePoint now, std::string_view context) {
  const int status = response.status;
  const bool transient = status == 408 || status == 429 || (status >= 500 && status <= 599);
  std::optional<std::chrono::milliseconds> retry_after;
  if (auto header = response.headers.get("Retry-After")) {
    retry_after = parse_retry_after(*header, now);
  }
  auto oauth = status >= 400 ? parse_oauth_error(response.body) : std::nullopt;

  std::string message(context);
  std::optional<Error> error;
  if (oauth) {
    message += " rejected by the server";
    error.emplace(ErrorCode::token_endpoint, std::move(message));
    error->with_oauth(std::move(*oauth));
  } else if (transient) {
    message += ": server unavailable";
    error.emplace(ErrorCode::token_endpoint, std::move(message));
  } else if (status >= 300 && status < 400) {
    message += ": unexpected redirect (HTTP " + std::to_string(status) + ")";
    error.emplace(ErrorCode::invalid_response, std::move(message));
  } else {
    message += ": HTTP " + std::to_string(status) + " without an OAuth error body";
    error.emplace(ErrorCode::invalid_response, std::move(message));
  }
  error->with_http_status(status);
  if (retry_after) error->with_retry_after(*retry_after);
  return std::move(*error);
}

}  // namespace freshtoken::detail
