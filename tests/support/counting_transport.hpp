// A transport decorator that counts, and writes down the URL of, every request that reaches
// the transport it wraps.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "freshtoken/transport.hpp"

namespace freshtoken::testing {

class CountingTransport : public Transport {
 public:
  explicit CountingTransport(std::shared_ptr<Transport> inner) : inner_(std::move(inner)) {}
  Result<Response> send(const Request& request) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      urls_.push_back(request.url);
    }
    return inner_->send(request);
  }
  int sends() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(urls_.size());
  }
  // Requests whose URL contains `part`.
  int count_containing(const std::string& part) const {
    std::lock_guard<std::mutex> lock(mutex_);
    int n = 0;
    for (const auto& u : urls_) n += u.find(part) != std::string::npos;
    return n;
  }

 private:
  std::shared_ptr<Transport> inner_;
  mutable std::mutex mutex_;
  std::vector<std::string> urls_;
};

}  // namespace freshtoken::testing
