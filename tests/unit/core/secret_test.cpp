#include "freshtoken/secret.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace freshtoken {
namespace {

TEST(Secret, PrintsAFingerprintNeverTheValue) {
  Secret s(std::string_view("canary-refresh-token-1234567890"));
  std::ostringstream out;
  out << s;
  EXPECT_EQ(out.str().find("canary"), std::string::npos);
  EXPECT_EQ(out.str().rfind("sha256:", 0), 0u);
  EXPECT_EQ(out.str().size(), 7u + 8u);
  EXPECT_EQ(s.fingerprint(), out.str());
}

TEST(Secret, WipesTheStringItWasBuiltFrom) {
  std::string value = "a-value-long-enough-to-live-on-the-heap-xxxxxxxxxxxxxxxx";
  Secret s(std::move(value));
  EXPECT_TRUE(value.empty());
  EXPECT_EQ(s.reveal(), "a-value-long-enough-to-live-on-the-heap-xxxxxxxxxxxxxxxx");
}

TEST(Secret, CopiesCompareEqualAndMovesLeaveTheSourceEmpty) {
  Secret a(std::string_view("x1"));
  Secret b = a;
  EXPECT_EQ(a, b);
  Secret c = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): pinning moved-from state
  EXPECT_EQ(c, b);
  EXPECT_NE(c, Secret(std::string_view("x2")));
  EXPECT_EQ(Secret().fingerprint(), "(empty)");
}

}  // namespace
}  // namespace freshtoken
