#include "session/session_impl.hpp"

#include <random>
#include <system_error>
#include <thread>
#include <utility>

namespace freshtoken {

using detail::cancelled_error;
using detail::to_stored;

Session::Impl::Impl(SessionOptions options)
    : options_(std::move(options)),
      store_(options_.store, options_.service, options_.account,
             options_.policy.refresh_lock_timeout,
             [this](LogLevel level, const std::string& message) { log(level, message); }),
      random_(std::random_device{}()) {
  if (!options_.clock) options_.clock = system_clock();
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

SessionEvent Session::Impl::event(SessionEventKind kind, std::optional<Error> error) const {
  SessionEvent event;
  event.kind = kind;
  event.error = std::move(error);
  event.at = options_.clock->now();
  event.account = options_.account;
  return event;
}

void Session::Impl::emit(const Events& events) {
  events_->emit(events, [this](LogLevel l, const std::string& m) { log(l, m); });
}

void Session::Impl::log(LogLevel level, const std::string& message) const {
  if (!options_.log) return;
  try {
    options_.log(level, message);
  } catch (...) {
    // A throwing log sink must not take the session down.
  }
}

// ---------------------------------------------------------------------------------------------
// State

TokenTarget Session::Impl::resolve(const TokenTarget& asked) const {
  if (is_default(asked)) return {};
  return {asked.resource, asked.scope.empty() ? options_.scope : asked.scope};
}

void Session::Impl::install_locked(StoredTokens tokens) {
  Current next;
  next.invalidated =
      current_ && current_->invalidated && current_->tokens.access_token == tokens.access_token;
  if (tokens.expires_at) {
    std::uniform_real_distribution<double> jitter(-1.0, 1.0);
    next.points =
        detail::refresh_points(options_.policy, tokens.issued_at.value_or(options_.clock->now()),
                               *tokens.expires_at, jitter(random_));
  }
  for (detail::StoredTarget& stored : tokens.targets) {
    TargetState target = make_target_locked(std::move(stored));
    if (current_) {
      for (const TargetState& old : current_->targets) {
        if (old.stored.target == target.stored.target) {
          target.invalidated =
              old.invalidated && old.stored.access_token == target.stored.access_token;
          target.pause_until = old.pause_until;
        }
      }
    }
    next.targets.push_back(std::move(target));
  }
  tokens.targets.clear();
  next.tokens = std::move(tokens);
  current_ = std::move(next);
  login_required_ = false;
}

Session::Impl::TargetState Session::Impl::make_target_locked(detail::StoredTarget stored) {
  TargetState target;
  if (stored.expires_at) {
    std::uniform_real_distribution<double> jitter(-1.0, 1.0);
    target.points =
        detail::refresh_points(options_.policy, stored.issued_at.value_or(options_.clock->now()),
                               *stored.expires_at, jitter(random_));
  }
  target.stored = std::move(stored);
  return target;
}

Session::Impl::TargetState* Session::Impl::find_target_locked(const TokenTarget& asked) {
  if (!current_) return nullptr;
  for (TargetState& target : current_->targets) {
    if (matches(target.stored.target, asked)) return &target;
  }
  return nullptr;
}

bool Session::Impl::merge_targets_locked(std::vector<detail::StoredTarget> incoming) {
  if (!current_) return false;
  bool changed = false;
  for (detail::StoredTarget& stored : incoming) {
    if (stored.target == TokenTarget{} || stored.access_token.empty()) continue;
    TargetState* ours = find_target_locked(stored.target);
    if (ours == nullptr) {
      current_->targets.push_back(make_target_locked(std::move(stored)));
      changed = true;
      continue;
    }
    if (ours->stored.access_token == stored.access_token || !stored.expires_at) continue;
    // A later expiry means a later refresh; a token of ours that an API rejected is older.
    if (ours->invalidated ||
        (ours->stored.expires_at && *stored.expires_at > *ours->stored.expires_at)) {
      *ours = make_target_locked(std::move(stored));
      changed = true;
    }
  }
  return changed;
}

std::vector<detail::StoredTarget> Session::Impl::stored_targets_locked() const {
  std::vector<detail::StoredTarget> targets;
  if (!current_) return targets;
  targets.reserve(current_->targets.size());
  for (const TargetState& target : current_->targets) targets.push_back(target.stored);
  return targets;
}

Session::Impl::StoredTokens Session::Impl::record_locked() const {
  if (!current_) return {};
  StoredTokens record = current_->tokens;
  record.targets = stored_targets_locked();
  return record;
}

Session::Impl::Need Session::Impl::target_need_locked(const TargetState* target,
                                                      TimePoint now) const {
  if (target == nullptr || target->invalidated) return Need::wait;
  if (!target->stored.expires_at) return Need::none;
  // Refreshed on demand only: inside the hard margin, once expired, or after invalidate().
  return now >= target->points.hard ? Need::wait : Need::none;
}

bool Session::Impl::fresh_locked(const TokenTarget& target, TimePoint now) {
  if (target == TokenTarget{}) return need_locked(now) == Need::none;
  return target_need_locked(find_target_locked(target), now) == Need::none;
}

Session::Impl::Need Session::Impl::need_locked(TimePoint now) const {
  if (!current_ || current_->tokens.access_token.empty() || current_->invalidated) {
    return Need::wait;
  }
  if (!current_->tokens.expires_at) return Need::none;
  if (now >= current_->points.hard) return Need::wait;
  // Without background refreshes the soft point means nothing: a short-lived program would
  // start a refresh that it abandons on exit.
  if (now >= current_->points.soft && options_.policy.background_refresh) return Need::background;
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

Result<void> Session::Impl::ensure_loaded() {
  if (loaded_.load(std::memory_order_acquire)) return {};
  std::lock_guard<std::mutex> store_lock(store_mutex_);
  if (loaded_.load(std::memory_order_acquire)) return {};
  auto record = store_.load();
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

bool Session::Impl::stopping() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

bool Session::Impl::superseded(std::uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mutex_);
  return epoch_ != epoch;
}

Result<ProcessLock> Session::Impl::lock_store_writes() {
  return store_.lock_for_write([this] { return stopping(); });
}

// ---------------------------------------------------------------------------------------------
// Public operations

Result<AccessToken> Session::Impl::access_token() {
  if (auto loaded = ensure_loaded(); !loaded) return loaded.error();

  std::unique_lock<std::mutex> lock(mutex_);
  for (int waits = 0;; ++waits) {
    if (stopping_) return cancelled_error();
    if (login_required_) return no_token_error_locked();
    const TimePoint now = options_.clock->now();
    const Need need = need_locked(now);
    if (need == Need::none) return served_locked();
    if (!has_refresh_token_locked()) {
      if (usable_locked(now)) return served_locked();
      return no_token_error_locked();
    }
    if (need == Need::background) {
      if (!flight_ && now >= pause_until_) start_flight_locked();
      return served_locked();
    }
    // A refresh gave up moments ago: serve what is still valid rather than wait again.
    if (usable_locked(now) && now < pause_until_) return served_locked();
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
    if (!flight->outcome) {
      if (!login_required_ && usable_locked(options_.clock->now())) {
        return served_locked();
      }
      return flight->outcome.error();
    }
    // Served even if its arithmetic already says "refresh" (a very short lifetime): one
    // successful refresh per call is enough. Loop only when it was invalidated meanwhile.
    if (!login_required_ && current_ && !current_->tokens.access_token.empty() &&
        !current_->invalidated) {
      return served_locked();
    }
  }
}

Result<AccessToken> Session::Impl::token_for(const TokenTarget& asked) {
  if (is_default(asked)) return access_token();
  if (auto loaded = ensure_loaded(); !loaded) return loaded.error();

  std::unique_lock<std::mutex> lock(mutex_);
  for (int waits = 0;; ++waits) {
    if (stopping_) return cancelled_error();
    if (login_required_) return no_token_error_locked();
    const TimePoint now = options_.clock->now();
    const TargetState* target = find_target_locked(asked);
    if (target_need_locked(target, now) == Need::none) return served_target_locked(*target);
    if (!has_refresh_token_locked()) {
      if (target_usable_locked(target, now)) return served_target_locked(*target);
      return no_token_error_locked();
    }
    // A refresh of this target gave up moments ago: serve what is still valid.
    if (target_usable_locked(target, now) && now < target->pause_until) {
      return served_target_locked(*target);
    }
    if (waits == 3) {
      return Error(ErrorCode::invalid_response,
                   "fresh access tokens keep being rejected right after each refresh");
    }
    if (std::this_thread::get_id() == worker_id_) {
      return Error(ErrorCode::config,
                   "token() called from a Session event listener cannot wait for a refresh");
    }
    std::shared_ptr<Flight> flight;
    for (const auto& queued : target_flights_) {
      if (matches(queued->target, asked)) flight = queued;
    }
    if (!flight) flight = start_flight_locked(resolve(asked));
    if (!flight) return cancelled_error();  // the worker thread could not be started
    flight_done_.wait(lock, [&] { return flight->done || stopping_; });
    if (!flight->done) return cancelled_error();
    target = find_target_locked(asked);
    if (!flight->outcome) {
      if (!login_required_ && target_usable_locked(target, options_.clock->now())) {
        return served_target_locked(*target);
      }
      return flight->outcome.error();
    }
    if (!login_required_ && target != nullptr && !target->invalidated) {
      return served_target_locked(*target);
    }
  }
}

void Session::Impl::invalidate(const Secret& rejected) {
  std::string fingerprint;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!current_ || rejected.empty()) return;
    if (current_->tokens.access_token == rejected) {
      if (current_->invalidated) return;
      current_->invalidated = true;
    } else {
      TargetState* found = nullptr;
      for (TargetState& target : current_->targets) {
        if (target.stored.access_token == rejected) found = &target;
      }
      if (found == nullptr || found->invalidated) return;
      found->invalidated = true;
    }
    fingerprint = rejected.fingerprint();
  }
  log(LogLevel::info, "access token " + fingerprint + " was rejected; the next use refreshes");
}

Result<void> Session::Impl::sign_in(TokenSet tokens, const TokenTarget& asked) {
  if (tokens.access_token.empty() && tokens.refresh_token.empty()) {
    return Error(ErrorCode::config, "sign_in needs an access token or a refresh token");
  }
  StoredTokens next = to_stored(std::move(tokens), options_.clock->now());
  if (!is_default(asked) && !next.access_token.empty()) {
    // The sign-in's access token is for `asked`; the default target's comes with a refresh.
    detail::StoredTarget target;
    target.target = resolve(asked);
    target.access_token = std::move(next.access_token);
    target.token_type = next.token_type;
    target.expires_at = next.expires_at;
    target.issued_at = next.issued_at;
    next.targets.push_back(std::move(target));
    next.access_token = Secret();
    next.token_type = "Bearer";
    next.expires_at.reset();
  }
  const std::string fingerprint = next.refresh_token.fingerprint();

  Result<void> saved;
  {
    std::lock_guard<std::mutex> store_lock(store_mutex_);
    const auto writing = lock_store_writes();
    saved = store_.save(next);
    if (saved) {
      store_holds_ = next.refresh_token;
    } else {
      auto record = store_.load();  // whatever is there is older than this sign-in
      store_holds_ = record && *record ? (*record)->refresh_token : Secret();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++epoch_;
    current_.reset();
    install_locked(std::move(next));
    pause_until_ = TimePoint{};
    loaded_.store(true, std::memory_order_release);
  }
  Events events;
  if (!saved) {
    log(LogLevel::error, "signed in, but the tokens could not be saved to " + store_.describe() +
                             ": " + saved.error().to_string());
    events.push_back(event(SessionEventKind::store_failed, saved.error()));
  } else {
    log(LogLevel::info,
        "signed in, refresh token " + fingerprint + " saved to " + store_.describe());
  }
  events.push_back(event(SessionEventKind::signed_in));
  emit(events);
  return saved;
}

Result<void> Session::Impl::step_up(TokenSet tokens, const TokenTarget& asked) {
  if (tokens.access_token.empty()) {
    return Error(ErrorCode::config, "step_up needs the new sign-in's access token");
  }
  if (auto loaded = ensure_loaded(); !loaded) return loaded.error();
  const TokenTarget target = resolve(asked);
  StoredTokens fresh = to_stored(std::move(tokens), options_.clock->now());
  const std::string fingerprint = fresh.refresh_token.fingerprint();

  Result<void> saved;
  {
    std::lock_guard<std::mutex> store_lock(store_mutex_);
    const auto writing = lock_store_writes();
    auto record = store_.load();
    std::lock_guard<std::mutex> lock(mutex_);
    // The other targets' tokens stay: this session's, and any another process saved.
    StoredTokens next = record_locked();
    if (record && *record) {
      if (!current_) {
        next = std::move(**record);
      } else {
        merge_targets_locked(std::move((*record)->targets));
        next.targets = stored_targets_locked();
        if (!(*record)->refresh_token.empty() &&
            (next.refresh_token.empty() || !((*record)->refresh_token == store_holds_))) {
          next.refresh_token = (*record)->refresh_token;  // newer than ours
        }
      }
    }
    if (!fresh.refresh_token.empty()) next.refresh_token = std::move(fresh.refresh_token);
    if (!fresh.id_token.empty()) next.id_token = std::move(fresh.id_token);
    if (fresh.dpop_key &&
        !(next.dpop_key && next.dpop_key->thumbprint() == fresh.dpop_key->thumbprint())) {
      // A new key: tokens bound to the old one cannot be proven any more.
      next.dpop_key = fresh.dpop_key;
      std::vector<detail::StoredTarget> kept;
      for (auto& other : next.targets) {
        if (other.token_type != "DPoP") kept.push_back(std::move(other));
      }
      next.targets = std::move(kept);
      if (next.token_type == "DPoP") {
        next.access_token = Secret();
        next.expires_at.reset();
      }
    }
    if (target == TokenTarget{}) {
      next.access_token = std::move(fresh.access_token);
      next.token_type = std::move(fresh.token_type);
      next.expires_at = fresh.expires_at;
      next.issued_at = fresh.issued_at;
      if (!fresh.scope.empty()) next.scope = std::move(fresh.scope);
    } else {
      detail::StoredTarget entry;
      entry.target = target;
      entry.access_token = std::move(fresh.access_token);
      entry.token_type = std::move(fresh.token_type);
      entry.expires_at = fresh.expires_at;
      entry.issued_at = fresh.issued_at;
      bool replaced = false;
      for (auto& other : next.targets) {
        if (other.target == target) {
          other = entry;
          replaced = true;
        }
      }
      if (!replaced) next.targets.push_back(std::move(entry));
    }
    saved = store_.save(next);
    if (saved) store_holds_ = next.refresh_token;
    // Refreshes in flight with the old refresh token are dropped when they complete.
    ++epoch_;
    install_locked(std::move(next));
    pause_until_ = TimePoint{};
    loaded_.store(true, std::memory_order_release);
  }
  Events events;
  if (!saved) {
    log(LogLevel::error, "stepped up, but the tokens could not be saved to " + store_.describe() +
                             ": " + saved.error().to_string());
    events.push_back(event(SessionEventKind::store_failed, saved.error()));
  } else {
    log(LogLevel::info,
        "stepped up, refresh token " + fingerprint + " saved to " + store_.describe());
  }
  events.push_back(event(SessionEventKind::signed_in));
  emit(events);
  return saved;
}

Result<void> Session::Impl::sign_out() {
  Secret refresh_token;
  Secret access_token;
  std::shared_ptr<const DpopKey> dpop_key;  // the key both tokens are bound to, if any
  Result<void> outcome;
  {
    std::lock_guard<std::mutex> store_lock(store_mutex_);
    const auto writing = lock_store_writes();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (current_) {
        refresh_token = current_->tokens.refresh_token;
        access_token = current_->tokens.access_token;
        dpop_key = current_->tokens.dpop_key;
      }
    }
    // The store may hold a newer refresh token (another process rotated it, or this session
    // never loaded): revoke that one.
    if (auto record = store_.load(); record && *record) {
      const Secret& stored = (*record)->refresh_token;
      if (refresh_token.empty() || (!stored.empty() && !(stored == store_holds_))) {
        refresh_token = stored;
        access_token = (*record)->access_token;
        dpop_key = (*record)->dpop_key;
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
    auto erased = store_.erase();
    if (erased) store_holds_ = Secret();
    if (!erased) {
      log(LogLevel::error,
          "signed out, but the stored tokens could not be erased: " + erased.error().to_string());
      outcome = erased.error();
    }
  }
  flight_done_.notify_all();
  // Reported once nothing is served any more; the revocation below may take a while.
  emit({event(SessionEventKind::signed_out)});

  const bool revoke_refresh = !refresh_token.empty();
  const Secret& to_revoke = revoke_refresh ? refresh_token : access_token;
  if (to_revoke.empty()) {
    log(LogLevel::info, "signed out");
    return outcome;
  }
  // Discovers first when nothing else needed the metadata yet: whether there is a revocation
  // endpoint is only known from it.
  auto metadata = options_.server->metadata();
  if (metadata && metadata->revocation_endpoint.empty()) {
    log(LogLevel::info, "signed out");
    return outcome;
  }
  Result<void> revoked =
      metadata
          ? options_.server->revoke(to_revoke, revoke_refresh ? "refresh_token" : "access_token",
                                    std::move(dpop_key))
          : Result<void>(metadata.error());
  if (!revoked) {
    log(LogLevel::warning, "signed out locally, but revoking " + to_revoke.fingerprint() +
                               " failed: " + revoked.error().to_string());
    if (outcome) outcome = revoked.error();
  } else {
    log(LogLevel::info, "signed out, revoked " + to_revoke.fingerprint());
  }
  return outcome;
}

Result<SessionStatus> Session::Impl::status() {
  if (auto loaded = ensure_loaded(); !loaded) return loaded.error();
  std::lock_guard<std::mutex> lock(mutex_);
  SessionStatus status;
  status.signed_in =
      !login_required_ && (has_refresh_token_locked() || usable_locked(options_.clock->now()));
  if (current_ && !current_->tokens.access_token.empty()) {
    status.access_token_expires_at = current_->tokens.expires_at;
  }
  if (status.signed_in && current_ && current_->tokens.dpop_key) {
    status.dpop_thumbprint = current_->tokens.dpop_key->thumbprint();
  }
  if (current_) {
    for (const TargetState& target : current_->targets) {
      status.targets.push_back({target.stored.target, target.stored.expires_at});
    }
  }
  return status;
}

// ---------------------------------------------------------------------------------------------
// The refresh (single flight, on the session's own thread)

std::shared_ptr<Session::Impl::Flight> Session::Impl::start_flight_locked(
    const TokenTarget& target) {
  if (stopping_) return nullptr;
  if (!worker_.joinable()) {
    try {
      worker_ = std::thread([self = self_.lock()] {
        if (self) self->worker_loop();
      });
      worker_id_ = worker_.get_id();
    } catch (const std::system_error&) {
      return nullptr;
    }
  }
  auto flight = std::make_shared<Flight>();
  flight->target = target;
  if (target == TokenTarget{}) {
    flight_ = flight;
  } else {
    target_flights_.push_back(flight);
  }
  queued_.push_back(flight);
  worker_wake_.notify_all();
  return flight;
}

void Session::Impl::worker_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    worker_wake_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
    if (stopping_) {
      for (const auto& queued : queued_) {
        queued->done = true;
        queued->outcome = cancelled_error();
      }
      queued_.clear();
      flight_.reset();
      target_flights_.clear();
      flight_done_.notify_all();
      return;
    }
    const std::shared_ptr<Flight> flight = queued_.front();
    queued_.pop_front();
    lock.unlock();
    run_flight(flight);
    lock.lock();
  }
}

void Session::Impl::run_flight(const std::shared_ptr<Flight>& flight) {
  Events events;
  Result<void> outcome = refresh(events, flight->target);
  {
    // Settled before the listeners run, so that they (and anyone they wake) see a session
    // that can start its next refresh.
    std::lock_guard<std::mutex> lock(mutex_);
    if (flight_ == flight) flight_.reset();
    for (auto it = target_flights_.begin(); it != target_flights_.end(); ++it) {
      if (*it == flight) {
        target_flights_.erase(it);
        break;
      }
    }
  }
  // Delivered before the waiters are released: when token() returns a refresh's outcome,
  // listeners have heard about it.
  emit(events);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    flight->done = true;
    flight->outcome = std::move(outcome);
  }
  flight_done_.notify_all();
}

