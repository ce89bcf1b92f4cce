#include "freshtoken/error.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace freshtoken {
namespace {

TEST(Result, HoldsValueAndConvertsToTrue) {
  Result<int> r = 42;
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 42);
}

TEST(Result, ValueThrowsTheErrorForCallersWhoPreferExceptions) {
  Result<int> r = Error(ErrorCode::network, "connection refused");
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::network);
  try {
    (void)r.value();
    FAIL() << "value() did not throw";
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code(), ErrorCode::network);
    EXPECT_STREQ(e.what(), "network: connection refused");
  }
}

TEST(Result, ValueOrGivesTheValueOrTheFallback) {
  const Result<int> ok = 42;
  const Result<int> failed = Error(ErrorCode::network, "connection refused");
  EXPECT_EQ(ok.value_or(7), 42);
  EXPECT_EQ(failed.value_or(7), 7);
  Result<std::string> text = std::string("moved out");
  EXPECT_EQ(std::move(text).value_or("fallback"), "moved out");
  EXPECT_EQ(Result<std::string>(Error(ErrorCode::timeout, "slow")).value_or("fallback"),
            "fallback");
}

TEST(Result, VoidResultCarriesOnlyAnError) {
  Result<void> ok;
  EXPECT_TRUE(ok);
  Result<void> bad = Error(ErrorCode::storage, "disk full");
  EXPECT_FALSE(bad);
  EXPECT_THROW(bad.value(), Exception);
}

TEST(Error, ToStringNamesCodeOAuthErrorAndStatus) {
  Error e(ErrorCode::token_endpoint, "refresh failed");
  e.with_oauth({"invalid_grant", "token revoked", "", ""}).with_http_status(400);
  EXPECT_TRUE(e.is_oauth("invalid_grant"));
  EXPECT_FALSE(e.is_oauth("invalid_client"));
  EXPECT_EQ(e.to_string(),
            "token_endpoint: refresh failed (invalid_grant: token revoked) [HTTP 400]");
}

}  // namespace
}  // namespace freshtoken
