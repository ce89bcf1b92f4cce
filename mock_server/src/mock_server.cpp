#include "freshtoken/mock_server.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <httplib.h>

#include "client_auth.hpp"
#include "connection.hpp"
#include "http_util.hpp"
#include "registry.hpp"
#include "signing_key.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace freshtoken::mock {
using namespace detail;

namespace {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

const std::set<std::string> kFaultEndpoints = {
    "token",    "api",       "authorize", "device_authorization", "device", "revoke", "introspect",
    "userinfo", "discovery", "jwks"};
const std::set<std::string> kFaultKinds = {
    "status", "delay", "drop", "truncate", "not_json", "commit_then_drop", "commit_then_delay"};

std::string random_token(std::size_t bytes = 32) {
  return util::base64url_encode(util::random_bytes(bytes));
}

std::string token_hash(const std::string& token) { return util::hex(util::sha256(token)); }

std::int64_t epoch_seconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// RFC 8252 §7.3: http on a loopback IP literal, any port, any path.
bool loopback_redirect_ok(const std::string& uri) {
  std::string rest;
  if (uri.rfind("http://127.0.0.1", 0) == 0) {
    rest = uri.substr(16);
  } else if (uri.rfind("http://[::1]", 0) == 0) {
    rest = uri.substr(12);
  } else {
    return false;
  }
  std::size_t i = 0;
  if (i < rest.size() && rest[i] == ':') {
    ++i;
    const std::size_t digits_start = i;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) ++i;
    const std::size_t digits = i - digits_start;
    if (digits == 0 || digits > 5 || std::stol(rest.substr(digits_start, digits)) > 65535) {
      return false;
    }
  }
  if (i < rest.size() && rest[i] != '/' && rest[i] != '?') return false;
  for (char c : rest) {
    if (c == '#' || static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

class MockServer::Impl {
 public:
  explicit Impl(MockServerOptions options) : options_(std::move(options)) {
    detail::SigningKey::instance();  // generate the key before the first request needs it
  }
  ~Impl() { stop(); }

  void start();
  void stop();
  std::string issuer() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return issuer_;
  }
  int port() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return port_;
  }

  json stats() const;
  void reset();
  void arm_fault(const Fault& fault);
  void revoke_access_tokens();
  void revoke_family(const std::string& refresh_token);
  void revoke_user(const std::string& user);
  void approve_device(const std::string& user_code, const std::string& user);
  void deny_device(const std::string& user_code);
  void set_clock_offset(std::chrono::seconds offset) {
    std::lock_guard<std::mutex> lock(mutex_);
    clock_offset_ = offset;
  }
  void advance_clock(std::chrono::seconds by) {
    std::lock_guard<std::mutex> lock(mutex_);
    clock_offset_ += by;
  }
  std::chrono::seconds clock_offset() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return clock_offset_;
  }
  json issue_tokens(const std::string& user, const std::string& client_id, const std::string& scope,
                    std::optional<std::chrono::seconds> access_ttl);

 private:
  struct Family {
    std::string client_id, user, scope;
    TimePoint created, last_used;
    bool revoked = false;
    std::string current_token;  // plain text, for the grace-window answer
  };
  struct RefreshRecord {
    std::string family_id;
    bool current = true;
    TimePoint superseded_at;
  };
  struct AccessRecord {
    std::string family_id, user, client_id;
    std::int64_t exp = 0;
    bool revoked = false;
  };
  struct AuthCode {
    std::string client_id, redirect_uri, challenge, user, scope, nonce, family_id;
    TimePoint expires;
    bool used = false;
  };
  enum class DeviceStatus { pending, approved, denied };
  struct DeviceGrant {
    std::string client_id, scope, user_code, user;
    TimePoint expires;
    std::chrono::seconds interval{5};
    std::optional<TimePoint> last_poll;
    DeviceStatus status = DeviceStatus::pending;
  };
  struct Stats {
    std::map<std::string, long> token_requests;
    long refreshes = 0, refresh_grace_reuses = 0, refresh_reuse_detected = 0, families_revoked = 0,
         api_requests = 0, api_401 = 0, api_403 = 0, authorize_requests = 0,
         device_authorizations = 0, revocations = 0, introspections = 0, userinfo_requests = 0,
         faults_triggered = 0;
  };

  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  void install_routes(httplib::Server& server);
  httplib::Server::Handler wrap(const std::string& endpoint, Handler handler);
  std::optional<Fault> take_fault_locked(const std::string& endpoint);
  void count_locked(const std::string& endpoint, const httplib::Request& req);

  TimePoint now_locked() const { return Clock::now() + clock_offset_; }
  std::string api_audience_locked() const { return issuer_ + "/api"; }

  // Token minting (mutex held).
  std::string mint_access_token_locked(const std::string& client_id, const std::string& user,
                                       const std::string& scope, const std::string& family_id,
                                       std::chrono::seconds ttl);
  std::string mint_id_token_locked(const std::string& client_id, const std::string& user,
                                   const std::string& scope, const std::string& nonce);
  std::string new_family_locked(const std::string& client_id, const std::string& user,
                                const std::string& scope, std::string* family_id);
  // The access token lives `access_ttl`, by default the server's --access-token-ttl.
  json token_response_locked(const std::string& client_id, const std::string& user,
                             const std::string& scope, const std::string& nonce,
                             const std::string& family_id, const std::string& refresh_token,
                             std::optional<std::chrono::seconds> access_ttl = std::nullopt);
  void revoke_family_locked(const std::string& family_id);

  // Endpoints.
  void discovery(const httplib::Request& req, httplib::Response& res);
  void authorize(const httplib::Request& req, httplib::Response& res);
  void token(const httplib::Request& req, httplib::Response& res);
  void grant_authorization_code(const ClientInfo& client, const Params& form,
                                httplib::Response& res);
  void grant_refresh_token(const ClientInfo& client, const Params& form, httplib::Response& res);
  void grant_client_credentials(const ClientInfo& client, const Params& form,
                                httplib::Response& res);
  void grant_device_code(const ClientInfo& client, const Params& form, httplib::Response& res);
  void device_authorization(const httplib::Request& req, httplib::Response& res);
  void device_page(const httplib::Request& req, httplib::Response& res);
  void revoke(const httplib::Request& req, httplib::Response& res);
  void introspect(const httplib::Request& req, httplib::Response& res);
  void userinfo(const httplib::Request& req, httplib::Response& res);
  void api(const httplib::Request& req, httplib::Response& res);
  void control(const httplib::Request& req, const std::string& text, httplib::Response& res);

  // Validates a bearer access token; on failure answers 400/401/403 and returns nullopt.
  std::optional<json> check_bearer(const httplib::Request& req, httplib::Response& res,
                                   const std::string& required_scope, bool count_api);
  std::optional<json> valid_access_claims(const std::string& token);

  std::string find_device_code_locked(const std::string& user_code);

