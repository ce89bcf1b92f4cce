// Session::Impl (internal): the state of one signed-in account's Session, shared by
// session.cpp (serving tokens, sign-in, sign-out, the single flight) and session_refresh.cpp
// (one refresh: re-read the store, ask the server, save or erase, adopt another process's
// newer record). The parts it builds on, each readable alone: refresh_schedule (when to
// refresh, how long to back off), account_store (the stored record and the cross-process
// locks), session_events (listeners).
#pragma once

#include "freshtoken/session.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "session/account_store.hpp"
#include "session/refresh_schedule.hpp"
#include "session/session_events.hpp"
#include "stored_tokens.hpp"

namespace freshtoken {

namespace detail {

using Events = std::vector<SessionEvent>;

inline Error cancelled_error() {
  return Error(ErrorCode::cancelled, "the session is shutting down");
}

inline Error signed_out_elsewhere_error() {
  return Error(ErrorCode::login_required,
               "the stored tokens were erased (signed out elsewhere); sign in again");
}

inline std::string whole_seconds(std::chrono::system_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

// What the store keeps of a token set, from a sign-in or a token response: an empty type
// means Bearer, an unset issue time means now.
inline StoredTokens to_stored(TokenSet tokens, TimePoint now) {
  StoredTokens stored;
  stored.refresh_token = std::move(tokens.refresh_token);
  stored.access_token = std::move(tokens.access_token);
  stored.token_type = tokens.token_type.empty() ? "Bearer" : std::move(tokens.token_type);
  stored.expires_at = tokens.expires_at;
  stored.issued_at = tokens.issued_at == TimePoint{} ? now : tokens.issued_at;
  stored.scope = std::move(tokens.scope);
  stored.id_token = std::move(tokens.id_token);
  stored.dpop_key = std::move(tokens.dpop_key);
  return stored;
}

// One refresh that callers may wait on: of the default target's token (TokenTarget {}) or of
// another target's (resource and resolved scope).
struct Flight {
  TokenTarget target;
  bool done = false;  // its waiters may return: the outcome is published, events delivered
  Result<void> outcome;
};

}  // namespace detail

// Lock order, enforced by the code below taking them only in this order:
//   the account's refresh ProcessLock -> store_mutex_ -> the account's store ProcessLock
//   -> mutex_.
// No lock is held across a token request except the refresh ProcessLock, and mutex_ is never
// held while calling the store, the server, a listener or the log.
class Session::Impl {
  using StoredTokens = detail::StoredTokens;
  using TimePoint = detail::TimePoint;
  using Events = detail::Events;
  using Flight = detail::Flight;

 public:
  explicit Impl(SessionOptions options);

  // Called by ~Session: stop the background thread and wait for it (unless we are on it).
  void stop();

  Result<AccessToken> access_token();
  // `asked` as the caller wrote it; the default target goes to access_token().
  Result<AccessToken> token_for(const TokenTarget& asked);
  void invalidate(const Secret& rejected);
  Result<void> sign_in(TokenSet tokens, const TokenTarget& asked);
  Result<void> step_up(TokenSet tokens, const TokenTarget& asked);
  Result<void> sign_out();
  Result<SessionStatus> status();
  const std::shared_ptr<detail::SessionEvents>& events() const { return events_; }

  std::weak_ptr<Impl> self_;  // set by Session; the worker thread keeps Impl alive with it

 private:
  // The access token of a target other than the default.
  struct TargetState {
    detail::StoredTarget stored;
    detail::RefreshPoints points;  // meaningful only when stored.expires_at is set
    bool invalidated = false;
    TimePoint pause_until{};  // after a failed refresh of this target
  };
  struct Current {
    StoredTokens tokens;           // the default target's token; tokens.targets is kept empty
    detail::RefreshPoints points;  // meaningful only when tokens.expires_at is set
    bool invalidated = false;
    std::vector<TargetState> targets;  // small: compared by value, in order
  };
  enum class Need { none, background, wait };
  enum class Adopt { none, fresh, refresh_token, superseded };

  // --- no lock needed (options_ is fixed) ---
  // Whether `asked` means the default target: no resource, and no scope or the Session's.
  bool is_default(const TokenTarget& asked) const {
    return asked.resource.empty() && (asked.scope.empty() || asked.scope == options_.scope);
  }
  // `asked` with its empty scope read as SessionOptions::scope; the default target is {}.
  TokenTarget resolve(const TokenTarget& asked) const;
  // Whether `stored` (a resolved target) is what `asked` means.
  bool matches(const TokenTarget& stored, const TokenTarget& asked) const {
    return stored.resource == asked.resource &&
           stored.scope == (asked.scope.empty() ? options_.scope : asked.scope);
  }

