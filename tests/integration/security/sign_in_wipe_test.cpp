// The secrets of a browser sign-in leave no heap copy behind unwiped: the authorization code
// and the state as the loopback listener reads and parses the redirect (ending with the code
// in one Secret), the code on its way into the token request, and the client secret in the
// Basic credentials built for the token endpoint (the form-encoded secret, "id:secret", its
// base64 and the Authorization field). Like bearer_wipe_test.cpp, the program runs on the
// searchable heap of tests/support/planted_heap.hpp, with these values planted.
// The test's own "browser" and token endpoint work on stack buffers only, so every heap copy
// seen is the SDK's. Copies outside operator new (libcurl's, OpenSSL's, the kernel's socket
// buffers) are out of its sight; docs/reliability.md lists them.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <thread>

#include "freshtoken/authorization_server.hpp"
#include "freshtoken/transport.hpp"
#include "planted_heap.hpp"
#include "sign_in/loopback_listener.hpp"
#include "test_servers.hpp"

namespace {

// Only ever in static storage, the test's stack buffers and the SDK's own buffers.
constexpr std::string_view kCode = "planted-code-wipe-canary-0123456789abcdefghij";
constexpr std::string_view kState = "planted-state-wipe-canary-0123456789abcdefgh";
// The code's end, which a shorter value written over the start of its buffer leaves behind.
constexpr std::string_view kCodeTail = "canary-0123456789abcdefghij";
// The client secret; form encoding turns its tail into "%7E%21x", so the prefix is looked for
// to find the raw and the encoded copies alike.
constexpr std::string_view kSecret = "planted-client-secret-canary-0123456789~!x";
constexpr std::string_view kSecretPrefix = "planted-client-secret-canary-0123456789";
// base64("desktop-app:planted-client-secret-canary-0123456789"), the start of the Basic
// credentials (51 bytes: whole base64 groups).
constexpr std::string_view kBasicPrefix =
    "ZGVza3RvcC1hcHA6cGxhbnRlZC1jbGllbnQtc2VjcmV0LWNhbmFyeS0wMTIzNDU2Nzg5";

[[maybe_unused]] const bool planted =
    freshtoken::testing::plant({kCode, kCodeTail, kState, kSecretPrefix, kBasicPrefix});

}  // namespace

namespace freshtoken {
namespace {

using namespace std::chrono_literals;
using testing::live_blocks_holding;
using testing::reset_unwiped;
using testing::unwiped;

// A blocking request to the listener from stack buffers only: sends `format` with the planted
// code and state filled in (as %.*s, in that order; a format may leave out the state), reads the
// answer and forgets it.
void browser_request(std::uint16_t port, const char* format) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  char request[512];
  const int size = std::snprintf(request, sizeof(request), format, int(kCode.size()), kCode.data(),
                                 int(kState.size()), kState.data());
  ASSERT_GT(size, 0);
  ASSERT_EQ(::send(fd, request, std::size_t(size), MSG_NOSIGNAL), size);
  char answer[4096];
  while (::recv(fd, answer, sizeof(answer), 0) > 0) {
  }
  std::memset(request, 0, sizeof(request));
  ::close(fd);
}

TEST(SignInWipe, TheListenerLeavesTheCodeInOneSecretAndNoOtherCopyOfItOrTheState) {
  auto opened = detail::LoopbackListener::open();
  ASSERT_TRUE(opened);
  auto listener = std::move(*opened);
  detail::RedirectExpectation expected;
  expected.state = Secret(kState);
  const auto port = listener->port();
  reset_unwiped();

  std::thread browser([port] {
    // Stray requests carrying the code without the state (one with a repeated parameter),
    // then the redirect itself.
    browser_request(port, "GET /callback?code=%.*s&state=forged HTTP/1.1\r\n\r\n");
    browser_request(port, "GET /callback?a=1&a=2&code=%.*s&state=forged HTTP/1.1\r\n\r\n");
    browser_request(port, "GET /callback?code=%.*s&state=%.*s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  });
  auto code = listener->wait_for_code(expected, 10s, CancelToken());
  ASSERT_TRUE(code) << code.error().to_string();
  listener->finish(true);
  browser.join();

  EXPECT_TRUE(code->reveal() == kCode);
  EXPECT_EQ(unwiped(kCode), 0);
  EXPECT_EQ(unwiped(kCodeTail), 0) << "a part of the code";
  EXPECT_EQ(unwiped(kState), 0);
  EXPECT_EQ(live_blocks_holding(kCode), 1) << "the Secret, and nothing else";
  EXPECT_EQ(live_blocks_holding(kState), 1) << "the expected state's Secret";
  *code = Secret();
  EXPECT_EQ(live_blocks_holding(kCode), 0);
  EXPECT_EQ(unwiped(kCode), 0);
}

// The token endpoint: reads the request head and body into a stack buffer, answers a token
// response, and zeroes the buffer.
void token_endpoint(int fd, const std::atomic<bool>& stopping) {
  char request[16384];
  std::size_t size = 0;
  for (;;) {
    const std::string_view seen(request, size);
    const auto head_end = seen.find("\r\n\r\n");
    if (head_end != std::string_view::npos) {
      const auto length_at = seen.find("Content-Length: ");
      const std::size_t length =
          length_at < head_end ? std::strtoul(request + length_at + 16, nullptr, 10) : 0;
      if (size >= head_end + 4 + length) break;
    }
    if (!testing::RawServer::receive_some(fd, request, sizeof(request), size, stopping)) return;
  }
  std::memset(request, 0, sizeof(request));
  static constexpr std::string_view kAnswer =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 61\r\n\r\n"
      "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":3600}";
  (void)::send(fd, kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL);
}

TEST(SignInWipe, TheCodeExchangeLeavesNoCopyOfTheCodeOrTheClientSecret) {
  testing::RawServer server(&token_endpoint);
  ServerMetadata metadata;
  metadata.issuer = "http://127.0.0.1";
  metadata.token_endpoint = server.url("/token");
  AuthorizationServer as(
      make_curl_transport(), metadata,
      ClientConfig{"desktop-app", Secret(kSecret), ClientAuth::client_secret_basic});
  Secret code(kCode);
  Secret verifier(std::string_view("verifier-0123456789abcdefghijklmnopqrstuvwxyz0123"));
  reset_unwiped();

  auto tokens = as.exchange_code(code, "http://127.0.0.1:1/callback", verifier);
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_EQ(tokens->access_token.reveal(), "at");

  EXPECT_EQ(unwiped(kCode), 0);
  EXPECT_EQ(unwiped(kCodeTail), 0) << "a part of the code";
  EXPECT_EQ(unwiped(kSecretPrefix), 0) << "the secret or its form-encoded copy";
  EXPECT_EQ(unwiped(kBasicPrefix), 0) << "the Basic credentials";
  EXPECT_EQ(live_blocks_holding(kCode), 1) << "the caller's Secret only";
  EXPECT_EQ(live_blocks_holding(kSecretPrefix), 1) << "the client's Secret only";
  EXPECT_EQ(live_blocks_holding(kBasicPrefix), 0);
}

TEST(SignInWipeChecks, SeeAnUnwipedCopy) {
  testing::expect_an_unwiped_copy_is_seen("code=", kCode);
}

}  // namespace
}  // namespace freshtoken
