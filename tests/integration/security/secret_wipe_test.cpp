// Secrets are zeroed when released. This program replaces the global array allocation
// functions (a replacement the language allows, [replacement.functions]): operator delete[]
// looks at a watched buffer before handing it back to free(), so the test sees what the
// Secret left in its heap buffer at the moment it gave it up — without reading freed memory.
// Secret's buffer is allocated with new[] and freed with delete[] by the last Secret sharing
// it, so every release goes through here.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "freshtoken/secret.hpp"
#include "freshtoken/token_set.hpp"

namespace {

std::atomic<const void*> watched{nullptr};
std::atomic<std::size_t> watched_size{0};
// -1: not released yet; 0: released with bytes left; 1: released all zero.
std::atomic<int> released_zeroed{-1};

void inspect(void* p) noexcept {
  if (p == nullptr || p != watched.load()) return;
  const auto* bytes = static_cast<const unsigned char*>(p);
  bool zero = true;
  for (std::size_t i = 0; i < watched_size.load(); ++i) zero = zero && bytes[i] == 0;
  released_zeroed = zero ? 1 : 0;
  watched = nullptr;
}

}  // namespace

void* operator new[](std::size_t size) {
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete[](void* p) noexcept {
  inspect(p);
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  inspect(p);
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  inspect(p);
  std::free(p);
}

namespace freshtoken {
namespace {

const std::string_view kValue = "canary-refresh-token-to-be-wiped-0123456789";

void watch(const Secret& secret) {
  ASSERT_FALSE(secret.empty());
  released_zeroed = -1;
  watched_size = secret.size();
  watched = secret.reveal().data();
}

TEST(SecretWipe, DestructionZeroesTheBuffer) {
  {
    Secret secret(kValue);
    watch(secret);
  }
  EXPECT_EQ(released_zeroed.load(), 1);
}

TEST(SecretWipe, CopyAssignmentZeroesTheOverwrittenBuffer) {
  Secret secret(kValue);
  watch(secret);
  secret = Secret(std::string_view("another"));
  EXPECT_EQ(released_zeroed.load(), 1);
  EXPECT_EQ(secret.reveal(), "another");
}

TEST(SecretWipe, MoveAssignmentZeroesTheOverwrittenBuffer) {
  Secret secret(kValue);
  watch(secret);
  Secret other(std::string_view("another"));
  secret = std::move(other);
  EXPECT_EQ(released_zeroed.load(), 1);
}

TEST(SecretWipe, MoveTransfersTheBufferWithoutACopy) {
  Secret secret(kValue);
  const char* buffer = secret.reveal().data();
  Secret moved(std::move(secret));
  EXPECT_EQ(moved.reveal().data(), buffer);  // no second copy left behind
  watch(moved);
  moved = Secret();
  EXPECT_EQ(released_zeroed.load(), 1);
}

TEST(SecretWipe, CopiesShareOneBufferZeroedWhenTheLastGoes) {
  std::optional<Secret> original(std::in_place, kValue);
  watch(*original);
  Secret copy = *original;
  EXPECT_EQ(copy.reveal().data(), original->reveal().data());  // no second copy of the bytes
  original.reset();
  EXPECT_EQ(released_zeroed.load(), -1);  // still in use by the copy
  EXPECT_EQ(copy.reveal(), kValue);
  copy = Secret();
  EXPECT_EQ(released_zeroed.load(), 1);
}

TEST(SecretWipe, TokenSetReleasesEveryTokenZeroed) {
  for (int which = 0; which < 3; ++which) {
    {
      TokenSet tokens;
      tokens.access_token = Secret(kValue);
      tokens.refresh_token = Secret(kValue);
      tokens.id_token = Secret(kValue);
      watch(which == 0 ? tokens.access_token : which == 1 ? tokens.refresh_token : tokens.id_token);
    }
    EXPECT_EQ(released_zeroed.load(), 1) << which;
  }
}

// The check itself can fail: a buffer released without wiping is seen as such.
TEST(SecretWipe, TheCheckSeesAnUnwipedBuffer) {
  // Called as functions, not through new/delete expressions, so the pair cannot be elided.
  void* raw = ::operator new[](kValue.size());
  kValue.copy(static_cast<char*>(raw), kValue.size());
  released_zeroed = -1;
  watched_size = kValue.size();
  watched = raw;
  ::operator delete[](raw);
  EXPECT_EQ(released_zeroed.load(), 0);
}

}  // namespace
}  // namespace freshtoken
