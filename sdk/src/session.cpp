#include "freshtoken/session.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "process_lock.hpp"
#include "stored_tokens.hpp"

namespace freshtoken {

namespace {

using TimePoint = std::chrono::system_clock::time_point;
using SysDuration = std::chrono::system_clock::duration;
using Seconds = std::chrono::duration<double>;

// The cross-process locks are polled in slices so that ~Session need not wait out a long
// timeout.
constexpr std::chrono::milliseconds kLockSlice{100};

bool is_rejected_grant(const Error& error) {
  return error.code() == ErrorCode::token_endpoint &&
         (error.is_oauth("invalid_grant") || error.is_oauth("interaction_required"));
}

// Failures that say nothing about the refresh token itself: worth another try later.
bool is_transient(const Error& error) {
  switch (error.code()) {
    case ErrorCode::network:
    case ErrorCode::timeout:
    case ErrorCode::invalid_response:
      return true;
    default:
      break;
  }
  const int status = error.http_status();
  if (status == 408 || status == 429 || (status >= 500 && status <= 599)) return true;
  return error.is_oauth("temporarily_unavailable") || error.is_oauth("server_error");
}

Error cancelled_error() { return Error(ErrorCode::cancelled, "the session is shutting down"); }

std::string whole_seconds(SysDuration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

// What the store keeps of a token set, from a sign-in or a token response: an empty type
// means Bearer, an unset issue time means now.
detail::StoredTokens to_stored(TokenSet tokens, TimePoint now) {
  detail::StoredTokens stored;
  stored.refresh_token = std::move(tokens.refresh_token);
  stored.access_token = std::move(tokens.access_token);
  stored.token_type = tokens.token_type.empty() ? "Bearer" : std::move(tokens.token_type);
  stored.expires_at = tokens.expires_at;
  stored.issued_at = tokens.issued_at == TimePoint{} ? now : tokens.issued_at;
  stored.scope = std::move(tokens.scope);
  stored.id_token = std::move(tokens.id_token);
  return stored;
}

struct Flight {
  bool done = false;  // its waiters may return: the outcome is published, events delivered
  std::optional<Error> error;
};

}  // namespace

class Session::Impl {
 public:
  explicit Impl(SessionOptions options);

  // Called by ~Session: stop the background thread and wait for it (unless we are on it).
  void stop();

  Result<Secret> token();
  void invalidate(const Secret& rejected);
  Result<void> sign_in(TokenSet tokens);
  Result<void> sign_out();
  bool signed_in();
  std::optional<TimePoint> access_token_expires_at();
  Subscription subscribe(std::function<void(const SessionEvent&)> listener);
  void unsubscribe(Subscription subscription);

  std::weak_ptr<Impl> self_;  // set by Session; the worker thread keeps Impl alive with it

 private:
  struct Current {
    detail::StoredTokens tokens;
    TimePoint soft_point{};  // meaningful only when tokens.expires_at is set
    TimePoint hard_point{};
    bool invalidated = false;
  };
  enum class Need { none, background, wait };
  enum class Adopt { none, fresh, refresh_token, superseded };

  // --- under mutex_ ---
  void install_locked(detail::StoredTokens tokens);
  Need need_locked(TimePoint now) const;
  bool usable_locked(TimePoint now) const;
  bool has_refresh_token_locked() const {
    return current_ && !current_->tokens.refresh_token.empty();
  }
  Error no_token_error_locked() const;
  void start_flight_locked();

