// AccountStore: one account's record in the SecretStore and the cross-process locks around it
// (internal). A Session reads and writes its tokens only through here.
//
// Each account has two ProcessLocks. The refresh lock is held around "re-read the store ->
// refresh -> save", network exchange included, so that no two processes present the same
// refresh token. The store lock is held around each "read the store, then write it" (a
// sign-in, a sign-out, a refresh's save or erase), for those store calls alone. Lock order:
// the refresh lock before the store lock, never the other way.
//
// Errors: storage for an unreadable or corrupt record (never erased silently), timeout when
// another process holds a lock too long, cancelled when the caller's `stopping` turns true.
// Thread safety: const methods; the SecretStore and ProcessLock are safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "freshtoken/error.hpp"
#include "freshtoken/logging.hpp"
#include "freshtoken/secret_store.hpp"
#include "process_lock.hpp"
#include "stored_tokens.hpp"

namespace freshtoken::detail {

class AccountStore {
 public:
  using Log = std::function<void(LogLevel, const std::string&)>;
  using Stopping = std::function<bool()>;

  AccountStore(std::shared_ptr<SecretStore> store, std::string service, std::string account,
               std::chrono::milliseconds lock_timeout, Log log);

  // The record, or nothing when the store has none.
  Result<std::optional<StoredTokens>> load() const;
  Result<void> save(const StoredTokens& tokens) const;
  Result<void> erase() const;
  // The store and the account, for messages.
  std::string describe() const;
  const std::string& account() const { return account_; }

  // One of the account's locks, held. Waits at most the lock timeout, polling `stopping`
  // between slices. Errors: timeout, cancelled, and storage when the lock cannot be used at all
  // (no safe lock directory): the caller never runs unlocked instead.
  Result<ProcessLock> lock(ProcessLock::Kind kind, const Stopping& stopping) const;
  // The store lock before a write; an error is logged. A sign-in, a sign-out and a refresh's
  // save go ahead without it, since they are newer than what they replace (and a refresh's new
  // token must not be lost); the erase of a rejected token does not.
  Result<ProcessLock> lock_for_write(const Stopping& stopping) const;

 private:
  std::shared_ptr<SecretStore> store_;
  std::string service_;
  std::string account_;
  std::chrono::milliseconds lock_timeout_;
  Log log_;
};

// What a record read from the store means to a Session that holds `current` (if anything),
// presented `presented` (its refresh token) and last saw `store_holds` in the store.
enum class StoredRecord {
  ours,                 // nothing newer: carry on with what we have
  newer_refresh_token,  // another process rotated: use its refresh token
  newer_access_token,   // same refresh token, but a later access token (no rotation)
};
StoredRecord classify_stored(const StoredTokens& stored, const Secret& presented,
                             const Secret& store_holds, const StoredTokens* current);

}  // namespace freshtoken::detail
