/// @file
/// DesktopClient: the common case in a few lines — an issuer and a client id in, a client that
/// signs the user in when it must and calls protected APIs out.
///
///     freshtoken::DesktopClientOptions options;
///     options.issuer = "https://login.example";
///     options.client_id = "my-app";
///     options.scope = "openid profile api offline_access";
///     options.service = "my-app";  // the name of the secret-store entry
///     auto app = freshtoken::DesktopClient::create(options).value();
///     auto me = app->get("https://api.example/me");  // signs in (browser) when there is no
///     session
///
/// It assembles the parts a desktop application would otherwise assemble itself, each with the
/// default such an application wants, and keeps every one reachable:
/// - the Transport: make_transport() (or DesktopClientOptions::transport);
/// - the AuthorizationServer: for the issuer, as a public client (PKCE, no secret), discovered
///   when first needed (AuthorizationServer::for_issuer, once per process), or
///   DesktopClientOptions::server;
/// - the SecretStore: default_secret_store(), the operating system's own (libsecret, Credential
///   Manager), or DesktopClientOptions::store;
/// - the Session, keyed (service, account) with account = "<issuer>|<client_id>" unless set;
/// - the HttpClient that attaches, refreshes and retries the token;
/// - the sign-in: the system browser (sign_in_with_browser), or the device flow
///   (SignInMethod::device).
///
/// When it signs in: get(), send() and the other calls, and token(), run the interactive
/// sign-in first when the session has no sign-in (nothing stored, or the stored refresh token
/// was rejected), then go on with the new tokens; a stored sign-in is resumed without one. A
/// call whose refresh token was rejected while it was under way (a 401, then invalid_grant)
/// signs in and is sent once more. A request with a streamed body is never sent twice: its 401
/// is returned as HttpClient returns it, and the next call signs in. A store that cannot be read (a
/// locked keyring) is an error (storage_unavailable or storage), never a reason to sign in. One
/// interactive sign-in runs at a time: threads that need one meanwhile wait for it and use its
/// result. With sign_in_when_needed = false nothing signs in implicitly: the calls fail with
/// login_required and the application calls sign_in() itself (from a button, say, so that the
/// browser never opens unasked).
///
/// Several APIs: list them in DesktopClientOptions::http.apis (origin -> TokenTarget, see
/// HttpClientOptions::apis); each origin then gets its own API's token and an unlisted origin
/// none. The interactive sign-in names every listed resource (RFC 8707 `resource` at the
/// authorization or device authorization endpoint, after BrowserSignInOptions::resources /
/// DeviceSignInOptions::resources of its own), so that one grant covers them all; its access
/// token serves the first resource's target, and the other APIs' tokens come by refresh when
/// first needed. token(target) serves one API's token. When an API answers
/// ErrorCode::insufficient_scope, step_up(target, oauth()->scope) asks the user for more (see
/// the guide's "Several APIs").
///
/// Launch: create() sends nothing. With a valid stored access token the first call goes straight
/// to the API, with no request to the authorization server (so it works offline from it too);
/// discovery happens with the first refresh, sign-in or sign-out, and its errors come back
/// from that call (a later call tries again).
///
/// Errors are freshtoken::Error, as everywhere: config from create() for missing options,
/// whatever discovery returns (from the call that needed it), the sign-in flow's errors (timeout,
/// cancelled, login_required,
/// ...), the Session's and the HttpClient's. HTTP 4xx/5xx statuses are Responses.
///
/// Thread safety: every method may be called from many threads at once. A call that signs in
/// blocks until the user finished in the browser (or the device flow completed), at most
/// BrowserSignInOptions::timeout: keep such calls off a GUI thread (HttpClient::send_async
/// through http() never signs in).
///
/// It lives in the platform library (freshtoken::platform) because its default store does.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/clock.hpp"
#include "freshtoken/error.hpp"
#include "freshtoken/http.hpp"
#include "freshtoken/http_client.hpp"
#include "freshtoken/logging.hpp"
#include "freshtoken/platform/export.hpp"
#include "freshtoken/secret.hpp"
#include "freshtoken/secret_store.hpp"
#include "freshtoken/session.hpp"
#include "freshtoken/sign_in.hpp"
#include "freshtoken/token_source.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken {

/// How a DesktopClient signs the user in.
enum class SignInMethod {
  browser,  ///< sign_in_with_browser: the system browser, PKCE and a loopback redirect
  device,   ///< sign_in_with_device: a code the user enters on another device
};