// ---------------------------------------------------------------------------------------------
// Session

Result<std::shared_ptr<Session>> Session::create(SessionOptions options) {
  std::string problem;
  if (!options.server)
    problem = "no authorization server";
  else if (!options.store)
    problem = "no secret store";
  else if (options.account.empty())
    problem = "no account name";
  else if (auto policy = detail::policy_problem(options.policy))
    problem = *policy;
  if (!problem.empty()) return Error(ErrorCode::config, "Session: " + problem);
  return std::shared_ptr<Session>(new Session(std::move(options)));
}

Session::Session(SessionOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {
  impl_->self_ = impl_;
}

Session::~Session() { impl_->stop(); }

Result<Secret> Session::token() {
  auto served = impl_->access_token();
  if (!served) return served.error();
  return std::move(served->token);
}

Result<AccessToken> Session::access_token() { return impl_->access_token(); }

Result<Secret> Session::token(const TokenTarget& target) {
  auto served = impl_->token_for(target);
  if (!served) return served.error();
  return std::move(served->token);
}

Result<AccessToken> Session::token_for(const TokenTarget& target) {
  return impl_->token_for(target);
}

void Session::invalidate(const Secret& rejected) { impl_->invalidate(rejected); }
Result<void> Session::sign_in(TokenSet tokens, const TokenTarget& target) {
  return impl_->sign_in(std::move(tokens), target);
}
Result<void> Session::step_up(TokenSet tokens, const TokenTarget& target) {
  return impl_->step_up(std::move(tokens), target);
}
Result<void> Session::sign_out() { return impl_->sign_out(); }
Result<SessionStatus> Session::status() const { return impl_->status(); }
Session::Subscription Session::subscribe(std::function<void(const SessionEvent&)> listener) {
  const auto& events = impl_->events();
  return Subscription(events, events->subscribe(std::move(listener)));
}
void Session::unsubscribe(Subscription& subscription) {
  if (subscription.events_.lock() == impl_->events()) subscription.unsubscribe();
}

// ---------------------------------------------------------------------------------------------
// SessionSubscription

SessionSubscription::SessionSubscription(SessionSubscription&& other) noexcept
    : events_(std::move(other.events_)), id_(std::exchange(other.id_, 0)) {}

SessionSubscription& SessionSubscription::operator=(SessionSubscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    events_ = std::move(other.events_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

SessionSubscription::~SessionSubscription() { unsubscribe(); }

void SessionSubscription::unsubscribe() noexcept {
  const std::size_t id = std::exchange(id_, 0);
  const auto events = events_.lock();
  events_.reset();
  if (id == 0 || !events) return;
  try {
    events->unsubscribe(id);
  } catch (...) {
    // Only a failing mutex can throw here; the listener is then left subscribed until the
    // Session goes.
  }
}

void SessionSubscription::detach() noexcept {
  id_ = 0;
  events_.reset();
}

std::string_view to_string(SessionEventKind kind) {
  switch (kind) {
    case SessionEventKind::refreshed:
      return "refreshed";
    case SessionEventKind::refresh_failed:
      return "refresh_failed";
    case SessionEventKind::login_required:
      return "login_required";
    case SessionEventKind::store_failed:
      return "store_failed";
    case SessionEventKind::adopted:
      return "adopted";
    case SessionEventKind::signed_in:
      return "signed_in";
    case SessionEventKind::signed_out:
      return "signed_out";
    case SessionEventKind::signed_out_elsewhere:
      return "signed_out_elsewhere";
  }
  return "unknown";
}

}  // namespace freshtoken
