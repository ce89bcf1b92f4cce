// The libcurl Transport against real servers on 127.0.0.1.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "curl/curl_transport.hpp"
#include "freshtoken/transport.hpp"
#include "test_servers.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using testing::RawServer;
using testing::TestHttpServer;
using testing::TestPki;

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

// Routes shared by most tests.
void add_routes(httplib::Server& server, std::atomic<int>* target_hits = nullptr) {
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
  server.Get("/target", [target_hits](const httplib::Request&, httplib::Response& res) {
    if (target_hits) ++*target_hits;
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
    res.set_content(pattern(1 << 20), "application/octet-stream");
  });
}

Request make(std::string method, std::string url) {
  Request r;
  r.method = std::move(method);
  r.url = std::move(url);
  return r;
}

class CurlTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add_routes(server_.server(), &target_hits_);
    server_.start();
  }
  std::atomic<int> target_hits_{0};
  TestHttpServer server_;
  std::shared_ptr<Transport> transport_ = make_curl_transport();
};

TEST_F(CurlTransportTest, EveryStandardMethodRoundTripsMethodHeadersAndBody) {
  for (std::string method : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    SCOPED_TRACE(method);
    Request req = make(method, server_.url("/echo"));
    req.headers.add("X-Test", "value for " + method);
    const bool with_body = method != "GET" && method != "OPTIONS";
    if (with_body) {
      req.headers.add("Content-Type", "application/json");
      req.body = R"({"method":")" + method + "\"}";
    }
    auto res = transport_->send(req);
    ASSERT_TRUE(res) << res.error().to_string();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->headers.get("X-Method"), method);
    EXPECT_EQ(res->headers.get("X-Echo-Test"), "value for " + method);
    if (with_body) {
      EXPECT_EQ(res->body, req.body);
      EXPECT_EQ(res->headers.get("X-Echo-Content-Type"), "application/json");
    }
  }
}

TEST_F(CurlTransportTest, BodyWithoutContentTypeIsNotLabelledAsAForm) {
  Request req = make("POST", server_.url("/echo"));
  req.body = "raw";
  auto res = transport_->send(req);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->body, "raw");
  EXPECT_EQ(res->headers.get("X-Echo-Content-Type"), "");
}

TEST_F(CurlTransportTest, HeadReturnsHeadersWithoutWaitingForABody) {
  Request req = make("HEAD", server_.url("/big"));
  req.timeout = 5s;  // a transport that waited for the 100000 announced bytes would time out
  auto res = transport_->send(req);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->headers.get("Content-Length"), "100000");
  EXPECT_TRUE(res->body.empty());
}