  // --- under mutex_ ---
  void install_locked(StoredTokens tokens);
  TargetState make_target_locked(detail::StoredTarget stored);
  TargetState* find_target_locked(const TokenTarget& asked);
  // Takes each of `incoming` that this session lacks or that expires later than its own;
  // true when any was taken.
  bool merge_targets_locked(std::vector<detail::StoredTarget> incoming);
  // The record to save: the default target's tokens with the other targets'.
  StoredTokens record_locked() const;
  std::vector<detail::StoredTarget> stored_targets_locked() const;
  Need target_need_locked(const TargetState* target, TimePoint now) const;
  static bool target_usable_locked(const TargetState* target, TimePoint now) {
    return target && !target->invalidated &&
           (!target->stored.expires_at || now < *target->stored.expires_at);
  }
  AccessToken served_target_locked(const TargetState& target) const {
    if (current_->tokens.dpop_key && target.stored.token_type == "DPoP")
      return {target.stored.access_token, current_->tokens.dpop_key};
    return {target.stored.access_token, nullptr};
  }
  // Whether `target`'s token (resolved; {} = the default) needs no refresh now.
  bool fresh_locked(const TokenTarget& target, TimePoint now);
  Need need_locked(TimePoint now) const;
  bool usable_locked(TimePoint now) const;
  bool has_refresh_token_locked() const {
    return current_ && !current_->tokens.refresh_token.empty();
  }
  Error no_token_error_locked() const;
  // The access token served now, with its key when it is a DPoP token.
  AccessToken served_locked() const {
    const StoredTokens& tokens = current_->tokens;
    if (tokens.dpop_key && tokens.token_type == "DPoP")
      return {tokens.access_token, tokens.dpop_key};
    return {tokens.access_token, nullptr};
  }
  // Queues a refresh of `target` (resolved) for the worker thread; null when it cannot run.
  std::shared_ptr<Flight> start_flight_locked(const TokenTarget& target = {});

  // --- no lock held on entry ---
  Result<void> ensure_loaded();
  void worker_loop();
  void run_flight(const std::shared_ptr<Flight>& flight);
  Result<void> refresh(Events& events, const TokenTarget& target);
  Result<void> give_up(const Error& error, const Secret& refresh_token, Events& events,
                       const TokenTarget& target);
  bool superseded(std::uint64_t epoch);
  bool stopping();
  Result<ProcessLock> lock_store_writes();
  bool sleep_unless_stopped(std::chrono::milliseconds delay);
  // Waits before retry number `retry` (from 0) of a transient failure; false when stopped.
  bool back_off(int retry, const Error& error);
  // No lock held: the record this session saw was erased during its refresh, which got
  // `issued` in return for `used` (signed_out_elsewhere is already reported). Revokes `issued`.
  Result<void> signed_out_elsewhere(const Secret& used, const Secret& issued,
                                    const std::shared_ptr<const DpopKey>& key);
  // An event of this session, stamped with its clock and account.
  SessionEvent event(SessionEventKind kind, std::optional<Error> error = std::nullopt) const;
  void emit(const Events& events);

  // --- store_mutex_ held ---
  // Adopts `record` (what the store just returned) when another process saved it, and reports
  // it as `adopted`.
  // `dpop_key` is updated with `refresh_token`: the key of the record it came from.
  Adopt adopt_stored_locked(std::uint64_t epoch, Secret& refresh_token,
                            std::shared_ptr<const DpopKey>& dpop_key,
                            Result<std::optional<StoredTokens>> record, Events& events);
  // True when the store no longer holds the record this session last saw there (another
  // process signed out): the tokens are dropped here too and signed_out_elsewhere reported.
  bool erased_elsewhere_locked(const Result<std::optional<StoredTokens>>& record, Events& events);
  enum class Published { installed, dropped, erased_meanwhile };
  // `fresh` is the response for `target`; the record saved and installed keeps the rest.
  Published publish_locked(StoredTokens fresh, const TokenTarget& target, const Secret& used,
                           std::uint64_t epoch, Result<void>& saved, Events& events);
  Result<void> drop_tokens_locked(const Error& cause, const Secret& used, std::uint64_t epoch,
                                  Events& events);

  Result<void> publish(TokenSet response, const Secret& used, std::uint64_t epoch, Events& events,
                       const TokenTarget& target);
  void log(LogLevel level, const std::string& message) const;

  SessionOptions options_;
  detail::AccountStore store_;
  // Shared with the subscription handles, which may outlive the session.
  std::shared_ptr<detail::SessionEvents> events_ = std::make_shared<detail::SessionEvents>();

  // Serialises this session's store reads-for-adoption and all its writes, so that a
  // sign_in/sign_out cannot interleave with a refresh's save or erase.
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
  std::uint64_t epoch_ = 0;         // bumped by sign_in/sign_out: older refresh results are dropped
  std::shared_ptr<Flight> flight_;  // the default target's refresh, if one is queued or running
  // The other targets' refreshes, queued or running (at most one per target).
  std::vector<std::shared_ptr<Flight>> target_flights_;
  // Refreshes not started yet. The one worker thread runs them one at a time: every refresh
  // spends the account's one (rotating) refresh token.
  std::deque<std::shared_ptr<Flight>> queued_;
  bool stopping_ = false;
  TimePoint pause_until_{};
  std::thread worker_;
  std::thread::id worker_id_;
  std::mt19937_64 random_;
};

}  // namespace freshtoken
