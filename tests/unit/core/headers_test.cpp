#include <gtest/gtest.h>

#include "freshtoken/http.hpp"

namespace freshtoken {
namespace {

TEST(Headers, NamesAreCaseInsensitive) {
  Headers h;
  h.add("Content-Type", "application/json");
  EXPECT_EQ(h.get("content-type"), "application/json");
  EXPECT_TRUE(h.contains("CONTENT-TYPE"));
  EXPECT_FALSE(h.get("Accept").has_value());
}

TEST(Headers, SetReplacesEveryFieldOfTheNameAddKeepsThem) {
  Headers h;
  h.add("Set-Cookie", "a=1");
  h.add("set-cookie", "b=2");
  EXPECT_EQ(h.get_all("SET-COOKIE").size(), 2u);
  h.set("Set-Cookie", "c=3");
  ASSERT_EQ(h.get_all("set-cookie").size(), 1u);
  EXPECT_EQ(h.get("Set-Cookie"), "c=3");
  h.remove("set-COOKIE");
  EXPECT_TRUE(h.empty());
}

TEST(CancelToken, CancellingACopyCancelsTheOriginal) {
  CancelToken a;
  CancelToken b = a;
  EXPECT_FALSE(a.cancelled());
  b.cancel();
  EXPECT_TRUE(a.cancelled());
}

}  // namespace
}  // namespace freshtoken
