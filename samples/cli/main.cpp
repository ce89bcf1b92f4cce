// freshtoken-cli: calls OAuth-protected HTTP APIs from the command line, and shows how an
// application puts freshtoken together: discovery, sign-in (browser or device), a Session
// kept in the secret store, and an HttpClient that attaches and refreshes the token.
//
//   freshtoken-cli --issuer URL login [--device|--browser]
//   freshtoken-cli --issuer URL get /api/me
//   freshtoken-cli --issuer URL request POST /api/echo --data '{"a":1}'
//   freshtoken-cli --issuer URL get https://files.example/me --resource https://files.example/
//   freshtoken-cli --issuer URL status | token [--resource URI] [--scope S] | logout
//
// Exit codes: exit_codes.hpp. Manual: docs/cli.md.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "freshtoken/version.hpp"

namespace fc = freshtoken::cli;

namespace {

// --resource and --scope of get, request and token: which of the sign-in's tokens to use. This
// --scope is the token's; the global one (before the command) stays the sign-in's.
void add_target_options(CLI::App& command, freshtoken::TokenTarget& target) {
  command.add_option("--resource", target.resource,
                     "The API's resource indicator (RFC 8707): use its token");
  command.add_option("--scope", target.scope,
                     "Scopes of the token (a subset of those granted at login)");
}

}  // namespace

int main(int argc, char** argv) {
  fc::GlobalOptions globals;
  CLI::App app{
      "freshtoken-cli: call OAuth-protected HTTP APIs; the session is kept in the "
      "secret store and refreshed as needed."};
  app.require_subcommand(1);
  // CLI11 reads "/name" as an option on Windows by default; here "/api/me" is a path on the
  // issuer, everywhere. Set before the subcommands are added, which inherit it.
  app.allow_windows_style_options(false);
  app.set_version_flag("--version", "freshtoken-cli " FRESHTOKEN_VERSION_STRING);
  // Global options are accepted after the command too ("get /api/me -v").
  app.fallthrough();
  app.add_option("--issuer", globals.issuer, "Authorization server (issuer URL)")
      ->envname("FRESHTOKEN_ISSUER");
  app.add_option("--client-id", globals.client_id, "OAuth client id")
      ->envname("FRESHTOKEN_CLIENT_ID")
      ->capture_default_str();
  app.add_option("--scope", globals.scope, "Scopes asked for at sign-in")->capture_default_str();
  const std::string store_choices = std::string(fc::system_store) + "|file:PATH|memory";
  app.add_option("--store", globals.store, "Where the session is kept: " + store_choices)
      ->envname("FRESHTOKEN_STORE")
      ->check(CLI::Validator(fc::check_store_spec, store_choices))
      ->capture_default_str();
  app.add_option("--ca-file", globals.ca_file, "Extra CA bundle (PEM) to trust")
      ->check(CLI::ExistingFile);
  app.add_flag("--dpop", globals.dpop,
               "Bind the tokens to a key kept with the session (DPoP, RFC 9449); the server "
               "must support it");
  app.add_flag("-v,--verbose", globals.verbose,
               "Log what the SDK does (requests, refreshes, rotations; fingerprints only)");

  auto* login = app.add_subcommand("login", "Sign in (default: browser when there is a display)");
  auto* device = login->add_flag("--device", "Device flow: show a code to enter elsewhere");
  auto* browser =
      login->add_flag("--browser", "Browser flow: open $BROWSER, else the system browser");
  device->excludes(browser);

  app.add_subcommand("status",
                     "Who is signed in, when the access token expires, where the "
                     "session is kept");

  fc::RequestOptions request;
  auto* get = app.add_subcommand("get", "GET a URL (or a path on the issuer) and print the body");
  get->add_option("url", request.url, "URL, or a path such as /api/me")->required();
  get->add_option("-H,--header", request.headers, "Extra header 'Name: value'");
  add_target_options(*get, request.target);

  auto* send =
      app.add_subcommand("request", "Send METHOD URL; the body comes from --data or stdin");
  send->add_option("method", request.method, "HTTP method")->required();
  send->add_option("url", request.url, "URL, or a path such as /api/echo")->required();
  auto* data = send->add_option("-d,--data", request.data, "Request body (else stdin, if piped)");
  send->add_option("-H,--header", request.headers, "Extra header 'Name: value'");
  send->add_option("--content-type", request.content_type, "Content-Type of the body")
      ->capture_default_str();
  add_target_options(*send, request.target);

  auto* token = app.add_subcommand("token", "Print a fresh access token (for other tools)");
  freshtoken::TokenTarget token_target;
  add_target_options(*token, token_target);
  app.add_subcommand("logout", "Revoke the refresh token and erase the session");

  try {
    app.parse(argc, argv);
    if (globals.issuer.empty()) throw CLI::RequiredError("--issuer (or FRESHTOKEN_ISSUER)");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? fc::exit_ok : fc::exit_usage;
  }
  request.has_data = data->count() > 0;

  fc::Context context(globals);
  if (login->parsed()) {
    auto flow = device->count() > 0    ? fc::LoginFlow::device
                : browser->count() > 0 ? fc::LoginFlow::browser
                                       : fc::LoginFlow::automatic;
    return fc::run_login(context, flow);
  }
  if (app.got_subcommand("status")) return fc::run_status(context);
  if (get->parsed() || send->parsed()) return fc::run_request(context, request);
  if (token->parsed()) return fc::run_token(context, token_target);
  if (app.got_subcommand("logout")) return fc::run_logout(context);
  return fc::exit_usage;
}
