// The transport contract: every Transport against the contract server (see contract.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "contract.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using contract::endpoints;
using contract::pattern;

constexpr std::size_t kGiB = std::size_t{1} << 30;
constexpr std::size_t kMiB = std::size_t{1} << 20;

Request make(std::string method, std::string url) {
  Request r;
  r.method = std::move(method);
  r.url = std::move(url);
  return r;
}

std::string http_url(const std::string& path) { return endpoints().http + path; }
std::string raw_url(const std::string& path) { return endpoints().raw + path; }

// Every contract test starts from a reset server, and skips (saying why) where this transport
// cannot run it here.
class Contract : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string name = std::string(info->test_suite_name()) + "." + info->name();
    if (const std::string why = contract::cannot_run(name.c_str()); !why.empty())
      GTEST_SKIP() << why;
    contract::reset_server();
  }
  static int target_hits() { return contract::server_state().target_hits; }
  static std::size_t connections_seen() { return contract::server_state().http_connections; }
};

class TransportContract : public Contract {
 protected:
  std::shared_ptr<Transport> transport_ = contract::make();
};

TEST_F(TransportContract, EveryStandardMethodRoundTripsMethodHeadersAndBody) {
  for (std::string method : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    SCOPED_TRACE(method);
    Request req = make(method, http_url("/echo"));
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

TEST_F(TransportContract, BodyWithoutContentTypeIsNotLabelledAsAForm) {
  Request req = make("POST", http_url("/echo"));
  req.body = "raw";
  auto res = transport_->send(req);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->body, "raw");
  EXPECT_EQ(res->headers.get("X-Echo-Content-Type"), "");
}

TEST_F(TransportContract, HeadReturnsHeadersWithoutWaitingForABody) {
  Request req = make("HEAD", http_url("/big"));
  req.timeout = 5s;  // a transport that waited for the 100000 announced bytes would time out
  auto res = transport_->send(req);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->headers.get("Content-Length"), "100000");
  EXPECT_TRUE(res->body.empty());
}

