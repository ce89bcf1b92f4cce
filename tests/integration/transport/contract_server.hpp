// The servers the transport contract tests talk to (Linux only: cpp-httplib and POSIX
// sockets): plain HTTP, TLS with a throwaway CA (a certificate for 127.0.0.1 and one for
// another name), a raw socket server for what httplib cannot do, a logging proxy, and a control
// server through which a test, in this process or a Windows one, resets and reads what the
// others observed.
//
// Raw server paths: /dav (answers with the request line), /interim (103 then 200 with a folded
// field), /oversized-headers (> 256 KiB of fields), /partial-then-silent, /stall, /slow (every
// request on the connection answered after 400 ms), /chunked-gibibyte, /chunked-4mib,
// /announced-tebibyte (Content-Length: 1 TiB; what it sent is on /control/body-sent).
//
// Control routes (GET): /control/reset; /control/state, a JSON object with http_connections,
// https_connections (distinct client connections that sent a request), target_hits,
// raw_connections (connections accepted) and proxy_heads (the request heads the proxy saw),
// all counted since the last reset; /control/body-sent, which waits for /announced-tebibyte's
// connection to end and answers {"body_sent": N}.
#pragma once

#include <memory>
#include <string>

namespace freshtoken::testing {

class ContractServer {
 public:
  ContractServer();
  ~ContractServer();
  ContractServer(const ContractServer&) = delete;
  ContractServer& operator=(const ContractServer&) = delete;

  // One line of JSON: the base URLs (http, https, https_other, raw, proxy, control), the test
  // CA as PEM (ca_pem) and its file (ca_file), and a port nothing listens on (unused_port).
  std::string endpoints_json() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace freshtoken::testing
