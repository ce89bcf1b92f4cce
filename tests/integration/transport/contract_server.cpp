#include "contract_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "contract.hpp"  // pattern()
#include "test_servers.hpp"

namespace freshtoken::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kGiB = std::size_t{1} << 30;
constexpr std::size_t kMiB = std::size_t{1} << 20;

// Routes shared by most tests.
void add_routes(httplib::Server& server, std::atomic<int>& target_hits) {
  auto echo = [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Method", req.method);
    res.set_header("X-Echo-Test", req.get_header_value("X-Test"));
    res.set_header("X-Echo-Content-Type", req.get_header_value("Content-Type"));
    res.set_header("X-Saw-Authorization", req.has_header("Authorization") ? "yes" : "no");
    res.set_header("X-Saw-Transfer-Encoding", req.get_header_value("Transfer-Encoding"));
    res.set_header("X-Saw-Content-Length", req.get_header_value("Content-Length"));
    res.set_header("X-Echo-User-Agent", req.get_header_value("User-Agent"));
    res.set_content(req.body, "application/octet-stream");
  };
  server.Get("/echo", echo);
  server.Post("/echo", echo);
  server.Put("/echo", echo);
  server.Patch("/echo", echo);
  server.Delete("/echo", echo);
  server.Options("/echo", echo);
  server.Get("/authorization", [](const httplib::Request& req, httplib::Response& res) {
    std::string fields;  // every Authorization field the request carried, one per line
    for (std::size_t i = 0; i < req.get_header_value_count("Authorization"); ++i)
      fields += req.get_header_value("Authorization", i) + "\n";
    res.set_content(fields, "text/plain");
  });
  server.Get("/headers", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Mixed-Case", "Value");
    res.set_header("Set-Cookie", "a=1");
    res.set_header("Set-Cookie", "b=2");
    res.set_content("ok", "text/plain");
  });
  server.Get("/redirect", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/target", 302);
  });
  server.Get("/target", [&target_hits](const httplib::Request&, httplib::Response& res) {
    ++target_hits;
    res.set_content("target", "text/plain");
  });
  server.Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.status = std::stoi(req.matches[1]);
    res.set_content("status " + std::string(req.matches[1]), "text/plain");
  });
  server.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(100000, 'x'), "text/plain");
  });
  server.Get("/mebibyte", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(contract::pattern(1 << 20), "application/octet-stream");
  });
}

// Waits until the client closes the connection (or the server stops), discarding what it sends.
void wait_for_close(int fd, const std::atomic<bool>& stopping) {
  char sink[4096];
  while (!stopping) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    if (::recv(fd, sink, sizeof sink, 0) <= 0) return;
  }
}

// Sends `head`, then up to `total` bytes of body in 1 MiB pieces (as chunks when `chunked`),
// until the client goes away or the server stops; returns the body bytes sent.
std::size_t stream_body(int fd, const std::atomic<bool>& stopping, const std::string& head,
                        std::size_t total, bool chunked) {
  RawServer::write_all(fd, head);
  static const std::string piece(kMiB, 'x');
  const std::string framed = chunked ? "100000\r\n" + piece + "\r\n" : piece;
  std::size_t body_sent = 0;
  while (body_sent < total && !stopping) {
    std::size_t at = 0;
    while (at < framed.size()) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 20) <= 0) {
        if (stopping) return body_sent;
        continue;
      }
      const ssize_t n =
          ::send(fd, framed.data() + at, framed.size() - at, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n <= 0) return body_sent;
      at += static_cast<std::size_t>(n);
    }
    body_sent += piece.size();
  }
  if (chunked) RawServer::write_all(fd, "0\r\n\r\n");
  return body_sent;
}