  const MockServerOptions options_;
  mutable std::mutex mutex_;
  std::string issuer_;
  int port_ = 0;
  std::chrono::seconds clock_offset_{0};
  std::map<std::string, Family> families_;
  std::unordered_map<std::string, RefreshRecord> refresh_tokens_;  // by token hash
  std::unordered_map<std::string, AccessRecord> access_tokens_;    // by jti
  std::map<std::string, AuthCode> codes_;
  std::map<std::string, DeviceGrant> devices_;  // by device_code hash
  std::deque<Fault> faults_;
  Stats stats_;
  std::atomic<long> connections_{0};

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// ---------------------------------------------------------------- lifecycle

namespace {
template <class Base>
class ExposedServer : public Base {
 public:
  using Base::Base;
  int listen_socket() const { return static_cast<int>(this->svr_sock_); }
};
}  // namespace

void MockServer::Impl::start() {
  if (server_) throw std::runtime_error("mock server already started");
  // A client hanging up mid-answer must not kill the process (httplib and OpenSSL write
  // without MSG_NOSIGNAL); an application's own SIGPIPE handler is left alone.
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    std::signal(SIGPIPE, SIG_IGN);
  }
  const bool tls = !options_.tls_cert_file.empty() || !options_.tls_key_file.empty();
  std::unique_ptr<httplib::Server> server;
  std::function<int()> listen_socket;
  if (tls) {
    if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
      throw std::runtime_error("TLS needs both a certificate and a key file");
    }
    auto ssl = std::make_unique<ExposedServer<httplib::SSLServer>>(options_.tls_cert_file.c_str(),
                                                                   options_.tls_key_file.c_str());
    if (!ssl->is_valid()) {
      throw std::runtime_error("cannot load the TLS certificate or key");
    }
    auto* raw = ssl.get();
    listen_socket = [raw] { return raw->listen_socket(); };
    server = std::move(ssl);
  } else {
    auto plain = std::make_unique<ExposedServer<httplib::Server>>();
    auto* raw = plain.get();
    listen_socket = [raw] { return raw->listen_socket(); };
    server = std::move(plain);
  }
  const std::size_t threads = static_cast<std::size_t>(std::max(options_.threads, 8));
  server->new_task_queue = [this, threads] {
    return new detail::ConnectionPool(threads, connections_);
  };
  server->set_keep_alive_max_count(1000000);
  server->set_keep_alive_timeout(10);
  server->set_read_timeout(10);
  server->set_write_timeout(10);
  server->set_payload_max_length(kMaxPayload);
  server->set_tcp_nodelay(true);
  install_routes(*server);

  int bound = 0;
  if (options_.port == 0) {
    bound = server->bind_to_any_port(options_.host);
  } else {
    bound = server->bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (bound <= 0) {
    throw std::runtime_error("cannot bind " + options_.host + ":" + std::to_string(options_.port));
  }
  // httplib 0.11 listens with a backlog of 5; 64 clients connecting at once need more.
  ::listen(listen_socket(), SOMAXCONN);
  std::string host = options_.host;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  {
    std::lock_guard<std::mutex> lock(mutex_);
    port_ = bound;
    issuer_ = std::string(tls ? "https" : "http") + "://" + host + ":" + std::to_string(bound);
  }
  server_ = std::move(server);
  auto* running = server_.get();
  auto finished = std::make_shared<std::atomic<bool>>(false);
  thread_ = std::thread([running, finished] {
    running->listen_after_bind();
    *finished = true;
  });
  // httplib's stop() is a no-op until the accept loop runs; wait for it.
  while (!server_->is_running() && !*finished) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (*finished) {
    thread_.join();
    server_.reset();
    throw std::runtime_error("the mock server could not start listening");
  }
}

void MockServer::Impl::stop() {
  if (!server_) return;
  server_->stop();
  // Idle keep-alive connections would otherwise hold the workers for the keep-alive timeout.
  detail::shutdown_server_connections(port());
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

// ---------------------------------------------------------------- routing and faults

void MockServer::Impl::install_routes(httplib::Server& server) {
  auto on_discovery =
      wrap("discovery", [this](auto& req, auto& res) { this->discovery(req, res); });
  server.Get("/.well-known/openid-configuration", on_discovery);
  server.Get("/.well-known/oauth-authorization-server", on_discovery);
  server.Get("/jwks", wrap("jwks", [](auto&, auto& res) {
               send_json(res, 200, {{"keys", json::array({detail::SigningKey::instance().jwk()})}});
             }));
  auto on_authorize =
      wrap("authorize", [this](auto& req, auto& res) { this->authorize(req, res); });
  server.Get("/authorize", on_authorize);
  server.Post("/authorize", on_authorize);
  server.Post("/token", wrap("token", [this](auto& req, auto& res) { this->token(req, res); }));
  server.Get("/token", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST");
    oauth_error(res, 405, "invalid_request", "The token endpoint accepts POST only");
  });
  server.Post("/device_authorization", wrap("device_authorization", [this](auto& req, auto& res) {
                this->device_authorization(req, res);
              }));
  auto on_device = wrap("device", [this](auto& req, auto& res) { this->device_page(req, res); });
  server.Get("/device", on_device);
  server.Post("/device", on_device);
  server.Post("/revoke", wrap("revoke", [this](auto& req, auto& res) { this->revoke(req, res); }));
  server.Post("/introspect",
              wrap("introspect", [this](auto& req, auto& res) { this->introspect(req, res); }));
  auto on_userinfo = wrap("userinfo", [this](auto& req, auto& res) { this->userinfo(req, res); });
  server.Get("/userinfo", on_userinfo);
  server.Post("/userinfo", on_userinfo);
  auto on_api = wrap("api", [this](auto& req, auto& res) { this->api(req, res); });
  server.Get("/api/.*", on_api);
  server.Post("/api/.*", on_api);
  server.Put("/api/.*", on_api);
  server.Patch("/api/.*", on_api);
  server.Delete("/api/.*", on_api);
  server.Get("/mock/.*", [this](const httplib::Request& req, httplib::Response& res) {
    this->control(req, "", res);
  });
  // `curl -X POST .../mock/reset` sends no Content-Length; reading a body that never comes
  // would stall until the read timeout, so only read one that was announced.
  server.Post("/mock/.*", [this](const httplib::Request& req, httplib::Response& res,
                                 const httplib::ContentReader& reader) {
    std::string text;
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      reader([&text](const char* data, std::size_t length) {
        if (text.size() + length > kMaxPayload) return false;
        text.append(data, length);
        return true;
      });
    }
    this->control(req, text, res);
  });
  server.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    const std::string iss = issuer();
    send_html(res, 200, "freshtoken mock authorization server",
              "<p>Issuer: " + util::html_escape(iss) +
                  "</p><p><a href=\"/.well-known/openid-configuration\">discovery</a></p>");
  });

  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || res.has_header("X-Mock-Fault")) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        if (res.status == 413) {
          oauth_error(res, 413, "invalid_request", "The request body is too large");
        } else if (res.status == 404) {
          oauth_error(res, 404, "not_found", "No such endpoint");
        } else {
          oauth_error(res, res.status, "invalid_request", "The request could not be handled");
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        oauth_error(res, 500, "server_error", "The mock server failed to handle the request");
      });
}

