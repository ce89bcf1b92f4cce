// MockServer's implementation (internal): the HTTP side of the mock server. Each group of
// endpoints lives in its own file; they parse requests, call MockState and render its answers.
//   server.cpp              lifecycle (start, stop) and the public MockServer methods
//   routes.cpp              paths to endpoints, counting and faults around each, error pages
//   discovery.cpp           discovery and JWKS documents
//   authorize_endpoint.cpp  /authorize and its sign-in page
//   token_endpoint.cpp      /token and its four grants
//   device_endpoint.cpp     /device_authorization and the /device verification page
//   token_management.cpp    /revoke and /introspect
//   resource_api.cpp        bearer and DPoP token checks, /userinfo and the APIs (/api/, /files/)
//   dpop_endpoint.cpp       DPoP proofs of requests (RFC 9449): modes, nonces, replay, answers
//   control_api.cpp         /mock/ (the JSON boundary of the control operations)
// Thread safety: as MockServer's.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "freshtoken/mock_server.hpp"
#include "http_util.hpp"
#include "registry.hpp"
#include "state.hpp"

namespace freshtoken::mock {

class MockServer::Impl {
 public:
  explicit Impl(MockServerOptions options);
  ~Impl() { stop(); }

  void start();
  void stop();
  int port() const { return port_; }
  int files_port() const { return files_port_; }
  detail::MockState& state() { return state_; }
  const detail::MockState& state() const { return state_; }

 private:
  using Request = httplib::Request;
  using Response = httplib::Response;
  using Handler = std::function<void(const Request&, Response&)>;

  const MockServerOptions& options() const { return state_.options(); }

  // Lifecycle (server.cpp). The issuer's server serves everything but /files/, which the
  // second API's server serves on its own port.
  std::unique_ptr<httplib::Server> make_server(bool tls, bool files);
  int bind(httplib::Server& server, int port);
  void run(const std::string& host, int bound, int files_bound, bool tls);
  // Serves `server` on `thread`; false when it could not start listening.
  static bool listen(httplib::Server& server, std::thread& thread);

  // Routing (routes.cpp).
  void install_routes(httplib::Server& server);
  void install_files_routes(httplib::Server& server);
  void install_error_handlers(httplib::Server& server);
  void install_api_routes(httplib::Server& server, const std::string& prefix,
                          const httplib::Server::Handler& handler);
  void install_oauth_routes(httplib::Server& server);
  void install_control_routes(httplib::Server& server);
  httplib::Server::Handler wrap(FaultEndpoint endpoint, Handler handler);

  void discovery(const Request& req, Response& res);
  void authorize(const Request& req, Response& res);
  void token(const Request& req, Response& res);
  // `jkt`: the thumbprint of the request's valid DPoP proof, empty without one.
  void grant_authorization_code(const detail::ClientInfo& client, const detail::Params& form,
                                const std::string& jkt, Response& res);
  void grant_refresh_token(const detail::ClientInfo& client, const detail::Params& form,
                           const std::string& jkt, Response& res);
  void grant_client_credentials(const detail::ClientInfo& client, const detail::Params& form,
                                const std::string& jkt, Response& res);
  void grant_device_code(const detail::ClientInfo& client, const detail::Params& form,
                         const std::string& jkt, Response& res);
  void device_authorization(const Request& req, Response& res);
  void device_page(const Request& req, Response& res);
  void revoke(const Request& req, Response& res);
  void introspect(const Request& req, Response& res);
  void userinfo(const Request& req, Response& res);
  // A request to one of the protected APIs.
  void api(detail::ApiId which, const Request& req, Response& res);
  void control(const Request& req, const std::string& text, Response& res);
  nlohmann::json control_post(const std::string& path, const nlohmann::json& body);

  // DPoP (dpop_endpoint.cpp). The client's mode; whether any client may use DPoP.
  DpopMode dpop_mode(const std::string& client_id) const;
  bool dpop_enabled() const;
  // The request's DPoP proof checked (the header's count, the proof, then the nonce of
  // `server` and the jti's freshness), a refusal counted by reason.
  // `origin`: the server's origin the proof's htu names; nullptr: the issuer's.
  detail::DpopProof check_dpop(const Request& req, detail::DpopServer server,
                               const std::string* access_token,
                               const std::string* origin = nullptr);
  // For the authorization server's endpoints (token, revoke) of `client`: sets DPoP-Nonce,
  // checks a proof when the client's mode asks for one or one came; `jkt` gets its thumbprint
  // (empty: none came, which the mode allows). False once the refusal has been answered (400
  // invalid_dpop_proof or use_dpop_nonce).
  bool authorization_dpop(const Request& req, Response& res, const detail::ClientInfo& client,
                          std::string& jkt);

  // Validates a bearer or DPoP access token for `api` (its audience, its origin in DPoP proofs,
  // its refusal counters; nullopt: /userinfo, any API's token); on failure answers 400/401/403
  // and returns nullopt.
  std::optional<nlohmann::json> check_bearer(const Request& req, Response& res,
                                             const std::string& required_scope,
                                             std::optional<detail::ApiId> api);

  detail::MockState state_;
  std::unique_ptr<httplib::Server> server_, files_server_;
  std::thread thread_, files_thread_;
  std::atomic<int> port_{0}, files_port_{0};
};

namespace detail {

// The token endpoint's JSON answer for `tokens`.
nlohmann::json token_json(const IssuedTokens& tokens);
// The JWKS document.
nlohmann::json jwks_json();
// The API named by every value of `resources` (RFC 8707); the invalid_target error for the
// first that names none. `resources` empty: an empty list.
Outcome<std::vector<ApiId>> find_apis(const MockState& state,
                                      const std::vector<std::string>& resources);
// Answers `error` as RFC 6749 §5.2 JSON.
void answer_oauth_error(httplib::Response& res, const OAuthError& error);
// The query (GET) or form (POST) of a browser-facing page; nullopt after answering 400 with
// `not_form` (POST) or the decoding error. With `resources`, as parse_form's.
std::optional<Params> page_params(const httplib::Request& req, const char* not_form,
                                  httplib::Response& res,
                                  std::vector<std::string>* resources = nullptr);

}  // namespace detail

}  // namespace freshtoken::mock