TEST_F(CurlTransportTest, ResponseHeadersAreCaseInsensitiveAndKeepEveryValue) {
  auto res = transport_->send(make("GET", server_.url("/headers")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->headers.get("x-mixed-case"), "Value");
  EXPECT_EQ(res->headers.get("X-MIXED-CASE"), "Value");
  EXPECT_EQ(res->headers.get_all("set-cookie"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(res->body, "ok");
}

TEST_F(CurlTransportTest, LargeResponseBodyArrivesIntact) {
  auto res = transport_->send(make("GET", server_.url("/mebibyte")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->body.size(), std::size_t{1} << 20);
  EXPECT_TRUE(res->body == pattern(1 << 20));
}

TEST_F(CurlTransportTest, UserAgentComesFromTheOptions) {
  TransportOptions options;
  options.user_agent = "test-agent/7";
  auto res = make_curl_transport(options)->send(make("GET", server_.url("/echo")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->headers.get("X-Echo-User-Agent"), "test-agent/7");
  // The default names the SDK and its version; twice, so a reused handle still sends it.
  for (int i = 0; i < 2; ++i) {
    res = transport_->send(make("GET", server_.url("/echo")));
    ASSERT_TRUE(res) << res.error().to_string();
    EXPECT_EQ(res->headers.get("X-Echo-User-Agent"), "freshtoken/" FRESHTOKEN_VERSION_STRING);
  }
}

TEST_F(CurlTransportTest, ARequestsOwnUserAgentWinsAndAnEmptyOptionSendsNone) {
  Request request = make("GET", server_.url("/echo"));
  request.headers.set("user-agent", "app/2");
  auto res = transport_->send(request);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->headers.get_all("X-Echo-User-Agent"), std::vector<std::string>{"app/2"});

  TransportOptions options;
  options.user_agent.clear();
  res = make_curl_transport(options)->send(make("GET", server_.url("/echo")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->headers.get("X-Echo-User-Agent"), "");

  options.user_agent = "bad\r\nX-Injected: 1";
  res = make_curl_transport(options)->send(make("GET", server_.url("/echo")));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::config);
}

TEST_F(CurlTransportTest, RedirectIsReturnedNotFollowed) {
  auto res = transport_->send(make("GET", server_.url("/redirect")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->status, 302);
  EXPECT_EQ(res->headers.get("Location"), "/target");
  EXPECT_EQ(target_hits_.load(), 0);
}

TEST_F(CurlTransportTest, ClientAndServerErrorStatusesAreResponses) {
  for (int status : {400, 401, 404, 500, 503}) {
    auto res = transport_->send(make("GET", server_.url("/status/" + std::to_string(status))));
    ASSERT_TRUE(res) << res.error().to_string();
    EXPECT_EQ(res->status, status);
    EXPECT_EQ(res->body, "status " + std::to_string(status));
  }
}

TEST_F(CurlTransportTest, StreamedBodyOfUnknownLengthArrivesIntactChunked) {
  const std::string payload = pattern(1 << 20);
  std::size_t offset = 0;
  Request req = make("POST", server_.url("/echo"));
  req.body_stream = [&](char* buffer, std::size_t capacity) {
    // Odd-sized pieces so that chunk boundaries never line up with anything.
    std::size_t n = std::min({capacity, payload.size() - offset, std::size_t{7777}});
    std::memcpy(buffer, payload.data() + offset, n);
    offset += n;
    return n;
  };
  auto res = transport_->send(req);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->headers.get("X-Saw-Transfer-Encoding"), "chunked");
  EXPECT_EQ(res->body.size(), payload.size());
  EXPECT_TRUE(res->body == payload);
}

TEST_F(CurlTransportTest, StreamedBodyWithKnownLengthIsSentWithContentLength) {
  const std::string payload = pattern(1 << 20);
  std::size_t offset = 0;
  Request req = make("PUT", server_.url("/echo"));
  req.headers.add("Content-Length", std::to_string(payload.size()));
  req.body_stream = [&](char* buffer, std::size_t capacity) {
    std::size_t n = std::min(capacity, payload.size() - offset);
    std::memcpy(buffer, payload.data() + offset, n);
    offset += n;
    return n;
  };
  auto res = transport_->send(req);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->headers.get("X-Method"), "PUT");
  EXPECT_EQ(res->headers.get("X-Saw-Content-Length"), std::to_string(payload.size()));
  EXPECT_EQ(res->headers.get("X-Saw-Transfer-Encoding"), "");
  EXPECT_TRUE(res->body == payload);
}

TEST_F(CurlTransportTest, FailingBodySourceIsAnErrorNotACrash) {
  Request req = make("POST", server_.url("/echo"));
  req.body_stream = [](char*, std::size_t) -> std::size_t { throw std::runtime_error("disk"); };
  auto res = transport_->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::config);
}

TEST_F(CurlTransportTest, HeadersOfOneRequestNeverLeakIntoTheNext) {
  Request with = make("POST", server_.url("/echo"));
  with.headers.add("Authorization", "Bearer first-request-token");
  with.body = "first";
  auto first = transport_->send(with);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->headers.get("X-Saw-Authorization"), "yes");

  auto second = transport_->send(make("GET", server_.url("/echo")));
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->headers.get("X-Saw-Authorization"), "no");
  EXPECT_EQ(second->headers.get("X-Method"), "GET");
  EXPECT_EQ(second->body, "");
}

TEST_F(CurlTransportTest, ABearerWithALineBreakIsRefusedUnsentAndUnquoted) {
  for (const std::string& token :
       {std::string("s3cr3t\r\nX-Injected: yes"), std::string("s3cr3t\0x", 8)}) {
    Request req = make("GET", server_.url("/target"));
    req.headers.add("Authorization", "Bearer " + token);
    auto res = transport_->send(req);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code(), ErrorCode::config);
    EXPECT_EQ(res.error().message().find("s3cr3t"), std::string::npos) << res.error().message();
  }
  EXPECT_EQ(target_hits_.load(), 0);
}

