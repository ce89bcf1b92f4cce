/// @file
/// Session: the single source of a fresh access token for one signed-in account.
///
/// A Session owns the tokens of one account (keyed in the SecretStore by (service, account)):
/// it hands out the access token, refreshes it in the background once 80% of its lifetime has
/// passed (callers keep getting the current token meanwhile; RefreshPolicy::background_refresh
/// turns this off for short-lived programs), makes callers wait only inside
/// the hard margin (min(30 s, 10% of the lifetime)) or when the token is expired or was
/// invalidated, and runs at most one refresh at a time however many threads ask.
///
/// Persistence: the refresh token (with the access token, so that another process can resume
/// without refreshing) is kept in the SecretStore as one entry. A rotated refresh token is
/// saved before the new access token is handed to anyone. The store is read lazily, on first
/// use, and re-read before each refresh: when another process of the same account has already
/// refreshed, its tokens are adopted instead of refreshing again.
///
/// Across processes: every refresh runs "re-read the store -> refresh -> save" under an
/// exclusive per-account file lock (flock in $XDG_RUNTIME_DIR/freshtoken when that is a 0700
/// directory of this user, else in $XDG_STATE_HOME/freshtoken/locks or
/// ~/.local/state/freshtoken/locks; private directories only, never a shared /tmp path), so
/// two processes of one account never present the same refresh token.
/// The lock is released during backoff sleeps and dies with its process. Waiting for it longer
/// than RefreshPolicy::refresh_lock_timeout fails that refresh with ErrorCode::timeout (a
/// transient failure: nothing erased, a valid token still served). A lock that cannot be used
/// at all (no safe directory for it) fails the refresh with ErrorCode::storage and a
/// refresh_failed event, before any request: the refresh never runs unlocked, the refresh token
/// is kept, nothing is erased, and the next refresh tries again. sign_in and sign_out do not wait
/// for another process's refresh. Each write to the store (a sign-in, a sign-out, a refresh's
/// save or erase), with the read it is based on, holds a second per-account lock for those
/// store calls alone, so that no other process's write lands in between; without it a
/// rejected refresh token is not erased (the refresh fails, the next one settles it). A process
/// killed mid-refresh leaves the store with the old or the new refresh token (saves are atomic);
/// when the server rotated but the answer was lost, only the server's reuse grace can save the old
/// one.
///
/// Failures: invalid_grant / interaction_required from the token endpoint (after re-reading
/// the store, in case another process rotated the refresh token) erase the stored entry and
/// put the session in the login_required state. Nothing else ever erases: network errors,
/// timeouts, 408, 429, 5xx, temporarily_unavailable and malformed answers are retried with
/// exponential backoff and full jitter (honouring Retry-After); when the retries are used up a
/// still-valid access token keeps being served and only callers that have no usable token get
/// the error. A corrupt store entry is an ErrorCode::storage error, never erased silently. An
/// impossible configuration (no server, no store, empty account, nonsensical policy) is
/// refused by create() with ErrorCode::config.
///
/// Thread safety: every method may be called from any thread at any time. No lock is held
/// across network I/O; callers whose token is still valid never wait for a refresh. Events
/// and log lines are delivered outside the Session's locks, possibly on the Session's own
/// background thread, until ~Session returns. A listener may call token() (it gets the new
/// token at once after `refreshed`) but it is never made to wait for another refresh from
/// there: that call fails with ErrorCode::config instead of deadlocking.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/clock.hpp"
#include "freshtoken/error.hpp"
#include "freshtoken/export.hpp"
#include "freshtoken/logging.hpp"
#include "freshtoken/secret.hpp"
#include "freshtoken/secret_store.hpp"
#include "freshtoken/token_set.hpp"
#include "freshtoken/token_source.hpp"

