// FakeTransport: a scripted Transport for unit tests. Queue responses (or errors) or install
// a handler; every request sent is recorded for inspection. Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "freshtoken/transport.hpp"

namespace freshtoken::testing {

inline Response json_response(int status, std::string body, Headers headers = {}) {
  Response r;
  r.status = status;
  r.headers = std::move(headers);
  if (!r.headers.contains("Content-Type")) r.headers.set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

class FakeTransport : public Transport {
 public:
  using Handler = std::function<Result<Response>(const Request&)>;

  // Answers requests in order with these, after the queue is empty with the handler.
  void enqueue(Result<Response> answer) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(answer));
  }
  void set_handler(Handler handler) {
    std::lock_guard<std::mutex> lock(mutex_);
    handler_ = std::move(handler);
  }

  Result<Response> send(const Request& request) override {
    Handler handler;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(request);
      if (!queue_.empty()) {
        auto answer = std::move(queue_.front());
        queue_.pop_front();
        return answer;
      }
      handler = handler_;
    }
    if (handler) return handler(request);
    return Error(ErrorCode::network, "FakeTransport has no answer for " + request.url);
  }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  std::size_t request_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::deque<Result<Response>> queue_;
  Handler handler_;
  std::vector<Request> requests_;
};

}  // namespace freshtoken::testing