// The pooled handle is not reset between sends (only the options a request can change are
// set again): every method, body and timeout must still be this request's own.
TEST_F(CurlTransportTest, MethodBodyAndTimeoutNeverCarryOverOnAReusedHandle) {
  Request head = make("HEAD", server_.url("/big"));
  head.timeout = 5s;
  auto r1 = transport_->send(head);
  ASSERT_TRUE(r1) << r1.error().to_string();
  EXPECT_TRUE(r1->body.empty());

  auto r2 = transport_->send(make("GET", server_.url("/big")));  // not a HEAD any more
  ASSERT_TRUE(r2) << r2.error().to_string();
  EXPECT_EQ(r2->body.size(), 100000u);

  Request streamed = make("PUT", server_.url("/echo"));
  std::string chunk = "streamed";
  streamed.body_stream = [&chunk](char* buffer, std::size_t capacity) {
    const std::size_t n = std::min(capacity, chunk.size());
    std::memcpy(buffer, chunk.data(), n);
    chunk.erase(0, n);
    return n;
  };
  auto r3 = transport_->send(streamed);
  ASSERT_TRUE(r3) << r3.error().to_string();
  EXPECT_EQ(r3->headers.get("X-Method"), "PUT");
  EXPECT_EQ(r3->body, "streamed");

  auto r4 = transport_->send(make("GET", server_.url("/echo")));  // no custom method, no body
  ASSERT_TRUE(r4) << r4.error().to_string();
  EXPECT_EQ(r4->headers.get("X-Method"), "GET");
  EXPECT_EQ(r4->body, "");

  Request post = make("POST", server_.url("/echo"));
  post.body = "fields";
  auto r5 = transport_->send(post);
  ASSERT_TRUE(r5) << r5.error().to_string();
  EXPECT_EQ(r5->body, "fields");

  Request del = make("DELETE", server_.url("/echo"));  // no body: the POST's is not resent
  auto r6 = transport_->send(del);
  ASSERT_TRUE(r6) << r6.error().to_string();
  EXPECT_EQ(r6->headers.get("X-Method"), "DELETE");
  EXPECT_EQ(r6->body, "");
  auto r7 = transport_->send(make("GET", server_.url("/echo")));
  ASSERT_TRUE(r7) << r7.error().to_string();
  EXPECT_EQ(r7->headers.get("X-Method"), "GET");
}

TEST_F(CurlTransportTest, SequentialRequestsReuseOneConnection) {
  auto curl = std::make_shared<detail::CurlTransport>(TransportOptions{});
  for (int i = 0; i < 100; ++i) {
    auto res = curl->send(make("GET", server_.url("/echo")));
    ASSERT_TRUE(res) << res.error().to_string();
  }
  EXPECT_EQ(server_.connections_seen(), 1u);
  EXPECT_EQ(curl->connections_opened(), 1u);
}

// The handle keeps the URL it parsed last and parses again only when a request's differs: each
// request must still reach its own URL, and a malformed one must not stick to the handle.
TEST_F(CurlTransportTest, EachRequestReachesItsOwnUrlOnAReusedHandle) {
  auto curl = std::make_shared<detail::CurlTransport>(TransportOptions{});
  auto get = [&](const std::string& url) { return curl->send(make("GET", url)); };

  auto echo = get(server_.url("/echo"));
  ASSERT_TRUE(echo) << echo.error().to_string();
  EXPECT_EQ(echo->headers.get("X-Method"), "GET");
  auto created = get(server_.url("/status/201"));
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_EQ(created->status, 201);
  EXPECT_EQ(created->body, "status 201");

  // A space is not allowed in a URL; the error names neither the path nor the query.
  auto malformed = get(server_.url("/status/202?code=s3cr3t c0de"));
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code(), ErrorCode::config);
  EXPECT_NE(malformed.error().message().find("malformed URL"), std::string::npos)
      << malformed.error().message();
  EXPECT_EQ(malformed.error().message().find("s3cr3t"), std::string::npos)
      << malformed.error().message();
  EXPECT_EQ(malformed.error().message().find("status"), std::string::npos)
      << malformed.error().message();

  auto again = get(server_.url("/status/201"));  // the URL the handle held before the failure
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->status, 201);
  auto target = get(server_.url("/target"));
  ASSERT_TRUE(target) << target.error().to_string();
  EXPECT_EQ(target->body, "target");
  EXPECT_EQ(target_hits_.load(), 1);
  auto missing = get(server_.url("/status/404"));
  ASSERT_TRUE(missing) << missing.error().to_string();
  EXPECT_EQ(missing->status, 404);

  EXPECT_EQ(curl->connections_opened(), 1u);
  EXPECT_EQ(curl->exchanges(), 5u);
}