TEST_F(TransportContract, ResponseHeadersAreCaseInsensitiveAndKeepEveryValue) {
  auto res = transport_->send(make("GET", http_url("/headers")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->headers.get("x-mixed-case"), "Value");
  EXPECT_EQ(res->headers.get("X-MIXED-CASE"), "Value");
  EXPECT_EQ(res->headers.get_all("set-cookie"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(res->body, "ok");
}

TEST_F(TransportContract, LargeResponseBodyArrivesIntact) {
  auto res = transport_->send(make("GET", http_url("/mebibyte")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->body.size(), std::size_t{1} << 20);
  EXPECT_TRUE(res->body == pattern(1 << 20));
}

TEST_F(TransportContract, UserAgentComesFromTheOptions) {
  TransportOptions options;
  options.user_agent = "test-agent/7";
  auto res = contract::make(options)->send(make("GET", http_url("/echo")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->headers.get("X-Echo-User-Agent"), "test-agent/7");
  // The default names the SDK and its version; twice, so a reused handle still sends it.
  for (int i = 0; i < 2; ++i) {
    res = transport_->send(make("GET", http_url("/echo")));
    ASSERT_TRUE(res) << res.error().to_string();
    EXPECT_EQ(res->headers.get("X-Echo-User-Agent"), "freshtoken/" FRESHTOKEN_VERSION_STRING);
  }
}

TEST_F(TransportContract, ARequestsOwnUserAgentWinsAndAnEmptyOptionSendsNone) {
  Request request = make("GET", http_url("/echo"));
  request.headers.set("user-agent", "app/2");
  auto res = transport_->send(request);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->headers.get_all("X-Echo-User-Agent"), std::vector<std::string>{"app/2"});

  TransportOptions options;
  options.user_agent.clear();
  res = contract::make(options)->send(make("GET", http_url("/echo")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->headers.get("X-Echo-User-Agent"), "");

  options.user_agent = "bad\r\nX-Injected: 1";
  res = contract::make(options)->send(make("GET", http_url("/echo")));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::config);
}

TEST_F(TransportContract, RedirectIsReturnedNotFollowed) {
  auto res = transport_->send(make("GET", http_url("/redirect")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->status, 302);
  EXPECT_EQ(res->headers.get("Location"), "/target");
  EXPECT_EQ(target_hits(), 0);
}

TEST_F(TransportContract, ClientAndServerErrorStatusesAreResponses) {
  for (int status : {400, 401, 404, 500, 503}) {
    auto res = transport_->send(make("GET", http_url("/status/" + std::to_string(status))));
    ASSERT_TRUE(res) << res.error().to_string();
    EXPECT_EQ(res->status, status);
    EXPECT_EQ(res->body, "status " + std::to_string(status));
  }
}

TEST_F(TransportContract, StreamedBodyOfUnknownLengthArrivesIntactChunked) {
  const std::string payload = pattern(1 << 20);
  std::size_t offset = 0;
  Request req = make("POST", http_url("/echo"));
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

TEST_F(TransportContract, StreamedBodyWithKnownLengthIsSentWithContentLength) {
  const std::string payload = pattern(1 << 20);
  std::size_t offset = 0;
  Request req = make("PUT", http_url("/echo"));
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

TEST_F(TransportContract, FailingBodySourceIsAnErrorNotACrash) {
  Request req = make("POST", http_url("/echo"));
  req.body_stream = [](char*, std::size_t) -> std::size_t { throw std::runtime_error("disk"); };
  auto res = transport_->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::config);
}

TEST_F(TransportContract, HeadersOfOneRequestNeverLeakIntoTheNext) {
  Request with = make("POST", http_url("/echo"));
  with.headers.add("Authorization", "Bearer first-request-token");
  with.body = "first";
  auto first = transport_->send(with);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->headers.get("X-Saw-Authorization"), "yes");

  auto second = transport_->send(make("GET", http_url("/echo")));
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->headers.get("X-Saw-Authorization"), "no");
  EXPECT_EQ(second->headers.get("X-Method"), "GET");
  EXPECT_EQ(second->body, "");
}

TEST_F(TransportContract, ABearerWithALineBreakIsRefusedUnsentAndUnquoted) {
  for (const std::string& token :
       {std::string("s3cr3t\r\nX-Injected: yes"), std::string("s3cr3t\0x", 8)}) {
    Request req = make("GET", http_url("/target"));
    req.headers.add("Authorization", "Bearer " + token);
    auto res = transport_->send(req);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code(), ErrorCode::config);
    EXPECT_EQ(res.error().message().find("s3cr3t"), std::string::npos) << res.error().message();
  }
  EXPECT_EQ(target_hits(), 0);
}

// A transport may keep per-connection or per-handle state between sends: every method, body
// and timeout must still be this request's own.
TEST_F(TransportContract, MethodBodyAndTimeoutNeverCarryOverOnAReusedHandle) {
  Request head = make("HEAD", http_url("/big"));
  head.timeout = 5s;
  auto r1 = transport_->send(head);
  ASSERT_TRUE(r1) << r1.error().to_string();
  EXPECT_TRUE(r1->body.empty());

  auto r2 = transport_->send(make("GET", http_url("/big")));  // not a HEAD any more
  ASSERT_TRUE(r2) << r2.error().to_string();
  EXPECT_EQ(r2->body.size(), 100000u);

  Request streamed = make("PUT", http_url("/echo"));
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

  auto r4 = transport_->send(make("GET", http_url("/echo")));  // no custom method, no body
  ASSERT_TRUE(r4) << r4.error().to_string();
  EXPECT_EQ(r4->headers.get("X-Method"), "GET");
  EXPECT_EQ(r4->body, "");

  Request post = make("POST", http_url("/echo"));
  post.body = "fields";
  auto r5 = transport_->send(post);
  ASSERT_TRUE(r5) << r5.error().to_string();
  EXPECT_EQ(r5->body, "fields");

  Request del = make("DELETE", http_url("/echo"));  // no body: the POST's is not resent
  auto r6 = transport_->send(del);
  ASSERT_TRUE(r6) << r6.error().to_string();
  EXPECT_EQ(r6->headers.get("X-Method"), "DELETE");
  EXPECT_EQ(r6->body, "");
  auto r7 = transport_->send(make("GET", http_url("/echo")));
  ASSERT_TRUE(r7) << r7.error().to_string();
  EXPECT_EQ(r7->headers.get("X-Method"), "GET");
}

TEST_F(TransportContract, SequentialRequestsReuseOneConnection) {
  auto transport = contract::make();
  for (int i = 0; i < 100; ++i) {
    auto res = transport->send(make("GET", http_url("/echo")));
    ASSERT_TRUE(res) << res.error().to_string();
  }
  EXPECT_EQ(connections_seen(), 1u);
  if (auto opened = contract::connections_opened(*transport)) {
    EXPECT_EQ(*opened, 1u);
  }
}

// A transport may keep the URL it parsed last: each request must still reach its own URL, and a
// malformed one must not stick.
TEST_F(TransportContract, EachRequestReachesItsOwnUrlOnAReusedHandle) {
  auto transport = contract::make();
  auto get = [&](const std::string& url) { return transport->send(make("GET", url)); };

  auto echo = get(http_url("/echo"));
  ASSERT_TRUE(echo) << echo.error().to_string();
  EXPECT_EQ(echo->headers.get("X-Method"), "GET");
  auto created = get(http_url("/status/201"));
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_EQ(created->status, 201);
  EXPECT_EQ(created->body, "status 201");

  // A space is not allowed in a URL; the error names neither the path nor the query.
  auto malformed = get(http_url("/status/202?code=s3cr3t c0de"));
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code(), ErrorCode::config);
  EXPECT_NE(malformed.error().message().find("malformed URL"), std::string::npos)
      << malformed.error().message();
  EXPECT_EQ(malformed.error().message().find("s3cr3t"), std::string::npos)
      << malformed.error().message();
  EXPECT_EQ(malformed.error().message().find("status"), std::string::npos)
      << malformed.error().message();

  auto again = get(http_url("/status/201"));  // the URL the handle held before the failure
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->status, 201);
  auto target = get(http_url("/target"));
  ASSERT_TRUE(target) << target.error().to_string();
  EXPECT_EQ(target->body, "target");
  EXPECT_EQ(target_hits(), 1);
  auto missing = get(http_url("/status/404"));
  ASSERT_TRUE(missing) << missing.error().to_string();
  EXPECT_EQ(missing->status, 404);

  EXPECT_EQ(connections_seen(), 1u);
  if (auto opened = contract::connections_opened(*transport)) {
    EXPECT_EQ(*opened, 1u);
  }
  if (auto sent = contract::exchanges(*transport)) {
    EXPECT_EQ(*sent, 5u);
  }
}

// A request from a thread that has sent nothing yet (here each request comes from a new
// thread, as with a thread per task) must take the connection another thread left idle rather
// than open one of its own.
TEST_F(TransportContract, ANewThreadReusesTheConnectionAnEarlierThreadLeftIdle) {
  auto transport = contract::make();
  for (int i = 0; i < 20; ++i) {
    std::thread([&] {
      auto res = transport->send(make("GET", http_url("/echo")));
      ASSERT_TRUE(res) << res.error().to_string();
    }).join();
  }
  EXPECT_EQ(connections_seen(), 1u);
  if (auto opened = contract::connections_opened(*transport)) {
    EXPECT_EQ(*opened, 1u);
  }
  if (auto sent = contract::exchanges(*transport)) {
    EXPECT_EQ(*sent, 20u);
  }
}

TEST_F(TransportContract, ThreadsShareConnectionsInsteadOfOpeningOnePerRequest) {
  constexpr int kThreads = 16;
  constexpr int kRequests = 50;
  auto transport = contract::make();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequests; ++i) {
        Request req = make("POST", http_url("/echo"));
        req.body = std::to_string(t) + ":" + std::to_string(i);
        auto res = transport->send(req);
        if (!res || res->status != 200 || res->body != req.body) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(connections_seen(), std::size_t{kThreads + 4});
  if (auto opened = contract::connections_opened(*transport)) {
    EXPECT_LE(*opened, std::uint64_t{kThreads + 4});
  }
  if (auto sent = contract::exchanges(*transport)) {
    EXPECT_EQ(*sent, std::uint64_t{kThreads * kRequests});
  }
}

TEST_F(TransportContract, CustomMethodTokenIsSentAsIs) {
  auto res = transport_->send(make("PROPFIND", raw_url("/dav")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->status, 207);
  EXPECT_EQ(res->body, "PROPFIND /dav HTTP/1.1");
}

TEST_F(TransportContract, OnlyTheFinalResponsesHeadersAreReturned) {
  auto res = transport_->send(make("GET", raw_url("/interim")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->headers.get("X-Final"), "1");
  EXPECT_FALSE(res->headers.contains("X-Interim"));
  EXPECT_FALSE(res->headers.contains("Link"));
  EXPECT_EQ(res->headers.get("X-Folded"), "first second");
  EXPECT_EQ(res->body, "ok");
}

TEST_F(TransportContract, OversizedResponseHeadersAreAnInvalidResponse) {
  auto res = transport_->send(make("GET", raw_url("/oversized-headers")));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::invalid_response) << res.error().to_string();
}

TEST_F(TransportContract, ConnectionRefusedIsANetworkErrorNamingTheHost) {
  const int port = endpoints().unused_port;
  Request req = make("POST", "http://127.0.0.1:" + std::to_string(port) + "/token?code=c0de-123");
  req.headers.add("Authorization", "Bearer s3cr3t-header-value");
  req.body = "client_secret=s3cr3t-body-value";
  auto res = transport_->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::network);
  const std::string& message = res.error().message();
  EXPECT_NE(message.find("127.0.0.1"), std::string::npos) << message;
  EXPECT_EQ(message.find("s3cr3t"), std::string::npos) << message;
  EXPECT_EQ(message.find("c0de-123"), std::string::npos) << message;
}

TEST_F(TransportContract, InjectedHeaderLinesAreRefusedAsConfigErrors) {
  Request req = make("GET", "http://127.0.0.1:1/");
  req.headers.add("X-Evil", "a\r\nInjected: yes");
  auto res = transport_->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::config);

  Request bad_method = make("GE T", "http://127.0.0.1:1/");
  auto res2 = transport_->send(bad_method);
  ASSERT_FALSE(res2);
  EXPECT_EQ(res2.error().code(), ErrorCode::config);
}

