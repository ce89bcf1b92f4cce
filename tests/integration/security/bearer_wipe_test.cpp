// Every copy of the bearer that the SDK makes on the heap is wiped before it is released:
// the Secret HttpClient gets from its TokenSource, the "Bearer ..." Authorization value, the
// transport's header lines; and between exchanges no heap block holds it at all (the
// transport keeps its header-line buffer from one exchange to the next). The program runs on
// the searchable heap of tests/support/planted_heap.hpp, with the token planted.
// The same for a response that carries a token: the body the transport builds from libcurl's
// pieces leaves no unwiped buffer behind as it grows, nor when the exchange fails.
// libcurl's own copies (its request buffer) live in malloc'ed memory this cannot see and
// the SDK cannot wipe; docs/reliability.md says so.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "freshtoken/http_client.hpp"
#include "freshtoken/transport.hpp"
#include "planted_heap.hpp"
#include "test_servers.hpp"

namespace {

// Only ever in static storage and in the SDK's own buffers.
constexpr std::string_view kToken = "planted-bearer-wipe-canary-0123456789abcdefghijklmnop";

[[maybe_unused]] const bool planted = freshtoken::testing::plant({kToken});

}  // namespace

namespace freshtoken {
namespace {

using testing::live_blocks_holding;
using testing::RawServer;
using testing::reset_unwiped;
using testing::unwiped;

class PlantedToken : public TokenSource {
 public:
  Result<Secret> token() override { return Secret(kToken); }
  void invalidate(const Secret&) override {}
};

// Answers each request on a kept-alive connection from a buffer on its stack (so the server
// holds no heap copy of the token): /redirect -> 302 to /final, /reject -> 401
// invalid_token, anything else -> 200 "ok". Counts the requests that carried the token.
std::atomic<int> requests_with_token{0};

void serve(int fd, const std::atomic<bool>& stopping) {
  char head[16384];
  for (;;) {
    std::size_t size = 0;
    while (size < sizeof(head) &&
           std::string_view(head, size).find("\r\n\r\n") == std::string_view::npos) {
      if (!RawServer::receive_some(fd, head, sizeof(head), size, stopping)) return;
    }
    const std::string_view request(head, size);
    if (request.find(kToken) != std::string_view::npos) ++requests_with_token;
    const char* answer =
        request.rfind("GET /redirect ", 0) == 0
            ? "HTTP/1.1 302 Found\r\nLocation: /final\r\nContent-Length: 0\r\n\r\n"
        : request.rfind("GET /reject ", 0) == 0
            ? "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error=\"invalid_token\"\r\n"
              "Content-Length: 0\r\n\r\n"
            : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    if (::send(fd, answer, std::strlen(answer), MSG_NOSIGNAL) < 0) return;
    std::memset(head, 0, sizeof(head));
  }
}

// The curl transport behind an application's own decorator.
class Forwarding : public Transport {
 public:
  Result<Response> send(const Request& request) override { return inner_->send(request); }

