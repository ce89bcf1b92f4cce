#include "session/session_impl.hpp"

#include <mutex>
#include <random>
#include <utility>

namespace freshtoken {

using detail::cancelled_error;
using detail::signed_out_elsewhere_error;
using detail::to_stored;
using detail::whole_seconds;

Session::Impl::Adopt Session::Impl::adopt_stored_locked(std::uint64_t epoch, Secret& refresh_token,
                                                        std::shared_ptr<const DpopKey>& dpop_key,
                                                        Result<std::optional<StoredTokens>> record,
                                                        Events& events) {
  if (!record || !*record) return Adopt::none;  // unreadable or gone: carry on with ours
  StoredTokens& stored = **record;
  const std::string fingerprint = stored.refresh_token.fingerprint();
  Adopt result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (epoch_ != epoch) return Adopt::superseded;
    const auto kind = detail::classify_stored(stored, refresh_token, store_holds_,
                                              current_ ? &current_->tokens : nullptr);
    if (kind == detail::StoredRecord::ours) {
      // Same refresh token: another process may still have saved other targets' tokens.
      if (!(stored.refresh_token == refresh_token) ||
          !merge_targets_locked(std::move(stored.targets))) {
        return Adopt::none;
      }
      result = Adopt::none;
    } else {
      std::vector<detail::StoredTarget> ours;
      if (kind == detail::StoredRecord::newer_refresh_token) {
        // The token and its key come from the same record: a proof never mixes them.
        refresh_token = stored.refresh_token;
        dpop_key = stored.dpop_key;
      } else {
        ours = stored_targets_locked();  // same refresh token: our targets' tokens still count
      }
      store_holds_ = stored.refresh_token;
      install_locked(std::move(stored));
      merge_targets_locked(std::move(ours));
      result =
          need_locked(options_.clock->now()) == Need::none ? Adopt::fresh : Adopt::refresh_token;
    }
  }
  log(LogLevel::info, "adopted the tokens another process saved, refresh token " + fingerprint);
  events.push_back(event(SessionEventKind::adopted));
  return result;
}

bool Session::Impl::erased_elsewhere_locked(const Result<std::optional<StoredTokens>>& record,
                                            Events& events) {
  // Only a record this session saw there can have been erased; a store that never held one
  // (a sign-in whose save failed) says nothing.
  if (!record || *record || store_holds_.empty()) return false;
  store_holds_ = Secret();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    current_.reset();
    // Not "rejected": later calls say "not signed in".
    login_required_ = false;
  }
  events.push_back(event(SessionEventKind::signed_out_elsewhere, signed_out_elsewhere_error()));
  return true;
}

Result<void> Session::Impl::give_up(const Error& error, const Secret& refresh_token, Events& events,
                                    const TokenTarget& target) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const TimePoint until = options_.clock->now() + options_.policy.pause_after_failure;
    if (target == TokenTarget{}) {
      pause_until_ = until;
    } else if (TargetState* state = find_target_locked(target)) {
      state->pause_until = until;
    }
  }
  const std::string what = target.resource.empty() ? std::string() : " for " + target.resource;
  log(LogLevel::error, "token refresh" + what + " failed, refresh token " +
                           refresh_token.fingerprint() + " kept: " + error.to_string());
  events.push_back(event(SessionEventKind::refresh_failed, error));
  return error;
}

bool Session::Impl::back_off(int retry, const Error& error) {
  double draw;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    draw = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
  }
  const auto delay = detail::backoff_delay(options_.policy, retry, error.retry_after(), draw);
  log(LogLevel::warning, "token refresh failed (" + error.to_string() + "), retry " +
                             std::to_string(retry + 1) + " of " +
                             std::to_string(options_.policy.max_retries) + " in " +
                             std::to_string(delay.count()) + " ms");
  return sleep_unless_stopped(delay);
}

