// Connection-level tricks the mock server needs and cpp-httplib 0.11 does not offer
// (internal): finding the socket of the request being handled (to drop it without an
// answer), closing every open server-side connection on stop, and counting accepted
// connections through the task queue (httplib enqueues one task per accepted connection).
#pragma once

#include <atomic>
#include <functional>

#include <httplib.h>

namespace freshtoken::mock::detail {

// Shuts down (without closing: httplib still owns the descriptor) the connection that
// carries `req`, so that nothing more reaches the client. No-op when it cannot be found.
void drop_connection(const httplib::Request& req);

// Shuts down every accepted connection whose local port is `local_port`.
void shutdown_server_connections(int local_port);

// A fixed thread pool that counts the connections handed to it.
class CountingThreadPool : public httplib::TaskQueue {
 public:
  CountingThreadPool(std::size_t threads, std::atomic<long>& counter)
      : pool_(threads), counter_(counter) {}
  void enqueue(std::function<void()> fn) override {
    counter_.fetch_add(1, std::memory_order_relaxed);
    pool_.enqueue(std::move(fn));
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  std::atomic<long>& counter_;
};

}  // namespace freshtoken::mock::detail
