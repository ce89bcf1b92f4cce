#include "freshtoken/platform/desktop_client.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "freshtoken/platform/secret_stores.hpp"

namespace freshtoken {
namespace {

// "a b" + "b c" -> "a b c": the words of both, each once, in order.
std::string join_scopes(const std::string& first, const std::string& second) {
  std::vector<std::string> words;
  for (const std::string* text : {&first, &second}) {
    std::size_t at = 0;
    while (at < text->size()) {
      const auto start = text->find_first_not_of(' ', at);
      if (start == std::string::npos) break;
      const auto end = std::min(text->find(' ', start), text->size());
      std::string word = text->substr(start, end - start);
      if (std::find(words.begin(), words.end(), word) == words.end()) {
        words.push_back(std::move(word));
      }
      at = end;
    }
  }
  std::string joined;
  for (const auto& word : words) {
    if (!joined.empty()) joined += ' ';
    joined += word;
  }
  return joined;
}

}  // namespace

struct DesktopClient::Impl {
  DesktopClientOptions options;
  std::shared_ptr<Transport> transport;
  std::shared_ptr<SecretStore> store;
  std::shared_ptr<AuthorizationServer> server;
  std::shared_ptr<Session> session;
  std::shared_ptr<HttpClient> http;

  // One interactive sign-in at a time: a thread that needs one while another runs waits for
  // that one and takes its result, so that the user never sees two browser tabs for one need.
  std::mutex sign_in_mutex;
  std::condition_variable sign_in_done;
  bool sign_in_running = false;
  std::uint64_t sign_in_generation = 0;
  std::optional<Error> last_sign_in_error;

  // Scopes added by step-ups of this client; a later step-up (or sign-in) asks for them too,
  // so that it never takes back what the user consented to. Guarded by sign_in_mutex.
  std::string stepped_up_scope;

  // The scope the configured sign-in asks for.
  std::string sign_in_scope() const {
    const std::string& own = options.sign_in_method == SignInMethod::device ? options.device.scope
                                                                            : options.browser.scope;
    return own.empty() ? options.scope : own;
  }

  // The resources the sign-in names: the flow's own, then every one of the origin list, once
  // each; `first` (when not empty) leads, since the token request of the code or device grant
  // asks for the first one's token.
  std::vector<std::string> sign_in_resources(const std::vector<std::string>& own,
                                             const std::string& first) const {
    std::vector<std::string> resources;
    auto add = [&resources](const std::string& resource) {
      if (resource.empty()) return;
      if (std::find(resources.begin(), resources.end(), resource) != resources.end()) return;
      resources.push_back(resource);
    };
    add(first);
    for (const auto& resource : own) add(resource);
    for (const auto& api : options.http.apis) add(api.target.resource);
    return resources;
  }

  // The target the sign-in's access token serves: the first resource's, as the origin list
  // names it (with its scope), or the default token when the sign-in names no resource.
  TokenTarget target_of(const std::vector<std::string>& resources) const {
    if (resources.empty()) return {};
    for (const auto& api : options.http.apis) {
      if (api.target.resource == resources.front()) return api.target;
    }
    return TokenTarget{resources.front(), ""};
  }

  // Runs the configured flow asking for `scope` and naming `resources`.
  Result<TokenSet> run_flow(const std::string& scope,
                            const std::vector<std::string>& resources) const {
    if (options.sign_in_method == SignInMethod::device) {
      DeviceSignInOptions device = options.device;
      device.scope = scope;
      device.resources = resources;
      return sign_in_with_device(*server, device);
    }
    BrowserSignInOptions browser = options.browser;
    browser.scope = scope;
    browser.resources = resources;
    return sign_in_with_browser(*server, browser);
  }

  const std::vector<std::string>& own_resources() const {
    return options.sign_in_method == SignInMethod::device ? options.device.resources
                                                          : options.browser.resources;
  }

  Result<void> interactive_sign_in() {
    const auto resources = sign_in_resources(own_resources(), {});
    auto tokens = run_flow(join_scopes(sign_in_scope(), stepped_up_scope), resources);
    if (!tokens) return tokens.error();
    return session->sign_in(std::move(*tokens), target_of(resources));
  }

