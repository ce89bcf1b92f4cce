// A minimal blocking HTTP client on plain sockets, for poking the loopback listener.
#pragma once

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#endif

#include <cstdint>
#include <string>

namespace freshtoken::testing {

// A file descriptor, or a SOCKET on Windows; negative when there is none.
using ClientSocket = std::intptr_t;

inline void close_socket(ClientSocket socket) {
#ifdef _WIN32
  ::closesocket(static_cast<SOCKET>(socket));
#else
  ::close(static_cast<int>(socket));
#endif
}

// A connected socket to 127.0.0.1:port with 10 s send/receive timeouts, or -1.
inline ClientSocket connect_loopback(std::uint16_t port) {
#ifdef _WIN32
  static const bool started = [] {
    WSADATA data{};
    return ::WSAStartup(MAKEWORD(2, 2), &data) == 0;
  }();
  if (!started) return -1;
  SOCKET s = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (s == INVALID_SOCKET) return -1;
  auto socket = static_cast<ClientSocket>(s);
  DWORD timeout_ms = 10'000;
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, reinterpret_cast<const char*>(&timeout_ms),
               sizeof timeout_ms);
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, reinterpret_cast<const char*>(&timeout_ms),
               sizeof timeout_ms);
#else
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  auto socket = static_cast<ClientSocket>(fd);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
#endif
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(socket, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close_socket(socket);
    return -1;
  }
  return socket;
}

inline bool send_text(ClientSocket socket, const std::string& text) {
#ifdef _WIN32
  constexpr int kNoSignal = 0;
#else
  constexpr int kNoSignal = MSG_NOSIGNAL;
#endif
  std::size_t sent = 0;
  while (sent < text.size()) {
    auto n = ::send(socket, text.data() + sent, static_cast<int>(text.size() - sent), kNoSignal);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Everything the peer sends until it closes (or the timeout).
inline std::string read_all(ClientSocket socket) {
  std::string out;
  char buffer[4096];
  for (;;) {
    auto n = ::recv(socket, buffer, static_cast<int>(sizeof(buffer)), 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

// Sends `raw` and returns the whole answer; "" when the connection could not be made.
inline std::string send_raw(std::uint16_t port, const std::string& raw) {
  ClientSocket socket = connect_loopback(port);
  if (socket < 0) return "";
  send_text(socket, raw);
  std::string answer = read_all(socket);
  close_socket(socket);
  return answer;
}

inline std::string get(std::uint16_t port, const std::string& target) {
  return send_raw(port,
                  "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n");
}

}  // namespace freshtoken::testing
