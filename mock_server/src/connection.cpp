#include "connection.hpp"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <vector>

namespace freshtoken::mock::detail {
namespace {

int port_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  }
  return -1;
}

// Descriptors of connected sockets with this local port (and this peer port unless -1).
std::vector<int> connected_sockets(int local_port, int peer_port) {
  std::vector<int> found;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return found;
  while (const dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &length) != 0 ||
        port_of(local) != local_port) {
      continue;
    }
    sockaddr_storage peer{};
    length = sizeof peer;
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &length) != 0) {
      continue;  // the listening socket
    }
    if (peer_port == -1 || port_of(peer) == peer_port) found.push_back(static_cast<int>(fd));
  }
  closedir(dir);
  return found;
}

}  // namespace

ListenBacklog::ListenBacklog(httplib::Server& server) {
  server.set_socket_options([socket = socket_](socket_t sock) {
    httplib::default_socket_options(sock);
    *socket = static_cast<int>(sock);  // the last one seen is the one that bound
  });
}

void ListenBacklog::raise() const {
  if (*socket_ >= 0) ::listen(*socket_, SOMAXCONN);
}

void drop_connection(const httplib::Request& req) {
  if (req.ssl != nullptr) {
    const int fd = SSL_get_fd(req.ssl);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    return;
  }
  for (int fd : connected_sockets(req.local_port, req.remote_port)) ::shutdown(fd, SHUT_RDWR);
}

void shutdown_server_connections(int local_port) {
  for (int fd : connected_sockets(local_port, -1)) ::shutdown(fd, SHUT_RDWR);
}

void ConnectionPool::enqueue(std::function<void()> fn) {
  counter_.fetch_add(1, std::memory_order_relaxed);
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) {  // cannot happen with httplib 0.11; serve (and close) it here regardless
    lock.unlock();
    fn();
    return;
  }
  jobs_.push_back(std::move(fn));
  // Every queued job needs its own idle worker: a keep-alive connection holds one for long.
  if (jobs_.size() > idle_ && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { work(); });
  }
  wake_.notify_one();
}

void ConnectionPool::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (auto& t : threads) t.join();
}

void ConnectionPool::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ++idle_;
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    --idle_;
    if (jobs_.empty()) return;  // stopping, nothing left to serve
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace freshtoken::mock::detail