  // --- no lock held on entry ---
  Result<void> ensure_loaded();
  Result<std::optional<detail::StoredTokens>> load_record();
  void worker_loop();
  void run_flight(const std::shared_ptr<Flight>& flight);
  std::optional<Error> refresh(std::vector<SessionEvent>& events);
  // One of this account's cross-process locks, held. Errors: timeout, cancelled, and storage
  // when the lock cannot be used at all (no safe lock directory): never run unlocked instead.
  Result<ProcessLock> lock_account(ProcessLock::Kind kind);
  // store_mutex_ held, before a read of the store that decides a write (sign_in, sign_out, a
  // refresh's save or erase): the account's store lock, so that no other process writes in
  // between. An error (logged) when it cannot be had: a sign-in, a sign-out and a refresh's
  // save go ahead regardless, since they are newer than what they replace (and a refresh's
  // new token must not be lost), but a rejected token is not erased without it.
  Result<ProcessLock> lock_store_writes();
  std::optional<Error> give_up(const Error& error, const Secret& refresh_token,
                               std::vector<SessionEvent>& events);
  // store_mutex_ held: adopt `record` (what load_record() just read) when another process
  // saved it, if it holds another refresh token.
  Adopt adopt_stored_locked(std::uint64_t epoch, Secret& refresh_token,
                            Result<std::optional<detail::StoredTokens>> record);
  std::optional<Error> publish(TokenSet response, const Secret& used, std::uint64_t epoch,
                               std::vector<SessionEvent>& events);
  // No lock held: the record this session saw was erased during its refresh, which got
  // `issued` in return for `used`. Revokes `issued` and reports login_required.
  std::optional<Error> signed_out_elsewhere(const Secret& used, const Secret& issued,
                                            std::vector<SessionEvent>& events);
  // store_mutex_ held.
  std::optional<Error> drop_tokens_locked(const Error& cause, const Secret& used,
                                          std::uint64_t epoch, std::vector<SessionEvent>& events);
  std::chrono::milliseconds backoff(int retry, const Error& error);
  bool sleep_unless_stopped(std::chrono::milliseconds delay);
  bool superseded(std::uint64_t epoch);
  void log(LogLevel level, const std::string& message) const;
  void emit(const std::vector<SessionEvent>& events);

  SessionOptions options_;
  std::optional<Error> config_error_;

  // Serialises this session's store reads-for-adoption and all its writes, so that a
  // sign_in/sign_out cannot interleave with a refresh's save or erase. Taken before mutex_.
  std::mutex store_mutex_;
  std::atomic<bool> loaded_{false};
  // Under store_mutex_: the refresh token this session last read from or wrote to the store.
  // A stored token other than this one and our own was written by someone else: newer.
  Secret store_holds_;

  std::mutex mutex_;
  std::condition_variable flight_done_;
  std::condition_variable worker_wake_;
  std::optional<Current> current_;
  bool login_required_ = false;
  std::uint64_t epoch_ = 0;  // bumped by sign_in/sign_out: older refresh results are dropped
  std::shared_ptr<Flight> flight_;
  bool flight_requested_ = false;
  bool stopping_ = false;
  TimePoint pause_until_{};
  std::thread worker_;
  std::thread::id worker_id_;
  std::mt19937_64 random_;

  std::mutex listeners_mutex_;
  std::map<Subscription, std::shared_ptr<std::function<void(const SessionEvent&)>>> listeners_;
  Subscription next_subscription_ = 1;
};

Session::Impl::Impl(SessionOptions options)
    : options_(std::move(options)), random_(std::random_device{}()) {
  if (!options_.clock) options_.clock = system_clock();
  const RefreshPolicy& p = options_.policy;
  std::string problem;
  if (!options_.server)
    problem = "no authorization server";
  else if (!options_.store)
    problem = "no secret store";
  else if (options_.account.empty())
    problem = "no account name";
  else if (!(p.soft_refresh_fraction > 0 && p.soft_refresh_fraction <= 1))
    problem = "soft_refresh_fraction must be in (0, 1]";
  else if (!(p.hard_margin_fraction >= 0 && p.hard_margin_fraction < 1))
    problem = "hard_margin_fraction must be in [0, 1)";
  else if (!(p.jitter_fraction >= 0 && p.jitter_fraction < 0.5))
    problem = "jitter_fraction must be in [0, 0.5)";
  else if (p.hard_margin_cap.count() < 0 || p.max_retries < 0 || p.initial_backoff.count() < 0 ||
           p.max_backoff.count() < 0 || p.pause_after_failure.count() < 0 ||
           p.refresh_lock_timeout.count() < 0)
    problem = "negative durations or retry counts";
  if (!problem.empty()) config_error_ = Error(ErrorCode::config, "Session: " + problem);
}

void Session::Impl::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  worker_wake_.notify_all();
  flight_done_.notify_all();
  if (!worker_.joinable()) return;
  if (worker_.get_id() == std::this_thread::get_id()) {
    // The last Session reference went away inside a listener on the worker thread: the
    // worker owns a reference to this Impl and lets it go when it returns.
    worker_.detach();
  } else {
    worker_.join();
  }
}

void Session::Impl::log(LogLevel level, const std::string& message) const {
  if (!options_.log) return;
  try {
    options_.log(level, message);
  } catch (...) {
    // A throwing log sink must not take the session down.
  }
}

void Session::Impl::emit(const std::vector<SessionEvent>& events) {
  if (events.empty()) return;
  std::vector<std::shared_ptr<std::function<void(const SessionEvent&)>>> listeners;
  {
    std::lock_guard<std::mutex> lock(listeners_mutex_);
    for (const auto& entry : listeners_) listeners.push_back(entry.second);
  }
  for (const auto& event : events) {
    for (const auto& listener : listeners) {
      try {
        (*listener)(event);
      } catch (...) {
        log(LogLevel::warning, "a session event listener threw; ignored");
      }
    }
  }
}

Session::Subscription Session::Impl::subscribe(std::function<void(const SessionEvent&)> listener) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  const Subscription id = next_subscription_++;
  listeners_[id] = std::make_shared<std::function<void(const SessionEvent&)>>(std::move(listener));
  return id;
}

