#include "commands.hpp"

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "freshtoken/platform/secret_stores.hpp"
#include "freshtoken/sign_in.hpp"
#include "freshtoken/version.hpp"
#include "terminal_text.hpp"

namespace freshtoken::cli {
namespace {

using Clock = std::chrono::system_clock;
using Steady = std::chrono::steady_clock;

constexpr std::string_view file_prefix = "file:";

std::shared_ptr<SecretStore> make_store(const std::string& spec) {
  if (spec == "memory") return make_memory_store();
  if (spec.rfind(file_prefix, 0) == 0) return make_file_store(spec.substr(file_prefix.size()));
  return default_secret_store();
}

// -v shows everything the SDK logs (it never logs a secret, only fingerprints); without it,
// warnings and errors only.
LogSink make_log(bool verbose) {
  return [verbose](LogLevel level, std::string_view message) {
    if (!verbose && (level == LogLevel::debug || level == LogLevel::info)) return;
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    // Log lines may quote what a server said.
    std::cerr << "freshtoken [" << to_string(level) << "] " << escape_controls(message)
              << std::endl;
  };
}

std::string format_duration(std::chrono::seconds d) {
  const auto s = d.count();
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h";
}

std::string format_time(Clock::time_point t) {
  const std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
#if defined(_WIN32)
  localtime_s(&tm, &tt);
#else
  localtime_r(&tt, &tm);
#endif
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %Z", &tm);
  return text;
}

std::string describe_expiry(const std::optional<Clock::time_point>& expires_at) {
  if (!expires_at) return "no expiry stated by the server";
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(*expires_at - Clock::now());
  if (left.count() > 0)
    return "expires " + format_time(*expires_at) + " (in " + format_duration(left) + ")";
  return "expired " + format_time(*expires_at) + " (" + format_duration(-left) +
         " ago; the next call refreshes it)";
}

// "alice (Alice Liddell)" from a JSON object with "sub" and maybe "name", ready for a
// terminal (the server chose both).
std::string describe_user(const std::string& json) {
  const auto doc = nlohmann::json::parse(json, nullptr, false);
  if (!doc.is_object() || !doc.contains("sub") || !doc["sub"].is_string()) return {};
  std::string who = doc["sub"].get<std::string>();
  if (doc.contains("name") && doc["name"].is_string())
    who += " (" + doc["name"].get<std::string>() + ")";
  return escape_controls(who);
}

enum class Stream { in, out, err };

bool is_tty(Stream stream) {
#if defined(_WIN32)
  FILE* file = stream == Stream::in ? stdin : stream == Stream::out ? stdout : stderr;
  return ::_isatty(::_fileno(file)) != 0;
#else
  const int fd = stream == Stream::in    ? STDIN_FILENO
                 : stream == Stream::out ? STDOUT_FILENO
                                         : STDERR_FILENO;
  return ::isatty(fd) == 1;
#endif
}

// The device flow's waits, shown as a countdown to the code's expiry: one line rewritten in
// place on a terminal, a line every 15 s otherwise (logs, pipes).
class Countdown {
 public:
  void start(std::chrono::seconds expires_in) { deadline_ = Steady::now() + expires_in; }

  void sleep(std::chrono::milliseconds duration) {
    const auto until = Steady::now() + duration;
    for (auto now = Steady::now(); now < until; now = Steady::now()) {
      show(std::chrono::duration_cast<std::chrono::seconds>(deadline_ - now));
      std::this_thread::sleep_for(std::min<Steady::duration>(std::chrono::seconds(1), until - now));
    }
  }

  void finish() {
    if (tty_ && shown_) std::cerr << "\r\033[K" << std::flush;
  }

 private:
  void show(std::chrono::seconds left) {
    if (left.count() < 0) left = std::chrono::seconds(0);
    char text[96];  // room for any long long: GCC's -O1 range analysis checks that it fits
    std::snprintf(text, sizeof text, "Waiting for approval; the code expires in %lld:%02lld",
                  static_cast<long long>(left.count() / 60),
                  static_cast<long long>(left.count() % 60));
    if (tty_) {
      std::cerr << '\r' << text << "\033[K" << std::flush;
    } else if (!shown_ || Steady::now() - last_line_ >= std::chrono::seconds(15)) {
      std::cerr << text << std::endl;
      last_line_ = Steady::now();
    }
    shown_ = true;
  }

