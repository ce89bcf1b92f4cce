// Shared scaffolding of the Session unit tests: a token endpoint answered by FakeTransport,
// a ManualClock, an in-memory store, and recorders for events.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fake_transport.hpp"
#include "freshtoken/authorization_server.hpp"
#include "freshtoken/platform/secret_stores.hpp"
#include "freshtoken/session.hpp"
#include "stored_tokens.hpp"

namespace freshtoken::testing {

using namespace std::chrono_literals;

// Whole seconds, so that times survive the store's unix-seconds encoding exactly.
inline const Clock::time_point kStart{std::chrono::seconds(1'700'000'000)};

// A gate threads wait at until the test opens it.
class Gate {
 public:
  void open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return open_; });
  }
  // True when it opened within `timeout`.
  bool wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }
  // Guards a test against hanging forever; the time is never asserted on.
  bool wait_for_a_long_time() {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, 20s, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

class EventRecorder {
 public:
  void record(const SessionEvent& event) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(event);
    }
    cv_.notify_all();
  }
  // Waits (bounded, to turn a bug into a failure instead of a hang) until `n` events of `kind`.
  bool wait_for(SessionEventKind kind, std::size_t n = 1) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, 20s, [&] { return count_locked(kind) >= n; });
  }
  std::size_t count(SessionEventKind kind) {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_locked(kind);
  }
  std::vector<SessionEvent> events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

 private:
  std::size_t count_locked(SessionEventKind kind) const {
    std::size_t n = 0;
    for (const auto& e : events_) n += e.kind == kind ? 1 : 0;
    return n;
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<SessionEvent> events_;
};

// The value of one field of an application/x-www-form-urlencoded body (test tokens need no
// decoding).
inline std::string form_value(const std::string& body, const std::string& name) {
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    const std::string field = body.substr(start, end - start);
    const std::size_t eq = field.find('=');
    if (eq != std::string::npos && field.substr(0, eq) == name) return field.substr(eq + 1);
    start = end + 1;
  }
  return {};
}

inline Response token_response(const std::string& access_token, const std::string& refresh_token,
                               int expires_in) {
  std::string body = R"({"access_token":")" + access_token +
                     R"(","token_type":"Bearer","expires_in":)" + std::to_string(expires_in);
  if (!refresh_token.empty()) body += R"(,"refresh_token":")" + refresh_token + "\"";
  body += "}";
  return json_response(200, body);
}

inline Response oauth_error(int status, const std::string& error) {
  return json_response(status, R"({"error":")" + error + "\"}");
}

class SessionTest : public ::testing::Test {
 protected:
  static RefreshPolicy test_policy() {
    RefreshPolicy policy;
    policy.jitter_fraction = 0;  // exact soft points; jitter has its own test
    policy.initial_backoff = 1ms;
    policy.max_backoff = 1ms;
    return policy;
  }

  ServerMetadata metadata() const {
    ServerMetadata m;
    m.issuer = "https://as.example";
    m.token_endpoint = "https://as.example/token";
    m.revocation_endpoint = "https://as.example/revoke";
    return m;
  }

  std::shared_ptr<AuthorizationServer> make_server() {
    ClientConfig client;
    client.client_id = "app";
    return std::make_shared<AuthorizationServer>(transport_, metadata(), client, clock_);
  }

  SessionOptions options(RefreshPolicy policy = test_policy()) {
    SessionOptions o;
    o.server = server_;
    o.store = store_;
    o.account = "https://as.example|app|alice";
    o.clock = clock_;
    o.policy = policy;
    return o;
  }

  std::shared_ptr<Session> make_session(RefreshPolicy policy = test_policy()) {
    auto session = Session::create(options(policy)).value();
    // Detached: the recorder outlives every session of a test.
    session->subscribe([this](const SessionEvent& e) { events_.record(e); }).detach();
    return session;
  }

  TokenSet tokens(std::chrono::seconds lifetime, const std::string& access_token = "at-0",
                  const std::string& refresh_token = "rt-0") const {
    TokenSet t;
    t.access_token = Secret(access_token);
    t.refresh_token = Secret(refresh_token);
    t.issued_at = clock_->now();
    t.expires_at = clock_->now() + lifetime;
    return t;
  }

  // A session signed in at kStart with a token that lives `lifetime`.
  std::shared_ptr<Session> signed_in_session(std::chrono::seconds lifetime,
                                             RefreshPolicy policy = test_policy()) {
    auto session = make_session(policy);
    EXPECT_TRUE(session->sign_in(tokens(lifetime)));
    return session;
  }

  // The token endpoint issues at-1/rt-1, at-2/rt-2, ... (without refresh tokens when
  // `rotate` is false), each living `expires_in` seconds.
  void serve_tokens(bool rotate = true, int expires_in = 100) {
    transport_->set_handler([this, rotate, expires_in](const Request& request) -> Result<Response> {
      if (request.url == "https://as.example/revoke") return json_response(200, "");
      if (request.url != "https://as.example/token") return json_response(404, "{}");
      const int n = ++issued_;
      return token_response("at-" + std::to_string(n), rotate ? "rt-" + std::to_string(n) : "",
                            expires_in);
    });
  }

  // The token `session` serves now, or the error instead (test tokens are no secrets).
  static std::string token_of(Session& session) {
    auto token = session.token();
    return token ? std::string(token->reveal()) : "(error) " + token.error().to_string();
  }

  // The token endpoint opens `entered` when a request reaches it and answers at-1/rt-1 (100 s)
  // once `release` opens.
  void hold_refreshes(Gate& entered, Gate& release) {
    transport_->set_handler([&entered, &release](const Request&) -> Result<Response> {
      entered.open();
      release.wait();
      return token_response("at-1", "rt-1", 100);
    });
  }

  std::size_t token_requests() const {
    std::size_t n = 0;
    for (const auto& r : transport_->requests()) n += r.url == "https://as.example/token" ? 1 : 0;
    return n;
  }
  std::string refresh_token_sent(std::size_t index) const {
    std::size_t i = 0;
    for (const auto& r : transport_->requests()) {
      if (r.url != "https://as.example/token") continue;
      if (i++ == index) return form_value(r.body, "refresh_token");
    }
    return "(no such request)";
  }

  // The refresh token in the store, "(none)" when there is no entry.
  std::string stored_refresh_token() const {
    auto loaded = store_->load("freshtoken", "https://as.example|app|alice");
    if (!loaded) return "(none)";
    auto decoded = detail::decode_stored_tokens(*loaded);
    if (!decoded) return "(corrupt)";
    return std::string(decoded->refresh_token.reveal());
  }
  void store_record(const std::string& access_token, const std::string& refresh_token,
                    Clock::time_point expires_at) {
    detail::StoredTokens t;
    t.access_token = Secret(access_token);
    t.refresh_token = Secret(refresh_token);
    t.issued_at = clock_->now();
    t.expires_at = expires_at;
    ASSERT_TRUE(store_->save("freshtoken", "https://as.example|app|alice",
                             detail::encode_stored_tokens(t)));
  }

  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kStart);
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::shared_ptr<SecretStore> store_ = make_memory_store();
  std::shared_ptr<AuthorizationServer> server_ = make_server();
  std::atomic<int> issued_{0};
  EventRecorder events_;
};

}  // namespace freshtoken::testing