void Session::Impl::unsubscribe(Subscription subscription) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  listeners_.erase(subscription);
}

// ---------------------------------------------------------------------------------------------
// State

void Session::Impl::install_locked(detail::StoredTokens tokens) {
  const RefreshPolicy& p = options_.policy;
  Current next;
  next.invalidated =
      current_ && current_->invalidated && current_->tokens.access_token == tokens.access_token;
  if (tokens.expires_at) {
    const TimePoint expires = *tokens.expires_at;
    TimePoint issued = tokens.issued_at.value_or(options_.clock->now());
    if (issued > expires) issued = expires;
    const Seconds lifetime = expires - issued;
    const Seconds margin =
        std::min<Seconds>(Seconds(p.hard_margin_cap), lifetime * p.hard_margin_fraction);
    next.hard_point = expires - std::chrono::duration_cast<SysDuration>(margin);
    double fraction = p.soft_refresh_fraction;
    if (p.jitter_fraction > 0) {
      std::uniform_real_distribution<double> jitter(-p.jitter_fraction, p.jitter_fraction);
      fraction += jitter(random_);
    }
    fraction = std::clamp(fraction, 0.0, 1.0);
    next.soft_point = issued + std::chrono::duration_cast<SysDuration>(lifetime * fraction);
    next.soft_point = std::min(next.soft_point, next.hard_point);
  }
  next.tokens = std::move(tokens);
  current_ = std::move(next);
  login_required_ = false;
}

Session::Impl::Need Session::Impl::need_locked(TimePoint now) const {
  if (!current_ || current_->tokens.access_token.empty() || current_->invalidated) {
    return Need::wait;
  }
  if (!current_->tokens.expires_at) return Need::none;
  if (now >= current_->hard_point) return Need::wait;
  if (now >= current_->soft_point) return Need::background;
  return Need::none;
}

bool Session::Impl::usable_locked(TimePoint now) const {
  return current_ && !current_->tokens.access_token.empty() && !current_->invalidated &&
         (!current_->tokens.expires_at || now < *current_->tokens.expires_at);
}

Error Session::Impl::no_token_error_locked() const {
  if (login_required_) {
    return Error(ErrorCode::login_required,
                 "the refresh token was rejected by the authorization server; sign in again");
  }
  if (!current_) return Error(ErrorCode::login_required, "not signed in");
  return Error(ErrorCode::login_required,
               "the access token is no longer usable and there is no refresh token; sign in "
               "again");
}

Result<std::optional<detail::StoredTokens>> Session::Impl::load_record() {
  auto loaded = options_.store->load(options_.service, options_.account);
  if (!loaded) {
    if (loaded.error().code() == ErrorCode::not_found) {
      return std::optional<detail::StoredTokens>{};
    }
    return loaded.error();
  }
  auto decoded = detail::decode_stored_tokens(*loaded);
  if (!decoded) {
    return Error(ErrorCode::storage, decoded.error().message() + " (" + options_.store->describe() +
                                         ", account " + options_.account + ")");
  }
  return std::optional<detail::StoredTokens>(std::move(*decoded));
}

