// The mock server's lifecycle (start, stop) and the public MockServer methods.
#include <signal.h>

#include <algorithm>
#include <csignal>
#include <stdexcept>
#include <utility>

#include "connection.hpp"
#include "server_impl.hpp"
#include "signing_key.hpp"

namespace freshtoken::mock {
namespace {

// A client hanging up mid-answer must not kill the process (httplib and OpenSSL write
// without MSG_NOSIGNAL); an application's own SIGPIPE handler is left alone.
void ignore_sigpipe_unless_handled() {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    std::signal(SIGPIPE, SIG_IGN);
  }
}

}  // namespace

MockServer::Impl::Impl(MockServerOptions options) : state_(std::move(options)) {
  detail::SigningKey::instance();  // generate the key before the first request needs it
}

// An HTTP or HTTPS server with the mock's settings and routes (the issuer's, or the second
// API's), not yet bound.
std::unique_ptr<httplib::Server> MockServer::Impl::make_server(bool tls, bool files) {
  std::unique_ptr<httplib::Server> server;
  if (tls) {
    if (options().tls_cert_file.empty() || options().tls_key_file.empty()) {
      throw std::runtime_error("TLS needs both a certificate and a key file");
    }
    auto ssl = std::make_unique<httplib::SSLServer>(options().tls_cert_file.c_str(),
                                                    options().tls_key_file.c_str());
    if (!ssl->is_valid()) {
      throw std::runtime_error("cannot load the TLS certificate or key");
    }
    server = std::move(ssl);
  } else {
    server = std::make_unique<httplib::Server>();
  }
  const std::size_t threads = static_cast<std::size_t>(std::max(options().threads, 8));
  server->new_task_queue = [this, threads] {
    return new detail::ConnectionPool(threads, state_.connection_counter());
  };
  server->set_keep_alive_max_count(1000000);
  server->set_keep_alive_timeout(10);
  server->set_read_timeout(10);
  server->set_write_timeout(10);
  server->set_payload_max_length(detail::kMaxPayload);
  server->set_tcp_nodelay(true);
  if (files) {
    install_files_routes(*server);
  } else {
    install_routes(*server);
  }
  return server;
}

void MockServer::Impl::start() {
  if (server_) throw std::runtime_error("mock server already started");
  ignore_sigpipe_unless_handled();
  const bool tls = !options().tls_cert_file.empty() || !options().tls_key_file.empty();
  auto server = make_server(tls, false);
  auto files = make_server(tls, true);
  // 64 clients connecting at once need more than httplib's backlog of 5.
  const detail::ListenBacklog backlog(*server);
  const detail::ListenBacklog files_backlog(*files);
  const int bound = bind(*server, options().port);
  const int files_bound = bind(*files, options().files_port);
  backlog.raise();
  files_backlog.raise();
  server_ = std::move(server);
  files_server_ = std::move(files);
  run(options().host, bound, files_bound, tls);
}

int MockServer::Impl::bind(httplib::Server& server, int port) {
  int bound = 0;
  if (port == 0) {
    bound = server.bind_to_any_port(options().host);
  } else {
    bound = server.bind_to_port(options().host, port) ? port : -1;
  }
  if (bound <= 0) {
    throw std::runtime_error("cannot bind " + options().host + ":" + std::to_string(port));
  }
  return bound;
}

bool MockServer::Impl::listen(httplib::Server& server, std::thread& thread) {
  auto* running = &server;
  auto finished = std::make_shared<std::atomic<bool>>(false);
  thread = std::thread([running, finished] {
    running->listen_after_bind();
    *finished = true;
  });
  // httplib's stop() is a no-op until the accept loop runs; wait for it.
  while (!server.is_running() && !*finished) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (*finished) thread.join();
  return !*finished;
}

