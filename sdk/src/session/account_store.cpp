#include "session/account_store.hpp"

#include <algorithm>
#include <utility>

namespace freshtoken::detail {

namespace {
// The locks are polled in slices so that a Session being destroyed need not wait out a long
// timeout.
constexpr std::chrono::milliseconds kLockSlice{100};
}  // namespace

AccountStore::AccountStore(std::shared_ptr<SecretStore> store, std::string service,
                           std::string account, std::chrono::milliseconds lock_timeout, Log log)
    : store_(std::move(store)),
      service_(std::move(service)),
      account_(std::move(account)),
      lock_timeout_(lock_timeout),
      log_(std::move(log)) {}

std::string AccountStore::describe() const { return store_->describe(); }

Result<std::optional<StoredTokens>> AccountStore::load() const {
  auto loaded = store_->load(service_, account_);
  if (!loaded) {
    if (loaded.error().code() == ErrorCode::not_found) return std::optional<StoredTokens>{};
    return loaded.error();
  }
  auto decoded = decode_stored_tokens(*loaded);
  if (!decoded) {
    return Error(ErrorCode::storage, decoded.error().message() + " (" + store_->describe() +
                                         ", account " + account_ + ")");
  }
  return std::optional<StoredTokens>(std::move(*decoded));
}

Result<void> AccountStore::save(const StoredTokens& tokens) const {
  return store_->save(service_, account_, encode_stored_tokens(tokens));
}

Result<void> AccountStore::erase() const { return store_->erase(service_, account_); }

Result<ProcessLock> AccountStore::lock(ProcessLock::Kind kind, const Stopping& stopping) const {
  const char* const what = ProcessLock::name(kind);
  using Steady = std::chrono::steady_clock;
  const auto deadline = Steady::now() + lock_timeout_;
  for (bool logged = false;;) {
    const auto slice_start = Steady::now();
    const auto slice =
        std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - slice_start),
                   std::chrono::milliseconds(0), kLockSlice);
    auto lock = ProcessLock::acquire(service_, account_, slice, kind);
    if (lock) return lock;
    if (stopping()) return Error(ErrorCode::cancelled, "the session is shutting down");
    const auto now = Steady::now();
    if (slice == kLockSlice && now - slice_start < kLockSlice / 2) {
      // A busy lock makes acquire wait out its slice; failing at once means the lock file or
      // its directory is unusable (say, another user took the place first). Going on without
      // it would let processes of this account present one refresh token twice.
      log_(LogLevel::error, std::string("cannot take the cross-process ") + what + " lock (" +
                                lock.error().message() + ")");
      return lock.error();
    }
    if (now >= deadline) {
      return Error(ErrorCode::timeout, "another process of account " + account_ + " held the " +
                                           what + " lock for more than " +
                                           std::to_string(lock_timeout_.count()) + " ms");
    }
    if (!logged) {
      logged = true;
      log_(LogLevel::debug, std::string("waiting for the ") + what +
                                " lock, held by another process of this account");
    }
  }
}

Result<ProcessLock> AccountStore::lock_for_write(const Stopping& stopping) const {
  auto lock = this->lock(ProcessLock::Kind::store, stopping);
  if (!lock) {
    log_(LogLevel::warning,
         "no cross-process store lock for this write: " + lock.error().message());
  }
  return lock;
}

StoredRecord classify_stored(const StoredTokens& stored, const Secret& presented,
                             const Secret& store_holds, const StoredTokens* current) {
  if (stored.refresh_token.empty()) return StoredRecord::ours;
  if (!(stored.refresh_token == presented)) {
    // One we replaced ourselves (a save that failed) is older, not newer.
    return stored.refresh_token == store_holds ? StoredRecord::ours
                                               : StoredRecord::newer_refresh_token;
  }
  // Without rotation the refresh token stays the same: another process may still have
  // refreshed the access token. It is newer only when it expires later than ours.
  if (current == nullptr || stored.access_token.empty() || !stored.expires_at ||
      stored.access_token == current->access_token ||
      (current->expires_at && *stored.expires_at <= *current->expires_at)) {
    return StoredRecord::ours;
  }
  return StoredRecord::newer_access_token;
}

}  // namespace freshtoken::detail
