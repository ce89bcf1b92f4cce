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
/// refreshed, its tokens are adopted instead of refreshing again. DPoP-bound tokens are kept
/// with their key (TokenSet::dpop_key) in the same entry: adopting another process's tokens
/// adopts its key, a refresh presents the refresh token with the key it was read with, and
/// sign_out() erases the key with the tokens.
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
/// Several APIs: one sign-in (one refresh token, one DPoP key) serves an access token per
/// TokenTarget, an RFC 8707 resource indicator with a scope (token(target), token_for(target)).
/// A target's empty scope means SessionOptions::scope; the default target, TokenTarget{} (also
/// {"", SessionOptions::scope}), is what token() and access_token() serve. Each target's token
/// has its own expiry. The default target's is refreshed in the background as described above;
/// the other targets' are refreshed on demand: when a call for that target finds its token
/// inside the hard margin, expired or invalidated (that caller waits). Such a refresh is a
/// refresh_token grant with `resource` = the target's resource and `scope` = its scope. The
/// refreshes of all targets run one at a time (each spends the one rotating refresh token),
/// single flight per target; a caller whose target's token is valid never waits for another
/// target's refresh. A rotated refresh token from any target's refresh replaces it for all.
/// Before each refresh the store is re-read: a token for the target that another process saved
/// is served without refreshing. Every save writes the whole record (the default target's
/// token, the refresh token, the other targets' tokens, those another process saved included).
/// invalid_target / invalid_scope for one target fail that target's calls and erase nothing.
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
/// and log lines are delivered outside the Session's locks, on the Session's own background
/// thread (refresh events) or on the thread whose call caused them (sign_in, sign_out), until
/// ~Session returns; see SessionEventKind and SessionSubscription. A listener may call token() (it
/// gets the new token at once after `refreshed`) but it is never made to wait for another refresh
/// from there: that call fails with ErrorCode::config instead of deadlocking.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// A target other than the default that holds an access token; see SessionStatus::targets.
struct TargetStatus {
  /// The target, its scope as the Session resolved it (empty scope: SessionOptions::scope).
  TokenTarget target;
  /// Expiry of its access token; empty when the server gave none.
  std::optional<std::chrono::system_clock::time_point> expires_at;
};

/// What a Session knows about its account; see Session::status().
struct SessionStatus {
  /// The session holds a refresh token or an unexpired access token.
  bool signed_in = false;
  /// Expiry of the current access token; empty when there is none or the server gave none.
  std::optional<std::chrono::system_clock::time_point> access_token_expires_at;
  /// The RFC 7638 thumbprint of the DPoP key the tokens are bound to; empty for Bearer tokens.
  std::string dpop_thumbprint;
  /// The targets other than the default that hold an access token (no secrets).
  std::vector<TargetStatus> targets;
};

/// What a SessionEvent reports. Whenever the access token the Session serves changes, one of
/// signed_in, refreshed or adopted says how it got there; whenever it stops serving one for
/// good, one of signed_out, signed_out_elsewhere or login_required says why.
///
/// A Session reads the store on first use, before each refresh and when it saves a refresh's
/// answer; that is when it notices what another process did. Between refreshes (a token still
/// valid) another process's refresh, sign-in or sign-out goes unseen until this Session's own
/// next refresh. The first read of the store reports nothing: status() says what it found.
enum class SessionEventKind {
  /// This Session refreshed: the token endpoint just issued the access token now served.
  refreshed,
  /// A refresh gave up; error says why (its class: code, oauth, http_status). A still-valid
  /// access token keeps being served.
  refresh_failed,
  /// The server rejected the refresh token and it was erased; only a new sign-in helps.
  login_required,
  /// Saving the tokens failed; the session goes on with them in memory.
  store_failed,
  /// The Session serves tokens that another process (or another Session of the account) saved
  /// to the store, having refreshed or signed in there; found when this Session went to refresh.
  adopted,
  /// sign_in() on this Session installed new tokens (reported even when saving them failed:
  /// they are served from memory, and store_failed comes first).
  signed_in,
  /// sign_out() on this Session forgot the tokens (reported even when there were none).
  signed_out,
  /// The store no longer holds the account's record (another process signed out, or the entry
  /// was removed): this Session dropped its tokens too; only a new sign-in helps.
  signed_out_elsewhere,
};

/// The kind's name as spelled in the enum, e.g. "signed_out_elsewhere".
FRESHTOKEN_API std::string_view to_string(SessionEventKind kind);

/// Something that happened to a Session, delivered to its subscribers.
struct SessionEvent {
  /// What happened.
  SessionEventKind kind = SessionEventKind::refreshed;
  /// Set for refresh_failed, login_required, store_failed and signed_out_elsewhere.
  std::optional<Error> error;
  /// When it happened, on the Session's clock (SessionOptions::clock).
  std::chrono::system_clock::time_point at{};
  /// The Session's account (SessionOptions::account); no secret.
  std::string account;
};

namespace detail {
class SessionEvents;
}  // namespace detail

