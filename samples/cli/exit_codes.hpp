// The exit codes of freshtoken-cli (docs/cli.md) and the one mapping from an
// SDK Error to them. "Impossible requests" are usage errors too: ErrorCode::config (e.g. a
// bearer token over plain http to a remote host) and a server refusing the scope or client id.
#pragma once

#include "freshtoken/error.hpp"

namespace freshtoken::cli {

enum ExitCode : int {
  exit_ok = 0,
  exit_http_error = 1,      // the server answered with a 4xx/5xx status
  exit_usage = 2,           // bad command line, or an impossible request (see above)
  exit_login_required = 3,  // not signed in, the session was rejected, or sign-in failed
  exit_server = 4,          // network, TLS, timeout, or an authorization server failure
  exit_store = 5,           // the secret store could not be read or written
  exit_interrupted = 130,   // cancelled (Ctrl-C)
};

// Where the error happened: while signing in, waiting too long (device code expired, browser
// never came back) means "still not signed in" rather than a server failure.
enum class Stage { signing_in, other };

int exit_code_for(const Error& error, Stage stage = Stage::other);

}  // namespace freshtoken::cli