Result<void> Session::Impl::ensure_loaded() {
  if (loaded_.load(std::memory_order_acquire)) return {};
  std::lock_guard<std::mutex> store_lock(store_mutex_);
  if (loaded_.load(std::memory_order_acquire)) return {};
  auto record = load_record();
  if (!record) {
    log(LogLevel::error, "could not read the stored tokens: " + record.error().to_string());
    return record.error();
  }
  std::string fingerprint;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (*record) {
      fingerprint = (*record)->refresh_token.fingerprint();
      store_holds_ = (*record)->refresh_token;
      install_locked(std::move(**record));
    }
    loaded_.store(true, std::memory_order_release);
  }
  if (!fingerprint.empty()) {
    log(LogLevel::debug, "loaded stored tokens, refresh token " + fingerprint);
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Public operations

Result<Secret> Session::Impl::token() {
  if (config_error_) return *config_error_;
  if (auto loaded = ensure_loaded(); !loaded) return loaded.error();

  std::unique_lock<std::mutex> lock(mutex_);
  for (int waits = 0;; ++waits) {
    if (stopping_) return cancelled_error();
    if (login_required_) return no_token_error_locked();
    const TimePoint now = options_.clock->now();
    const Need need = need_locked(now);
    if (need == Need::none) return current_->tokens.access_token;
    if (!has_refresh_token_locked()) {
      if (usable_locked(now)) return current_->tokens.access_token;
      return no_token_error_locked();
    }
    if (need == Need::background) {
      if (!flight_ && now >= pause_until_) start_flight_locked();
      return current_->tokens.access_token;
    }
    // A refresh gave up moments ago: serve what is still valid rather than wait again.
    if (usable_locked(now) && now < pause_until_) return current_->tokens.access_token;
    if (waits == 3) {
      return Error(ErrorCode::invalid_response,
                   "fresh access tokens keep being rejected right after each refresh");
    }
    if (std::this_thread::get_id() == worker_id_) {
      // An event listener on the refresh thread: waiting here would wait for itself.
      return Error(ErrorCode::config,
                   "token() called from a Session event listener cannot wait for a refresh");
    }
    if (!flight_) start_flight_locked();
    if (!flight_) return cancelled_error();  // the worker thread could not be started
    const std::shared_ptr<Flight> flight = flight_;
    flight_done_.wait(lock, [&] { return flight->done || stopping_; });
    if (!flight->done) return cancelled_error();
    if (flight->error) {
      if (!login_required_ && usable_locked(options_.clock->now())) {
        return current_->tokens.access_token;
      }
      return *flight->error;
    }
    // Served even if its arithmetic already says "refresh" (a very short lifetime): one
    // successful refresh per call is enough. Loop only when it was invalidated meanwhile.
    if (!login_required_ && current_ && !current_->tokens.access_token.empty() &&
        !current_->invalidated) {
      return current_->tokens.access_token;
    }
  }
}

void Session::Impl::invalidate(const Secret& rejected) {
  if (config_error_) return;
  std::string fingerprint;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!current_ || current_->invalidated || rejected.empty() ||
        !(current_->tokens.access_token == rejected)) {
      return;
    }
    current_->invalidated = true;
    fingerprint = rejected.fingerprint();
  }
  log(LogLevel::info, "access token " + fingerprint + " was rejected; the next use refreshes");
}