TEST_F(TransportContract, NonHttpSchemesAreRefused) {
  auto res = transport_->send(make("GET", "file:///etc/passwd"));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::config);
}

TEST_F(TransportContract, StalledServerTimesOutWithTheTransportsTotalTimeout) {
  TransportOptions options;
  options.timeout = 300ms;
  auto res = contract::make(options)->send(make("GET", raw_url("/stall")));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::timeout);
}

TEST_F(TransportContract, RequestTimeoutOverridesTheTransportDefault) {
  TransportOptions options;
  options.timeout = 60s;
  Request req = make("GET", raw_url("/stall"));
  req.timeout = 300ms;
  auto res = contract::make(options)->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::timeout);
}

// A transport may keep a timeout between sends: a short one must not stay behind for the next
// request, and must come back when asked for again.
TEST_F(TransportContract, EachRequestGetsItsOwnTimeoutOnAReusedHandle) {
  TransportOptions options;
  options.timeout = 60s;
  auto transport = contract::make(options);
  Request hurried = make("GET", raw_url("/slow"));  // answered after 400 ms
  hurried.timeout = 150ms;
  const Request patient = make("GET", raw_url("/slow"));

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

TEST_F(TransportContract, CancelMidResponseEndsTheExchangeAsCancelled) {
  // Headers and a first piece of the body arrive, then the server goes silent.
  Request req = make("GET", raw_url("/partial-then-silent"));
  req.timeout = 10s;  // only cancellation can end this exchange within the test
  CancelToken token = req.cancel;
  std::thread canceller([token] {
    std::this_thread::sleep_for(200ms);
    token.cancel();
  });
  auto res = transport_->send(req);
  canceller.join();
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::cancelled);
}

