// sign_in/loopback_socket.hpp on Windows: Winsock 2 and WSAPoll().
#include <winsock2.h>
#include <ws2tcpip.h>

#include <string>

#include "sign_in/loopback_socket.hpp"

namespace freshtoken::detail::net {

namespace {

SOCKET handle_of(Socket socket) { return static_cast<SOCKET>(socket); }

std::string winsock_error(int code) { return "Winsock error " + std::to_string(code); }

// Winsock is started once per process and left running: applications and other libraries may
// use it too, and WSACleanup at exit would race with them.
bool winsock_started() {
  static const bool started = [] {
    WSADATA data{};
    return WSAStartup(MAKEWORD(2, 2), &data) == 0;
  }();
  return started;
}

bool set_non_blocking(SOCKET s) {
  u_long on = 1;
  return ioctlsocket(s, FIONBIO, &on) == 0;
}

}  // namespace

Result<Socket> listen_on_loopback(std::uint16_t& port) {
  if (!winsock_started()) {
    return Error(ErrorCode::network, "loopback listener: Winsock cannot be started");
  }
  SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET) {
    return Error(ErrorCode::network,
                 "loopback listener: socket() failed: " + winsock_error(WSAGetLastError()));
  }
  // No other socket may bind the same port while this one listens (Windows would otherwise let
  // a process with SO_REUSEADDR take over the redirect).
  BOOL exclusive = TRUE;
  setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&exclusive),
             sizeof exclusive);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;  // the system picks a free port
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int length = sizeof(addr);
  if (!set_non_blocking(s) || bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(s, SOMAXCONN) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    int saved = WSAGetLastError();
    closesocket(s);
    return Error(ErrorCode::network,
                 "loopback listener: cannot listen on 127.0.0.1: " + winsock_error(saved));
  }
  port = ntohs(addr.sin_port);
  return static_cast<Socket>(s);
}

Socket accept_connection(Socket listener) {
  SOCKET s = accept(handle_of(listener), nullptr, nullptr);
  if (s == INVALID_SOCKET) return kNoSocket;
  if (!set_non_blocking(s)) {
    closesocket(s);
    return kNoSocket;
  }
  return static_cast<Socket>(s);
}

std::ptrdiff_t receive_some(Socket socket, char* buffer, std::size_t size) {
  int n = recv(handle_of(socket), buffer, static_cast<int>(size), 0);
  if (n > 0) return n;
  if (n == SOCKET_ERROR && WSAGetLastError() == WSAEWOULDBLOCK) return kWouldBlock;
  return kBroken;
}

std::ptrdiff_t send_some(Socket socket, const char* data, std::size_t size) {
  int n = send(handle_of(socket), data, static_cast<int>(size), 0);
  if (n > 0) return n;
  if (n == SOCKET_ERROR && WSAGetLastError() == WSAEWOULDBLOCK) return kWouldBlock;
  return kBroken;
}

void shutdown_sending(Socket socket) { shutdown(handle_of(socket), SD_SEND); }

void close_socket(Socket socket) { closesocket(handle_of(socket)); }

Result<bool> wait_ready(std::vector<PollEntry>& entries, std::chrono::milliseconds timeout) {
  std::vector<WSAPOLLFD> fds;
  fds.reserve(entries.size());
  for (const auto& e : entries) {
    fds.push_back(
        {handle_of(e.socket), static_cast<SHORT>(e.want_write ? POLLWRNORM : POLLRDNORM), 0});
  }
  int ready =
      WSAPoll(fds.data(), static_cast<ULONG>(fds.size()), static_cast<INT>(timeout.count()));
  if (ready == SOCKET_ERROR) {
    return Error(ErrorCode::network,
                 "loopback listener: poll failed: " + winsock_error(WSAGetLastError()));
  }
  for (std::size_t i = 0; i < entries.size(); ++i) entries[i].ready = fds[i].revents != 0;
  return ready > 0;
}

}  // namespace freshtoken::detail::net