Result<void> Session::Impl::sign_in(TokenSet tokens) {
  if (config_error_) return *config_error_;
  if (tokens.access_token.empty() && tokens.refresh_token.empty()) {
    return Error(ErrorCode::config, "sign_in needs an access token or a refresh token");
  }
  detail::StoredTokens next = to_stored(std::move(tokens), options_.clock->now());
  const std::string fingerprint = next.refresh_token.fingerprint();

  Result<void> saved;
  {
    std::lock_guard<std::mutex> store_lock(store_mutex_);
    const auto writing = lock_store_writes();
    saved = options_.store->save(options_.service, options_.account,
                                 detail::encode_stored_tokens(next));
    if (saved) {
      store_holds_ = next.refresh_token;
    } else {
      auto record = load_record();  // whatever is there is older than this sign-in
      store_holds_ = record && *record ? (*record)->refresh_token : Secret();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++epoch_;
    current_.reset();
    install_locked(std::move(next));
    pause_until_ = TimePoint{};
    loaded_.store(true, std::memory_order_release);
  }
  if (!saved) {
    log(LogLevel::error, "signed in, but the tokens could not be saved to " +
                             options_.store->describe() + ": " + saved.error().to_string());
    emit({SessionEvent{SessionEventKind::store_failed, saved.error()}});
    return saved;
  }
  log(LogLevel::info,
      "signed in, refresh token " + fingerprint + " saved to " + options_.store->describe());
  return {};
}

Result<void> Session::Impl::sign_out() {
  if (config_error_) return *config_error_;
  Secret refresh_token;
  Secret access_token;
  Result<void> outcome;
  {
    std::lock_guard<std::mutex> store_lock(store_mutex_);
    const auto writing = lock_store_writes();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (current_) {
        refresh_token = current_->tokens.refresh_token;
        access_token = current_->tokens.access_token;
      }
    }
    // The store may hold a newer refresh token (another process rotated it, or this session
    // never loaded): revoke that one.
    if (auto record = load_record(); record && *record) {
      const Secret& stored = (*record)->refresh_token;
      if (refresh_token.empty() || (!stored.empty() && !(stored == store_holds_))) {
        refresh_token = stored;
        access_token = (*record)->access_token;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++epoch_;
      current_.reset();
      login_required_ = false;
      pause_until_ = TimePoint{};
      loaded_.store(true, std::memory_order_release);
    }
    auto erased = options_.store->erase(options_.service, options_.account);
    if (erased) store_holds_ = Secret();
    if (!erased) {
      log(LogLevel::error,
          "signed out, but the stored tokens could not be erased: " + erased.error().to_string());
      outcome = erased.error();
    }
  }
  flight_done_.notify_all();

  const bool revoke_refresh = !refresh_token.empty();
  const Secret& to_revoke = revoke_refresh ? refresh_token : access_token;
  if (!to_revoke.empty() && !options_.server->metadata().revocation_endpoint.empty()) {
    auto revoked =
        options_.server->revoke(to_revoke, revoke_refresh ? "refresh_token" : "access_token");
    if (!revoked) {
      log(LogLevel::warning, "signed out locally, but revoking " + to_revoke.fingerprint() +
                                 " failed: " + revoked.error().to_string());
      if (outcome) outcome = revoked.error();
    } else {
      log(LogLevel::info, "signed out, revoked " + to_revoke.fingerprint());
    }
  } else {
    log(LogLevel::info, "signed out");
  }
  return outcome;
}

bool Session::Impl::signed_in() {
  if (config_error_ || !ensure_loaded()) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  return !login_required_ && (has_refresh_token_locked() || usable_locked(options_.clock->now()));
}

std::optional<TimePoint> Session::Impl::access_token_expires_at() {
  if (config_error_ || !ensure_loaded()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!current_ || current_->tokens.access_token.empty()) return std::nullopt;
  return current_->tokens.expires_at;
}

// ---------------------------------------------------------------------------------------------
// The refresh (single flight, on the session's own thread)

void Session::Impl::start_flight_locked() {
  if (stopping_) return;
  flight_ = std::make_shared<Flight>();
  flight_requested_ = true;
  if (!worker_.joinable()) {
    try {
      worker_ = std::thread([self = self_.lock()] {
        if (self) self->worker_loop();
      });
      worker_id_ = worker_.get_id();
    } catch (const std::system_error&) {
      flight_.reset();
      flight_requested_ = false;
      return;
    }
  }
  worker_wake_.notify_all();
}

void Session::Impl::worker_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    worker_wake_.wait(lock, [&] { return stopping_ || flight_requested_; });
    if (stopping_) {
      if (flight_) {
        flight_->done = true;
        flight_->error = cancelled_error();
        flight_.reset();
        flight_done_.notify_all();
      }
      return;
    }
    flight_requested_ = false;
    const std::shared_ptr<Flight> flight = flight_;
    lock.unlock();
    run_flight(flight);
    lock.lock();
  }
}

void Session::Impl::run_flight(const std::shared_ptr<Flight>& flight) {
  std::vector<SessionEvent> events;
  std::optional<Error> outcome = refresh(events);
  {
    // Settled before the listeners run, so that they (and anyone they wake) see a session
    // that can start its next refresh.
    std::lock_guard<std::mutex> lock(mutex_);
    if (flight_ == flight) flight_.reset();
  }
  // Delivered before the waiters are released: when token() returns a refresh's outcome,
  // listeners have heard about it.
  emit(events);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    flight->done = true;
    flight->error = std::move(outcome);
  }
  flight_done_.notify_all();
}

bool Session::Impl::superseded(std::uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mutex_);
  return epoch_ != epoch;
}