 private:
  std::shared_ptr<Transport> inner_ = make_curl_transport();
};

// The curl transport as it is, and behind a decorator: the bearer takes the same path.
class BearerWipe : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(Paths, BearerWipe, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& path) {
                           return path.param ? "CurlTransport" : "OtherTransport";
                         });

TEST_P(BearerWipe, NoHeapCopyOfTheBearerIsReleasedUnwiped) {
  RawServer server(&serve);
  std::shared_ptr<Transport> transport = make_curl_transport();
  if (!GetParam()) transport = std::make_shared<Forwarding>();
  HttpClient client(transport, std::make_shared<PlantedToken>());
  reset_unwiped();
  requests_with_token = 0;

  for (int i = 0; i < 3; ++i) {
    auto got = client.get(server.url("/resource"));
    ASSERT_TRUE(got) << got.error().to_string();
    EXPECT_EQ(got->status, 200);
  }
  Request request;  // through send(), which copies the caller's Request
  request.url = server.url("/resource");
  auto sent = client.send(request);
  ASSERT_TRUE(sent) << sent.error().to_string();
  auto redirected = client.get(server.url("/redirect"));  // token on both hops (same origin)
  ASSERT_TRUE(redirected) << redirected.error().to_string();
  EXPECT_EQ(redirected->status, 200);
  auto rejected = client.get(server.url("/reject"));  // a 401, then the one retry
  ASSERT_TRUE(rejected) << rejected.error().to_string();
  EXPECT_EQ(rejected->status, 401);

  EXPECT_EQ(requests_with_token.load(), 3 + 1 + 2 + 2);
  EXPECT_EQ(unwiped(kToken), 0);
  // The client, its transport and their pooled handles are still alive: none holds it.
  EXPECT_EQ(live_blocks_holding(kToken), 0);
}

// A token response whose body libcurl hands over in pieces (16 KiB at most each): the token
// first, then 256 KiB of padding. /length announces the length, /chunked does not, /cut
// stops in the middle and closes the connection. The token part is built on the stack, so
// the server holds no heap copy of it.
void serve_token_response(int fd, const std::atomic<bool>&) {
  const std::string request = RawServer::read_head(fd);
  const bool chunked = request.rfind("GET /length ", 0) != 0;
  const bool cut = request.rfind("GET /cut ", 0) == 0;
  char token_part[256];
  const int token_len =
      std::snprintf(token_part, sizeof token_part, R"({"refresh_token":"%.*s","padding":")",
                    static_cast<int>(kToken.size()), kToken.data());
  static const std::string padding(16 * 1024, 'p');
  constexpr int kPieces = 16;
  constexpr std::string_view kEnd = "\"}";
  auto send_piece = [&](const char* data, std::size_t size) {
    char frame[32];
    if (chunked) {
      const int n = std::snprintf(frame, sizeof frame, "%zx\r\n", size);
      if (::send(fd, frame, static_cast<std::size_t>(n), MSG_NOSIGNAL) < 0) return false;
    }
    if (::send(fd, data, size, MSG_NOSIGNAL) < 0) return false;
    return !chunked || ::send(fd, "\r\n", 2, MSG_NOSIGNAL) >= 0;
  };
  char head[128];
  const int head_len =
      chunked ? std::snprintf(head, sizeof head,
                              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
              : std::snprintf(
                    head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
                    static_cast<std::size_t>(token_len) + kPieces * padding.size() + kEnd.size());
  if (::send(fd, head, static_cast<std::size_t>(head_len), MSG_NOSIGNAL) < 0) return;
  if (!send_piece(token_part, static_cast<std::size_t>(token_len))) return;
  std::memset(token_part, 0, sizeof token_part);
  for (int i = 0; i < (cut ? kPieces / 2 : kPieces); ++i)
    if (!send_piece(padding.data(), padding.size())) return;
  if (cut) return;  // closed before the end: libcurl reports the transfer as incomplete
  if (!send_piece(kEnd.data(), kEnd.size())) return;
  if (chunked) ::send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
}

class TokenResponseWipe : public ::testing::TestWithParam<const char*> {};
INSTANTIATE_TEST_SUITE_P(Framings, TokenResponseWipe, ::testing::Values("length", "chunked"),
                         [](const ::testing::TestParamInfo<const char*>& framing) {
                           return std::string(framing.param);
                         });

TEST_P(TokenResponseWipe, NoBufferLeftBehindWhileTheBodyGrowsHoldsTheToken) {
  RawServer server(&serve_token_response);
  auto transport = make_curl_transport();
  reset_unwiped();
  Request request;
  request.url = server.url("/" + std::string(GetParam()));
  auto response = transport->send(request);
  ASSERT_TRUE(response) << response.error().to_string();
  ASSERT_EQ(response->body.size(), std::string_view(R"({"refresh_token":"","padding":""})").size() +
                                       kToken.size() + 16 * 16 * 1024);
  EXPECT_NE(response->body.find(kToken), std::string::npos);
  // What the caller does with a token response once it is parsed.
  std::fill(response->body.begin(), response->body.end(), '\0');
  response->body.clear();
  EXPECT_EQ(unwiped(kToken), 0);
  EXPECT_EQ(live_blocks_holding(kToken), 0);
}

TEST(TokenResponseWipe, TheBodyOfAFailedExchangeIsWiped) {
  RawServer server(&serve_token_response);
  auto transport = make_curl_transport();
  reset_unwiped();
  Request request;
  request.url = server.url("/cut");
  auto response = transport->send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(unwiped(kToken), 0);
  EXPECT_EQ(live_blocks_holding(kToken), 0);
}

TEST(BearerWipeChecks, SeeAnUnwipedCopy) {
  testing::expect_an_unwiped_copy_is_seen("Bearer ", kToken);
}

}  // namespace
}  // namespace freshtoken
