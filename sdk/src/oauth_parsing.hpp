// Pure parsers for what an OAuth 2.0 authorization server sends (internal). No I/O, no
// clock reads (the time is passed in), never throw, never put body content that could be a
// secret into an Error message. Separately callable so that fuzzers can target them.
//
// Thread safety: free functions without shared state.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/error.hpp"
#include "freshtoken/http.hpp"
#include "freshtoken/token_set.hpp"
#include "url.hpp"            // is_loopback_host, parse_url
#include "util/encoding.hpp"  // printable

namespace freshtoken::detail {

using TimePoint = std::chrono::system_clock::time_point;

// Longest lifetime believed from expires_in; larger values are clamped to it.
inline constexpr std::chrono::seconds kMaxExpiresIn{10LL * 365 * 24 * 3600};
// Longest wait believed from Retry-After; larger values are clamped to it.
inline constexpr std::chrono::seconds kMaxRetryAfter{24 * 3600};
// Largest answer taken from the authorization server (discovery, JWKS, token, device,
// revocation): Request::max_response_bytes of its requests. Real ones are a few KiB.
inline constexpr std::size_t kMaxServerResponseBytes = 1024 * 1024;

// RFC 6749 §5.1 success body. `received_at` becomes issued_at and the base of expires_at.
// token_type is required and must be "bearer" in any case (normalised to "Bearer"), or, when
// `dpop_requested` (the request carried a DPoP proof), "dpop" in any case (normalised to "DPoP").
// expires_in is a JSON number or a numeric string: missing or null → expires_at empty;
// <= 0 → expires_at = received_at (already expired); above kMaxExpiresIn → clamped.
// Unknown fields are ignored; null optional fields count as absent.
// Errors: invalid_response, message "token response: <what was wrong>".
Result<TokenSet> parse_token_response(std::string_view body, TimePoint received_at,
                                      bool dpop_requested = false);

// RFC 6749 §5.2 error body: a JSON object whose "error" is a non-empty string.
// error_description / error_uri are taken when they are strings. nullopt for anything else.
std::optional<OAuthError> parse_oauth_error(std::string_view body);

// RFC 8414 §2 / OpenID Connect Discovery 1.0 §3 document, types checked. Does not check
// the issuer or the URL schemes: that is validate_metadata's job.
// Errors: invalid_response, message "discovery document: <what was wrong>".
Result<ServerMetadata> parse_discovery_document(std::string_view body);

// The issuer equals `expected_issuer` exactly (else invalid_response naming both), a
// token_endpoint is present (else invalid_response), and every endpoint is https or http
// to a loopback host (else config).
Result<void> validate_metadata(const ServerMetadata& metadata, std::string_view expected_issuer);

// RFC 8628 §3.2. verification_url (sent by some servers) is accepted for verification_uri.
// interval missing or negative → 5 s; 0 stays 0. Errors: invalid_response, "device authorization
// response: ...".
Result<DeviceAuthorization> parse_device_authorization(std::string_view body);

// RFC 9110 §10.2.3 Retry-After: delta-seconds or an HTTP-date (relative to `now`; a date in
// the past means 0). Clamped to kMaxRetryAfter. nullopt when the value is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now);

// RFC 9110 §5.6.7 HTTP-date: IMF-fixdate, and the obsolete RFC 850 and asctime forms.
std::optional<TimePoint> parse_http_date(std::string_view value);

// `url` is https, or http to a loopback host. Errors: config, naming `what` (not the URL's
// query, which may carry anything).
Result<void> check_endpoint_url(std::string_view what, std::string_view url);

// {issuer}/.well-known/openid-configuration (OpenID Connect Discovery §4).
std::string openid_configuration_url(std::string_view issuer);
// RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
std::string oauth_metadata_url(std::string_view issuer);

// Turns an endpoint's non-2xx answer into an Error. `context` names the operation
// ("refresh_token grant"). Classification:
// - a §5.2 error body (any 4xx/5xx) → token_endpoint with oauth() and http_status();
// - 408, 429, 5xx without one → token_endpoint with http_status();
// - anything else (400/401/403/404 without an OAuth body, 3xx, 1xx) → invalid_response.
// retry_after() is set whenever a valid Retry-After header came with it.
Error error_from_response(const Response& response, TimePoint now, std::string_view context);

using util::printable;

}  // namespace freshtoken::detail