Session::Impl::Adopt Session::Impl::adopt_stored_locked(
    std::uint64_t epoch, Secret& refresh_token,
    Result<std::optional<detail::StoredTokens>> record) {
  if (!record || !*record) return Adopt::none;  // unreadable or gone: carry on with ours
  detail::StoredTokens& stored = **record;
  if (stored.refresh_token.empty()) return Adopt::none;
  const bool same_refresh_token = stored.refresh_token == refresh_token;
  if (!same_refresh_token && stored.refresh_token == store_holds_) {
    return Adopt::none;  // one we replaced ourselves (a save that failed)
  }
  const std::string fingerprint = stored.refresh_token.fingerprint();
  Adopt result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (epoch_ != epoch) return Adopt::superseded;
    if (same_refresh_token) {
      // Without rotation the refresh token stays the same: another process may still have
      // refreshed the access token. Adopt it only when it expires later than ours.
      if (!current_ || stored.access_token.empty() || !stored.expires_at ||
          stored.access_token == current_->tokens.access_token ||
          (current_->tokens.expires_at && *stored.expires_at <= *current_->tokens.expires_at)) {
        return Adopt::none;
      }
    } else {
      refresh_token = stored.refresh_token;
    }
    store_holds_ = stored.refresh_token;
    install_locked(std::move(stored));
    result = need_locked(options_.clock->now()) == Need::none ? Adopt::fresh : Adopt::refresh_token;
  }
  log(LogLevel::info, "adopted the tokens another process saved, refresh token " + fingerprint);
  return result;
}

Result<ProcessLock> Session::Impl::lock_account(ProcessLock::Kind kind) {
  const char* const what = ProcessLock::name(kind);
  using Steady = std::chrono::steady_clock;
  const auto timeout = options_.policy.refresh_lock_timeout;
  const auto deadline = Steady::now() + timeout;
  for (bool logged = false;;) {
    const auto slice_start = Steady::now();
    const auto slice =
        std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - slice_start),
                   std::chrono::milliseconds(0), kLockSlice);
    auto lock = ProcessLock::acquire(options_.service, options_.account, slice, kind);
    if (lock) return lock;
    {
      std::lock_guard<std::mutex> guard(mutex_);
      if (stopping_) return cancelled_error();
    }
    const auto now = Steady::now();
    if (slice == kLockSlice && now - slice_start < kLockSlice / 2) {
      // A busy lock makes acquire wait out its slice; failing at once means the lock file or
      // its directory is unusable (say, another user took the place first). Going on without
      // it would let processes of this account present one refresh token twice.
      log(LogLevel::error, std::string("cannot take the cross-process ") + what + " lock (" +
                               lock.error().message() + ")");
      return lock.error();
    }
    if (now >= deadline) {
      return Error(ErrorCode::timeout, "another process of account " + options_.account +
                                           " held the " + what + " lock for more than " +
                                           std::to_string(timeout.count()) + " ms");
    }
    if (!logged) {
      logged = true;
      log(LogLevel::debug, std::string("waiting for the ") + what +
                               " lock, held by another process of this account");
    }
  }
}

Result<ProcessLock> Session::Impl::lock_store_writes() {
  auto lock = lock_account(ProcessLock::Kind::store);
  if (!lock) {
    log(LogLevel::warning, "no cross-process store lock for this write: " + lock.error().message());
  }
  return lock;
}

std::optional<Error> Session::Impl::give_up(const Error& error, const Secret& refresh_token,
                                            std::vector<SessionEvent>& events) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pause_until_ = options_.clock->now() + options_.policy.pause_after_failure;
  }
  log(LogLevel::error, "token refresh failed, refresh token " + refresh_token.fingerprint() +
                           " kept: " + error.to_string());
  events.push_back(SessionEvent{SessionEventKind::refresh_failed, error});
  return error;
}

