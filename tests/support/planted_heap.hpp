// A heap that can be searched for planted secrets, for the tests that prove the SDK wipes its
// copies. A program linking freshtoken_planted_heap has the global allocation functions
// replaced (a replacement the language allows, [replacement.functions]): operator new hands
// out zeroed memory and keeps a list of the live blocks, so whatever a block holds when
// operator delete gets it was written during its lifetime; operator delete counts, for each
// planted value, the released blocks that still hold it, and a test can search the live ones.
// Copies outside operator new (libcurl's, OpenSSL's, the kernel's socket buffers) are out of
// its sight.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace freshtoken::testing {

// Makes `planted` the values looked for (at most 8; they must live in static storage). Call it
// once, before any test runs: a namespace-scope initializer in the test program.
bool plant(std::initializer_list<std::string_view> planted);

// Released blocks that still held `planted` since the last reset_unwiped().
long unwiped(std::string_view planted);
void reset_unwiped();

// Live blocks that hold `planted` now.
long live_blocks_holding(std::string_view planted);

// The checks themselves can fail: a heap string holding `prefix` + `planted` is found while it
// lives, and counted when it is released unwiped.
inline void expect_an_unwiped_copy_is_seen(std::string_view prefix, std::string_view planted) {
  reset_unwiped();
  {
    auto copy = std::make_unique<std::string>(prefix);
    copy->append(planted);
    EXPECT_EQ(live_blocks_holding(planted), 1);
  }
  EXPECT_EQ(live_blocks_holding(planted), 0);
  EXPECT_EQ(unwiped(planted), 1);
}

}  // namespace freshtoken::testing