std::string path_of(const std::string& head) {
  const auto start = head.find(' ');
  if (start == std::string::npos) return {};
  const auto end = head.find(' ', start + 1);
  if (end == std::string::npos) return {};
  return head.substr(start + 1, end - start - 1);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

struct ContractServer::State {
  TestPki pki;
  std::atomic<int> target_hits{0};
  std::atomic<std::size_t> raw_connections{0};
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> proxy_heads;
  bool body_sent_done = false;
  std::size_t body_sent = 0;

  TestHttpServer http;
  TestHttpServer https{pki.server_cert(), pki.server_key()};
  TestHttpServer https_other{pki.other_cert(), pki.other_key()};
  TestHttpServer control;
  // Last: stopped (joined) before the members their handlers use go.
  std::unique_ptr<RawServer> raw;
  std::unique_ptr<RawServer> proxy;

  void raw_connection(int fd, const std::atomic<bool>& stopping);
  void reset();
  std::string state_json();
};

void ContractServer::State::raw_connection(int fd, const std::atomic<bool>& stopping) {
  ++raw_connections;
  for (;;) {
    const std::string head = RawServer::read_head(fd, stopping);
    if (head.empty()) return;
    const std::string path = path_of(head);
    if (path == "/dav") {
      const std::string line = head.substr(0, head.find("\r\n"));
      RawServer::write_all(
          fd, "HTTP/1.1 207 Multi-Status\r\nContent-Length: " + std::to_string(line.size()) +
                  "\r\nConnection: close\r\n\r\n" + line);
      return;
    }
    if (path == "/interim") {
      RawServer::write_all(fd,
                           "HTTP/1.1 103 Early Hints\r\nX-Interim: 1\r\nLink: </a.css>\r\n\r\n"
                           "HTTP/1.1 200 OK\r\nX-Final: 1\r\nX-Folded: first\r\n  second\r\n"
                           "Content-Length: 2\r\nConnection: close\r\n\r\nok");
      return;
    }
    if (path == "/oversized-headers") {
      std::string response = "HTTP/1.1 200 OK\r\n";
      for (int i = 0; i < 4000; ++i)
        response += "X-Filler-" + std::to_string(i) + ": " + std::string(80, 'f') + "\r\n";
      RawServer::write_all(fd, response + "Content-Length: 0\r\n\r\n");
      return;
    }
    if (path == "/partial-then-silent") {
      RawServer::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\npartial");
      wait_for_close(fd, stopping);
      return;
    }
    if (path == "/stall") {
      wait_for_close(fd, stopping);
      return;
    }
    if (path == "/slow") {
      std::this_thread::sleep_for(400ms);
      RawServer::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      continue;  // the next request on this connection
    }
    if (path == "/chunked-gibibyte" || path == "/chunked-4mib") {
      stream_body(fd, stopping, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                  path == "/chunked-4mib" ? 4 * kMiB : kGiB, true);
      return;
    }
    if (path == "/announced-tebibyte") {
      const std::size_t sent = stream_body(
          fd, stopping, "HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\n", kGiB, false);
      std::lock_guard<std::mutex> lock(mutex);
      body_sent = sent;
      body_sent_done = true;
      changed.notify_all();
      return;
    }
    RawServer::write_all(
        fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return;
  }
}

void ContractServer::State::reset() {
  http.reset_connections();
  https.reset_connections();
  https_other.reset_connections();
  target_hits = 0;
  raw_connections = 0;
  std::lock_guard<std::mutex> lock(mutex);
  proxy_heads.clear();
  body_sent_done = false;
  body_sent = 0;
}

std::string ContractServer::State::state_json() {
  nlohmann::json state;
  state["http_connections"] = http.connections_seen();
  state["https_connections"] = https.connections_seen();
  state["target_hits"] = target_hits.load();
  state["raw_connections"] = raw_connections.load();
  std::lock_guard<std::mutex> lock(mutex);
  state["proxy_heads"] = proxy_heads;
  return state.dump();
}

ContractServer::ContractServer() : state_(std::make_unique<State>()) {
  State& s = *state_;
  add_routes(s.http.server(), s.target_hits);
  add_routes(s.https.server(), s.target_hits);
  add_routes(s.https_other.server(), s.target_hits);
  s.control.server().Get("/control/reset", [&s](const httplib::Request&, httplib::Response& res) {
    s.reset();
    res.set_content("{}", "application/json");
  });
  s.control.server().Get("/control/state", [&s](const httplib::Request&, httplib::Response& res) {
    res.set_content(s.state_json(), "application/json");
  });
  s.control.server().Get("/control/body-sent",
                         [&s](const httplib::Request&, httplib::Response& res) {
                           std::unique_lock<std::mutex> lock(s.mutex);
                           s.changed.wait_for(lock, 30s, [&s] { return s.body_sent_done; });
                           nlohmann::json body;
                           body["body_sent"] = s.body_sent;
                           body["done"] = s.body_sent_done;
                           res.set_content(body.dump(), "application/json");
                         });
  s.http.start();
  s.https.start();
  s.https_other.start();
  s.control.start();
  s.raw = std::make_unique<RawServer>(
      [&s](int fd, const std::atomic<bool>& stopping) { s.raw_connection(fd, stopping); });
  s.proxy = std::make_unique<RawServer>([&s](int fd, const std::atomic<bool>& stopping) {
    std::string head = RawServer::read_head(fd, stopping);
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.proxy_heads.push_back(head);
    }
    RawServer::write_all(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
  });
}

ContractServer::~ContractServer() {
  // The raw servers first: their handlers use the rest.
  state_->raw.reset();
  state_->proxy.reset();
}

std::string ContractServer::endpoints_json() const {
  const State& s = *state_;
  nlohmann::json endpoints;
  endpoints["http"] = s.http.url("");
  endpoints["https"] = s.https.url("");
  endpoints["https_other"] = s.https_other.url("");
  endpoints["raw"] = s.raw->url("");
  endpoints["proxy"] = s.proxy->url("");
  endpoints["control"] = s.control.url("");
  endpoints["ca_file"] = s.pki.ca_file();
  endpoints["ca_pem"] = read_file(s.pki.ca_file());
  endpoints["unused_port"] = unused_port();
  return endpoints.dump();
}

}  // namespace freshtoken::testing
