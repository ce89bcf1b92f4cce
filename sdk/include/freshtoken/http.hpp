// Request, Response and Headers: plain values that travel through a Transport.
//
// Header names compare case-insensitively and keep their order and original spelling.
// Thread safety: plain values; copy them to share across threads.
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

class FRESHTOKEN_API Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  Headers() = default;
  Headers(std::initializer_list<Field> fields);

  // Appends a field, keeping any others of the same name.
  void add(std::string name, std::string value);
  // Replaces every field of that name with one.
  void set(std::string name, std::string value);
  void remove(std::string_view name);
  bool contains(std::string_view name) const;
  // The first value of that name.
  std::optional<std::string> get(std::string_view name) const;
  std::vector<std::string> get_all(std::string_view name) const;

  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

FRESHTOKEN_API bool iequals(std::string_view a, std::string_view b);

// A copyable handle on a shared "cancelled" flag. Cancelling any copy cancels them all.
class CancelToken {
 public:
  CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void cancel() const { flag_->store(true); }
  bool cancelled() const { return flag_->load(); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

// Supplies a streamed request body: fills up to `capacity` bytes into `buffer` and returns
// how many it wrote, 0 at the end. A streamed body cannot be replayed, so a request that
// uses one is never retried.
using BodySource = std::function<std::size_t(char* buffer, std::size_t capacity)>;

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  BodySource body_stream;  // when set, used instead of `body`
  // Total time allowed for the exchange; zero means the transport's default.
  std::chrono::milliseconds timeout{0};
  CancelToken cancel;

  bool body_replayable() const { return !body_stream; }
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;
};

}  // namespace freshtoken