httplib::Server::Handler MockServer::Impl::wrap(const std::string& endpoint, Handler handler) {
  return [this, endpoint, handler](const httplib::Request& req, httplib::Response& res) {
    std::optional<Fault> fault;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      count_locked(endpoint, req);
      fault = take_fault_locked(endpoint);
    }
    if (endpoint == "token" || endpoint == "device_authorization" || endpoint == "introspect") {
      res.set_header("Cache-Control", "no-store");
      res.set_header("Pragma", "no-cache");
    }
    if (fault) {
      res.set_header("X-Mock-Fault", fault->kind);
      if (fault->kind == "status") {
        res.status = fault->status;
        if (!fault->retry_after.empty()) res.set_header("Retry-After", fault->retry_after);
        const auto first = fault->body.find_first_not_of(" \t\r\n");
        const bool json_like =
            first != std::string::npos && (fault->body[first] == '{' || fault->body[first] == '[');
        res.set_content(fault->body, json_like ? "application/json" : "text/plain");
        return;
      }
      if (fault->kind == "drop") {
        detail::drop_connection(req);
        return;
      }
      if (fault->kind == "not_json") {
        send_html(res, 200, "Service temporarily unavailable",
                  "<p>An intermediary answered instead of the authorization server.</p>");
        return;
      }
      if (fault->kind == "delay") {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::max(fault->delay_ms, 0)));
      }
    }
    handler(req, res);
    if (fault && fault->kind == "truncate") {
      auto body = std::make_shared<std::string>(std::move(res.body));
      std::string type = res.get_header_value("Content-Type");
      res.body.clear();
      const std::size_t half = body->size() / 2;
      res.set_content_provider(
          body->size(), type,
          [body, half](std::size_t offset, std::size_t, httplib::DataSink& sink) {
            if (offset < half) sink.write(body->data() + offset, half - offset);
            return offset < half;  // then fail: httplib closes the connection mid-body
          });
    } else if (fault && fault->kind == "commit_then_drop") {
      detail::drop_connection(req);
    } else if (fault && fault->kind == "commit_then_delay") {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::max(fault->delay_ms, 0)));
    }
  };
}

std::optional<Fault> MockServer::Impl::take_fault_locked(const std::string& endpoint) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->endpoint != endpoint) continue;
    Fault fault = *it;
    if (--it->times <= 0) faults_.erase(it);
    ++stats_.faults_triggered;
    return fault;
  }
  return std::nullopt;
}

void MockServer::Impl::count_locked(const std::string& endpoint, const httplib::Request& req) {
  if (endpoint == "token") {
    std::string error;
    const auto form = parse_form(req.body, error);
    std::string grant = form ? get(*form, "grant_type") : std::string();
    if (!known_grant(grant)) grant = "other";
    ++stats_.token_requests[grant];
  } else if (endpoint == "api") {
    ++stats_.api_requests;
  } else if (endpoint == "authorize") {
    ++stats_.authorize_requests;
  } else if (endpoint == "device_authorization") {
    ++stats_.device_authorizations;
  } else if (endpoint == "revoke") {
    ++stats_.revocations;
  } else if (endpoint == "introspect") {
    ++stats_.introspections;
  } else if (endpoint == "userinfo") {
    ++stats_.userinfo_requests;
  }
}

// ---------------------------------------------------------------- control

json MockServer::Impl::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  json requests = json::object();
  for (const auto& [grant, n] : stats_.token_requests) requests[grant] = n;
  long active = 0;
  for (const auto& [id, family] : families_) active += family.revoked ? 0 : 1;
  return {{"token_requests", requests},
          {"refreshes", stats_.refreshes},
          {"refresh_grace_reuses", stats_.refresh_grace_reuses},
          {"refresh_reuse_detected", stats_.refresh_reuse_detected},
          {"families_revoked", stats_.families_revoked},
          {"active_families", active},
          {"api_requests", stats_.api_requests},
          {"api_401", stats_.api_401},
          {"api_403", stats_.api_403},
          {"authorize_requests", stats_.authorize_requests},
          {"device_authorizations", stats_.device_authorizations},
          {"revocations", stats_.revocations},
          {"introspections", stats_.introspections},
          {"userinfo_requests", stats_.userinfo_requests},
          {"faults_triggered", stats_.faults_triggered},
          {"faults_armed", static_cast<long>(faults_.size())},
          {"connections", connections_.load()},
          {"clock_offset_seconds", clock_offset_.count()}};
}

void MockServer::Impl::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  families_.clear();
  refresh_tokens_.clear();
  access_tokens_.clear();
  codes_.clear();
  devices_.clear();
  faults_.clear();
  stats_ = Stats{};
  connections_ = 0;
  clock_offset_ = std::chrono::seconds{0};
}

void MockServer::Impl::arm_fault(const Fault& fault) {
  if (kFaultEndpoints.count(fault.endpoint) == 0) {
    throw std::invalid_argument("unknown fault endpoint: " + fault.endpoint);
  }
  if (kFaultKinds.count(fault.kind) == 0) {
    throw std::invalid_argument("unknown fault kind: " + fault.kind);
  }
  if (fault.times < 1) throw std::invalid_argument("fault times must be at least 1");
  if (fault.kind == "status" && (fault.status < 100 || fault.status > 599)) {
    throw std::invalid_argument("fault status must be an HTTP status");
  }
  if (fault.delay_ms < 0 || fault.delay_ms > 600000) {
    throw std::invalid_argument("fault delay_ms must be within 0..600000");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  faults_.push_back(fault);
}

void MockServer::Impl::revoke_family_locked(const std::string& family_id) {
  auto it = families_.find(family_id);
  if (it == families_.end()) return;
  if (!it->second.revoked) {
    it->second.revoked = true;
    ++stats_.families_revoked;
  }
  for (auto& [jti, record] : access_tokens_) {
    if (record.family_id == family_id) record.revoked = true;
  }
}

void MockServer::Impl::revoke_access_tokens() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [jti, record] : access_tokens_) record.revoked = true;
}

void MockServer::Impl::revoke_family(const std::string& refresh_token) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = refresh_tokens_.find(token_hash(refresh_token));
  if (it == refresh_tokens_.end()) throw std::invalid_argument("unknown refresh token");
  revoke_family_locked(it->second.family_id);
}

void MockServer::Impl::revoke_user(const std::string& user) {
  if (!known_user(user)) throw std::invalid_argument("unknown user: " + user);
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, family] : families_) {
    if (family.user == user) ids.push_back(id);
  }
  for (const auto& id : ids) revoke_family_locked(id);
  for (auto& [jti, record] : access_tokens_) {
    if (record.user == user) record.revoked = true;
  }
}

std::string MockServer::Impl::find_device_code_locked(const std::string& user_code) {
  std::string wanted;
  for (char c : user_code) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      wanted += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  for (const auto& [hash, grant] : devices_) {
    std::string code;
    for (char c : grant.user_code) {
      if (c != '-') code += c;
    }
    if (!wanted.empty() && code == wanted) return hash;
  }
  return {};
}

void MockServer::Impl::approve_device(const std::string& user_code, const std::string& user) {
  if (!known_user(user)) throw std::invalid_argument("unknown user: " + user);
  std::lock_guard<std::mutex> lock(mutex_);
  const auto hash = find_device_code_locked(user_code);
  if (hash.empty()) throw std::invalid_argument("unknown user_code");
  auto& grant = devices_.at(hash);
  if (grant.status != DeviceStatus::pending) throw std::invalid_argument("user_code already used");
  grant.status = DeviceStatus::approved;
  grant.user = user;
}

