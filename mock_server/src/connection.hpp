// Connection-level tricks the mock server needs and cpp-httplib 0.11 does not offer
// (internal): finding the socket of the request being handled (to drop it without an
// answer), closing every open server-side connection on stop, and counting accepted
// connections through the task queue (httplib enqueues one task per accepted connection).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

namespace freshtoken::mock::detail {

// Shuts down (without closing: httplib still owns the descriptor) the connection that
// carries `req`, so that nothing more reaches the client. No-op when it cannot be found.
void drop_connection(const httplib::Request& req);

// Shuts down every accepted connection whose local port is `local_port`.
void shutdown_server_connections(int local_port);

// A thread pool that grows on demand up to `max_threads` and counts the connections handed
// to it. httplib's own pool starts every thread up front, which makes each in-process server
// (one per test) pay for ~100 thread starts; here a thread starts only when a connection
// finds no idle one, and then stays for the server's lifetime.
class ConnectionPool : public httplib::TaskQueue {
 public:
  ConnectionPool(std::size_t max_threads, std::atomic<long>& counter)
      : max_threads_(max_threads), counter_(counter) {}
  ~ConnectionPool() override { shutdown(); }
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  void work();

  const std::size_t max_threads_;
  std::atomic<long>& counter_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace freshtoken::mock::detail
