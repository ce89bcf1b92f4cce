// The fault matrix fixture: a real Session + HttpClient + curl transport against the
// in-process mock server (tests/support/mock_session_fixture.hpp), with a ManualClock for the
// client (the server keeps real time), tiny backoffs, and a secret store that can be made to fail
// mid-session.
//
// Each row measures three things: what the application sees (the HTTP status of GET /api/me,
// or the typed error code), how many requests reached the token endpoint (the server's own
// counter), and what became of the stored refresh token (kept / rotated / erased). Every row
// prints one "MATRIX|row|app|requests|store" line; docs/reliability.md is filled from them.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "freshtoken/http_client.hpp"
#include "freshtoken/mock_server.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/transport.hpp"
#include "mock_session_fixture.hpp"
#include "stored_tokens.hpp"

namespace freshtoken::faults {

using namespace std::chrono_literals;
using nlohmann::json;

// A memory store that can be switched to fail: `locked` (storage_unavailable, as a locked
// keyring answers) or `gone` (storage, as a vanished backend answers).
class SwitchableStore : public SecretStore {
 public:
  enum class Mode { working, locked, gone };

  void set_mode(Mode mode) { mode_ = mode; }
  int failed_calls() const { return failed_.load(); }

  Result<Secret> load(const std::string& service, const std::string& account) override {
    if (auto e = failure()) return *e;
    return inner_->load(service, account);
  }
  Result<void> save(const std::string& service, const std::string& account,
                    const Secret& secret) override {
    if (auto e = failure()) return *e;
    return inner_->save(service, account, secret);
  }
  Result<void> erase(const std::string& service, const std::string& account) override {
    if (auto e = failure()) return *e;
    return inner_->erase(service, account);
  }
  std::string describe() const override { return "switchable-memory"; }

  // What is really stored, whatever the mode.
  Result<Secret> peek(const std::string& service, const std::string& account) {
    return inner_->load(service, account);
  }

 private:
  std::optional<Error> failure() {
    switch (mode_.load()) {
      case Mode::working:
        return std::nullopt;
      case Mode::locked:
        ++failed_;
        return Error(ErrorCode::storage_unavailable, "the collection is locked");
      case Mode::gone:
        ++failed_;
        return Error(ErrorCode::storage, "the secret service went away");
    }
    return std::nullopt;
  }

  std::shared_ptr<SecretStore> inner_ = make_memory_store();
  std::atomic<Mode> mode_{Mode::working};
  std::atomic<int> failed_{0};
};

struct Outcome {
  std::string app;    // "200", or the error code ("network", "login_required", ...)
  int requests = 0;   // requests that reached the token endpoint
  std::string store;  // kept | rotated | erased
};

// The server, transport, discovery and alice's account are MockServerSessionTest's.
class FaultMatrixTest : public testing::MockServerSessionTest {
 protected:
  FaultMatrixTest() {
    server_options_.threads = 16;
    transport_options_.timeout = 1000ms;  // generous enough for sanitizer builds
    transport_options_.connect_timeout = 1000ms;
    transport_options_.log = sink();
    store_ = switchable_;
    policy_.initial_backoff = 1ms;
    policy_.max_backoff = 250ms;  // Retry-After is honoured up to 4 * max_backoff = 1 s
  }

