#include "planted_heap.hpp"

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

namespace freshtoken::testing {
namespace {

constexpr std::size_t kMaxPlanted = 8;
std::array<std::string_view, kMaxPlanted> planted_values;
std::array<std::atomic<long>, kMaxPlanted> unwiped_releases{};
// Published after planted_values is written, so a release on another thread sees whole values.
std::atomic<std::size_t> planted_count{0};

// Each block starts with this header (32 bytes, so the caller's bytes keep malloc's 16-byte
// alignment) and sits in a list of the live blocks.
struct Block {
  Block* prev;
  Block* next;
  std::size_t size;
  std::size_t unused;
};
Block live{&live, &live, 0, 0};
std::mutex live_mutex;

bool holds(const Block* block, std::string_view planted) {
  return memmem(block + 1, block->size, planted.data(), planted.size()) != nullptr;
}

std::size_t index_of(std::string_view planted) {
  for (std::size_t i = 0; i < planted_count.load(); ++i)
    if (planted_values[i] == planted) return i;
  std::abort();  // a value the program never planted
}

}  // namespace

bool plant(std::initializer_list<std::string_view> planted) {
  if (planted.size() > kMaxPlanted || planted_count.load() != 0) std::abort();
  std::size_t i = 0;
  for (std::string_view value : planted) planted_values[i++] = value;
  planted_count.store(planted.size());
  return true;
}

long unwiped(std::string_view planted) { return unwiped_releases[index_of(planted)].load(); }

void reset_unwiped() {
  for (auto& count : unwiped_releases) count = 0;
}

long live_blocks_holding(std::string_view planted) {
  std::lock_guard<std::mutex> lock(live_mutex);
  long count = 0;
  for (const Block* block = live.next; block != &live; block = block->next)
    count += holds(block, planted) ? 1 : 0;
  return count;
}

namespace {

void* allocate(std::size_t size) {
  auto* block = static_cast<Block*>(std::calloc(1, sizeof(Block) + size));
  if (block == nullptr) return nullptr;
  block->size = size;
  std::lock_guard<std::mutex> lock(live_mutex);
  block->prev = &live;
  block->next = live.next;
  live.next->prev = block;
  live.next = block;
  return block + 1;
}

void release(void* p) noexcept {
  if (p == nullptr) return;
  Block* block = static_cast<Block*>(p) - 1;
  {
    std::lock_guard<std::mutex> lock(live_mutex);
    block->prev->next = block->next;
    block->next->prev = block->prev;
  }
  const std::size_t count = planted_count.load();
  for (std::size_t i = 0; i < count; ++i)
    if (holds(block, planted_values[i])) ++unwiped_releases[i];
  std::free(block);
}

}  // namespace
}  // namespace freshtoken::testing

using freshtoken::testing::allocate;
using freshtoken::testing::release;

void* operator new(std::size_t size) {
  if (void* p = allocate(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = allocate(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