// A thread prefers the handle it used last; one that has none yet (here each request comes
// from a new thread, as with a thread per task) must take the handle another thread left idle
// rather than open a connection of its own.
TEST_F(CurlTransportTest, ANewThreadReusesTheConnectionAnEarlierThreadLeftIdle) {
  auto curl = std::make_shared<detail::CurlTransport>(TransportOptions{});
  for (int i = 0; i < 20; ++i) {
    std::thread([&] {
      auto res = curl->send(make("GET", server_.url("/echo")));
      ASSERT_TRUE(res) << res.error().to_string();
    }).join();
  }
  EXPECT_EQ(server_.connections_seen(), 1u);
  EXPECT_EQ(curl->connections_opened(), 1u);
  EXPECT_EQ(curl->exchanges(), 20u);
}

TEST_F(CurlTransportTest, ThreadsShareConnectionsInsteadOfOpeningOnePerRequest) {
  constexpr int kThreads = 16;
  constexpr int kRequests = 50;
  auto curl = std::make_shared<detail::CurlTransport>(TransportOptions{});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequests; ++i) {
        Request req = make("POST", server_.url("/echo"));
        req.body = std::to_string(t) + ":" + std::to_string(i);
        auto res = curl->send(req);
        if (!res || res->status != 200 || res->body != req.body) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(server_.connections_seen(), std::size_t{kThreads + 4});
  EXPECT_LE(curl->connections_opened(), std::uint64_t{kThreads + 4});
  EXPECT_EQ(curl->exchanges(), std::uint64_t{kThreads * kRequests});
}

TEST(CurlTransport, CustomMethodTokenIsSentAsIs) {
  RawServer raw([](int fd, const std::atomic<bool>&) {
    std::string head = RawServer::read_head(fd);
    std::string line = head.substr(0, head.find("\r\n"));
    RawServer::write_all(
        fd, "HTTP/1.1 207 Multi-Status\r\nContent-Length: " + std::to_string(line.size()) +
                "\r\nConnection: close\r\n\r\n" + line);
  });
  auto transport = make_curl_transport();
  auto res = transport->send(make("PROPFIND", raw.url("/dav")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->status, 207);
  EXPECT_EQ(res->body, "PROPFIND /dav HTTP/1.1");
}

TEST(CurlTransport, OnlyTheFinalResponsesHeadersAreReturned) {
  RawServer raw([](int fd, const std::atomic<bool>&) {
    RawServer::read_head(fd);
    RawServer::write_all(fd,
                         "HTTP/1.1 103 Early Hints\r\nX-Interim: 1\r\nLink: </a.css>\r\n\r\n"
                         "HTTP/1.1 200 OK\r\nX-Final: 1\r\nX-Folded: first\r\n  second\r\n"
                         "Content-Length: 2\r\nConnection: close\r\n\r\nok");
  });
  auto transport = make_curl_transport();
  auto res = transport->send(make("GET", raw.url("/")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->headers.get("X-Final"), "1");
  EXPECT_FALSE(res->headers.contains("X-Interim"));
  EXPECT_FALSE(res->headers.contains("Link"));
  EXPECT_EQ(res->headers.get("X-Folded"), "first second");
  EXPECT_EQ(res->body, "ok");
}

TEST(CurlTransport, OversizedResponseHeadersAreAnInvalidResponse) {
  RawServer raw([](int fd, const std::atomic<bool>&) {
    RawServer::read_head(fd);
    std::string head = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 4000; ++i)
      head += "X-Filler-" + std::to_string(i) + ": " + std::string(80, 'f') + "\r\n";
    RawServer::write_all(fd, head + "Content-Length: 0\r\n\r\n");
  });
  auto res = make_curl_transport()->send(make("GET", raw.url("/")));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::invalid_response) << res.error().to_string();
}