TEST_F(TransportContract, AlreadyCancelledRequestIsNotSent) {
  Request req = make("GET", raw_url("/"));
  req.cancel.cancel();
  auto res = transport_->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::cancelled);
  EXPECT_EQ(contract::server_state().raw_connections, 0u);
}

// ---------------------------------------------------------------- TLS

class TransportContractTls : public Contract {
 protected:
  // Options that trust the test CA while `trust_` lives; skips the test where that cannot be.
  void trust(TransportOptions& options) {
    std::string why;
    trust_ = contract::trust_test_ca(options, why);
    if (!trust_) GTEST_SKIP() << why;
  }
  std::unique_ptr<contract::TrustedCa> trust_;
};

TEST_F(TransportContractTls, HttpsSucceedsWithTheTestCaAndReusesTheConnection) {
  TransportOptions options;
  trust(options);
  if (IsSkipped()) return;
  auto transport = contract::make(options);
  for (int i = 0; i < 10; ++i) {
    Request req = make("POST", endpoints().https + "/echo");
    req.body = "over tls " + std::to_string(i);
    auto res = transport->send(req);
    ASSERT_TRUE(res) << res.error().to_string();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, req.body);
  }
  EXPECT_EQ(contract::server_state().https_connections, 1u);
  if (auto opened = contract::connections_opened(*transport)) {
    EXPECT_EQ(*opened, 1u);
  }
}