  Steady::time_point deadline_ = Steady::now();
  Steady::time_point last_line_{};
  bool tty_ = is_tty(Stream::err);
  bool shown_ = false;
};

Result<TokenSet> sign_in_device(const AuthorizationServer& server, const std::string& scope) {
  Countdown countdown;
  DeviceSignInOptions options;
  options.scope = scope;
  options.on_code = [&countdown](const DeviceAuthorization& code) {
    // One line with both, so that a person can read it and a script can parse it.
    std::cerr << "To sign in, open " << escape_controls(code.verification_uri)
              << " and enter the code " << escape_controls(code.user_code) << std::endl;
    countdown.start(code.expires_in);
  };
  options.sleep = [&countdown](std::chrono::milliseconds d) { countdown.sleep(d); };
  auto tokens = sign_in_with_device(server, options);
  countdown.finish();
  return tokens;
}

Result<TokenSet> sign_in_browser(const AuthorizationServer& server, const std::string& scope) {
  BrowserSignInOptions options;
  options.scope = scope;
  options.open_browser = [](const std::string& url) -> Result<void> {
    std::cerr << "Opening the browser to sign in. If it does not open, visit:\n  "
              << escape_controls(url) << std::endl;
    return open_system_browser(url);
  };
  return sign_in_with_browser(server, options);
}

// Someone is there to click in a browser when a display (or $BROWSER) says so. A Windows
// desktop always has a default browser for ShellExecute to open.
LoginFlow pick_flow(LoginFlow flow) {
  if (flow != LoginFlow::automatic) return flow;
#if defined(_WIN32)
  return LoginFlow::browser;
#else
  for (const char* name : {"BROWSER", "DISPLAY", "WAYLAND_DISPLAY"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return LoginFlow::browser;
  }
  return LoginFlow::device;
#endif
}

void write_body(const std::string& body) {
  std::cout.write(body.data(), static_cast<std::streamsize>(body.size()));
  if (!body.empty() && body.back() != '\n' && is_tty(Stream::out)) std::cout << '\n';
  std::cout.flush();
}

std::optional<std::pair<std::string, std::string>> split_header(const std::string& line) {
  const auto colon = line.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string value = line.substr(colon + 1);
  value.erase(0, std::min(value.find_first_not_of(" \t"), value.size()));
  return std::make_pair(line.substr(0, colon), value);
}

// "https://host:8443" of "https://user@host:8443/path?q": what HttpClientOptions::apis lists
// (it normalises case and default ports itself). A relative or odd URL gives what it has; the
// HttpClient then matches nothing and sends no token.
std::string origin_of(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto authority = scheme_end + 3;
  const auto end = std::min(url.find_first_of("/?#", authority), url.size());
  auto host = authority;
  if (const auto at = url.rfind('@', end); at != std::string::npos && at >= authority) {
    host = at + 1;
  }
  return url.substr(0, authority) + url.substr(host, end - host);
}

}  // namespace

std::string check_store_spec(const std::string& spec) {
  if (spec == system_store || spec == "memory") return {};
  if (spec.rfind(file_prefix, 0) == 0 && spec.size() > file_prefix.size()) return {};
  return "--store must be " + std::string(system_store) + ", memory or file:PATH";
}

Context::Context(GlobalOptions options)
    : options_(std::move(options)),
      log_(make_log(options_.verbose)),
      store_(make_store(options_.store)) {}

Result<void> Context::connect() {
  if (server_) return {};
  TransportOptions transport_options;
  transport_options.ca_file = options_.ca_file;
  transport_options.user_agent = "freshtoken-cli/" FRESHTOKEN_VERSION_STRING;
  transport_options.log = log_;
  transport_ = make_transport(transport_options);
  ClientConfig client;
  client.client_id = options_.client_id;
  if (options_.dpop) client.dpop = DpopMode::required;
  // Nothing is sent yet: a command served by a valid stored access token goes straight to
  // the API, and discovery happens when a refresh, sign-in or revocation needs it.
  auto server = AuthorizationServer::for_issuer(transport_, options_.issuer, std::move(client));
  if (!server) return server.error();
  server_ = std::move(*server);
  return {};
}

const std::shared_ptr<Session>& Context::session() {
  if (!session_) {
    SessionOptions options;
    options.server = server_;
    options.store = store_;
    options.service = store_service;
    options.account = account();
    options.log = log_;
    // The CLI exits right after its answer: a background refresh begun then would be waited
    // for, or, when the process is stopped once its output is there, abandoned mid-way (and a
    // rotated refresh token lost with it). Refreshes run only when a command needs a token,
    // and that command waits for them.
    options.policy.background_refresh = false;
    session_ = Session::create(std::move(options)).value();
  }
  return session_;
}

HttpClient& Context::http(std::vector<ProtectedApi> apis) {
  if (!http_) {
    HttpClientOptions options;
    options.log = log_;
    options.apis = std::move(apis);
    http_ = std::make_unique<HttpClient>(transport_, session(), options);
  }
  return *http_;
}

std::string Context::resolve(const std::string& url) const {
  if (url.empty() || url.front() != '/') return url;
  std::string base = options_.issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + url;
}

int Context::fail(const std::string& what, const Error& error, Stage stage) const {
  // The error may carry the server's own words (error, error_description).
  std::cerr << "freshtoken-cli: " << escape_controls(what) << ": "
            << escape_controls(error.to_string()) << std::endl;
  if (error.code() == ErrorCode::login_required && stage == Stage::other) {
    std::cerr << "freshtoken-cli: sign in with `freshtoken-cli login`" << std::endl;
  }
  if (error.code() == ErrorCode::insufficient_scope) {
    // The API named the scope it wants (the server's words: escaped); a sign-in asking for it
    // besides the usual ones gets a token it accepts.
    const std::string wanted = error.oauth() ? error.oauth()->scope : std::string();
    if (wanted.empty()) {
      std::cerr << "freshtoken-cli: the API wants a scope the sign-in did not ask for" << std::endl;
    } else {
      std::cerr << "freshtoken-cli: the API wants the scope \"" << escape_controls(wanted)
                << "\"; sign in with `freshtoken-cli login --scope \""
                << escape_controls(options_.scope + " " + wanted) << "\"`" << std::endl;
    }
  }
  return exit_code_for(error, stage);
}

int run_login(Context& context, LoginFlow flow) {
  if (auto connected = context.connect(); !connected) {
    return context.fail("cannot reach " + context.options().issuer, connected.error());
  }
  const auto& server = *context.server();
  // Sign-in needs the metadata: fetched here, so that an unreachable server reads as such.
  if (auto metadata = server.metadata(); !metadata) {
    return context.fail("cannot reach " + context.options().issuer, metadata.error());
  }
  auto tokens = pick_flow(flow) == LoginFlow::device
                    ? sign_in_device(server, context.options().scope)
                    : sign_in_browser(server, context.options().scope);
  if (!tokens) return context.fail("sign-in failed", tokens.error(), Stage::signing_in);

  // The flow has verified the ID token already; this only reads who it names.
  std::string who;
  if (!tokens->id_token.empty()) {
    if (auto claims = IdTokenVerifier(server).verify(tokens->id_token)) {
      who = describe_user(claims->json);
    }
  }
  auto saved = context.session()->sign_in(std::move(*tokens));
  if (!saved) {
    return context.fail(
        "signed in, but the session could not be saved to " + context.store().describe(),
        saved.error());
  }
  std::cerr << "Signed in" << (who.empty() ? "" : " as " + who) << ". The session is kept in "
            << context.store().describe() << "." << std::endl;
  return exit_ok;
}

int run_status(Context& context) {
  const auto& options = context.options();
  // Read the store first: "nothing stored" and "the store failed" are different answers.
  auto stored = context.store().load(store_service, context.account());
  if (!stored && stored.error().code() == ErrorCode::not_found) {
    std::cout << "Not signed in to " << options.issuer << " as client " << options.client_id
              << ".\n";
    return exit_login_required;
  }
  if (!stored) return context.fail("cannot read " + context.store().describe(), stored.error());

  if (auto connected = context.connect(); !connected) {
    return context.fail("cannot reach " + options.issuer, connected.error());
  }
  auto& session = *context.session();
  // Who: from /userinfo, which also refreshes the access token when it has expired.
  std::string who = "(unknown)";
  auto metadata = context.server()->metadata();
  if (!metadata) return context.fail("cannot reach " + options.issuer, metadata.error());
  if (const auto& endpoint = metadata->userinfo_endpoint; endpoint.empty()) {
    who = "(unknown: the server has no userinfo endpoint)";
  } else if (auto response = context.http().get(endpoint); !response) {
    if (response.error().code() == ErrorCode::login_required) {
      return context.fail("the stored session is no longer valid", response.error());
    }
    return context.fail("cannot ask who is signed in", response.error());
  } else if (response->status != 200) {
    // e.g. a session without the openid scope; the rest of the report still holds.
    who = "(unknown: the userinfo endpoint answered HTTP " + std::to_string(response->status) + ")";
  } else if (auto user = describe_user(response->body); !user.empty()) {
    who = user;
  }

  auto status = session.status();
  if (!status) return context.fail("cannot read " + context.store().describe(), status.error());
  std::cout << "Issuer:         " << options.issuer << '\n'
            << "Client:         " << options.client_id << '\n'
            << "Signed in as:   " << who << '\n'
            << "Access token:   " << describe_expiry(status->access_token_expires_at) << '\n';
  // The tokens of other APIs (RFC 8707 resources) the same sign-in serves.
  for (const auto& target : status->targets) {
    std::cout << "API token:      " << target.target.resource
              << (target.target.scope.empty() ? "" : " (scope " + target.target.scope + ")") << ", "
              << describe_expiry(target.expires_at) << '\n';
  }
  std::cout << "Refresh token:  kept in " << context.store().describe() << '\n'
            << "DPoP key:       "
            << (status->dpop_thumbprint.empty() ? "none (Bearer tokens)"
                                                : "thumbprint " + status->dpop_thumbprint)
            << '\n'
            << std::flush;
  return exit_ok;
}

int run_request(Context& context, const RequestOptions& options) {
  if (auto connected = context.connect(); !connected) {
    return context.fail("cannot reach " + context.options().issuer, connected.error());
  }
  Request request;
  request.method = options.method;
  std::transform(request.method.begin(), request.method.end(), request.method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  request.url = context.resolve(options.url);
  for (const auto& line : options.headers) {
    auto header = split_header(line);
    if (!header) {
      std::cerr << "freshtoken-cli: a header must look like 'Name: value'" << std::endl;
      return exit_usage;
    }
    request.headers.add(header->first, header->second);
  }
  const bool may_have_body = request.method != "GET" && request.method != "HEAD" &&
                             request.method != "DELETE" && request.method != "OPTIONS";
  if (options.has_data) {
    request.body = options.data;
  } else if (may_have_body && !is_tty(Stream::in)) {
    request.body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  if (!request.body.empty() && !request.headers.contains("Content-Type")) {
    request.headers.set("Content-Type", options.content_type);
  }

  // The token of --resource/--scope goes to the URL's origin and nowhere else; without them,
  // the default token goes wherever the URL points, as before.
  std::vector<ProtectedApi> apis;
  if (options.target != TokenTarget{}) apis.push_back({origin_of(request.url), options.target});
  auto response = context.http(std::move(apis)).send(request);
  if (!response) return context.fail(request.method + " " + options.url, response.error());
  write_body(response->body);
  if (response->status >= 400) {
    std::cerr << "freshtoken-cli: " << request.method << " " << options.url << ": HTTP "
              << response->status << std::endl;
    return exit_http_error;
  }
  return exit_ok;
}

int run_token(Context& context, const TokenTarget& target) {
  if (auto connected = context.connect(); !connected) {
    return context.fail("cannot reach " + context.options().issuer, connected.error());
  }
  auto token = context.session()->token_for(target);
  if (!token) return context.fail("no access token", token.error());
  // The one place the CLI prints a token: on purpose, for other tools.
  std::cout << token->token.reveal() << std::endl;
  return exit_ok;
}

int run_logout(Context& context) {
  auto stored = context.store().load(store_service, context.account());
  if (!stored && stored.error().code() == ErrorCode::not_found) {
    std::cerr << "Not signed in; nothing to do." << std::endl;
    return exit_ok;
  }
  if (!stored) return context.fail("cannot read " + context.store().describe(), stored.error());

  if (auto connected = context.connect(); !connected) {
    // The server cannot revoke; forget the session here anyway.
    if (auto erased = context.store().erase(store_service, context.account()); !erased) {
      return context.fail("cannot erase the session from " + context.store().describe(),
                          erased.error());
    }
    std::cerr << "Signed out locally (erased from " << context.store().describe()
              << "), but the refresh token could not be revoked." << std::endl;
    return context.fail("cannot reach " + context.options().issuer, connected.error());
  }
  auto signed_out = context.session()->sign_out();
  if (!signed_out) {
    const auto code = signed_out.error().code();
    if (code == ErrorCode::storage || code == ErrorCode::storage_unavailable) {
      return context.fail("cannot erase the session from " + context.store().describe(),
                          signed_out.error());
    }
    std::cerr << "Signed out locally (erased from " << context.store().describe()
              << "), but revoking the refresh token failed." << std::endl;
    return context.fail("revocation failed", signed_out.error());
  }
  std::cerr << "Signed out: the refresh token was revoked and erased from "
            << context.store().describe() << "." << std::endl;
  return exit_ok;
}

}  // namespace freshtoken::cli
