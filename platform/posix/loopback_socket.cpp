// sign_in/loopback_socket.hpp on POSIX systems: BSD sockets and poll().
#include "sign_in/loopback_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace freshtoken::detail::net {

namespace {

int fd_of(Socket socket) { return static_cast<int>(socket); }

}  // namespace

Result<Socket> listen_on_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error(ErrorCode::network,
                 std::string("loopback listener: socket() failed: ") + std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;  // the kernel picks a free port
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, SOMAXCONN) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    int saved = errno;
    ::close(fd);
    return Error(
        ErrorCode::network,
        std::string("loopback listener: cannot listen on 127.0.0.1: ") + std::strerror(saved));
  }
  port = ntohs(addr.sin_port);
  return Socket{fd};
}

Socket accept_connection(Socket listener) {
  int fd = ::accept4(fd_of(listener), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  return fd < 0 ? kNoSocket : Socket{fd};
}

std::ptrdiff_t receive_some(Socket socket, char* buffer, std::size_t size) {
  ssize_t n = ::recv(fd_of(socket), buffer, size, 0);
  if (n > 0) return n;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return kWouldBlock;
  return kBroken;
}

std::ptrdiff_t send_some(Socket socket, const char* data, std::size_t size) {
  ssize_t n = ::send(fd_of(socket), data, size, MSG_NOSIGNAL);
  if (n > 0) return n;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return kWouldBlock;
  return kBroken;
}

void shutdown_sending(Socket socket) { ::shutdown(fd_of(socket), SHUT_WR); }

void close_socket(Socket socket) { ::close(fd_of(socket)); }

Result<bool> wait_ready(std::vector<PollEntry>& entries, std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  fds.reserve(entries.size());
  for (const auto& e : entries) {
    fds.push_back({fd_of(e.socket), static_cast<short>(e.want_write ? POLLOUT : POLLIN), 0});
  }
  int ready = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  if (ready < 0) {
    if (errno == EINTR) return false;
    return Error(ErrorCode::network,
                 std::string("loopback listener: poll failed: ") + std::strerror(errno));
  }
  for (std::size_t i = 0; i < entries.size(); ++i) entries[i].ready = fds[i].revents != 0;
  return ready > 0;
}

}  // namespace freshtoken::detail::net