TEST(CurlTransport, ConnectionRefusedIsANetworkErrorNamingTheHost) {
  auto transport = make_curl_transport();
  const int port = testing::unused_port();
  Request req = make("POST", "http://127.0.0.1:" + std::to_string(port) + "/token?code=c0de-123");
  req.headers.add("Authorization", "Bearer s3cr3t-header-value");
  req.body = "client_secret=s3cr3t-body-value";
  auto res = transport->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::network);
  const std::string& message = res.error().message();
  EXPECT_NE(message.find("127.0.0.1"), std::string::npos) << message;
  EXPECT_EQ(message.find("s3cr3t"), std::string::npos) << message;
  EXPECT_EQ(message.find("c0de-123"), std::string::npos) << message;
}

TEST(CurlTransport, InjectedHeaderLinesAreRefusedAsConfigErrors) {
  auto transport = make_curl_transport();
  Request req = make("GET", "http://127.0.0.1:1/");
  req.headers.add("X-Evil", "a\r\nInjected: yes");
  auto res = transport->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::config);

  Request bad_method = make("GE T", "http://127.0.0.1:1/");
  auto res2 = transport->send(bad_method);
  ASSERT_FALSE(res2);
  EXPECT_EQ(res2.error().code(), ErrorCode::config);
}

TEST(CurlTransport, NonHttpSchemesAreRefused) {
  auto transport = make_curl_transport();
  auto res = transport->send(make("GET", "file:///etc/passwd"));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::config);
}

// Accepts, reads the request, never answers until the test ends.
void stall(int fd, const std::atomic<bool>& stopping) {
  RawServer::read_head(fd);
  while (!stopping) std::this_thread::sleep_for(5ms);
}

TEST(CurlTransport, StalledServerTimesOutWithTheTransportsTotalTimeout) {
  RawServer raw(stall);
  TransportOptions options;
  options.timeout = 300ms;
  auto res = make_curl_transport(options)->send(make("GET", raw.url("/")));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::timeout);
}

TEST(CurlTransport, RequestTimeoutOverridesTheTransportDefault) {
  RawServer raw(stall);
  TransportOptions options;
  options.timeout = 60s;
  Request req = make("GET", raw.url("/"));
  req.timeout = 300ms;
  auto res = make_curl_transport(options)->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::timeout);
}

// The handle sets the timeout only when it differs from the one it has: a short one must not
// stay behind for the next request, and must come back when asked for again.
TEST(CurlTransport, EachRequestGetsItsOwnTimeoutOnAReusedHandle) {
  RawServer raw([](int fd, const std::atomic<bool>& stopping) {
    while (!stopping && !RawServer::read_head(fd).empty()) {
      std::this_thread::sleep_for(400ms);
      RawServer::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  TransportOptions options;
  options.timeout = 60s;
  auto transport = make_curl_transport(options);
  Request hurried = make("GET", raw.url("/slow"));
  hurried.timeout = 150ms;
  const Request patient = make("GET", raw.url("/slow"));

  auto first = transport->send(hurried);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code(), ErrorCode::timeout);
  auto second = transport->send(patient);
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->body, "ok");
  auto third = transport->send(hurried);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code(), ErrorCode::timeout);
}

TEST(CurlTransport, CancelMidResponseEndsTheExchangeAsCancelled) {
  // Headers and a first piece of the body arrive, then the server goes silent.
  RawServer raw([](int fd, const std::atomic<bool>& stopping) {
    RawServer::read_head(fd);
    RawServer::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\npartial");
    while (!stopping) std::this_thread::sleep_for(5ms);
  });
  auto transport = make_curl_transport();
  Request req = make("GET", raw.url("/slow"));
  req.timeout = 10s;  // only cancellation can end this exchange within the test
  CancelToken token = req.cancel;
  std::thread canceller([token] {
    std::this_thread::sleep_for(200ms);
    token.cancel();
  });
  auto res = transport->send(req);
  canceller.join();
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::cancelled);
}