// Publishes the issuer and the second API's origin and serves both servers on background
// threads.
void MockServer::Impl::run(const std::string& listen_host, int bound, int files_bound, bool tls) {
  std::string host = listen_host;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  port_ = bound;
  files_port_ = files_bound;
  const std::string scheme = tls ? "https" : "http";
  if (!options().issuer.empty()) {
    state_.set_issuer(options().issuer);
  } else {
    state_.set_issuer(scheme + "://" + host + ":" + std::to_string(bound));
  }
  state_.set_files_origin(scheme + "://" + host + ":" + std::to_string(files_bound));
  const bool files_running = listen(*files_server_, files_thread_);
  if (!files_running || !listen(*server_, thread_)) {
    if (files_running) {
      files_server_->stop();
      files_thread_.join();
    }
    server_.reset();
    files_server_.reset();
    throw std::runtime_error("the mock server could not start listening");
  }
}

void MockServer::Impl::stop() {
  if (!server_) return;
  server_->stop();
  files_server_->stop();
  // Idle keep-alive connections would otherwise hold the workers for the keep-alive timeout.
  detail::shutdown_server_connections(port());
  detail::shutdown_server_connections(files_port());
  if (thread_.joinable()) thread_.join();
  if (files_thread_.joinable()) files_thread_.join();
  server_.reset();
  files_server_.reset();
}

// ---------------------------------------------------------------- MockServer

MockServer::MockServer(MockServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
MockServer::~MockServer() = default;
void MockServer::start() { impl_->start(); }
void MockServer::stop() { impl_->stop(); }
std::string MockServer::issuer() const { return impl_->state().issuer(); }
int MockServer::port() const { return impl_->port(); }
std::vector<ResourceApi> MockServer::resources() const {
  std::vector<ResourceApi> apis;
  if (impl_->port() == 0) return apis;
  for (const auto api : {detail::ApiId::api, detail::ApiId::files}) {
    const std::string resource = impl_->state().api_location(api).resource;
    apis.push_back(ResourceApi{resource, resource});
  }
  return apis;
}
std::string MockServer::files_url() const {
  return impl_->port() == 0 ? std::string()
                            : impl_->state().api_location(detail::ApiId::files).resource;
}
MockServerStats MockServer::stats() const { return impl_->state().stats(); }
void MockServer::reset() { impl_->state().reset(); }
void MockServer::arm_fault(const Fault& fault) { impl_->state().arm_fault(fault); }
void MockServer::revoke_access_tokens() { impl_->state().revoke_access_tokens(); }
void MockServer::revoke_family(const std::string& refresh_token) {
  impl_->state().revoke_family(refresh_token);
}
void MockServer::revoke_user(const std::string& user) { impl_->state().revoke_user(user); }
void MockServer::approve_device(const std::string& user_code, const std::string& user) {
  impl_->state().approve_device(user_code, user);
}
void MockServer::deny_device(const std::string& user_code) {
  impl_->state().deny_device(user_code);
}
void MockServer::set_clock_offset(std::chrono::seconds offset) {
  impl_->state().set_clock_offset(offset);
}
void MockServer::advance_clock(std::chrono::seconds by) { impl_->state().advance_clock(by); }
std::chrono::seconds MockServer::clock_offset() const { return impl_->state().clock_offset(); }
std::string MockServer::jwks() const { return detail::jwks_json().dump(); }
IssuedTokens MockServer::issue_tokens(const std::string& user, const std::string& client_id,
                                      const std::string& scope,
                                      std::optional<std::chrono::seconds> access_token_ttl) {
  return impl_->state().issue_tokens(user, client_id, scope, access_token_ttl);
}

freshtoken::TokenSet MockServer::sign_in(
    const std::string& user, const std::string& client_id, const std::string& scope,
    std::optional<std::chrono::system_clock::time_point> received_at) {
  IssuedTokens issued = impl_->state().issue_tokens(user, client_id, scope, std::nullopt);
  freshtoken::TokenSet tokens;
  tokens.access_token = freshtoken::Secret(std::move(issued.access_token));
  tokens.token_type = issued.token_type;
  tokens.issued_at = received_at.value_or(std::chrono::system_clock::now());
  tokens.expires_at = tokens.issued_at + issued.expires_in;
  tokens.refresh_token = freshtoken::Secret(std::move(issued.refresh_token));
  tokens.scope = std::move(issued.scope);
  tokens.id_token = freshtoken::Secret(std::move(issued.id_token));
  return tokens;
}

}  // namespace freshtoken::mock