namespace freshtoken {

/// When and how a Session refreshes. The defaults are described in docs/guide.md.
struct RefreshPolicy {
  /// A background refresh starts once this fraction of the token's lifetime has passed.
  double soft_refresh_fraction = 0.8;
  /// Inside the hard margin before expiry callers wait for the refresh:
  /// margin = min(hard_margin_cap, hard_margin_fraction * lifetime).
  std::chrono::seconds hard_margin_cap{30};
  /// The fraction of the lifetime in the hard margin (see hard_margin_cap).
  double hard_margin_fraction = 0.1;
  /// The soft point moves by up to ±jitter_fraction of the lifetime, drawn per token, so that
  /// processes do not refresh in lockstep.
  double jitter_fraction = 0.05;
  /// Retries of a transient failure (so at most 1 + max_retries requests per refresh).
  int max_retries = 3;
  /// Backoff before retry n: a uniform draw from [0, min(max_backoff, initial_backoff * 2^n)]
  /// ("full jitter"), at least the server's Retry-After (capped at 4 * max_backoff).
  std::chrono::milliseconds initial_backoff{500};
  /// The ceiling of the backoff draw (see initial_backoff).
  std::chrono::milliseconds max_backoff{8000};
  /// After a refresh has given up, a still-valid token is served without new attempts for
  /// this long (on the Session's clock), so that a down server is not hammered on every call.
  std::chrono::seconds pause_after_failure{10};
  /// How long a refresh waits for another process (or Session) of the same account to finish
  /// its own: the transport's request timeout plus a margin. A store write waits at most this
  /// long for the account's store lock, then goes ahead without it (the erase of a rejected
  /// refresh token is put off instead).
  std::chrono::milliseconds refresh_lock_timeout{40'000};
  /// Whether a refresh starts in the background once the soft point has passed. Set it to
  /// false in a program that exits soon after it got its token (a command line tool, a script,
  /// a cron job): then the Session refreshes only when a call needs a token, inside the hard
  /// margin, after expiry or after invalidate(), and that caller waits for the refresh to
  /// finish. A background refresh that such a program begins and then abandons by exiting, or
  /// by being killed once its output is there, can lose a rotated refresh token, and with it
  /// the sign-in when the server revokes the family on reuse. Long-running programs keep the
  /// default, so that their callers rarely wait.
  bool background_refresh = true;
};

/// Everything a Session needs.
struct SessionOptions {
  /// The server that refreshes and revokes; required.
  std::shared_ptr<AuthorizationServer> server;
  /// Where the tokens are kept; required (e.g. default_secret_store()).
  std::shared_ptr<SecretStore> store;
  std::string service = "freshtoken";  ///< secret-store key: (service, account)
  std::string account;                 ///< e.g. "<issuer>|<client_id>|<user>"; required
  std::string scope;                   ///< asked for on refresh; empty = as granted
  std::shared_ptr<Clock> clock;        ///< default system_clock()
  RefreshPolicy policy;                ///< when and how to refresh
  LogSink log;                         ///< optional; never receives a secret, only fingerprints
};

/// What a Session knows about its account; see Session::status().
struct SessionStatus {
  /// The session holds a refresh token or an unexpired access token.
  bool signed_in = false;
  /// Expiry of the current access token; empty when there is none or the server gave none.
  std::optional<std::chrono::system_clock::time_point> access_token_expires_at;
};

/// What a SessionEvent reports.
enum class SessionEventKind {
  refreshed,       ///< a new access token is being served
  refresh_failed,  ///< a refresh gave up; error says why (its class: code, oauth, http_status)
  login_required,  ///< the refresh token was rejected and erased; only a new sign-in helps
  store_failed,    ///< saving the tokens failed; the session goes on with them in memory
};

/// Something that happened to a Session, delivered to its subscribers.
struct SessionEvent {
  /// What happened.
  SessionEventKind kind;
  std::optional<Error> error;  ///< set for refresh_failed, login_required and store_failed
};

/// The single source of a fresh access token for one signed-in account. Refresh, storage,
/// failures and thread safety are described in session.hpp.
class FRESHTOKEN_API Session : public TokenSource {
 public:
  /// A Session for `options`. Errors: ErrorCode::config for an impossible configuration (no
  /// server, no store, an empty account, a policy out of range). The store is not read until
  /// the first call that needs it.
  static Result<std::shared_ptr<Session>> create(SessionOptions options);

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  /// Stops the background refresh: interrupts its backoff sleeps and waits for a request in
  /// flight to finish (a refresh that succeeded is still saved). When the last reference is
  /// dropped inside an event listener, the background thread finishes on its own instead.
  ~Session() override;

  /// The access token, refreshing when it must. Errors: login_required (no refresh token, or
  /// it was rejected), storage / storage_unavailable (the store could not be read),
  /// config, cancelled (the Session is being destroyed), or the refresh's own error
  /// (network, timeout, tls, token_endpoint, invalid_response) when no usable token is left.
  Result<Secret> token() override;
  /// If `rejected` is the current access token, the next token() refreshes; otherwise
  /// (another thread already replaced it) nothing happens.
  void invalidate(const Secret& rejected) override;

  /// Installs the tokens of a completed sign-in: saves them to the store, then serves them.
  /// A save failure is returned (ErrorCode::storage*), but the tokens are still served from
  /// memory. A refresh in flight with the old tokens is discarded when it completes.
  Result<void> sign_in(TokenSet tokens);
  /// Forgets the tokens here and in the store, then revokes the refresh token (RFC 7009) when
  /// the server has a revocation endpoint. The local sign-out always happens; the Result
  /// reports the first failure (erasing, then revoking).
  Result<void> sign_out();

  /// Whether the account is signed in, read from the store on first use. Errors: storage /
  /// storage_unavailable when the store cannot be read (a locked keyring is not "signed out").
  Result<SessionStatus> status() const;

  /// Identifies a listener for unsubscribe().
  using Subscription = std::size_t;
  /// The listener is called for every event until unsubscribed (a call already under way may
  /// still complete after unsubscribe returns). Exceptions it throws are swallowed.
  Subscription subscribe(std::function<void(const SessionEvent&)> listener);
  /// Stops calling that listener; unknown ids are ignored.
  void unsubscribe(Subscription subscription);

 private:
  class FRESHTOKEN_NO_EXPORT Impl;
  explicit Session(SessionOptions options);
  std::shared_ptr<Impl> impl_;
};

}  // namespace freshtoken