/// A listener's subscription to a Session's events (from Session::subscribe). Destroying it,
/// assigning to it or calling unsubscribe() unsubscribes; detach() instead keeps the listener
/// for the Session's lifetime. Movable, not copyable; one handle is used by one thread at a
/// time. It does not keep the Session alive, and may outlive it.
///
/// A listener running while it is unsubscribed: unsubscribing returns once no call of that
/// listener is under way, and it is never called again after that; calls on the unsubscribing
/// thread itself are the exception. From inside a listener of the same Session (on the thread
/// running it), unsubscribing does not wait at all, since waiting could deadlock (on the caller
/// itself, or on a listener that is waiting for the caller): the listener is not called again,
/// but a call of it already running on another thread may still be finishing.
class FRESHTOKEN_API SessionSubscription {
 public:
  /// Refers to no listener.
  SessionSubscription() = default;
  SessionSubscription(const SessionSubscription&) = delete;
  SessionSubscription& operator=(const SessionSubscription&) = delete;
  /// Takes over `other`'s listener; `other` then refers to none.
  SessionSubscription(SessionSubscription&& other) noexcept;
  /// Unsubscribes this handle's listener, then takes over `other`'s.
  SessionSubscription& operator=(SessionSubscription&& other) noexcept;
  /// Unsubscribes (see the class comment for a listener that is running).
  ~SessionSubscription();

  /// Stops calling the listener (see the class comment for a listener that is running). Does
  /// nothing when the handle refers to no listener or the Session is gone.
  void unsubscribe() noexcept;
  /// Lets go of the listener without unsubscribing it: it is called until the Session is
  /// destroyed. The handle then refers to no listener.
  void detach() noexcept;
  /// Whether the handle refers to a listener (not unsubscribed, detached or moved from).
  bool active() const noexcept { return id_ != 0; }

 private:
  friend class Session;
  SessionSubscription(std::weak_ptr<detail::SessionEvents> events, std::size_t id) noexcept
      : events_(std::move(events)), id_(id) {}

  std::weak_ptr<detail::SessionEvents> events_;
  std::size_t id_ = 0;
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
  /// token() with the DPoP key the token is bound to (null for Bearer tokens), read together.
  Result<AccessToken> access_token() override;
  /// The access token for `target` (see "Several APIs" in session.hpp); token(TokenTarget{}) is
  /// token(). Besides token()'s errors: the refresh's ErrorCode::token_endpoint with
  /// oauth()->error "invalid_target" or "invalid_scope" when the server will not issue a token
  /// for that target (nothing is erased; the other targets are unaffected).
  Result<Secret> token(const TokenTarget& target);
  /// token(target) with the DPoP key the token is bound to; HttpClient calls this.
  Result<AccessToken> token_for(const TokenTarget& target) override;
  /// If `rejected` is the access token of a target (the default or another), the next
  /// token() for that target refreshes; otherwise (another thread already replaced it)
  /// nothing happens.
  void invalidate(const Secret& rejected) override;

  /// Installs the tokens of a completed sign-in: saves them to the store, then serves them.
  /// Their access token is served for `target` (a sign-in with BrowserSignInOptions::resources
  /// gets its token for the first resource); every other target's token is dropped. A save
  /// failure is returned (ErrorCode::storage*), but the tokens are still served from memory. A
  /// refresh in flight with the old tokens is discarded when it completes.
  Result<void> sign_in(TokenSet tokens, const TokenTarget& target = {});
  /// Installs the tokens of a sign-in that asked for more (step-up, after an
  /// ErrorCode::insufficient_scope): its refresh token replaces the old one (kept when it has
  /// none), its access token is served for `target`, and the other targets' access tokens are
  /// kept (except DPoP-bound ones when the sign-in brought a new DPoP key). Saved like
  /// sign_in(), reported as a signed_in event. Errors: config without an access token,
  /// storage* when saving (the tokens are still served) or reading the store failed.
  Result<void> step_up(TokenSet tokens, const TokenTarget& target = {});
  /// Forgets the tokens here and in the store, then revokes the refresh token (RFC 7009) when
  /// the server has a revocation endpoint. The local sign-out always happens; the Result
  /// reports the first failure (erasing, then revoking).
  Result<void> sign_out();

  /// Whether the account is signed in, read from the store on first use. Errors: storage /
  /// storage_unavailable when the store cannot be read (a locked keyring is not "signed out").
  Result<SessionStatus> status() const;

  /// A listener's subscription; see SessionSubscription.
  using Subscription = SessionSubscription;
  /// Calls `listener` for every event of this Session until the returned handle unsubscribes
  /// (or, after detach(), until the Session is destroyed). Keep the handle: dropping it
  /// unsubscribes at once. Listeners run outside the Session's locks, on its background thread
  /// or on the thread whose call caused the event (sign_in, sign_out, token); one event reaches
  /// the listeners one after another, in the order they subscribed. Exceptions a listener
  /// throws are swallowed (and logged).
  [[nodiscard]] Subscription subscribe(std::function<void(const SessionEvent&)> listener);
  /// The same as subscription.unsubscribe(), for a handle from this Session; a handle of
  /// another Session, or one that refers to no listener, is left alone.
  void unsubscribe(Subscription& subscription);

 private:
  class FRESHTOKEN_NO_EXPORT Impl;
  explicit Session(SessionOptions options);
  std::shared_ptr<Impl> impl_;
};

}  // namespace freshtoken