void MockServer::Impl::deny_device(const std::string& user_code) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto hash = find_device_code_locked(user_code);
  if (hash.empty()) throw std::invalid_argument("unknown user_code");
  auto& grant = devices_.at(hash);
  if (grant.status != DeviceStatus::pending) throw std::invalid_argument("user_code already used");
  grant.status = DeviceStatus::denied;
}

json MockServer::Impl::issue_tokens(const std::string& user, const std::string& client_id,
                                    const std::string& scope,
                                    std::optional<std::chrono::seconds> access_ttl) {
  // Up to ten years: far enough for any test, and no overflow in exp = now + ttl.
  if (access_ttl && (access_ttl->count() <= 0 || access_ttl->count() > 10LL * 365 * 24 * 3600)) {
    throw std::invalid_argument("access_token_ttl_s must be between 1 s and ten years");
  }
  const ClientInfo* client = find_client(client_id);
  if (client == nullptr || client->grants.count(kGrantCode) == 0) {
    throw std::invalid_argument("unknown or non-interactive client: " + client_id);
  }
  if (!known_user(user)) throw std::invalid_argument("unknown user: " + user);
  const auto items = split_scope(scope);
  for (const auto& s : items) {
    if (client->scopes.count(s) == 0) throw std::invalid_argument("unknown scope: " + s);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  std::string family_id;
  const std::string refresh = new_family_locked(client_id, user, join_scope(items), &family_id);
  return token_response_locked(client_id, user, join_scope(items), "", family_id, refresh,
                               access_ttl);
}

void MockServer::Impl::control(const httplib::Request& req, const std::string& text,
                               httplib::Response& res) {
  const std::string& path = req.path;
  json body = json::object();
  if (req.method == "POST" && !text.empty()) {
    body = json::parse(text, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      oauth_error(res, 400, "invalid_request", "The body must be a JSON object");
      return;
    }
  }
  auto ok = [&](const json& answer) { send_json(res, 200, answer); };
  try {
    if (path == "/mock/stats" && req.method == "GET") {
      ok(stats());
    } else if (path == "/mock/reset" && req.method == "POST") {
      reset();
      ok({{"reset", true}});
    } else if (path == "/mock/faults" && req.method == "POST") {
      Fault fault;
      fault.endpoint = body.value("endpoint", fault.endpoint);
      fault.kind = body.value("kind", fault.kind);
      fault.status = body.value("status", fault.status);
      fault.retry_after = body.value("retry_after", fault.retry_after);
      fault.body = body.value("body", fault.body);
      fault.delay_ms = body.value("delay_ms", fault.delay_ms);
      fault.times = body.value("times", fault.times);
      arm_fault(fault);
      ok({{"armed",
           {{"endpoint", fault.endpoint},
            {"kind", fault.kind},
            {"status", fault.status},
            {"retry_after", fault.retry_after},
            {"delay_ms", fault.delay_ms},
            {"times", fault.times}}}});
    } else if (path == "/mock/device/approve" && req.method == "POST") {
      approve_device(body.value("user_code", std::string()),
                     body.value("user", std::string("alice")));
      ok({{"approved", true}});
    } else if (path == "/mock/device/deny" && req.method == "POST") {
      deny_device(body.value("user_code", std::string()));
      ok({{"denied", true}});
    } else if (path == "/mock/revoke" && req.method == "POST") {
      const std::string what = body.value("what", std::string());
      if (what == "access_tokens") {
        revoke_access_tokens();
      } else if (what == "family") {
        revoke_family(body.value("refresh_token", std::string()));
      } else if (what == "user") {
        revoke_user(body.value("user", std::string()));
      } else {
        throw std::invalid_argument("'what' must be access_tokens, family or user");
      }
      ok({{"revoked", what}});
    } else if (path == "/mock/clock" && req.method == "POST") {
      if (!body.contains("offset_seconds") || !body["offset_seconds"].is_number_integer()) {
        throw std::invalid_argument("offset_seconds must be an integer");
      }
      set_clock_offset(std::chrono::seconds(body["offset_seconds"].get<long long>()));
      ok({{"offset_seconds", clock_offset().count()}});
    } else if (path == "/mock/tokens" && req.method == "POST") {
      std::optional<std::chrono::seconds> access_ttl;
      if (body.contains("access_token_ttl_s")) {
        if (!body["access_token_ttl_s"].is_number_integer()) {
          throw std::invalid_argument("access_token_ttl_s must be an integer");
        }
        access_ttl = std::chrono::seconds(body["access_token_ttl_s"].get<long long>());
      }
      ok(issue_tokens(body.value("user", std::string("alice")),
                      body.value("client_id", std::string("freshtoken-demo")),
                      body.value("scope", std::string("openid profile api")), access_ttl));
    } else {
      oauth_error(res, 404, "not_found", "Unknown control endpoint");
    }
  } catch (const json::exception&) {
    oauth_error(res, 400, "invalid_request", "A field has the wrong JSON type");
  } catch (const std::invalid_argument& e) {
    oauth_error(res, 400, "invalid_request", e.what());
  }
}

// ---------------------------------------------------------------- minting

std::string MockServer::Impl::mint_access_token_locked(const std::string& client_id,
                                                       const std::string& user,
                                                       const std::string& scope,
                                                       const std::string& family_id,
                                                       std::chrono::seconds ttl) {
  // `iat`/`exp` are whole seconds and a token is refused once exp <= floor(now): the issue
  // time is rounded UP so that every token lives at least the advertised expires_in.
  const auto now_time = now_locked();
  auto now = epoch_seconds(now_time);
  if (now_time.time_since_epoch() > std::chrono::seconds(now)) ++now;
  const std::int64_t exp = now + ttl.count();
  const std::string jti = random_token(16);
  const json claims = {{"iss", issuer_},
                       {"sub", user.empty() ? client_id : user},
                       {"aud", api_audience_locked()},
                       {"exp", exp},
                       {"iat", now},
                       {"jti", jti},
                       {"client_id", client_id},
                       {"scope", scope}};
  if (access_tokens_.size() > 100000) {
    for (auto it = access_tokens_.begin(); it != access_tokens_.end();) {
      it = it->second.exp < now ? access_tokens_.erase(it) : std::next(it);
    }
  }
  access_tokens_[jti] = AccessRecord{family_id, user, client_id, exp, false};
  return detail::SigningKey::instance().sign_jwt({{"typ", "at+jwt"}}, claims);
}

std::string MockServer::Impl::mint_id_token_locked(const std::string& client_id,
                                                   const std::string& user,
                                                   const std::string& scope,
                                                   const std::string& nonce) {
  const auto now = epoch_seconds(now_locked());
  json claims = {{"iss", issuer_},   {"sub", user},
                 {"aud", client_id}, {"exp", now + options_.access_token_ttl.count()},
                 {"iat", now},       {"auth_time", now}};
  if (!nonce.empty()) claims["nonce"] = nonce;
  if (has_scope(scope, "profile")) {
    claims["name"] = display_name(user);
    claims["preferred_username"] = user;
  }
  return detail::SigningKey::instance().sign_jwt({{"typ", "JWT"}}, claims);
}

std::string MockServer::Impl::new_family_locked(const std::string& client_id,
                                                const std::string& user, const std::string& scope,
                                                std::string* family_id) {
  const auto now = now_locked();
  *family_id = random_token(12);
  const std::string token = random_token(32);
  families_[*family_id] = Family{client_id, user, scope, now, now, false, token};
  refresh_tokens_[token_hash(token)] = RefreshRecord{*family_id, true, {}};
  return token;
}

json MockServer::Impl::token_response_locked(const std::string& client_id, const std::string& user,
                                             const std::string& scope, const std::string& nonce,
                                             const std::string& family_id,
                                             const std::string& refresh_token,
                                             std::optional<std::chrono::seconds> access_ttl) {
  const std::chrono::seconds ttl = access_ttl.value_or(options_.access_token_ttl);
  json answer = {{"access_token", mint_access_token_locked(client_id, user, scope, family_id, ttl)},
                 {"token_type", "Bearer"},
                 {"expires_in", ttl.count()},
                 {"scope", scope}};
  if (!refresh_token.empty()) answer["refresh_token"] = refresh_token;
  if (!user.empty() && has_scope(scope, "openid")) {
    answer["id_token"] = mint_id_token_locked(client_id, user, scope, nonce);
  }
  return answer;
}

// ---------------------------------------------------------------- discovery

void MockServer::Impl::discovery(const httplib::Request&, httplib::Response& res) {
  const std::string iss = issuer();
  send_json(
      res, 200,
      {{"issuer", iss},
       {"authorization_endpoint", iss + "/authorize"},
       {"token_endpoint", iss + "/token"},
       {"device_authorization_endpoint", iss + "/device_authorization"},
       {"revocation_endpoint", iss + "/revoke"},
       {"introspection_endpoint", iss + "/introspect"},
       {"userinfo_endpoint", iss + "/userinfo"},
       {"jwks_uri", iss + "/jwks"},
       {"scopes_supported", known_scopes()},
       {"response_types_supported", {"code"}},
       {"response_modes_supported", {"query"}},
       {"grant_types_supported",
        {kGrantCode, kGrantRefresh, kGrantClientCredentials, kGrantDevice}},
       {"code_challenge_methods_supported", {"S256"}},
       {"token_endpoint_auth_methods_supported",
        {"none", "client_secret_basic", "client_secret_post"}},
       {"revocation_endpoint_auth_methods_supported",
        {"none", "client_secret_basic", "client_secret_post"}},
       {"introspection_endpoint_auth_methods_supported",
        {"none", "client_secret_basic", "client_secret_post"}},
       {"subject_types_supported", {"public"}},
       {"id_token_signing_alg_values_supported", {"RS256"}},
       {"claims_supported",
        {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "name", "preferred_username"}},
       {"authorization_response_iss_parameter_supported", true}});
}

// ---------------------------------------------------------------- /authorize

void MockServer::Impl::authorize(const httplib::Request& req, httplib::Response& res) {
  std::string error;
  std::optional<Params> params;
  if (req.method == "POST") {
    params = is_form(req) ? parse_form(req.body, error) : std::nullopt;
    if (!is_form(req)) error = "The sign-in form must be application/x-www-form-urlencoded";
  } else {
    params = query_params(req, error);
  }
  if (!params) {
    send_html(res, 400, "Invalid request", "<p>" + util::html_escape(error) + "</p>");
    return;
  }
  const Params& p = *params;
  const std::string iss = issuer();
  const std::string client_id = get(p, "client_id");
  const std::string redirect_uri = get(p, "redirect_uri");
  const ClientInfo* client = find_client(client_id);
  // Without a trustworthy redirect URI the error is shown to the user, never redirected.
  if (client == nullptr) {
    send_html(res, 400, "Unknown client", "<p>The client_id is missing or unknown.</p>");
    return;
  }
  if (client->confidential() || !loopback_redirect_ok(redirect_uri)) {
    send_html(res, 400, "Invalid redirect URI",
              "<p>The redirect_uri is not registered for this client (loopback "
              "http://127.0.0.1:&lt;port&gt;/&lt;path&gt; only).</p>");
    return;
  }
  const std::string state = get(p, "state");
  auto redirect = [&](const util::FormFields& fields) {
    util::FormFields all = fields;
    if (!state.empty()) all.emplace_back("state", state);
    all.emplace_back("iss", iss);
    const char separator = redirect_uri.find('?') == std::string::npos ? '?' : '&';
    res.status = 302;
    res.set_header("Location", redirect_uri + separator + util::form_encode(all));
    res.set_header("Cache-Control", "no-store");
  };
  auto redirect_error = [&](const std::string& code, const std::string& description) {
    redirect({{"error", code}, {"error_description", description}});
  };
  const std::string response_type = get(p, "response_type");
  if (response_type.empty()) return redirect_error("invalid_request", "response_type is missing");
  if (response_type != "code") {
    return redirect_error("unsupported_response_type", "Only response_type=code is supported");
  }
  const std::string challenge = get(p, "code_challenge");
  const std::string method = get(p, "code_challenge_method");
  if (challenge.empty())
    return redirect_error("invalid_request", "PKCE code_challenge is required");
  if (method != "S256") {
    return redirect_error("invalid_request", "code_challenge_method must be S256");
  }
  if (challenge.size() != 43 || !util::base64url_decode(challenge)) {
    return redirect_error("invalid_request", "code_challenge is not a base64url SHA-256");
  }
  std::string scope = get(p, "scope");
  if (p.count("scope") == 0) scope = client->default_scope;
  const auto items = split_scope(scope);
  if (items.empty()) return redirect_error("invalid_scope", "The scope is empty");
  for (const auto& s : items) {
    if (client->scopes.count(s) == 0) return redirect_error("invalid_scope", "Unknown scope: " + s);
  }
  const std::string nonce = get(p, "nonce");

  std::string user;
  if (options_.auto_approve) {
    user = "alice";
  } else if (req.method == "POST" && get(p, "action") == "deny") {
    return redirect_error("access_denied", "The user denied the request");
  } else if (req.method == "POST") {
    user = get(p, "username");
    if (!check_password(user, get(p, "password"))) user.clear();
  }
  if (user.empty()) {
    std::string hidden;
    for (const auto& [name, value] : p) {
      if (name == "username" || name == "password" || name == "action") continue;
      hidden += "<input type=\"hidden\" name=\"" + util::html_escape(name) + "\" value=\"" +
                util::html_escape(value) + "\">\n";
    }
    const bool failed = req.method == "POST";
    send_html(res, 200, "Sign in to freshtoken mock",
              std::string(failed ? "<p class=\"error\">Wrong user name or password.</p>\n" : "") +
                  "<p>Client <b>" + util::html_escape(client_id) +
                  "</b> asks for: " + util::html_escape(join_scope(items)) +
                  "</p>\n<form method=\"post\" action=\"/authorize\">\n" + hidden +
                  "<label>User <input name=\"username\" value=\"alice\"></label>\n"
                  "<label>Password <input name=\"password\" type=\"password\"></label>\n"
                  "<button name=\"action\" value=\"approve\">Sign in</button>\n"
                  "<button name=\"action\" value=\"deny\">Deny</button>\n</form>");
    return;
  }
  std::string code = random_token(32);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    codes_[code] = AuthCode{client_id,
                            redirect_uri,
                            challenge,
                            user,
                            join_scope(items),
                            nonce,
                            "",
                            now_locked() + options_.authorization_code_ttl,
                            false};
  }
  redirect({{"code", code}});
}