TEST_F(TransportContractTls, UnknownCaIsATlsError) {
  auto res = contract::make()->send(make("GET", endpoints().https + "/echo"));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::tls) << res.error().to_string();
}

TEST_F(TransportContractTls, CertificateForAnotherHostIsATlsError) {
  TransportOptions options;
  trust(options);
  if (IsSkipped()) return;
  auto res = contract::make(options)->send(make("GET", endpoints().https_other + "/echo"));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::tls) << res.error().to_string();
}

TEST_F(TransportContractTls, VerificationOffAcceptsAnyCertificateAndWarns) {
  TransportOptions options;
  options.verify_tls = false;
  std::vector<LogLevel> logged;
  options.log = [&](LogLevel level, std::string_view) { logged.push_back(level); };
  auto res = contract::make(options)->send(make("GET", endpoints().https_other + "/echo"));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(logged, std::vector<LogLevel>{LogLevel::warning});
}

// ---------------------------------------------------------------- response size limits

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

class TransportContractLimits : public Contract {};

TEST_F(TransportContractLimits, DefaultLimitIs64MiB) {
  EXPECT_EQ(TransportOptions{}.max_response_bytes, 64 * kMiB);
}

TEST_F(TransportContractLimits, StreamedGibibyteEndsInAnErrorWithinBoundedMemory) {
  auto res = contract::make()->send(make("GET", raw_url("/chunked-gibibyte")));
  ASSERT_FALSE(res) << "a 1 GiB body was accepted";
  EXPECT_EQ(res.error().code(), ErrorCode::invalid_response) << res.error().to_string();
  EXPECT_NE(res.error().message().find("response body exceeds 67108864 bytes"), std::string::npos)
      << res.error().message();
  EXPECT_EQ(res.error().message().find("xxxx"), std::string::npos);  // never the body
  const std::size_t rss = contract::peak_rss();
  EXPECT_GT(rss, 0u);
  EXPECT_LT(rss, kRssBound);
}

