/// @file
/// Error and Result<T>: the one error model of the whole SDK.
///
/// Every fallible call returns Result<T>. A Result holds either a value or an Error; test it
/// with `if (result)` and read `result.error()`, or call `value()`, which throws
/// freshtoken::Exception for callers who prefer exceptions. An Error's message never
/// contains a secret (tokens, codes, client secrets, passwords): messages name what went
/// wrong and, where a secret is involved, its fingerprint at most.
///
/// Thread safety: plain values; distinct objects may be used from distinct threads.
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

/// The class of an Error: what went wrong, and so what the application can do about it.
enum class ErrorCode {
  network,              ///< DNS, connect, reset, dropped connection
  tls,                  ///< certificate verification, handshake, an https -> http redirect
  timeout,              ///< connect or total timeout elapsed
  cancelled,            ///< the caller cancelled
  login_required,       ///< only a new interactive sign-in can help
  token_endpoint,       ///< the authorization server answered with an OAuth error (see oauth())
  invalid_response,     ///< a server sent something that is not what the protocol says
  not_found,            ///< a secret store has no such secret
  storage_unavailable,  ///< a secret store is locked, or its service is not running
  storage,              ///< any other secret-store failure
  config,               ///< something impossible asked, e.g. a bearer token over plain http
  application,          ///< code the application plugged in (a Transport, TokenSource) threw
  /// An API refused the token for lacking scope (RFC 6750 §3.1 insufficient_scope, a 403):
  /// oauth()->scope names what the API wants; a sign-in that asks for it (step-up) helps.
  insufficient_scope,
};

/// The code's name, e.g. "login_required".
FRESHTOKEN_API std::string_view to_string(ErrorCode code);

/// The error fields of RFC 6749 §5.2 (and RFC 6750 §3, RFC 8628 §3.5) as the server sent them.
struct OAuthError {
  std::string error;        ///< e.g. "invalid_grant"
  std::string description;  ///< error_description, may be empty
  std::string uri;          ///< error_uri, may be empty
  /// The scope a resource server's challenge names (RFC 6750 §3: for insufficient_scope, the
  /// scope the request needs); empty otherwise.
  std::string scope;
};

/// What went wrong: a code, a message without secrets, and the server's OAuth error,
/// HTTP status and Retry-After when there were any.
class FRESHTOKEN_API Error {
 public:
  /// An error of class `code`; `message` must not contain a secret.
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  /// The class of the error.
  ErrorCode code() const { return code_; }
  /// What went wrong, for logs and diagnostics; never contains a secret.
  const std::string& message() const { return message_; }

  /// The OAuth error when the server sent one.
  const std::optional<OAuthError>& oauth() const { return oauth_; }
  /// Attaches the server's OAuth error; returns `*this` for chaining.
  Error& with_oauth(OAuthError oauth) {
    oauth_ = std::move(oauth);
    return *this;
  }
  /// True when the server sent this OAuth error code.
  bool is_oauth(std::string_view error) const { return oauth_ && oauth_->error == error; }

  /// The HTTP status that carried the error, 0 when there was none.
  int http_status() const { return http_status_; }
  /// Attaches the HTTP status; returns `*this` for chaining.
  Error& with_http_status(int status) {
    http_status_ = status;
    return *this;
  }

  /// How long the server asked us to wait (Retry-After), when it did.
  const std::optional<std::chrono::milliseconds>& retry_after() const { return retry_after_; }
  /// Attaches the server's Retry-After; returns `*this` for chaining.
  Error& with_retry_after(std::chrono::milliseconds delay) {
    retry_after_ = delay;
    return *this;
  }

  /// "token_endpoint: refresh failed (invalid_grant: token revoked) [HTTP 400]"
  std::string to_string() const;

 private:
  ErrorCode code_;
  std::string message_;
  std::optional<OAuthError> oauth_;
  int http_status_ = 0;
  std::optional<std::chrono::milliseconds> retry_after_;
};

/// Thrown by Result<T>::value() when the Result holds an Error.
/// @brief The exception Result::value() throws; what() is Error::to_string().
class FRESHTOKEN_API Exception : public std::runtime_error {
 public:
  /// Wraps `error`.
  explicit Exception(Error error);
  /// The error the Result held.
  const Error& error() const { return error_; }

 private:
  Error error_;
};

/// Either a value of type T or an Error: what every fallible SDK call returns.
///
/// Test it with `if (result)`, then use `*result` / `result->` or `result.error()`;
/// value() (and `*`, `->`) throw freshtoken::Exception when it holds an Error.
/// @tparam T the value type (not Error).
template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<T, Error>, "Result<Error> is meaningless");

 public:
  /// A successful result.
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  /// A failed result.
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  /// True when it holds a value.
  bool has_value() const { return state_.index() == 0; }
  /// Same as has_value().
  explicit operator bool() const { return has_value(); }

  /// The value; throws freshtoken::Exception when the Result holds an Error.
  T& value() & {
    throw_if_error();
    return std::get<0>(state_);
  }
  /// The value; throws freshtoken::Exception when the Result holds an Error.
  const T& value() const& {
    throw_if_error();
    return std::get<0>(state_);
  }
  /// Moves the value out; throws freshtoken::Exception when the Result holds an Error.
  T&& value() && {
    throw_if_error();
    return std::get<0>(std::move(state_));
  }
  /// Same as value().
  T& operator*() & { return value(); }
  /// Same as value().
  const T& operator*() const& { return value(); }
  /// Member access to the value; throws like value().
  T* operator->() { return &value(); }
  /// Member access to the value; throws like value().
  const T* operator->() const { return &value(); }

  /// The value, or `fallback` when the Result holds an Error (which is then dropped unseen:
  /// use it where a default is as good as knowing what failed).
  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
  }
  /// The value moved out, or `fallback` when the Result holds an Error.
  template <class U>
  T value_or(U&& fallback) && {
    return has_value() ? std::get<0>(std::move(state_)) : static_cast<T>(std::forward<U>(fallback));
  }

  /// Precondition: !has_value().
  const Error& error() const { return std::get<1>(state_); }

 private:
  void throw_if_error() const {
    if (!has_value()) throw Exception(std::get<1>(state_));
  }
  std::variant<T, Error> state_;
};

template <>
/// The Result of an operation that returns nothing on success: success, or an Error.
class [[nodiscard]] Result<void> {
 public:
  /// Success.
  Result() = default;
  /// A failed result.
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit

  /// True on success.
  bool has_value() const { return !error_; }
  /// Same as has_value().
  explicit operator bool() const { return has_value(); }
  /// Throws freshtoken::Exception when the Result holds an Error; does nothing otherwise.
  void value() const {
    if (error_) throw Exception(*error_);
  }
  /// Precondition: !has_value().
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace freshtoken