// ---------------------------------------------------------------- /token

void MockServer::Impl::token(const httplib::Request& req, httplib::Response& res) {
  const auto form = read_form_post(req, res);
  if (!form) return;
  const std::string grant = get(*form, "grant_type");
  if (grant.empty()) return oauth_error(res, 400, "invalid_request", "grant_type is missing");
  const ClientAuth auth = authenticate_client(req, *form);
  if (auth.client == nullptr) return answer_client_error(res, auth);
  if (!known_grant(grant)) {
    return oauth_error(res, 400, "unsupported_grant_type", "Unsupported grant_type");
  }
  if (auth.client->grants.count(grant) == 0) {
    return oauth_error(res, 400, "unauthorized_client", "This client may not use this grant");
  }
  if (grant == kGrantCode) return grant_authorization_code(*auth.client, *form, res);
  if (grant == kGrantRefresh) return grant_refresh_token(*auth.client, *form, res);
  if (grant == kGrantClientCredentials) return grant_client_credentials(*auth.client, *form, res);
  grant_device_code(*auth.client, *form, res);
}

void MockServer::Impl::grant_authorization_code(const ClientInfo& client, const Params& form,
                                                httplib::Response& res) {
  const std::string code = get(form, "code");
  const std::string verifier = get(form, "code_verifier");
  if (code.empty()) return oauth_error(res, 400, "invalid_request", "code is missing");
  if (form.count("redirect_uri") == 0) {
    return oauth_error(res, 400, "invalid_request", "redirect_uri is missing");
  }
  if (verifier.empty()) {
    return oauth_error(res, 400, "invalid_request", "code_verifier is missing (PKCE)");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = codes_.find(code);
  if (it == codes_.end()) {
    return oauth_error(res, 400, "invalid_grant", "The authorization code is unknown");
  }
  AuthCode& grant = it->second;
  if (grant.used) {
    // RFC 6749 §4.1.2: a replayed code revokes what it produced.
    if (!grant.family_id.empty()) revoke_family_locked(grant.family_id);
    return oauth_error(res, 400, "invalid_grant", "The authorization code was already used");
  }
  if (now_locked() >= grant.expires) {
    return oauth_error(res, 400, "invalid_grant", "The authorization code expired");
  }
  if (grant.client_id != client.id) {
    return oauth_error(res, 400, "invalid_grant", "The code was issued to another client");
  }
  if (grant.redirect_uri != get(form, "redirect_uri")) {
    return oauth_error(res, 400, "invalid_grant", "redirect_uri does not match the request");
  }
  bool verifier_ok = verifier.size() >= 43 && verifier.size() <= 128;
  for (char c : verifier) {
    verifier_ok = verifier_ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                                  c == '.' || c == '_' || c == '~');
  }
  if (!verifier_ok ||
      !equal_secret(util::base64url_encode(util::sha256(verifier)), grant.challenge)) {
    return oauth_error(res, 400, "invalid_grant", "code_verifier does not match the challenge");
  }
  grant.used = true;
  std::string family_id;
  const std::string refresh = new_family_locked(client.id, grant.user, grant.scope, &family_id);
  grant.family_id = family_id;
  send_json(
      res, 200,
      token_response_locked(client.id, grant.user, grant.scope, grant.nonce, family_id, refresh));
}