  Result<void> interactive_step_up(const TokenTarget& target, const std::string& scope) {
    const std::string added = join_scopes(stepped_up_scope, join_scopes(target.scope, scope));
    const auto resources = sign_in_resources(own_resources(), target.resource);
    auto tokens = run_flow(join_scopes(sign_in_scope(), added), resources);
    if (!tokens) return tokens.error();
    stepped_up_scope = added;
    return session->step_up(std::move(*tokens), target);
  }

  // Runs `step_up` after the interactive sign-in under way, if any; never two at once.
  Result<void> step_up(const TokenTarget& target, const std::string& scope) {
    std::unique_lock<std::mutex> lock(sign_in_mutex);
    sign_in_done.wait(lock, [&] { return !sign_in_running; });
    sign_in_running = true;
    lock.unlock();

    // stepped_up_scope is only touched by the thread that set sign_in_running.
    Result<void> result = interactive_step_up(target, scope);

    lock.lock();
    sign_in_running = false;
    ++sign_in_generation;
    last_sign_in_error.reset();
    if (!result) last_sign_in_error = result.error();
    lock.unlock();
    sign_in_done.notify_all();
    return result;
  }

  // Signs in unless `only_if_needed` and the session has a sign-in; joins a sign-in already
  // running instead of starting a second one.
  Result<void> sign_in(bool only_if_needed) {
    if (only_if_needed) {
      auto status = session->status();
      if (!status) return status.error();  // a locked keyring is not "signed out"
      if (status->signed_in) return {};
    }
    std::unique_lock<std::mutex> lock(sign_in_mutex);
    if (sign_in_running) {
      const auto generation = sign_in_generation;
      sign_in_done.wait(lock, [&] { return sign_in_generation != generation; });
      if (last_sign_in_error) return *last_sign_in_error;
      return {};
    }
    sign_in_running = true;
    lock.unlock();

    Result<void> result;
    if (!only_if_needed) {
      result = interactive_sign_in();
    } else if (auto status = session->status(); !status) {
      result = status.error();
    } else if (!status->signed_in) {  // another thread may have finished one meanwhile
      result = interactive_sign_in();
    }

    lock.lock();
    sign_in_running = false;
    ++sign_in_generation;
    last_sign_in_error.reset();
    if (!result) last_sign_in_error = result.error();
    lock.unlock();
    sign_in_done.notify_all();
    return result;
  }
};

namespace {

Request make_request(std::string method, const std::string& url, Headers headers,
                     std::chrono::milliseconds timeout) {
  Request request(std::move(method), url);
  request.headers = std::move(headers);
  request.timeout = timeout;
  return request;
}

Request with_body(Request request, std::string body, std::string content_type) {
  if (!content_type.empty() && !request.headers.contains("Content-Type")) {
    request.headers.set("Content-Type", std::move(content_type));
  }
  request.body = std::move(body);
  return request;
}

}  // namespace

Result<std::shared_ptr<DesktopClient>> DesktopClient::create(DesktopClientOptions options) {
  if (options.issuer.empty()) return Error(ErrorCode::config, "DesktopClient: issuer is empty");
  if (options.client_id.empty()) {
    return Error(ErrorCode::config, "DesktopClient: client_id is empty");
  }
  if (options.sign_in_method == SignInMethod::device && !options.device.on_code) {
    return Error(ErrorCode::config,
                 "DesktopClient: the device sign-in needs device.on_code to show the code");
  }

  auto impl = std::make_shared<Impl>();
  impl->transport = options.transport ? options.transport : make_transport();
  impl->store = options.store ? options.store : default_secret_store();
  auto clock = options.clock ? options.clock : system_clock();
  if (options.server) {
    impl->server = options.server;
  } else {
    // Nothing is sent here: a launch with a valid stored access token goes straight to the
    // API, and the metadata is discovered by the first refresh, sign-in or sign-out.
    ClientConfig client{options.client_id, Secret(), ClientAuth::none, options.dpop};
    auto server =
        AuthorizationServer::for_issuer(impl->transport, options.issuer, std::move(client), clock);
    if (!server) return server.error();
    impl->server = *server;
  }

  SessionOptions session;
  session.server = impl->server;
  session.store = impl->store;
  session.service = options.service;
  session.account =
      options.account.empty() ? options.issuer + "|" + options.client_id : options.account;
  session.clock = clock;
  session.policy = options.policy;
  session.log = options.log;
  auto created = Session::create(std::move(session));
  if (!created) return created.error();
  impl->session = *created;

  HttpClientOptions http = options.http;
  if (!http.log) http.log = options.log;
  impl->http = std::make_shared<HttpClient>(impl->transport, impl->session, std::move(http));
  impl->options = std::move(options);
  return std::shared_ptr<DesktopClient>(new DesktopClient(std::move(impl)));
}

DesktopClient::DesktopClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

DesktopClient::~DesktopClient() = default;

Result<Response> DesktopClient::send(const Request& request) {
  if (!impl_->options.sign_in_when_needed) return impl_->http->send(request);
  if (auto ready = impl_->sign_in(true); !ready) return ready.error();
  auto response = impl_->http->send(request);
  // The stored refresh token was rejected while this request was under way (a 401's refresh):
  // the session has erased it, so a sign-in follows. A streamed body may be spent already and
  // must not go twice (HttpClient returns such a request's 401 without a refresh anyway).
  if (!response && response.error().code() == ErrorCode::login_required &&
      request.body_replayable()) {
    if (auto ready = impl_->sign_in(true); !ready) return ready.error();
    response = impl_->http->send(request);
  }
  return response;
}

Result<Response> DesktopClient::get(const std::string& url, Headers headers,
                                    std::chrono::milliseconds timeout) {
  return send(make_request("GET", url, std::move(headers), timeout));
}

Result<Response> DesktopClient::post(const std::string& url, std::string body,
                                     std::string content_type, Headers headers,
                                     std::chrono::milliseconds timeout) {
  return send(with_body(make_request("POST", url, std::move(headers), timeout), std::move(body),
                        std::move(content_type)));
}

Result<Response> DesktopClient::put(const std::string& url, std::string body,
                                    std::string content_type, Headers headers,
                                    std::chrono::milliseconds timeout) {
  return send(with_body(make_request("PUT", url, std::move(headers), timeout), std::move(body),
                        std::move(content_type)));
}

Result<Response> DesktopClient::patch(const std::string& url, std::string body,
                                      std::string content_type, Headers headers,
                                      std::chrono::milliseconds timeout) {
  return send(with_body(make_request("PATCH", url, std::move(headers), timeout), std::move(body),
                        std::move(content_type)));
}

Result<Response> DesktopClient::del(const std::string& url, Headers headers,
                                    std::chrono::milliseconds timeout) {
  return send(make_request("DELETE", url, std::move(headers), timeout));
}

Result<Secret> DesktopClient::token() {
  if (!impl_->options.sign_in_when_needed) return impl_->session->token();
  if (auto ready = impl_->sign_in(true); !ready) return ready.error();
  auto token = impl_->session->token();
  if (!token && token.error().code() == ErrorCode::login_required) {
    if (auto ready = impl_->sign_in(true); !ready) return ready.error();
    token = impl_->session->token();
  }
  return token;
}

Result<Secret> DesktopClient::token(const TokenTarget& target) {
  if (!impl_->options.sign_in_when_needed) return impl_->session->token(target);
  if (auto ready = impl_->sign_in(true); !ready) return ready.error();
  auto token = impl_->session->token(target);
  if (!token && token.error().code() == ErrorCode::login_required) {
    if (auto ready = impl_->sign_in(true); !ready) return ready.error();
    token = impl_->session->token(target);
  }
  return token;
}

Result<void> DesktopClient::sign_in() { return impl_->sign_in(false); }

Result<void> DesktopClient::step_up(const TokenTarget& target, const std::string& scope) {
  return impl_->step_up(target, scope);
}

Result<void> DesktopClient::sign_out() { return impl_->session->sign_out(); }

Result<SessionStatus> DesktopClient::status() const { return impl_->session->status(); }

const std::shared_ptr<Session>& DesktopClient::session() const { return impl_->session; }

const std::shared_ptr<HttpClient>& DesktopClient::http() const { return impl_->http; }

const std::shared_ptr<AuthorizationServer>& DesktopClient::server() const { return impl_->server; }

const std::shared_ptr<Transport>& DesktopClient::transport() const { return impl_->transport; }

const std::shared_ptr<SecretStore>& DesktopClient::store() const { return impl_->store; }

}  // namespace freshtoken