  void SetUp() override {
    // Whole seconds, so that an HTTP-date Retry-After converts to an exact delay.
    clock_->set(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    start();
    if (HasFatalFailure()) return;
    session_ = make_session();
    HttpClientOptions h;
    h.log = sink();
    http_ = std::make_unique<HttpClient>(transport_, session_, h);
  }

  void TearDown() override {
    http_.reset();
    session_.reset();
    MockServerSessionTest::TearDown();
  }

  LogSink sink() {
    return [this](LogLevel, std::string_view message) {
      std::lock_guard<std::mutex> lock(log_mutex_);
      log_.emplace_back(message);
    };
  }

  bool logged(const std::string& part) {
    std::lock_guard<std::mutex> lock(log_mutex_);
    for (const auto& line : log_) {
      if (line.find(part) != std::string::npos) return true;
    }
    return false;
  }

  std::shared_ptr<Session> make_session() {
    SessionOptions o = session_options();
    o.log = sink();
    auto session = Session::create(o).value();
    session
        ->subscribe([this](const SessionEvent& event) {
          std::lock_guard<std::mutex> lock(log_mutex_);
          events_.push_back(event);
        })
        .detach();
    return session;
  }

  int count_events(SessionEventKind kind) {
    std::lock_guard<std::mutex> lock(log_mutex_);
    int n = 0;
    for (const auto& e : events_) n += e.kind == kind;
    return n;
  }

  // Signs in as alice with tokens the server issued (not counted as token requests).
  void sign_in() {
    const auto issued = server_->issue_tokens("alice", testing::kDemoClient, "openid profile api");
    TokenSet t = testing::signed_in_tokens(issued, clock_->now());
    t.id_token = Secret(issued.id_token);
    ASSERT_TRUE(session_->sign_in(std::move(t)));
    signed_in_refresh_token_ = stored_refresh_token().value_or(Secret());
    ASSERT_FALSE(signed_in_refresh_token_.empty());
  }

  // The refresh token in the store; nullopt when there is no entry.
  std::optional<Secret> stored_refresh_token() {
    auto loaded = switchable_->peek(service_, account());
    if (!loaded) return std::nullopt;
    auto decoded = detail::decode_stored_tokens(*loaded);
    if (!decoded) return std::nullopt;
    return decoded->refresh_token;
  }

  std::string store_state() {
    auto stored = stored_refresh_token();
    if (!stored) return "erased";
    return *stored == signed_in_refresh_token_ ? "kept" : "rotated";
  }

  int token_requests() const {
    const mock::TokenRequestCounts n = server_->stats().token_requests;
    return static_cast<int>(n.authorization_code + n.refresh_token + n.client_credentials +
                            n.device_code + n.other);
  }

  mock::MockServerStats stats() const { return server_->stats(); }

  // What the application sees for one GET /api/me.
  std::string app_call() {
    auto response = http_->get(server_->issuer() + "/api/me");
    if (!response) {
      last_error_ = response.error();
      return std::string(to_string(response.error().code()));
    }
    last_error_.reset();
    return std::to_string(response->status);
  }

  // Makes the access token expired as far as the client knows (the server still accepts it),
  // calls the API once and measures the row.
  Outcome expire_and_call() {
    clock_->advance(2h);
    return call_and_measure();
  }

  Outcome call_and_measure() {
    const int before = token_requests();
    Outcome o;
    o.app = app_call();
    o.requests = token_requests() - before;
    o.store = store_state();
    return o;
  }

  // Signs in, and the first refresh is committed at the server but its answer lost; the row
  // `row` of that call.
  Outcome lose_a_rotation(const std::string& row) {
    sign_in();
    server_->arm_fault(fault(mock::FaultKind::commit_then_drop));
    const Outcome o = expire_and_call();
    report(row, o);
    return o;
  }

  static void report(const std::string& row, const Outcome& o) {
    std::printf("MATRIX|%s|%s|%d|%s\n", row.c_str(), o.app.c_str(), o.requests, o.store.c_str());
    std::fflush(stdout);
  }

  static mock::Fault fault(mock::FaultKind kind, int times = 1) {
    return testing::token_fault(kind, times);
  }

  // A 200 from the token endpoint with `body` instead of the real answer.
  static mock::Fault body_fault(const json& body, int times = 1) {
    mock::Fault f = fault(mock::FaultKind::status, times);
    f.status = 200;
    f.body = body.dump();
    return f;
  }

  // A valid access token for alice the server will accept at /api/, minted outside the
  // session's family (for answers whose body the test writes itself).
  std::string minted_access_token() {
    return server_->issue_tokens("alice", testing::kDemoClient, "api").access_token;
  }

  std::shared_ptr<SwitchableStore> switchable_ = std::make_shared<SwitchableStore>();
  std::shared_ptr<Session> session_;
  std::unique_ptr<HttpClient> http_;
  Secret signed_in_refresh_token_;
  std::optional<Error> last_error_;

  std::mutex log_mutex_;
  std::vector<std::string> log_;
  std::vector<SessionEvent> events_;
};

}  // namespace freshtoken::faults