TEST(CurlTransport, AlreadyCancelledRequestIsNotSent) {
  std::atomic<int> connections{0};
  RawServer raw([&](int, const std::atomic<bool>&) { ++connections; });
  Request req = make("GET", raw.url("/"));
  req.cancel.cancel();
  auto res = make_curl_transport()->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::cancelled);
  EXPECT_EQ(connections.load(), 0);
}

// ---------------------------------------------------------------- TLS

class CurlTransportTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static TestPki* pki_;
};
TestPki* CurlTransportTlsTest::pki_ = nullptr;

TEST_F(CurlTransportTlsTest, HttpsSucceedsWithTheTestCaAndReusesTheConnection) {
  TestHttpServer server(pki_->server_cert(), pki_->server_key());
  add_routes(server.server());
  server.start();
  TransportOptions options;
  options.ca_file = pki_->ca_file();
  auto curl = std::make_shared<detail::CurlTransport>(options);
  for (int i = 0; i < 10; ++i) {
    Request req = make("POST", server.url("/echo"));
    req.body = "over tls " + std::to_string(i);
    auto res = curl->send(req);
    ASSERT_TRUE(res) << res.error().to_string();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, req.body);
  }
  EXPECT_EQ(server.connections_seen(), 1u);
  EXPECT_EQ(curl->connections_opened(), 1u);
}

TEST_F(CurlTransportTlsTest, UnknownCaIsATlsError) {
  TestHttpServer server(pki_->server_cert(), pki_->server_key());
  add_routes(server.server());
  server.start();
  auto res = make_curl_transport()->send(make("GET", server.url("/echo")));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::tls) << res.error().to_string();
}

TEST_F(CurlTransportTlsTest, CertificateForAnotherHostIsATlsError) {
  TestHttpServer server(pki_->other_cert(), pki_->other_key());
  add_routes(server.server());
  server.start();
  TransportOptions options;
  options.ca_file = pki_->ca_file();
  auto res = make_curl_transport(options)->send(make("GET", server.url("/echo")));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::tls) << res.error().to_string();
}