void MockServer::Impl::grant_refresh_token(const ClientInfo& client, const Params& form,
                                           httplib::Response& res) {
  const std::string presented = get(form, "refresh_token");
  if (presented.empty())
    return oauth_error(res, 400, "invalid_request", "refresh_token is missing");
  std::lock_guard<std::mutex> lock(mutex_);
  const auto record_it = refresh_tokens_.find(token_hash(presented));
  if (record_it == refresh_tokens_.end()) {
    return oauth_error(res, 400, "invalid_grant", "The refresh token is unknown");
  }
  RefreshRecord& record = record_it->second;
  const std::string family_id = record.family_id;
  Family& family = families_.at(family_id);
  const auto now = now_locked();
  if (family.client_id != client.id) {
    return oauth_error(res, 400, "invalid_grant", "The refresh token was issued to another client");
  }
  if (family.revoked) {
    return oauth_error(res, 400, "invalid_grant", "The refresh token was revoked");
  }
  if (now >= family.created + options_.refresh_token_ttl) {
    return oauth_error(res, 400, "invalid_grant", "The refresh token expired (absolute lifetime)");
  }
  if (now >= family.last_used + options_.refresh_idle_ttl) {
    return oauth_error(res, 400, "invalid_grant", "The refresh token expired (idle lifetime)");
  }
  bool grace = false;
  if (!record.current) {
    if (now - record.superseded_at <= options_.reuse_grace && options_.reuse_grace.count() > 0) {
      grace = true;
    } else {
      // RFC 9700 §4.14.2: a rotated-out token came back; someone holds a copy.
      ++stats_.refresh_reuse_detected;
      revoke_family_locked(family_id);
      return oauth_error(res, 400, "invalid_grant", "The refresh token was already used");
    }
  }
  std::string scope = family.scope;
  if (form.count("scope") != 0) {
    const auto granted = split_scope(family.scope);
    const auto wanted = split_scope(get(form, "scope"));
    if (wanted.empty()) return oauth_error(res, 400, "invalid_scope", "The scope is empty");
    for (const auto& s : wanted) {
      if (std::find(granted.begin(), granted.end(), s) == granted.end()) {
        return oauth_error(res, 400, "invalid_scope",
                           "The scope exceeds what was originally granted: " + s);
      }
    }
    scope = join_scope(wanted);
  }
  family.last_used = now;
  ++stats_.refreshes;
  std::string refresh;  // none in the answer: the client keeps the one it has
  if (grace) {
    ++stats_.refresh_grace_reuses;
    refresh = family.current_token;
  } else if (options_.rotation) {
    record.current = false;
    record.superseded_at = now;
    refresh = random_token(32);
    family.current_token = refresh;
    refresh_tokens_[token_hash(refresh)] = RefreshRecord{family_id, true, {}};
  }
  send_json(res, 200, token_response_locked(client.id, family.user, scope, "", family_id, refresh));
}

