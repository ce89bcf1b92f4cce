#include "freshtoken/error.hpp"

#include "freshtoken/logging.hpp"

namespace freshtoken {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::network:
      return "network";
    case ErrorCode::tls:
      return "tls";
    case ErrorCode::timeout:
      return "timeout";
    case ErrorCode::cancelled:
      return "cancelled";
    case ErrorCode::login_required:
      return "login_required";
    case ErrorCode::token_endpoint:
      return "token_endpoint";
    case ErrorCode::invalid_response:
      return "invalid_response";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::storage_unavailable:
      return "storage_unavailable";
    case ErrorCode::storage:
      return "storage";
    case ErrorCode::config:
      return "config";
    case ErrorCode::application:
      return "application";
    case ErrorCode::insufficient_scope:
      return "insufficient_scope";
  }
  return "unknown";
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string out(freshtoken::to_string(code_));
  out += ": ";
  out += message_;
  if (oauth_) {
    out += " (" + oauth_->error;
    if (!oauth_->description.empty()) out += ": " + oauth_->description;
    out += ")";
  }
  if (http_status_ != 0) out += " [HTTP " + std::to_string(http_status_) + "]";
  return out;
}

Exception::Exception(Error error)
    : std::runtime_error(error.to_string()), error_(std::move(error)) {}

}  // namespace freshtoken