TEST_F(CurlTransportTlsTest, VerificationOffAcceptsAnyCertificateAndWarns) {
  TestHttpServer server(pki_->other_cert(), pki_->other_key());
  add_routes(server.server());
  server.start();
  TransportOptions options;
  options.verify_tls = false;
  std::vector<LogLevel> logged;
  options.log = [&](LogLevel level, std::string_view) { logged.push_back(level); };
  auto res = make_curl_transport(options)->send(make("GET", server.url("/echo")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(logged, std::vector<LogLevel>{LogLevel::warning});
}

// --- Response size limits -----------------------------------------------------------------

constexpr std::size_t kGiB = std::size_t{1} << 30;
constexpr std::size_t kMiB = std::size_t{1} << 20;
// Far below what a server sends (1 GiB). The sanitizers add to every byte the process holds:
// AddressSanitizer keeps freed blocks in a quarantine of up to 256 MiB, ThreadSanitizer keeps
// several shadow bytes per byte of memory; their bounds only show that the body stopped
// growing, and the plain build holds the tight one.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kRssBound = 512 * kMiB;
#elif defined(__SANITIZE_THREAD__)
constexpr std::size_t kRssBound = 1536 * kMiB;
#else
constexpr std::size_t kRssBound = 200 * kMiB;
#endif

// The process's peak resident set so far, in bytes.
std::size_t peak_rss() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::size_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// Sends `head`, then up to `total` bytes of body in 1 MiB pieces (as chunks when `chunked`),
// until the client goes away or the server stops; returns the body bytes sent.
std::size_t stream_body(int fd, const std::atomic<bool>& stopping, const std::string& head,
                        std::size_t total, bool chunked) {
  RawServer::read_head(fd);
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

TEST(CurlTransportLimits, DefaultLimitIs64MiB) {
  EXPECT_EQ(TransportOptions{}.max_response_bytes, 64 * kMiB);
}

TEST(CurlTransportLimits, StreamedGibibyteEndsInAnErrorWithinBoundedMemory) {
  RawServer raw([](int fd, const std::atomic<bool>& stopping) {
    stream_body(fd, stopping, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", kGiB, true);
  });
  auto res = make_curl_transport()->send(make("GET", raw.url("/huge")));
  ASSERT_FALSE(res) << "a 1 GiB body was accepted";
  EXPECT_EQ(res.error().code(), ErrorCode::invalid_response) << res.error().to_string();
  EXPECT_NE(res.error().message().find("response body exceeds 67108864 bytes"), std::string::npos)
      << res.error().message();
  EXPECT_EQ(res.error().message().find("xxxx"), std::string::npos);  // never the body
  EXPECT_LT(peak_rss(), kRssBound);
}

TEST(CurlTransportLimits, AnnouncedLengthBeyondTheLimitIsRefusedBeforeTheBodyIsRead) {
  std::atomic<std::size_t> body_sent{0};
  {
    // Announces 1 TiB; sends at most 1 GiB of it.
    RawServer raw([&](int fd, const std::atomic<bool>& stopping) {
      body_sent = stream_body(
          fd, stopping, "HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\n", kGiB, false);
    });
    auto res = make_curl_transport()->send(make("GET", raw.url("/huge")));
    ASSERT_FALSE(res) << "a 1 TiB body was accepted";
    EXPECT_EQ(res.error().code(), ErrorCode::invalid_response) << res.error().to_string();
    EXPECT_NE(res.error().message().find("response body exceeds 67108864 bytes"), std::string::npos)
        << res.error().message();
  }  // the server's connection threads have finished
  // Refused on the Content-Length field: only what the socket buffers took was ever sent,
  // far less than the limit the body would otherwise have been read up to.
  EXPECT_LT(body_sent.load(), 64 * kMiB);
  EXPECT_LT(peak_rss(), kRssBound);
}

class CurlTransportLimitTest : public CurlTransportTest {};

TEST_F(CurlTransportLimitTest, BodyOfExactlyTheLimitIsAccepted) {
  TransportOptions options;
  options.max_response_bytes = kMiB;
  auto res = make_curl_transport(options)->send(make("GET", server_.url("/mebibyte")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->body, pattern(kMiB));
}

TEST_F(CurlTransportLimitTest, RequestLimitBelowTheTransportsApplies) {
  Request req = make("GET", server_.url("/big"));  // 100000 bytes
  req.max_response_bytes = 1000;
  auto res = transport_->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::invalid_response);
  EXPECT_NE(res.error().message().find("exceeds 1000 bytes"), std::string::npos)
      << res.error().message();
  // The same handle, without the request's limit, takes the body again.
  auto again = transport_->send(make("GET", server_.url("/big")));
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->body.size(), 100000u);
}

TEST_F(CurlTransportLimitTest, RequestLimitCannotRaiseTheTransports) {
  TransportOptions options;
  options.max_response_bytes = 1000;
  Request req = make("GET", server_.url("/big"));
  req.max_response_bytes = kMiB;
  auto res = make_curl_transport(options)->send(req);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().message().find("exceeds 1000 bytes"), std::string::npos)
      << res.error().message();
}

TEST(CurlTransportLimits, ChunkedBodyBeyondARequestLimitIsRefused) {
  RawServer raw([](int fd, const std::atomic<bool>& stopping) {
    stream_body(fd, stopping, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 4 * kMiB,
                true);
  });
  Request req = make("GET", raw.url("/"));
  req.max_response_bytes = 2 * kMiB;
  auto res = make_curl_transport()->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::invalid_response);
  EXPECT_NE(res.error().message().find("exceeds 2097152 bytes"), std::string::npos)
      << res.error().message();
}

// --- Proxies ------------------------------------------------------------------------------

// A proxy on 127.0.0.1 that records the request head of every connection made to it and
// answers 502.
class LoggingProxy {
 public:
  LoggingProxy()
      : raw_([this](int fd, const std::atomic<bool>&) {
          std::string head = RawServer::read_head(fd);
          {
            std::lock_guard<std::mutex> lock(mutex_);
            heads_.push_back(head);
          }
          RawServer::write_all(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        }) {}
  std::string url() const { return "http://127.0.0.1:" + std::to_string(raw_.port()); }
  std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return heads_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> heads_;
  RawServer raw_;  // last: stopped (joined) before the members its handler uses go
};

// Points every proxy variable libcurl reads at `proxy` for the test's life.
class ProxyEnvironment {
 public:
  explicit ProxyEnvironment(const std::string& proxy) {
    for (const char* name : kNames) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (std::strcmp(name, "no_proxy") == 0 || std::strcmp(name, "NO_PROXY") == 0) {
        ::unsetenv(name);
      } else {
        ::setenv(name, proxy.c_str(), 1);
      }
    }
  }
  ~ProxyEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name, value->c_str(), 1);
      } else {
        ::unsetenv(name);
      }
    }
  }

 private:
  static constexpr const char* kNames[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                           "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

// A name that resolves nowhere (RFC 6761): only a proxy can take a request for it.
constexpr const char* kRemoteUrl = "http://freshtoken-proxy-test.invalid/api";

class CurlTransportProxyTest : public CurlTransportTest {
 protected:
  std::string localhost_url(const std::string& path) const {
    return "http://localhost:" + std::to_string(server_.port()) + path;
  }
  LoggingProxy proxy_;
};

TEST_F(CurlTransportProxyTest, LoopbackRequestsBypassTheEnvironmentsProxy) {
  ProxyEnvironment env(proxy_.url());
  for (const std::string& url : {server_.url("/echo"), localhost_url("/echo")}) {
    auto res = transport_->send(make("GET", url));
    ASSERT_TRUE(res) << url << ": " << res.error().to_string();
    EXPECT_EQ(res->status, 200) << url;
    EXPECT_EQ(res->headers.get("X-Method"), "GET") << url;  // the server's answer
  }
  EXPECT_TRUE(proxy_.heads().empty()) << proxy_.heads().front();
  // The control: the proxy is in use for a host that is not loopback, on the same handle.
  auto remote = transport_->send(make("GET", kRemoteUrl));
  ASSERT_TRUE(remote) << remote.error().to_string();
  EXPECT_EQ(remote->status, 502);
  ASSERT_EQ(proxy_.heads().size(), 1u);
  EXPECT_NE(proxy_.heads()[0].find("freshtoken-proxy-test.invalid"), std::string::npos);
  // And loopback again after it: the proxy setting does not stick to the handle.
  auto back = transport_->send(make("GET", server_.url("/echo")));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->status, 200);
  EXPECT_EQ(proxy_.heads().size(), 1u);
}