Result<void> Session::Impl::refresh(Events& events, const TokenTarget& target) {
  Secret refresh_token;
  std::shared_ptr<const DpopKey> dpop_key;  // the key refresh_token is bound to, if any
  std::uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!has_refresh_token_locked()) return no_token_error_locked();
    refresh_token = current_->tokens.refresh_token;
    dpop_key = current_->tokens.dpop_key;
    epoch = epoch_;
  }

  bool reread_after_rejection = false;
  for (int retry = 0;;) {
    // Held from the re-read to the save, so that no two processes (or Sessions) of this
    // account present the same refresh token.
    auto account_lock = store_.lock(ProcessLock::Kind::refresh, [this] { return stopping(); });
    if (!account_lock) {
      if (account_lock.error().code() == ErrorCode::cancelled) return account_lock.error();
      if (superseded(epoch)) return {};
      return give_up(account_lock.error(), refresh_token, events, target);
    }
    {
      // Another process of this account may have refreshed meanwhile.
      std::lock_guard<std::mutex> store_lock(store_mutex_);
      if (superseded(epoch)) return {};
      auto record = store_.load();
      if (erased_elsewhere_locked(record, events)) {
        log(LogLevel::warning,
            "the stored tokens were erased (signed out elsewhere); refresh "
            "token " +
                refresh_token.fingerprint() + " dropped, not presented");
        return signed_out_elsewhere_error();
      }
      const Adopt adopted =
          adopt_stored_locked(epoch, refresh_token, dpop_key, std::move(record), events);
      if (adopted == Adopt::superseded) return {};
      // What another process saved may hold a fresh token for this target: no refresh then.
      std::lock_guard<std::mutex> lock(mutex_);
      if (fresh_locked(target, options_.clock->now())) return {};
    }

    // A Bearer record (signed in before DPoP was turned on) gets a key with this refresh: the
    // server binds the new tokens to it.
    if (!dpop_key) dpop_key = options_.server->new_dpop_key();
    // The default target asks for SessionOptions::scope; another for its own (resolved) scope.
    const std::string& scope = target == TokenTarget{} ? options_.scope : target.scope;
    Result<TokenSet> response =
        options_.server->refresh(refresh_token, scope, dpop_key, target.resource);
    // publish() saves before the lock is released.
    if (response) return publish(std::move(*response), refresh_token, epoch, events, target);
    const Error& error = response.error();

    if (detail::is_rejected_grant(error)) {
      std::lock_guard<std::mutex> store_lock(store_mutex_);
      const auto writing = lock_store_writes();
      // Another process may have rotated (one that does not take the lock, or a save that
      // landed after our re-read) or signed in again: the stored token may still be good, and
      // it is not ours to erase.
      const Secret rejected = refresh_token;
      const Adopt adopted =
          adopt_stored_locked(epoch, refresh_token, dpop_key, store_.load(), events);
      if (adopted == Adopt::superseded) return {};
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (fresh_locked(target, options_.clock->now())) return {};
      }
      if (adopted == Adopt::refresh_token && !(refresh_token == rejected)) {
        if (reread_after_rejection) return {};  // the next call refreshes with it
        reread_after_rejection = true;
        continue;  // once, with the rotated token
      }
      // Without the store lock, another process's save could land between the re-read and the
      // erase: keep the tokens, and let a later refresh that gets the lock settle it.
      if (!writing) return give_up(writing.error(), refresh_token, events, target);
      return drop_tokens_locked(error, refresh_token, epoch, events);
    }

    if (detail::is_transient(error) && retry < options_.policy.max_retries) {
      account_lock->release();  // others may try while we sleep
      if (!back_off(retry++, error)) return cancelled_error();
      if (superseded(epoch)) return {};
      continue;
    }
    return give_up(error, refresh_token, events, target);
  }
}

Result<void> Session::Impl::publish(TokenSet response, const Secret& used, std::uint64_t epoch,
                                    Events& events, const TokenTarget& target) {
  const bool rotated = !response.refresh_token.empty() && !(response.refresh_token == used);
  StoredTokens next = to_stored(std::move(response), options_.clock->now());
  if (next.refresh_token.empty()) next.refresh_token = used;  // not rotated: the one we have

  const Secret issued = next.refresh_token;
  const std::shared_ptr<const DpopKey> issued_key = next.dpop_key;
  const std::string expires_in =
      next.expires_at ? "expires in " + whole_seconds(*next.expires_at - *next.issued_at)
                      : "no stated expiry";
  Result<void> saved;
  Published published;
  {
    std::lock_guard<std::mutex> store_lock(store_mutex_);
    published = publish_locked(std::move(next), target, used, epoch, saved, events);
  }
  if (published == Published::dropped) return {};
  if (published == Published::erased_meanwhile)
    return signed_out_elsewhere(used, issued, issued_key);
  if (!saved) {
    log(LogLevel::error, "refreshed tokens could not be saved to " + store_.describe() +
                             " (kept in memory): " + saved.error().to_string());
    events.push_back(event(SessionEventKind::store_failed, saved.error()));
  }
  log(LogLevel::info, "refreshed access token" +
                          (target.resource.empty() ? std::string() : " for " + target.resource) +
                          ", " + expires_in + ", refresh token " +
                          (rotated ? "rotated " : "kept ") + issued.fingerprint());
  events.push_back(event(SessionEventKind::refreshed));
  return {};
}

