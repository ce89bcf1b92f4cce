// The commands of freshtoken-cli. Each returns the process exit code (exit_codes.hpp) and
// reports what went wrong on stderr; stdout carries only what the command produces (a
// response body, the status report, the token of `token`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "exit_codes.hpp"
#include "freshtoken/authorization_server.hpp"
#include "freshtoken/http_client.hpp"
#include "freshtoken/logging.hpp"
#include "freshtoken/secret_store.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/token_source.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken::cli {

// --store's name for the operating system's own store (default_secret_store()), the default.
#if defined(_WIN32)
inline constexpr const char* system_store = "credential-manager";
#else
inline constexpr const char* system_store = "libsecret";
#endif

struct GlobalOptions {
  std::string issuer;
  std::string client_id = "freshtoken-demo";
  std::string scope = "openid profile api";
  std::string store = system_store;  // system_store | file:PATH | memory
  std::string ca_file;
  bool dpop = false;  // DPoP (RFC 9449) required: tokens bound to a key kept with the session
  bool verbose = false;
};

enum class LoginFlow { automatic, browser, device };

struct RequestOptions {
  std::string method = "GET";
  std::string url;                   // absolute, or a path relative to the issuer ("/api/me")
  std::vector<std::string> headers;  // "Name: value"
  std::string data;
  bool has_data = false;
  std::string content_type = "application/json";
  TokenTarget target;  // --resource, --scope: which token; both empty = the default token
};

// The service name under which the session is kept in the secret store; the account is
// "<issuer>|<client_id>", so every process for the same issuer and client finds it.
inline constexpr const char* store_service = "freshtoken-cli";

// Validates --store for CLI11: empty when fine, else the complaint.
std::string check_store_spec(const std::string& spec);

// What every command needs, built lazily: the secret store, the transport, the (lazily
// discovered) server, the Session and an HttpClient on top of it.
class Context {
 public:
  explicit Context(GlobalOptions options);

  const GlobalOptions& options() const { return options_; }
  std::string account() const { return options_.issuer + "|" + options_.client_id; }
  SecretStore& store() { return *store_; }

  // Builds the transport and the AuthorizationServer, which discovers its metadata only when
  // first needed. Errors: config for an issuer that cannot be one (no request is sent).
  Result<void> connect();
  const std::shared_ptr<AuthorizationServer>& server() const { return server_; }
  // After connect().
  const std::shared_ptr<Session>& session();
  // Built on first use, with `apis` (HttpClientOptions::apis; empty: every origin gets the
  // default token); later calls return that client whatever they pass.
  HttpClient& http(std::vector<ProtectedApi> apis = {});

  // "/api/me" -> "<issuer>/api/me"; absolute URLs unchanged.
  std::string resolve(const std::string& url) const;
  // Prints "freshtoken-cli: <what>: <error>" to stderr and returns its exit code.
  int fail(const std::string& what, const Error& error, Stage stage = Stage::other) const;

 private:
  GlobalOptions options_;
  LogSink log_;
  std::shared_ptr<SecretStore> store_;
  std::shared_ptr<Transport> transport_;
  std::shared_ptr<AuthorizationServer> server_;
  std::shared_ptr<Session> session_;
  std::unique_ptr<HttpClient> http_;
};

int run_login(Context& context, LoginFlow flow);
int run_status(Context& context);
int run_request(Context& context, const RequestOptions& request);
int run_token(Context& context, const TokenTarget& target);
int run_logout(Context& context);

}  // namespace freshtoken::cli
