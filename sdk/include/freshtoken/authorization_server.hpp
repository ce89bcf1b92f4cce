// AuthorizationServer: everything the SDK says to an OAuth 2.0 authorization server —
// discovery (RFC 8414 / OpenID Connect Discovery, with the issuer check), the token endpoint
// grants (authorization_code with PKCE, refresh_token, client_credentials, device_code),
// device authorization (RFC 8628) and revocation (RFC 7009).
//
// Token endpoint answers are parsed into a TokenSet (RFC 6749 §5.1) or an Error:
// ErrorCode::token_endpoint with oauth() set for an RFC 6749 §5.2 error, invalid_response for
// anything that is neither (HTML pages, truncated or mistyped JSON, a 200 without
// access_token), network/tls/timeout when the exchange did not complete. 408, 429 and 5xx
// answers carry http_status() and retry_after() so that callers can back off.
//
// Thread safety: all methods are const and may be called from many threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "freshtoken/clock.hpp"
#include "freshtoken/error.hpp"
#include "freshtoken/secret.hpp"
#include "freshtoken/token_set.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken {

enum class ClientAuth { none, client_secret_basic, client_secret_post };

struct ClientConfig {
  std::string client_id;
  Secret client_secret;  // empty for public clients
  ClientAuth auth = ClientAuth::none;
};

// The parts of RFC 8414 metadata that the SDK uses. Empty strings mean "not offered".
struct ServerMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string device_authorization_endpoint;
  std::string revocation_endpoint;
  std::string introspection_endpoint;
  std::string userinfo_endpoint;
  std::string jwks_uri;
  std::vector<std::string> code_challenge_methods_supported;
  std::vector<std::string> grant_types_supported;
  bool authorization_response_iss_parameter_supported = false;  // RFC 9207
};

// RFC 8628 §3.2.
struct DeviceAuthorization {
  Secret device_code;
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;  // may be empty
  std::chrono::seconds expires_in{0};
  std::chrono::seconds interval{5};
};

class AuthorizationServer {
 public:
  AuthorizationServer(std::shared_ptr<Transport> transport, ServerMetadata metadata,
                      ClientConfig client, std::shared_ptr<Clock> clock = system_clock());

  // Fetches /.well-known/openid-configuration, falling back to
  // /.well-known/oauth-authorization-server, and checks that the document's issuer is
  // exactly `issuer`.
  static Result<std::shared_ptr<AuthorizationServer>> discover(
      std::shared_ptr<Transport> transport, const std::string& issuer, ClientConfig client,
      std::shared_ptr<Clock> clock = system_clock());

  const ServerMetadata& metadata() const { return metadata_; }
  const ClientConfig& client() const { return client_; }
  const std::shared_ptr<Clock>& clock() const { return clock_; }

  // grant_type=refresh_token. `scope` empty asks for the originally granted scope.
  Result<TokenSet> refresh(const Secret& refresh_token, const std::string& scope = {}) const;
  // grant_type=client_credentials.
  Result<TokenSet> client_credentials(const std::string& scope = {}) const;
  // grant_type=authorization_code with the PKCE verifier.
  Result<TokenSet> exchange_code(const Secret& code, const std::string& redirect_uri,
                                 const Secret& code_verifier) const;
  // RFC 8628 §3.1.
  Result<DeviceAuthorization> start_device_authorization(const std::string& scope = {}) const;
  // One poll of RFC 8628 §3.4. authorization_pending, slow_down, access_denied and
  // expired_token come back as ErrorCode::token_endpoint with oauth() set.
  Result<TokenSet> poll_device_token(const Secret& device_code) const;
  // RFC 7009. `token_type_hint` is "refresh_token" or "access_token".
  Result<void> revoke(const Secret& token, std::string_view token_type_hint) const;

 private:
  std::shared_ptr<Transport> transport_;
  ServerMetadata metadata_;
  ClientConfig client_;
  std::shared_ptr<Clock> clock_;
};

}  // namespace freshtoken
