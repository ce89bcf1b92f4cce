// CurlTransport: the libcurl implementation of Transport (private to the SDK; the public
// entry point is make_curl_transport()).
//
// Connection reuse: a pool of (multi, easy) handle pairs. A send takes one pair, runs the
// exchange, and puts it back; the multi handle's connection cache keeps the connection
// alive for the next send. A thread gets back the pair it used last when that pair is idle,
// so each thread keeps its own connection as long as there are enough. DNS and TLS sessions are
// shared across the pool through a curl share handle. Connections themselves are NOT put in the
// share handle: in libcurl < 8.x sharing the connection cache between concurrently running threads
// is a known data race (curl issue #4915), and the pool gives the same reuse without it.
//
// Thread safety: send() may be called from many threads at once; no lock is held during a
// transfer except the short ones curl's share callbacks take.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "freshtoken/transport.hpp"

namespace freshtoken::detail {

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(TransportOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Result<Response> send(const Request& request) override;

  // How many new connections (TCP, plus TLS when https) the transport has opened so far,
  // summed over every send. For benchmarks and tests of connection reuse.
  std::uint64_t connections_opened() const { return connections_opened_.load(); }
  // How many exchanges reached the network (completed or not).
  std::uint64_t exchanges() const { return exchanges_.load(); }

 private:
  struct Share;
  struct Handle;
  struct HandleDeleter {
    void operator()(Handle* handle) const;
  };
  using HandlePtr = std::unique_ptr<Handle, HandleDeleter>;

  struct Shape;

  // The steps of one send, in order.
  Result<Shape> shape_of(const Request& request) const;  // checks the request, sizes its lines
  Result<HandlePtr> acquire();
  void build_lines(Handle& handle, const Request& request, const Shape& shape) const;
  Result<void> apply_options(Handle& handle, const Request& request, const Shape& shape) const;
  Result<void> set_url(Handle& handle, const Request& request) const;
  void set_method(Handle& handle, const Request& request, const Shape& shape) const;
  void run_transfer(Handle& handle, const Request& request);

  void configure(Handle& handle) const;
  void release(HandlePtr handle);

  const TransportOptions options_;
  std::optional<Error> init_error_;
  // "User-Agent: ..." sent as a request header line, empty for none (see send()).
  std::string user_agent_line_;
  // Declared before the pool so that it is destroyed after every handle attached to it.
  std::unique_ptr<Share> share_;
  std::mutex pool_mutex_;
  // An idle handle and the thread that used it last. acquire() looks for its thread's own
  // handle in this vector alone: under the lock, without reading each handle's memory.
  struct Idle {
    std::thread::id last_user;
    HandlePtr handle;
  };
  // The handle this thread used last if it is idle, else the most recently used (warmest),
  // which is at the back.
  std::vector<Idle> idle_;
  std::atomic<std::uint64_t> connections_opened_{0};
  std::atomic<std::uint64_t> exchanges_{0};
};

}  // namespace freshtoken::detail
