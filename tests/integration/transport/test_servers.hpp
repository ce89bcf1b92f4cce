// Servers for the transport tests: a cpp-httplib server (plain or TLS) that records which
// client connections it saw, a raw socket server for what httplib cannot do (custom methods,
// interim responses, stalling), and a throwaway CA with server certificates.
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace freshtoken::testing {

// An httplib server on 127.0.0.1, an ephemeral port, with enough workers for keep-alive
// connections from many client threads, and no per-connection request limit.
class TestHttpServer {
 public:
  // Empty cert/key: plain HTTP.
  explicit TestHttpServer(const std::string& cert_path = {}, const std::string& key_path = {});
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  // Register routes before start().
  httplib::Server& server() { return *server_; }
  void start();

  int port() const { return port_; }
  std::string url(const std::string& path) const;
  // Distinct client connections (remote address and port) that sent at least one request.
  std::size_t connections_seen() const;
  // Forgets the connections seen so far.
  void reset_connections();

 private:
  std::unique_ptr<httplib::Server> server_;
  bool tls_ = false;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::set<std::pair<std::string, int>> connections_;
};

// A raw TCP server on 127.0.0.1: each accepted connection is handed to `handler` on its own
// thread. Handlers should return soon after `stopping` turns true.
class RawServer {
 public:
  using Handler = std::function<void(int fd, const std::atomic<bool>& stopping)>;
  explicit RawServer(Handler handler);
  ~RawServer();
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path) const;

  // Reads up to and including the blank line that ends a request head.
  static std::string read_head(int fd);
  // The same, giving up (empty) when `stopping` turns true while the peer is silent.
  static std::string read_head(int fd, const std::atomic<bool>& stopping);
  // Receives what has arrived into buffer[size, capacity) and grows `size`, waiting up to
  // 20 ms (handlers that keep requests on their stack use it). False when the handler should
  // end: the connection closed, or nothing arrived and the server is stopping.
  static bool receive_some(int fd, char* buffer, std::size_t capacity, std::size_t& size,
                           const std::atomic<bool>& stopping);
  static void write_all(int fd, const std::string& data);

 private:
  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;
};

// A port on 127.0.0.1 that nothing listens on (bound once, then released).
int unused_port();

// A throwaway certificate authority and two server certificates it signed, as PEM files in a
// temporary directory removed on destruction.
class TestPki {
 public:
  TestPki();
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& ca_file() const { return ca_file_; }
  // For localhost and 127.0.0.1.
  const std::string& server_cert() const { return server_cert_; }
  const std::string& server_key() const { return server_key_; }
  // For other.example only: a wrong name for 127.0.0.1.
  const std::string& other_cert() const { return other_cert_; }
  const std::string& other_key() const { return other_key_; }

 private:
  std::string dir_;
  std::string ca_file_, server_cert_, server_key_, other_cert_, other_key_;
};

}  // namespace freshtoken::testing
