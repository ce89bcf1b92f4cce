/// @file
/// Request, Response and Headers: plain values that travel through a Transport.
///
/// Header names compare case-insensitively and keep their order and original spelling.
/// Thread safety: plain values; copy them to share across threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "freshtoken/export.hpp"

namespace freshtoken {

/// HTTP header fields in order, with case-insensitive names.
class FRESHTOKEN_API Headers {
 public:
  /// One field: name and value.
  using Field = std::pair<std::string, std::string>;

  /// No fields.
  Headers() = default;
  /// The given fields, in order (same-name fields are all kept).
  Headers(std::initializer_list<Field> fields);
  /// The given fields, in order, taken over without copying.
  explicit Headers(std::vector<Field> fields) : fields_(std::move(fields)) {}

  /// Appends a field, keeping any others of the same name.
  void add(std::string name, std::string value);
  /// Replaces every field of that name with one.
  void set(std::string name, std::string value);
  /// Removes every field of that name. Their values are zeroed first: header values are
  /// often credentials (Authorization, Cookie), and a removed one must not linger in memory.
  void remove(std::string_view name);
  /// True when a field of that name exists.
  bool contains(std::string_view name) const;
  /// The first value of that name.
  std::optional<std::string> get(std::string_view name) const;
  /// Every value of that name, in order.
  std::vector<std::string> get_all(std::string_view name) const;

  /// The number of fields.
  std::size_t size() const { return fields_.size(); }
  /// True when there are no fields.
  bool empty() const { return fields_.empty(); }
  /// The first field, for iteration in order.
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  /// Past the last field.
  std::vector<Field>::const_iterator end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

/// ASCII case-insensitive comparison, as for header names.
FRESHTOKEN_API bool iequals(std::string_view a, std::string_view b);

/// A copyable handle on a shared "cancelled" flag. Cancelling any copy cancels them all.
class CancelToken {
 public:
  /// A new, not cancelled flag.
  CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  /// Cancels this token and every copy of it.
  void cancel() const {
    if (flag_) flag_->store(true);
  }
  /// True once any copy has been cancelled.
  bool cancelled() const { return flag_ && flag_->load(); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

/// Supplies a streamed request body: fills up to `capacity` bytes into `buffer` and returns
/// how many it wrote, 0 at the end. A streamed body cannot be replayed, so a request that
/// uses one is never retried.
using BodySource = std::function<std::size_t(char* buffer, std::size_t capacity)>;

/// One HTTP request. HttpClient never modifies the caller's Request.
struct Request {
  /// A GET with no URL yet.
  Request() = default;
  /// A request of `request_method` ("GET", "POST", ...) to `request_url`; the rest as above.
  Request(std::string request_method, std::string request_url)
      : method(std::move(request_method)), url(std::move(request_url)) {}

  /// The HTTP method.
  std::string method = "GET";
  /// The absolute http:// or https:// URL.
  std::string url;
  /// Request header fields; HttpClient adds Authorization per attempt.
  Headers headers;
  /// The request body (replayable, so it may be resent after a 401).
  std::string body;
  BodySource body_stream;  ///< when set, used instead of `body`
  /// Total time allowed for the exchange; zero means the transport's default.
  std::chrono::milliseconds timeout{0};
  /// Cancelling it aborts the exchange with ErrorCode::cancelled.
  CancelToken cancel;
  /// A limit on the response body for this request, in bytes, below the transport's own
  /// (TransportOptions::max_response_bytes, which always applies); zero means only the
  /// transport's. A longer body ends the exchange with ErrorCode::invalid_response. The
  /// AuthorizationServer sets 1 MiB for its requests.
  std::size_t max_response_bytes = 0;

  /// False when the body is streamed: such a request is never resent.
  bool body_replayable() const { return !body_stream; }
};

/// One HTTP response; a 4xx or 5xx status is a Response, not an Error.
struct Response {
  int status = 0;
  Headers headers;
  std::string body;  ///< as received
};

}  // namespace freshtoken