void MockServer::Impl::grant_client_credentials(const ClientInfo& client, const Params& form,
                                                httplib::Response& res) {
  std::string scope = form.count("scope") ? get(form, "scope") : client.default_scope;
  const auto items = split_scope(scope);
  if (items.empty()) return oauth_error(res, 400, "invalid_scope", "The scope is empty");
  for (const auto& s : items) {
    if (client.scopes.count(s) == 0) {
      return oauth_error(res, 400, "invalid_scope", "Scope not allowed for this client: " + s);
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  send_json(res, 200, token_response_locked(client.id, "", join_scope(items), "", "", ""));
}

void MockServer::Impl::grant_device_code(const ClientInfo& client, const Params& form,
                                         httplib::Response& res) {
  const std::string device_code = get(form, "device_code");
  if (device_code.empty())
    return oauth_error(res, 400, "invalid_request", "device_code is missing");
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = devices_.find(token_hash(device_code));
  if (it == devices_.end()) {
    return oauth_error(res, 400, "invalid_grant", "The device_code is unknown");
  }
  DeviceGrant& grant = it->second;
  if (grant.client_id != client.id) {
    return oauth_error(res, 400, "invalid_grant", "The device_code was issued to another client");
  }
  const auto now = now_locked();
  if (now >= grant.expires) {
    return oauth_error(res, 400, "expired_token", "The device_code expired");
  }
  const bool too_fast = grant.last_poll && now - *grant.last_poll < grant.interval;
  grant.last_poll = now;
  if (too_fast) {
    grant.interval += std::chrono::seconds(5);  // RFC 8628 §3.5
    return oauth_error(
        res, 400, "slow_down",
        "Polling too fast; interval is now " + std::to_string(grant.interval.count()) + " s");
  }
  if (grant.status == DeviceStatus::pending) {
    return oauth_error(res, 400, "authorization_pending", "The user has not finished yet");
  }
  if (grant.status == DeviceStatus::denied) {
    devices_.erase(it);
    return oauth_error(res, 400, "access_denied", "The user denied the request");
  }
  const std::string user = grant.user;
  const std::string scope = grant.scope;
  devices_.erase(it);
  std::string family_id;
  const std::string refresh = new_family_locked(client.id, user, scope, &family_id);
  send_json(res, 200, token_response_locked(client.id, user, scope, "", family_id, refresh));
}

// ---------------------------------------------------------------- device authorization

void MockServer::Impl::device_authorization(const httplib::Request& req, httplib::Response& res) {
  const auto form = read_form_post(req, res);
  if (!form) return;
  const ClientAuth auth = authenticate_client(req, *form);
  if (auth.client == nullptr) return answer_client_error(res, auth);
  if (auth.client->grants.count(kGrantDevice) == 0) {
    return oauth_error(res, 400, "unauthorized_client", "This client may not use the device flow");
  }
  const std::string scope = form->count("scope") ? get(*form, "scope") : auth.client->default_scope;
  const auto items = split_scope(scope);
  if (items.empty()) return oauth_error(res, 400, "invalid_scope", "The scope is empty");
  for (const auto& s : items) {
    if (auth.client->scopes.count(s) == 0) {
      return oauth_error(res, 400, "invalid_scope", "Unknown scope: " + s);
    }
  }
  static const std::string alphabet = "BCDFGHJKLMNPQRSTVWXZ";  // RFC 8628 §6.1
  std::string user_code;
  while (user_code.size() < 9) {
    for (unsigned char byte : util::random_bytes(16)) {
      if (byte >= 240 || user_code.size() >= 9) continue;
      if (user_code.size() == 4) user_code += '-';
      user_code += alphabet[byte % alphabet.size()];
    }
  }
  const std::string device_code = random_token(32);
  std::string iss;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    iss = issuer_;
    DeviceGrant grant;
    grant.client_id = auth.client->id;
    grant.scope = join_scope(items);
    grant.user_code = user_code;
    grant.expires = now_locked() + options_.device_code_ttl;
    grant.interval = options_.device_interval;
    if (options_.auto_approve) {
      grant.status = DeviceStatus::approved;
      grant.user = "alice";
    }
    devices_[token_hash(device_code)] = grant;
  }
  send_json(res, 200,
            {{"device_code", device_code},
             {"user_code", user_code},
             {"verification_uri", iss + "/device"},
             {"verification_uri_complete", iss + "/device?user_code=" + user_code},
             {"expires_in", options_.device_code_ttl.count()},
             {"interval", options_.device_interval.count()}});
}

void MockServer::Impl::device_page(const httplib::Request& req, httplib::Response& res) {
  std::string error;
  std::optional<Params> params;
  if (req.method == "POST") {
    params = is_form(req) ? parse_form(req.body, error) : std::nullopt;
    if (!is_form(req)) error = "The form must be application/x-www-form-urlencoded";
  } else {
    params = query_params(req, error);
  }
  if (!params)
    return send_html(res, 400, "Invalid request", "<p>" + util::html_escape(error) + "</p>");
  const std::string user_code = get(*params, "user_code");
  if (req.method == "POST") {
    const std::string user = get(*params, "username");
    try {
      if (get(*params, "action") == "deny") {
        deny_device(user_code);
        return send_html(res, 200, "Request denied", "<p>You may close this window.</p>");
      }
      if (!check_password(user, get(*params, "password"))) {
        return send_html(res, 401, "Sign-in failed", "<p>Wrong user name or password.</p>");
      }
      approve_device(user_code, user);
      return send_html(res, 200, "Device approved", "<p>Return to your device.</p>");
    } catch (const std::invalid_argument&) {
      return send_html(res, 400, "Unknown code", "<p>That code is unknown or already used.</p>");
    }
  }
  send_html(res, 200, "Connect a device",
            "<form method=\"post\" action=\"/device\">\n"
            "<label>Code <input name=\"user_code\" value=\"" +
                util::html_escape(user_code) +
                "\"></label>\n"
                "<label>User <input name=\"username\" value=\"alice\"></label>\n"
                "<label>Password <input name=\"password\" type=\"password\"></label>\n"
                "<button name=\"action\" value=\"approve\">Approve</button>\n"
                "<button name=\"action\" value=\"deny\">Deny</button>\n</form>");
}

// ---------------------------------------------------------------- revoke / introspect

void MockServer::Impl::revoke(const httplib::Request& req, httplib::Response& res) {
  const auto form = read_form_post(req, res);
  if (!form) return;
  const ClientAuth auth = authenticate_client(req, *form);
  if (auth.client == nullptr) return answer_client_error(res, auth);
  const std::string token = get(*form, "token");
  if (token.empty()) return oauth_error(res, 400, "invalid_request", "token is missing");
  const auto claims = detail::SigningKey::instance().verify_jwt(token);
  std::lock_guard<std::mutex> lock(mutex_);
  const auto refresh = refresh_tokens_.find(token_hash(token));
  if (refresh != refresh_tokens_.end()) {
    const auto family = families_.find(refresh->second.family_id);
    if (family != families_.end() && family->second.client_id == auth.client->id) {
      revoke_family_locked(refresh->second.family_id);
    }
  } else if (claims) {
    const auto access = access_tokens_.find(string_member(claims->claims, "jti"));
    if (access != access_tokens_.end() && access->second.client_id == auth.client->id) {
      access->second.revoked = true;
    }
  }
  res.status = 200;  // RFC 7009 §2.2: also for unknown tokens
}

std::optional<json> MockServer::Impl::valid_access_claims(const std::string& token) {
  const auto jwt = detail::SigningKey::instance().verify_jwt(token);
  if (!jwt || string_member(jwt->header, "typ") != "at+jwt") return std::nullopt;
  const json& claims = jwt->claims;
  std::lock_guard<std::mutex> lock(mutex_);
  if (string_member(claims, "iss") != issuer_ ||
      string_member(claims, "aud") != api_audience_locked()) {
    return std::nullopt;
  }
  const auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number_integer() ||
      exp->get<std::int64_t>() <= epoch_seconds(now_locked())) {
    return std::nullopt;
  }
  const auto record = access_tokens_.find(string_member(claims, "jti"));
  if (record == access_tokens_.end() || record->second.revoked) return std::nullopt;
  return claims;
}

