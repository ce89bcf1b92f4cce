// Connection-level workarounds the mock server needs and cpp-httplib 0.11 (Debian 12's) does
// not offer (internal); this file is the only place that touches httplib's sockets.
// - A wider listen backlog: httplib listens with a backlog of 5 and has no setting for it.
// - Dropping a request's connection without an answer (the drop faults), and closing every
//   server-side connection on stop (idle keep-alive connections would otherwise hold their
//   worker threads for the keep-alive timeout). httplib 0.11 hands a handler no descriptor
//   for plain HTTP and keeps accepted sockets to itself, so these find the sockets by their
//   ports among the process's descriptors (/proc/self/fd). Newer httplib versions offer
//   neither either; a server with its own accept loop would be the way out of this.
// - Counting accepted connections through the task queue (httplib enqueues one task per
//   accepted connection).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

namespace freshtoken::mock::detail {

// Notes `server`'s listening socket as httplib creates it (through its public socket-options
// hook, keeping httplib's default options), so that raise() can listen on it again with
// SOMAXCONN once bound.
class ListenBacklog {
 public:
  explicit ListenBacklog(httplib::Server& server);
  // Call after binding; no-op when the socket was not seen.
  void raise() const;

 private:
  std::shared_ptr<int> socket_ = std::make_shared<int>(-1);
};

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
