#include "exit_codes.hpp"

namespace freshtoken::cli {

int exit_code_for(const Error& error, Stage stage) {
  switch (error.code()) {
    case ErrorCode::login_required:
      return exit_login_required;
    case ErrorCode::not_found:
    case ErrorCode::storage_unavailable:
    case ErrorCode::storage:
      return exit_store;
    case ErrorCode::config:
      return exit_usage;
    case ErrorCode::cancelled:
      return exit_interrupted;
    case ErrorCode::timeout:
      return stage == Stage::signing_in ? exit_login_required : exit_server;
    case ErrorCode::token_endpoint:
      // The server says the command line asked for something impossible.
      for (const char* oauth :
           {"invalid_scope", "invalid_target", "invalid_client", "unauthorized_client"}) {
        if (error.is_oauth(oauth)) return exit_usage;
      }
      return exit_server;
    case ErrorCode::insufficient_scope:
      // The API wants more consent: a sign-in asking for the scope helps.
      return exit_login_required;
    case ErrorCode::network:
    case ErrorCode::tls:
    case ErrorCode::invalid_response:
    case ErrorCode::application:
      return exit_server;
  }
  return exit_server;
}

}  // namespace freshtoken::cli