std::optional<Error> Session::Impl::refresh(std::vector<SessionEvent>& events) {
  Secret refresh_token;
  std::uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!has_refresh_token_locked()) return no_token_error_locked();
    refresh_token = current_->tokens.refresh_token;
    epoch = epoch_;
  }

  bool reread_after_rejection = false;
  for (int retry = 0;;) {
    // Held from the re-read to the save, so that no two processes (or Sessions) of this
    // account present the same refresh token; never while mutex_ is held.
    auto account_lock = lock_account(ProcessLock::Kind::refresh);
    if (!account_lock) {
      if (account_lock.error().code() == ErrorCode::cancelled) return account_lock.error();
      if (superseded(epoch)) return std::nullopt;
      return give_up(account_lock.error(), refresh_token, events);
    }
    {
      // Another process of this account may have refreshed meanwhile.
      std::lock_guard<std::mutex> store_lock(store_mutex_);
      if (superseded(epoch)) return std::nullopt;
      const Adopt adopted = adopt_stored_locked(epoch, refresh_token, load_record());
      if (adopted == Adopt::fresh || adopted == Adopt::superseded) return std::nullopt;
    }

    Result<TokenSet> response = options_.server->refresh(refresh_token, options_.scope);
    // publish() saves before the lock is released.
    if (response) return publish(std::move(*response), refresh_token, epoch, events);
    const Error& error = response.error();

    if (is_rejected_grant(error)) {
      std::lock_guard<std::mutex> store_lock(store_mutex_);
      const auto writing = lock_store_writes();
      // Another process may have rotated (one that does not take the lock, or a save that
      // landed after our re-read) or signed in again: the stored token may still be good, and
      // it is not ours to erase.
      const Secret rejected = refresh_token;
      const Adopt adopted = adopt_stored_locked(epoch, refresh_token, load_record());
      if (adopted == Adopt::fresh || adopted == Adopt::superseded) return std::nullopt;
      if (adopted == Adopt::refresh_token && !(refresh_token == rejected)) {
        if (reread_after_rejection) return std::nullopt;  // the next call refreshes with it
        reread_after_rejection = true;
        continue;  // once, with the rotated token
      }
      // Without the store lock, another process's save could land between the re-read and the
      // erase: keep the tokens, and let a later refresh that gets the lock settle it.
      if (!writing) return give_up(writing.error(), refresh_token, events);
      return drop_tokens_locked(error, refresh_token, epoch, events);
    }

    if (is_transient(error) && retry < options_.policy.max_retries) {
      account_lock->release();  // others may try while we sleep
      const auto delay = backoff(retry, error);
      ++retry;
      log(LogLevel::warning, "token refresh failed (" + error.to_string() + "), retry " +
                                 std::to_string(retry) + " of " +
                                 std::to_string(options_.policy.max_retries) + " in " +
                                 std::to_string(delay.count()) + " ms");
      if (!sleep_unless_stopped(delay)) return cancelled_error();
      if (superseded(epoch)) return std::nullopt;
      continue;
    }
    return give_up(error, refresh_token, events);
  }
}

std::optional<Error> Session::Impl::publish(TokenSet response, const Secret& used,
                                            std::uint64_t epoch,
                                            std::vector<SessionEvent>& events) {
  const bool rotated = !response.refresh_token.empty() && !(response.refresh_token == used);
  detail::StoredTokens next = to_stored(std::move(response), options_.clock->now());
  if (next.refresh_token.empty()) next.refresh_token = used;  // not rotated: the one we have

  const std::string fingerprint = next.refresh_token.fingerprint();
  const std::string expires_in =
      next.expires_at ? "expires in " + whole_seconds(*next.expires_at - *next.issued_at)
                      : "no stated expiry";
  Result<void> saved;
  bool erased_meanwhile = false;
  {
    std::lock_guard<std::mutex> store_lock(store_mutex_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (epoch_ != epoch) return std::nullopt;  // signed in or out meanwhile
      if (current_) {
        // A refresh response may leave out what did not change.
        if (next.scope.empty()) next.scope = current_->tokens.scope;
        if (next.id_token.empty()) next.id_token = current_->tokens.id_token;
      }
    }
    // Another process's sign_in or sign_out does not wait for this refresh's lock, and may
    // have landed while the request was on the network. What it did is newer than this
    // response: a record it wrote is adopted rather than overwritten, and an erased record
    // stays erased (saving would sign the account back in). The store lock keeps any other
    // write out from this re-read to the save.
    const auto writing = lock_store_writes();
    auto record = load_record();
    if (record && !*record && !store_holds_.empty()) {
      store_holds_ = Secret();
      std::lock_guard<std::mutex> lock(mutex_);
      current_.reset();
      login_required_ = true;
      erased_meanwhile = true;
    } else {
      Secret presented = used;
      if (adopt_stored_locked(epoch, presented, std::move(record)) != Adopt::none)
        return std::nullopt;
      // Saved before anyone can see the new access token: if the process dies right after,
      // the store holds the refresh token that is still valid.
      saved = options_.store->save(options_.service, options_.account,
                                   detail::encode_stored_tokens(next));
      if (saved) store_holds_ = next.refresh_token;
      std::lock_guard<std::mutex> lock(mutex_);
      install_locked(std::move(next));
      pause_until_ = TimePoint{};
    }
  }
  if (erased_meanwhile) return signed_out_elsewhere(used, next.refresh_token, events);
  if (!saved) {
    log(LogLevel::error, "refreshed tokens could not be saved to " + options_.store->describe() +
                             " (kept in memory): " + saved.error().to_string());
    events.push_back(SessionEvent{SessionEventKind::store_failed, saved.error()});
  }
  log(LogLevel::info, "refreshed access token, " + expires_in + ", refresh token " +
                          (rotated ? "rotated " : "kept ") + fingerprint);
  events.push_back(SessionEvent{SessionEventKind::refreshed, std::nullopt});
  return std::nullopt;
}

