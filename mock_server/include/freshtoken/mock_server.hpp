// The bundled mock authorization server: a strict OAuth 2.0 / OpenID Connect server (discovery,
// JWKS, authorization code with PKCE, refresh with rotation and reuse detection, client
// credentials, device authorization, revocation, introspection, userinfo) plus a protected API
// under /api/ and a control API under /mock/. Run it in-process from a test fixture, script it
// through the C++ methods below (or the same operations over HTTP), and inspect its counters.
//
// Thread safety: every method may be called from any thread while the server is serving; all
// state sits behind one mutex. start()/stop() must not race each other.
// Errors: start() throws std::runtime_error when it cannot bind or load the TLS files; control
// methods throw std::invalid_argument for unknown users, clients, codes or fault kinds.
// start() ignores SIGPIPE process-wide unless the process already handles it (a client that
// hangs up must not kill the process).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "freshtoken/mock_server/export.hpp"

namespace freshtoken::mock {

struct MockServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = any free port
  std::chrono::seconds access_token_ttl{3600};
  std::chrono::seconds refresh_token_ttl{30 * 24 * 3600};  // absolute, from the sign-in
  std::chrono::seconds refresh_idle_ttl{14 * 24 * 3600};   // sliding, each refresh extends it
  bool rotation = true;
  std::chrono::seconds reuse_grace{0};
  std::string tls_cert_file, tls_key_file;  // both set = HTTPS
  // Sign-ins at /authorize redirect at once as `alice`; device codes are approved as `alice`
  // the moment they are issued.
  bool auto_approve = false;
  std::chrono::seconds device_interval{5};  // polling interval handed out by /device_authorization
  std::chrono::seconds device_code_ttl{600};  // device_code / user_code lifetime
  std::chrono::seconds authorization_code_ttl{60};
  int threads = 96;  // connection threads; each keep-alive connection holds one
};

// An armed fault; the same fields as POST /mock/faults.
struct Fault {
  // token | api | authorize | device_authorization | device | revoke | introspect | userinfo |
  // discovery | jwks
  std::string endpoint = "token";
  // status: answer `status` (+ body, + Retry-After when set) instead of handling.
  // delay: sleep delay_ms, then handle. drop: close the connection without answering.
  // truncate: handle, then send only half of the body. not_json: answer 200 with an HTML page.
  // commit_then_drop: handle fully (state committed), then close without answering.
  std::string kind;
  int status = 503;
  std::string retry_after;
  std::string body;
  int delay_ms = 0;
  int times = 1;  // how many requests it applies to
};

class FRESHTOKEN_MOCK_SERVER_API MockServer {
 public:
  explicit MockServer(MockServerOptions options = {});
  ~MockServer();  // stops if running
  MockServer(const MockServer&) = delete;
  MockServer& operator=(const MockServer&) = delete;

  void start();  // binds and serves in background threads; throws std::runtime_error on failure
  void stop();   // closes open connections too; idempotent
  std::string issuer() const;  // "http://127.0.0.1:43121" (https:// with TLS)
  int port() const;

  nlohmann::json stats() const;  // same JSON as GET /mock/stats
  void reset();                  // forgets tokens, codes, counters, faults and the clock offset
  void arm_fault(const Fault& fault);
  void revoke_access_tokens();
  void revoke_family(const std::string& refresh_token);
  void revoke_user(const std::string& user);
  void approve_device(const std::string& user_code, const std::string& user = "alice");
  void deny_device(const std::string& user_code);
  void set_clock_offset(std::chrono::seconds offset);  // absolute offset from the real clock
  void advance_clock(std::chrono::seconds by);         // adds to the current offset
  std::chrono::seconds clock_offset() const;
  nlohmann::json jwks() const;  // same JSON as GET /jwks

  // Test convenience: tokens as if `user` had just completed an authorization_code sign-in for
  // `client_id` (the token endpoint's JSON answer: access_token, token_type, expires_in,
  // refresh_token, scope, id_token when scope has openid). Not counted in token_requests.
  nlohmann::json issue_tokens(const std::string& user = "alice",
                              const std::string& client_id = "freshtoken-demo",
                              const std::string& scope = "openid profile api");

  class FRESHTOKEN_MOCK_SERVER_NO_EXPORT Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace freshtoken::mock
