// The sockets the loopback listener uses (internal): the platform seam for them, one
// implementation per platform in platform/<os>/loopback_socket.cpp (BSD sockets and poll() on
// POSIX systems, Winsock and WSAPoll() on Windows). Every socket is non-blocking.
//
// Thread safety: the functions share no state; one socket is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "freshtoken/error.hpp"

namespace freshtoken::detail::net {

// A file descriptor on POSIX, a SOCKET on Windows.
using Socket = std::intptr_t;
constexpr Socket kNoSocket = -1;

// Listens on 127.0.0.1, on a port the system picks (returned in `port`). Errors: network.
Result<Socket> listen_on_loopback(std::uint16_t& port);
// A connection waiting on `listener`, or kNoSocket when none is (or it died on the way).
Socket accept_connection(Socket listener);

// What receive_some() and send_some() return besides a count of bytes.
constexpr std::ptrdiff_t kWouldBlock = -1;  // nothing to do now; try again once ready
constexpr std::ptrdiff_t kBroken = -2;      // the peer closed the connection, or it failed
// Bytes read (more than zero), kWouldBlock or kBroken.
std::ptrdiff_t receive_some(Socket socket, char* buffer, std::size_t size);
// Bytes written (more than zero), kWouldBlock or kBroken. Never raises SIGPIPE.
std::ptrdiff_t send_some(Socket socket, const char* data, std::size_t size);
// Tells the peer nothing more will be sent.
void shutdown_sending(Socket socket);
void close_socket(Socket socket);

struct PollEntry {
  Socket socket = kNoSocket;
  bool want_write = false;  // else: readable (or, for a listener, a connection waiting)
  bool ready = false;       // set by wait_ready(), also when the socket failed or was closed
};
// Waits until some entry is ready or `timeout` passes; false when none is (a timeout, or an
// interruption by a signal). Errors: network.
Result<bool> wait_ready(std::vector<PollEntry>& entries, std::chrono::milliseconds timeout);

}  // namespace freshtoken::detail::net