void MockServer::Impl::introspect(const httplib::Request& req, httplib::Response& res) {
  const auto form = read_form_post(req, res);
  if (!form) return;
  const ClientAuth auth = authenticate_client(req, *form);
  if (auth.client == nullptr) return answer_client_error(res, auth);
  const std::string token = get(*form, "token");
  if (token.empty()) return oauth_error(res, 400, "invalid_request", "token is missing");
  if (auto claims = valid_access_claims(token)) {
    json answer = *claims;
    answer["active"] = true;
    answer["token_type"] = "Bearer";
    return send_json(res, 200, answer);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  const auto refresh = refresh_tokens_.find(token_hash(token));
  if (refresh != refresh_tokens_.end()) {
    const Family& family = families_.at(refresh->second.family_id);
    const auto now = now_locked();
    const bool active = refresh->second.current && !family.revoked &&
                        now < family.created + options_.refresh_token_ttl &&
                        now < family.last_used + options_.refresh_idle_ttl;
    if (active) {
      return send_json(
          res, 200,
          {{"active", true},
           {"token_type", "refresh_token"},
           {"client_id", family.client_id},
           {"sub", family.user},
           {"username", family.user},
           {"scope", family.scope},
           {"iss", issuer_},
           {"exp", epoch_seconds(std::min(family.created + options_.refresh_token_ttl,
                                          family.last_used + options_.refresh_idle_ttl))}});
    }
  }
  send_json(res, 200, {{"active", false}});
}

// ---------------------------------------------------------------- bearer-protected

std::optional<json> MockServer::Impl::check_bearer(const httplib::Request& req,
                                                   httplib::Response& res,
                                                   const std::string& required_scope,
                                                   bool count_api) {
  auto unauthorized = [&](const std::string& challenge, const std::string& error,
                          const std::string& description) {
    res.set_header("WWW-Authenticate", challenge);
    if (error.empty()) {
      send_json(res, 401, {{"error", "unauthorized"}, {"error_description", description}});
    } else {
      oauth_error(res, 401, error, description);
    }
    if (count_api) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.api_401;
    }
    return std::nullopt;
  };
  const std::string header = req.get_header_value("Authorization");
  const std::size_t headers = req.get_header_value_count("Authorization");
  std::string scheme = header.substr(0, header.find(' '));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (headers == 0 || scheme != "bearer") {
    return unauthorized("Bearer", "", "An access token is required");
  }
  std::string token = header.size() > 7 ? header.substr(7) : std::string();
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  if (headers > 1 || token.empty() || token.find(' ') != std::string::npos) {
    res.set_header("WWW-Authenticate", "Bearer error=\"invalid_request\"");
    oauth_error(res, 400, "invalid_request", "Malformed Authorization header");
    return std::nullopt;
  }
  auto claims = valid_access_claims(token);
  if (!claims) {
    return unauthorized("Bearer error=\"invalid_token\"", "invalid_token",
                        "The access token is invalid, expired or revoked");
  }
  if (!required_scope.empty() && !has_scope(string_member(*claims, "scope"), required_scope)) {
    res.set_header("WWW-Authenticate",
                   "Bearer error=\"insufficient_scope\", scope=\"" + required_scope + "\"");
    oauth_error(res, 403, "insufficient_scope", "This needs scope " + required_scope);
    if (count_api) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.api_403;
    }
    return std::nullopt;
  }
  return claims;
}

void MockServer::Impl::userinfo(const httplib::Request& req, httplib::Response& res) {
  const auto claims = check_bearer(req, res, "openid", false);
  if (!claims) return;
  const std::string sub = string_member(*claims, "sub");
  json answer = {{"sub", sub}};
  if (has_scope(string_member(*claims, "scope"), "profile") && known_user(sub)) {
    answer["name"] = display_name(sub);
    answer["preferred_username"] = sub;
  }
  send_json(res, 200, answer);
}

void MockServer::Impl::api(const httplib::Request& req, httplib::Response& res) {
  const bool admin = req.path == "/api/admin" || req.path.rfind("/api/admin/", 0) == 0;
  const auto claims = check_bearer(req, res, admin ? "admin" : "api", true);
  if (!claims) return;
  if (req.path == "/api/me") {
    if (req.method != "GET") return oauth_error(res, 405, "invalid_request", "GET only");
    return send_json(res, 200,
                     {{"sub", string_member(*claims, "sub")},
                      {"client_id", string_member(*claims, "client_id")},
                      {"scope", string_member(*claims, "scope")}});
  }
  if (req.path == "/api/echo" || admin) {
    json headers = json::object();
    for (const auto& [name, value] : req.headers) {
      std::string key = name;
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      // The token itself never comes back in a body that a demo might print.
      const std::string shown = key == "authorization" ? "Bearer [redacted]" : value;
      if (headers.contains(key)) {
        headers[key] = headers[key].get<std::string>() + ", " + shown;
      } else {
        headers[key] = shown;
      }
    }
    json query = json::object();
    for (const auto& [name, value] : req.params) query[name] = value;
    const std::string token = req.get_header_value("Authorization").substr(7);
    return send_json(res, 200,
                     {{"method", req.method},
                      {"path", req.path},
                      {"query", query},
                      {"headers", headers},
                      {"body", req.body},
                      {"sub", string_member(*claims, "sub")},
                      {"jti", string_member(*claims, "jti")},
                      {"token_sha256", util::hex(util::sha256(token))}});
  }
  oauth_error(res, 404, "not_found", "No such API resource");
}

// ---------------------------------------------------------------- MockServer

MockServer::MockServer(MockServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
MockServer::~MockServer() = default;
void MockServer::start() { impl_->start(); }
void MockServer::stop() { impl_->stop(); }
std::string MockServer::issuer() const { return impl_->issuer(); }
int MockServer::port() const { return impl_->port(); }
nlohmann::json MockServer::stats() const { return impl_->stats(); }
void MockServer::reset() { impl_->reset(); }
void MockServer::arm_fault(const Fault& fault) { impl_->arm_fault(fault); }
void MockServer::revoke_access_tokens() { impl_->revoke_access_tokens(); }
void MockServer::revoke_family(const std::string& refresh_token) {
  impl_->revoke_family(refresh_token);
}
void MockServer::revoke_user(const std::string& user) { impl_->revoke_user(user); }
void MockServer::approve_device(const std::string& user_code, const std::string& user) {
  impl_->approve_device(user_code, user);
}
void MockServer::deny_device(const std::string& user_code) { impl_->deny_device(user_code); }
void MockServer::set_clock_offset(std::chrono::seconds offset) { impl_->set_clock_offset(offset); }
void MockServer::advance_clock(std::chrono::seconds by) { impl_->advance_clock(by); }
std::chrono::seconds MockServer::clock_offset() const { return impl_->clock_offset(); }
nlohmann::json MockServer::jwks() const {
  return {{"keys", nlohmann::json::array({detail::SigningKey::instance().jwk()})}};
}
nlohmann::json MockServer::issue_tokens(const std::string& user, const std::string& client_id,
                                        const std::string& scope,
                                        std::optional<std::chrono::seconds> access_token_ttl) {
  return impl_->issue_tokens(user, client_id, scope, access_token_ttl);
}

}  // namespace freshtoken::mock