TEST_F(CurlTransportProxyTest, ABearerTokenToALoopbackHostNeverReachesTheProxy) {
  ProxyEnvironment env(proxy_.url());
  auto curl = std::make_shared<detail::CurlTransport>(TransportOptions{});
  Request req = make("GET", localhost_url("/authorization"));
  req.headers.add("Authorization", "Bearer tok-123");
  auto res = curl->send(req);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->body, "Bearer tok-123\n");
  EXPECT_TRUE(proxy_.heads().empty());
}

TEST_F(CurlTransportProxyTest, ExplicitProxyOptionIsUsedForOtherHostsOnly) {
  TransportOptions options;
  options.proxy = proxy_.url();
  auto transport = make_curl_transport(options);
  auto local = transport->send(make("GET", server_.url("/echo")));
  ASSERT_TRUE(local) << local.error().to_string();
  EXPECT_EQ(local->status, 200);
  EXPECT_TRUE(proxy_.heads().empty());
  auto remote = transport->send(make("GET", kRemoteUrl));
  ASSERT_TRUE(remote) << remote.error().to_string();
  EXPECT_EQ(remote->status, 502);
  EXPECT_EQ(proxy_.heads().size(), 1u);
}

TEST_F(CurlTransportProxyTest, EmptyProxyOptionIgnoresTheEnvironment) {
  ProxyEnvironment env(proxy_.url());
  TransportOptions options;
  options.proxy = "";
  options.connect_timeout = 2s;
  auto res = make_curl_transport(options)->send(make("GET", kRemoteUrl));
  ASSERT_FALSE(res);  // the name resolves nowhere and no proxy takes it
  EXPECT_EQ(res.error().code(), ErrorCode::network) << res.error().to_string();
  EXPECT_TRUE(proxy_.heads().empty());
}

}  // namespace
}  // namespace freshtoken
