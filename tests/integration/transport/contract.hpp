// The transport contract: what every Transport (libcurl on Linux, WinHTTP on Windows) must do,
// checked by one suite (transport_contract_test.cpp) against the contract server
// (contract_server.hpp), which runs on Linux: in this process when
// FRESHTOKEN_TRANSPORT_CONTRACT_SERVER is unset, else the freshtoken-transport-contract-server
// whose JSON line that variable holds (how the Windows build of the suite runs under Wine).
//
// Each test program links one transport under test: curl_contract.cpp or winhttp_contract.cpp
// define make() and the rest of the "transport under test" section below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "freshtoken/transport.hpp"

namespace freshtoken::contract {

// A body whose bytes never repeat in step with any buffer or chunk size.
inline std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

// ---------------------------------------------------------------- the contract server

struct Endpoints {
  std::string http;         // plain HTTP, the routes of contract_server.cpp
  std::string https;        // the same over TLS, a certificate for 127.0.0.1 and localhost
  std::string https_other;  // the same over TLS, a certificate for other.example only
  std::string raw;          // the raw socket server
  std::string proxy;        // a proxy that logs each request head and answers 502
  std::string control;
  std::string ca_pem;   // the test CA that signed both certificates
  std::string ca_file;  // the same, as a file on the server's machine
  int unused_port = 0;  // a port on 127.0.0.1 nothing listens on
};

// The server's endpoints; fails the test program when they cannot be had.
const Endpoints& endpoints();

// What the contract server observed since the last reset_server().
struct ServerState {
  std::size_t http_connections = 0;
  std::size_t https_connections = 0;
  int target_hits = 0;
  std::size_t raw_connections = 0;
  std::vector<std::string> proxy_heads;
};
void reset_server();
ServerState server_state();
// What /announced-tebibyte sent before its client went away (waits for its connection to end).
std::size_t announced_body_sent();

// The largest resident set (working set on Windows) this process has had, in bytes.
std::size_t peak_rss();

// ---------------------------------------------------------------- the transport under test

// The transport under test, with these options.
std::shared_ptr<Transport> make(TransportOptions options = {});
// Its counters, when it keeps them: the connections it opened and the exchanges that reached
// the network.
std::optional<std::uint64_t> connections_opened(const Transport& transport);
std::optional<std::uint64_t> exchanges(const Transport& transport);

// Trust in the test CA for as long as it lives.
class TrustedCa {
 public:
  virtual ~TrustedCa() = default;
};
// Makes `options` trust the test CA, the way this transport trusts a private CA (libcurl: the
// ca_file option; WinHTTP: the Windows certificate store). Null, with the reason in `why`,
// when that cannot be done here.
std::unique_ptr<TrustedCa> trust_test_ca(TransportOptions& options, std::string& why);

// Why a contract test cannot run with this transport here (e.g. a limitation of Wine), or
// empty; the test then skips with that reason.
std::string cannot_run(const char* test_name);

}  // namespace freshtoken::contract