/// What a DesktopClient is made of. Only issuer and client_id are required; every other field
/// has the default a desktop application wants. (With C++20 designated initializers, name the
/// fields in this order.)
struct DesktopClientOptions {
  /// The authorization server's issuer URL; its metadata is discovered from it. Required.
  std::string issuer;
  /// The public (native) client registered at the server; no secret: PKCE protects the
  /// browser sign-in. Required.
  std::string client_id;
  /// The scope asked for at sign-in, e.g. "openid profile api offline_access". Refreshes ask
  /// for what was granted.
  std::string scope;
  /// DPoP (RFC 9449): tokens bound to a key kept with the session (see freshtoken/dpop.hpp and
  /// the guide). Off by default. With `server` set, that server's ClientConfig::dpop counts.
  DpopMode dpop = DpopMode::off;
  /// The secret-store key's service: set it to the application's name, so that its entry is
  /// recognisable in the keyring. The default is SessionOptions' own.
  std::string service = "freshtoken";
  /// The secret-store key's account; empty means "<issuer>|<client_id>". Set it (e.g. add the
  /// user) when one application keeps several sign-ins at one issuer.
  std::string account;
  /// How the user signs in.
  SignInMethod sign_in_method = SignInMethod::browser;
  /// Whether calls that need a sign-in run it themselves (see desktop_client.hpp). False: they
  /// fail with login_required, and only sign_in() signs in.
  bool sign_in_when_needed = true;
  /// Options of the browser sign-in (timeout, how the URL is opened, extra parameters). An
  /// empty scope here means `scope` above.
  BrowserSignInOptions browser;
  /// Options of the device sign-in; `on_code` is required with SignInMethod::device (create()
  /// says config otherwise). An empty scope here means `scope` above.
  DeviceSignInOptions device;
  /// When and how the Session refreshes.
  RefreshPolicy policy;
  /// Redirects, asynchronous sends and the origin list (apis: which origin gets which API's
  /// token; its resources are named at sign-in) of the HttpClient.
  HttpClientOptions http;
  /// Null: make_transport().
  std::shared_ptr<Transport> transport;
  /// Null: default_secret_store(), the operating system's (never a file).
  std::shared_ptr<SecretStore> store;
  /// Null: AuthorizationServer::for_issuer(`issuer`), for `client_id`, discovered when first
  /// needed. Set it for a server
  /// whose metadata is known, or a confidential client; issuer and client_id still name the
  /// account.
  std::shared_ptr<AuthorizationServer> server;
  /// Null: system_clock().
  std::shared_ptr<Clock> clock;
  /// The Session's log (and the HttpClient's, unless http.log is set); never a secret.
  LogSink log;
};

/// Issuer and client id in; a client that signs in when it must and calls APIs out. What it
/// assembles, when it signs in, its errors and thread safety are in desktop_client.hpp.
class FRESHTOKEN_PLATFORM_API DesktopClient {
 public:
  /// Makes the AuthorizationServer (unless options.server is set), the Session and the
  /// HttpClient; sends nothing, neither reads the store nor signs in. Errors: config for an
  /// empty issuer or client_id, an issuer that cannot be one (not https, or http off
  /// loopback; a query), or SignInMethod::device without device.on_code; Session::create's.
  static Result<std::shared_ptr<DesktopClient>> create(DesktopClientOptions options);

  DesktopClient(const DesktopClient&) = delete;
  DesktopClient& operator=(const DesktopClient&) = delete;
  ~DesktopClient();

  /// HttpClient::send, after a sign-in when one is needed (see desktop_client.hpp).
  Result<Response> send(const Request& request);
  /// send() of a GET. `timeout` is the request's Request::timeout, as for HttpClient::get();
  /// zero means the transport's default.
  Result<Response> get(const std::string& url, Headers headers = {},
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// send() of a POST of `body` with that Content-Type; `timeout` as for get().
  Result<Response> post(const std::string& url, std::string body,
                        std::string content_type = "application/json", Headers headers = {},
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// send() of a PUT of `body` with that Content-Type; `timeout` as for get().
  Result<Response> put(const std::string& url, std::string body,
                       std::string content_type = "application/json", Headers headers = {},
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// send() of a PATCH of `body` with that Content-Type; `timeout` as for get().
  Result<Response> patch(const std::string& url, std::string body,
                         std::string content_type = "application/json", Headers headers = {},
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  /// send() of a DELETE; `timeout` as for get().
  Result<Response> del(const std::string& url, Headers headers = {},
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  /// The access token (for another library's requests), after a sign-in when one is needed.
  Result<Secret> token();
  /// token() for one API: Session::token(target), after a sign-in when one is needed. Errors as
  /// token()'s; a resource the server does not know is token_endpoint with oauth()->error
  /// "invalid_target" (the sign-in stays).
  Result<Secret> token(const TokenTarget& target);

  /// Runs the interactive sign-in (browser or device, as configured) now, whether or not the
  /// session is signed in, and installs its tokens (Session::sign_in); while another thread's
  /// sign-in runs, waits for that one and returns its result instead. A save failure is
  /// returned, but the tokens are still served from memory.
  Result<void> sign_in();
  /// Step-up: runs the interactive sign-in (as configured) now, asking for the sign-in's scope,
  /// those of this client's earlier step-ups, `target.scope` and `scope` (typically the
  /// oauth()->scope of an ErrorCode::insufficient_scope), naming target.resource first and
  /// then every resource of the origin list; installs its tokens with Session::step_up: the
  /// new refresh token replaces the old one, its access token serves `target` (pass the
  /// target HttpClientOptions::apis names for that API, so that a retry gets it), and the
  /// other targets' access tokens are kept. Runs after an interactive sign-in under way, never
  /// beside it. Errors: the flow's (timeout, cancelled, login_required when the user refuses,
  /// token_endpoint invalid_scope for a scope the server does not know), Session::step_up's.
  /// The scopes of earlier step-ups are remembered by this DesktopClient only; another
  /// process's step-up asks again for the sign-in's scope plus its own.
  Result<void> step_up(const TokenTarget& target, const std::string& scope = {});
  /// Session::sign_out(): forgets the tokens here and in the store, and revokes the refresh
  /// token when the server can. The next call that needs a token signs in again.
  Result<void> sign_out();
  /// Session::status(): whether a sign-in is there, without signing in.
  Result<SessionStatus> status() const;

  /// The Session: events (subscribe), invalidate, the token's expiry.
  const std::shared_ptr<Session>& session() const;
  /// The HttpClient, e.g. for send_async (which never signs in).
  const std::shared_ptr<HttpClient>& http() const;
  /// The AuthorizationServer: metadata (discovered on first use), revocation, the flows with
  /// options of your own.
  const std::shared_ptr<AuthorizationServer>& server() const;
  /// The Transport every request goes through.
  const std::shared_ptr<Transport>& transport() const;
  /// The SecretStore the session is kept in.
  const std::shared_ptr<SecretStore>& store() const;

 private:
  struct Impl;
  explicit DesktopClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace freshtoken
