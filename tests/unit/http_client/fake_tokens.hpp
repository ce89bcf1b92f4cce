// FakeTokens: a scripted TokenSource for HttpClient tests. Tokens are "<prefix><generation>";
// invalidate() of the current token moves to the next generation, of an older one does nothing
// (it was already replaced). Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "freshtoken/http.hpp"
#include "freshtoken/token_source.hpp"

namespace freshtoken::testing {

class FakeTokens : public TokenSource {
 public:
  explicit FakeTokens(std::string prefix = "token-") : prefix_(std::move(prefix)) {}

  Result<Secret> token() override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++token_calls_;
    if (error_) return *error_;
    return Secret(current_locked());
  }

  void invalidate(const Secret& rejected) override {
    std::lock_guard<std::mutex> lock(mutex_);
    invalidated_.emplace_back(rejected.reveal());
    if (rejected.reveal() == current_locked()) ++generation_;
  }

  // Another thread refreshed: the current token changes without an invalidate().
  void replace() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
  }
  void fail_with(Error error) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::move(error);
  }

  std::string current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_locked();
  }
  std::string token_n(int generation) const { return prefix_ + std::to_string(generation); }
  int token_calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return token_calls_;
  }
  std::vector<std::string> invalidated() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return invalidated_;
  }

 private:
  std::string current_locked() const { return prefix_ + std::to_string(generation_); }

  mutable std::mutex mutex_;
  std::string prefix_;
  int generation_ = 1;
  int token_calls_ = 0;
  std::optional<Error> error_;
  std::vector<std::string> invalidated_;
};

inline Response response(int status, Headers headers = {}, std::string body = {}) {
  Response r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

inline std::string bearer(const std::string& token) { return "Bearer " + token; }

}  // namespace freshtoken::testing
