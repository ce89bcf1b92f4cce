// Error and Result<T>: the one error model of the whole SDK.
//
// Every fallible call returns Result<T>. A Result holds either a value or an Error; test it
// with `if (result)` and read `result.error()`, or call `value()`, which throws
// freshtoken::Exception for callers who prefer exceptions. An Error's message never
// contains a secret (tokens, codes, client secrets, passwords): messages name what went
// wrong and, where a secret is involved, its fingerprint at most.
//
// Thread safety: plain values; distinct objects may be used from distinct threads.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "freshtoken/export.hpp"

namespace freshtoken {

enum class ErrorCode {
  network,              // DNS, connect, reset, dropped connection
  tls,                  // certificate verification, handshake, an https -> http redirect
  timeout,              // connect or total timeout elapsed
  cancelled,            // the caller cancelled
  login_required,       // only a new interactive sign-in can help
  token_endpoint,       // the authorization server answered with an OAuth error (see oauth())
  invalid_response,     // a server sent something that is not what the protocol says
  not_found,            // a secret store has no such secret
  storage_unavailable,  // a secret store is locked, or its service is not running
  storage,              // any other secret-store failure
  config,               // something impossible asked, e.g. a bearer token over plain http
};

FRESHTOKEN_API std::string_view to_string(ErrorCode code);

// The error fields of RFC 6749 §5.2 (and RFC 6750 §3, RFC 8628 §3.5) as the server sent them.
struct OAuthError {
  std::string error;        // e.g. "invalid_grant"
  std::string description;  // error_description, may be empty
  std::string uri;          // error_uri, may be empty
};

class FRESHTOKEN_API Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // The OAuth error when the server sent one.
  const std::optional<OAuthError>& oauth() const { return oauth_; }
  Error& with_oauth(OAuthError oauth) {
    oauth_ = std::move(oauth);
    return *this;
  }
  // True when the server sent this OAuth error code.
  bool is_oauth(std::string_view error) const { return oauth_ && oauth_->error == error; }

  // The HTTP status that carried the error, 0 when there was none.
  int http_status() const { return http_status_; }
  Error& with_http_status(int status) {
    http_status_ = status;
    return *this;
  }

  // How long the server asked us to wait (Retry-After), when it did.
  const std::optional<std::chrono::milliseconds>& retry_after() const { return retry_after_; }
  Error& with_retry_after(std::chrono::milliseconds delay) {
    retry_after_ = delay;
    return *this;
  }

  // "token_endpoint: refresh failed (invalid_grant: token revoked) [HTTP 400]"
  std::string to_string() const;

 private:
  ErrorCode code_;
  std::string message_;
  std::optional<OAuthError> oauth_;
  int http_status_ = 0;
  std::optional<std::chrono::milliseconds> retry_after_;
};

// Thrown by Result<T>::value() when the Result holds an Error.
class FRESHTOKEN_API Exception : public std::runtime_error {
 public:
  explicit Exception(Error error);
  const Error& error() const { return error_; }

 private:
  Error error_;
};

template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<T, Error>, "Result<Error> is meaningless");

 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    throw_if_error();
    return std::get<0>(state_);
  }
  const T& value() const& {
    throw_if_error();
    return std::get<0>(state_);
  }
  T&& value() && {
    throw_if_error();
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // Precondition: !has_value().
  const Error& error() const { return std::get<1>(state_); }

 private:
  void throw_if_error() const {
    if (!has_value()) throw Exception(std::get<1>(state_));
  }
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit

  bool has_value() const { return !error_; }
  explicit operator bool() const { return has_value(); }
  void value() const {
    if (error_) throw Exception(*error_);
  }
  // Precondition: !has_value().
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace freshtoken