TEST_F(TransportContractLimits, AnnouncedLengthBeyondTheLimitIsRefusedBeforeTheBodyIsRead) {
  // Announces 1 TiB; sends at most 1 GiB of it.
  auto res = contract::make()->send(make("GET", raw_url("/announced-tebibyte")));
  ASSERT_FALSE(res) << "a 1 TiB body was accepted";
  EXPECT_EQ(res.error().code(), ErrorCode::invalid_response) << res.error().to_string();
  EXPECT_NE(res.error().message().find("response body exceeds 67108864 bytes"), std::string::npos)
      << res.error().message();
  // Refused on the Content-Length field: only what the socket buffers took was ever sent
  // (counted once the server's connection has ended), far less than the limit the body would
  // otherwise have been read up to.
  EXPECT_LT(contract::announced_body_sent(), 64 * kMiB);
  const std::size_t rss = contract::peak_rss();
  EXPECT_GT(rss, 0u);
  EXPECT_LT(rss, kRssBound);
}

class TransportContractLimit : public TransportContract {};

TEST_F(TransportContractLimit, BodyOfExactlyTheLimitIsAccepted) {
  TransportOptions options;
  options.max_response_bytes = kMiB;
  auto res = contract::make(options)->send(make("GET", http_url("/mebibyte")));
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->body, pattern(kMiB));
}

TEST_F(TransportContractLimit, RequestLimitBelowTheTransportsApplies) {
  Request req = make("GET", http_url("/big"));  // 100000 bytes
  req.max_response_bytes = 1000;
  auto res = transport_->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::invalid_response);
  EXPECT_NE(res.error().message().find("exceeds 1000 bytes"), std::string::npos)
      << res.error().message();
  // The same transport, without the request's limit, takes the body again.
  auto again = transport_->send(make("GET", http_url("/big")));
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->body.size(), 100000u);
}

TEST_F(TransportContractLimit, RequestLimitCannotRaiseTheTransports) {
  TransportOptions options;
  options.max_response_bytes = 1000;
  Request req = make("GET", http_url("/big"));
  req.max_response_bytes = kMiB;
  auto res = contract::make(options)->send(req);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().message().find("exceeds 1000 bytes"), std::string::npos)
      << res.error().message();
}

TEST_F(TransportContractLimits, ChunkedBodyBeyondARequestLimitIsRefused) {
  Request req = make("GET", raw_url("/chunked-4mib"));
  req.max_response_bytes = 2 * kMiB;
  auto res = contract::make()->send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::invalid_response);
  EXPECT_NE(res.error().message().find("exceeds 2097152 bytes"), std::string::npos)
      << res.error().message();
}

// ---------------------------------------------------------------- proxies

// A name that resolves nowhere (RFC 6761): only a proxy can take a request for it.
constexpr const char* kRemoteUrl = "http://freshtoken-proxy-test.invalid/api";

class TransportContractProxy : public TransportContract {};

TEST_F(TransportContractProxy, ExplicitProxyOptionIsUsedForOtherHostsOnly) {
  TransportOptions options;
  options.proxy = endpoints().proxy;
  auto transport = contract::make(options);
  auto local = transport->send(make("GET", http_url("/echo")));
  ASSERT_TRUE(local) << local.error().to_string();
  EXPECT_EQ(local->status, 200);
  EXPECT_TRUE(contract::server_state().proxy_heads.empty());
  auto remote = transport->send(make("GET", kRemoteUrl));
  ASSERT_TRUE(remote) << remote.error().to_string();
  EXPECT_EQ(remote->status, 502);
  EXPECT_EQ(contract::server_state().proxy_heads.size(), 1u);
}

}  // namespace
}  // namespace freshtoken