// Saves and installs `next`, unless the response no longer counts: dropped when this session
// signed in or out meanwhile or adopted another process's newer record instead.
Session::Impl::Published Session::Impl::publish_locked(StoredTokens fresh,
                                                       const TokenTarget& target,
                                                       const Secret& used, std::uint64_t epoch,
                                                       Result<void>& saved, Events& events) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (epoch_ != epoch) return Published::dropped;
  }
  // Another process's sign_in or sign_out does not wait for this refresh's lock, and may have
  // landed while the request was on the network. What it did is newer than this response: a
  // record it wrote is adopted rather than overwritten, and an erased record stays erased
  // (saving would sign the account back in). The store lock keeps any other write out from
  // this re-read to the save.
  const auto writing = lock_store_writes();
  auto record = store_.load();
  if (erased_elsewhere_locked(record, events)) return Published::erased_meanwhile;
  Secret presented = used;
  std::shared_ptr<const DpopKey> presented_key;
  if (adopt_stored_locked(epoch, presented, presented_key, std::move(record), events) !=
      Adopt::none) {
    return Published::dropped;
  }
  StoredTokens next;
  {
    // The new tokens for `target` with everything else this session holds, which includes the
    // other targets' tokens another process saved (merged by the re-read above).
    std::lock_guard<std::mutex> lock(mutex_);
    next = record_locked();
    if (target == TokenTarget{}) {
      // A refresh response may leave out what did not change.
      if (fresh.scope.empty()) fresh.scope = std::move(next.scope);
      if (fresh.id_token.empty()) fresh.id_token = std::move(next.id_token);
      fresh.targets = std::move(next.targets);
      // Other targets' DPoP tokens still need the account's key when this answer has none.
      for (const auto& other : fresh.targets) {
        if (!fresh.dpop_key && other.token_type == "DPoP") fresh.dpop_key = next.dpop_key;
      }
      next = std::move(fresh);
    } else {
      next.refresh_token = std::move(fresh.refresh_token);
      if (fresh.dpop_key) next.dpop_key = std::move(fresh.dpop_key);
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
  }
  // Saved before anyone can see the new access token: if the process dies right after, the
  // store holds the refresh token that is still valid.
  saved = store_.save(next);
  if (saved) store_holds_ = next.refresh_token;
  std::lock_guard<std::mutex> lock(mutex_);
  install_locked(std::move(next));
  pause_until_ = TimePoint{};
  return Published::installed;
}

Result<void> Session::Impl::signed_out_elsewhere(const Secret& used, const Secret& issued,
                                                 const std::shared_ptr<const DpopKey>& key) {
  // The sign-out revoked what it found in the store, which may be the token this refresh
  // presented but not the one it got back: that grant ends here too.
  std::string revoked = "not revoked (no revocation endpoint)";
  // The refresh that got here discovered the metadata already.
  auto metadata = options_.server->metadata();
  if (!metadata) {
    revoked = "not revoked: " + metadata.error().to_string();
  } else if (!metadata->revocation_endpoint.empty()) {
    auto outcome = options_.server->revoke(issued, "refresh_token", key);
    revoked = outcome ? "revoked" : "revoking it failed: " + outcome.error().to_string();
  }
  log(LogLevel::warning, "refreshed with " + used.fingerprint() +
                             ", but the stored tokens were erased meanwhile (signed out "
                             "elsewhere): not saved; refresh token " +
                             issued.fingerprint() + " " + revoked);
  return signed_out_elsewhere_error();
}

Result<void> Session::Impl::drop_tokens_locked(const Error& cause, const Secret& used,
                                               std::uint64_t epoch, Events& events) {
  if (superseded(epoch)) return {};
  auto erased = store_.erase();
  if (erased) store_holds_ = Secret();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    current_.reset();
    login_required_ = true;
  }
  if (!erased) {
    log(LogLevel::error, "could not erase the rejected refresh token from " + store_.describe() +
                             ": " + erased.error().to_string());
  }
  Error error(ErrorCode::login_required,
              "the refresh token was rejected by the authorization server; sign in again");
  if (cause.oauth()) error.with_oauth(*cause.oauth());
  error.with_http_status(cause.http_status());
  log(LogLevel::warning, "refresh token " + used.fingerprint() + " was rejected (" +
                             cause.to_string() + "); sign-in required");
  events.push_back(event(SessionEventKind::login_required, error));
  return error;
}

bool Session::Impl::sleep_unless_stopped(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !worker_wake_.wait_for(lock, delay, [&] { return stopping_; });
}

}  // namespace freshtoken