std::optional<Error> Session::Impl::signed_out_elsewhere(const Secret& used, const Secret& issued,
                                                         std::vector<SessionEvent>& events) {
  // The sign-out revoked what it found in the store, which may be the token this refresh
  // presented but not the one it got back: that grant ends here too.
  std::string revoked = "not revoked (no revocation endpoint)";
  if (!options_.server->metadata().revocation_endpoint.empty()) {
    auto outcome = options_.server->revoke(issued, "refresh_token");
    revoked = outcome ? "revoked" : "revoking it failed: " + outcome.error().to_string();
  }
  log(LogLevel::warning, "refreshed with " + used.fingerprint() +
                             ", but the stored tokens were erased meanwhile (signed out "
                             "elsewhere): not saved; refresh token " +
                             issued.fingerprint() + " " + revoked);
  Error error(ErrorCode::login_required,
              "the stored tokens were erased during a refresh (signed out elsewhere); sign in "
              "again");
  events.push_back(SessionEvent{SessionEventKind::login_required, error});
  return error;
}

std::optional<Error> Session::Impl::drop_tokens_locked(const Error& cause, const Secret& used,
                                                       std::uint64_t epoch,
                                                       std::vector<SessionEvent>& events) {
  if (superseded(epoch)) return std::nullopt;
  auto erased = options_.store->erase(options_.service, options_.account);
  if (erased) store_holds_ = Secret();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    current_.reset();
    login_required_ = true;
  }
  if (!erased) {
    log(LogLevel::error, "could not erase the rejected refresh token from " +
                             options_.store->describe() + ": " + erased.error().to_string());
  }
  Error error(ErrorCode::login_required,
              "the refresh token was rejected by the authorization server; sign in again");
  if (cause.oauth()) error.with_oauth(*cause.oauth());
  error.with_http_status(cause.http_status());
  log(LogLevel::warning, "refresh token " + used.fingerprint() + " was rejected (" +
                             cause.to_string() + "); sign-in required");
  events.push_back(SessionEvent{SessionEventKind::login_required, error});
  return error;
}

std::chrono::milliseconds Session::Impl::backoff(int retry, const Error& error) {
  const RefreshPolicy& p = options_.policy;
  const double ceiling =
      std::min(static_cast<double>(p.max_backoff.count()),
               static_cast<double>(p.initial_backoff.count()) * std::pow(2.0, retry));
  double drawn = 0;
  if (ceiling > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    drawn = std::uniform_real_distribution<double>(0.0, ceiling)(random_);
  }
  auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(drawn));
  if (error.retry_after()) {
    delay = std::max(delay, std::min(*error.retry_after(), p.max_backoff * 4));
  }
  return delay;
}

bool Session::Impl::sleep_unless_stopped(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !worker_wake_.wait_for(lock, delay, [&] { return stopping_; });
}

// ---------------------------------------------------------------------------------------------
// Session

std::shared_ptr<Session> Session::create(SessionOptions options) {
  return std::shared_ptr<Session>(new Session(std::move(options)));
}

Session::Session(SessionOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {
  impl_->self_ = impl_;
}

Session::~Session() { impl_->stop(); }

Result<Secret> Session::token() { return impl_->token(); }
void Session::invalidate(const Secret& rejected) { impl_->invalidate(rejected); }
Result<void> Session::sign_in(TokenSet tokens) { return impl_->sign_in(std::move(tokens)); }
Result<void> Session::sign_out() { return impl_->sign_out(); }
bool Session::signed_in() const { return impl_->signed_in(); }
std::optional<std::chrono::system_clock::time_point> Session::access_token_expires_at() const {
  return impl_->access_token_expires_at();
}
Session::Subscription Session::subscribe(std::function<void(const SessionEvent&)> listener) {
  return impl_->subscribe(std::move(listener));
}
void Session::unsubscribe(Subscription subscription) { impl_->unsubscribe(subscription); }

}  // namespace freshtoken
