// The stored-token document: round trip, and defensive parsing of whatever is in the store.
#include "stored_tokens.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace freshtoken::detail {
namespace {

using namespace std::chrono_literals;

TEST(StoredTokens, RoundTripsEveryField) {
  StoredTokens t;
  t.refresh_token = Secret(std::string("rt"));
  t.access_token = Secret(std::string("at"));
  t.token_type = "DPoP";
  t.expires_at = StoredTokens::time_point(1'700'000'300s);
  t.issued_at = StoredTokens::time_point(1'700'000'000s);
  t.scope = "openid api";
  t.id_token = Secret(std::string("id"));
  t.dpop_key = DpopKey::generate();
  auto decoded = decode_stored_tokens(encode_stored_tokens(t));
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->refresh_token.reveal(), "rt");
  EXPECT_EQ(decoded->access_token.reveal(), "at");
  EXPECT_EQ(decoded->token_type, "DPoP");
  EXPECT_EQ(decoded->expires_at, t.expires_at);
  EXPECT_EQ(decoded->issued_at, t.issued_at);
  EXPECT_EQ(decoded->scope, "openid api");
  EXPECT_EQ(decoded->id_token.reveal(), "id");
  ASSERT_TRUE(decoded->dpop_key);
  EXPECT_EQ(decoded->dpop_key->thumbprint(), t.dpop_key->thumbprint());
}

TEST(StoredTokens, TimesKeepTheirMillisecondsRoundedDown) {
  StoredTokens t;
  t.refresh_token = Secret(std::string("rt"));
  const StoredTokens::time_point issued(1'700'000'000'123ms);
  t.issued_at = issued + 999us;
  t.expires_at = issued + 2s;
  const Secret encoded = encode_stored_tokens(t);
  auto decoded = decode_stored_tokens(encoded);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->issued_at, issued);
  EXPECT_EQ(decoded->expires_at, issued + 2s);
  // Still a plain number of seconds, which a reader of whole seconds also takes.
  EXPECT_NE(std::string(encoded.reveal()).find("\"expires_at\":1700000002.123"), std::string::npos)
      << "the document's expires_at is not seconds with a fraction";
}

TEST(StoredTokens, WholeSecondsFromEarlierVersionsStillRead) {
  auto decoded = decode_stored_tokens(Secret(std::string(
      R"({"v":1,"refresh_token":"rt","issued_at":1700000000,"expires_at":1700003600})")));
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->issued_at, StoredTokens::time_point(1'700'000'000s));
  EXPECT_EQ(decoded->expires_at, StoredTokens::time_point(1'700'003'600s));
}

TEST(StoredTokens, OptionalFieldsMayBeAbsent) {
  auto decoded = decode_stored_tokens(Secret(std::string(R"({"v":1,"refresh_token":"rt"})")));
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->refresh_token.reveal(), "rt");
  EXPECT_TRUE(decoded->access_token.empty());
  EXPECT_EQ(decoded->token_type, "Bearer");
  EXPECT_FALSE(decoded->expires_at);
}

TEST(StoredTokens, MalformedDocumentsAreStorageErrorsThatDoNotEchoTheContent) {
  const char* documents[] = {
      "",
      "not json",
      R"({"v":1,"refresh_token":"secret-rt")",
      R"(["secret-rt"])",
      R"({"refresh_token":"secret-rt"})",
      R"({"v":2,"refresh_token":"secret-rt"})",
      R"({"v":"1","refresh_token":"secret-rt"})",
      R"({"v":1,"refresh_token":42})",
      R"({"v":1,"refresh_token":"secret-rt","expires_at":"tomorrow"})",
      R"({"v":1,"refresh_token":"secret-rt","expires_at":-5})",
      R"({"v":1,"refresh_token":"secret-rt","expires_at":1e300})",
      R"({"v":1,"refresh_token":"secret-rt","scope":["a"]})",
      R"({"v":1,"refresh_token":"","access_token":""})",
  };
  for (const char* document : documents) {
    auto decoded = decode_stored_tokens(Secret(std::string_view(document)));
    ASSERT_FALSE(decoded) << document;
    EXPECT_EQ(decoded.error().code(), ErrorCode::storage) << document;
    EXPECT_EQ(decoded.error().message().find("secret-rt"), std::string::npos);
  }
}

TEST(StoredTokens, OtherTargetsRoundTripBesideTheDefaultFields) {
  StoredTokens t;
  t.refresh_token = Secret(std::string("rt"));
  t.access_token = Secret(std::string("at-default"));
  StoredTarget files;
  files.target = {"https://files.example/", "files.read"};
  files.access_token = Secret(std::string("at-files"));
  files.token_type = "Bearer";
  files.issued_at = StoredTokens::time_point(1'700'000'000s);
  files.expires_at = StoredTokens::time_point(1'700'000'300s);
  t.targets.push_back(files);
  const Secret encoded = encode_stored_tokens(t);
  auto decoded = decode_stored_tokens(encoded);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  // The default target keeps the top-level fields, for readers that know nothing of targets.
  EXPECT_EQ(decoded->access_token.reveal(), "at-default");
  ASSERT_EQ(decoded->targets.size(), 1u);
  EXPECT_EQ(decoded->targets[0].target, files.target);
  EXPECT_EQ(decoded->targets[0].access_token.reveal(), "at-files");
  EXPECT_EQ(decoded->targets[0].token_type, "Bearer");
  EXPECT_EQ(decoded->targets[0].issued_at, files.issued_at);
  EXPECT_EQ(decoded->targets[0].expires_at, files.expires_at);
}

TEST(StoredTokens, ARecordWithoutTargetsReadsAsTheDefaultTargetAlone) {
  auto decoded = decode_stored_tokens(Secret(
      std::string(R"({"v":1,"refresh_token":"rt","access_token":"at","expires_at":1700003600})")));
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->access_token.reveal(), "at");
  EXPECT_TRUE(decoded->targets.empty());
}

TEST(StoredTokens, MalformedTargetsAreStorageErrorsThatDoNotEchoTheContent) {
  const char* documents[] = {
      R"({"v":1,"refresh_token":"rt","targets":"secret-at"})",
      R"({"v":1,"refresh_token":"rt","targets":["secret-at"]})",
      R"({"v":1,"refresh_token":"rt","targets":[{"resource":"r","access_token":42}]})",
      R"({"v":1,"refresh_token":"rt","targets":[{"resource":"r"}]})",
      R"({"v":1,"refresh_token":"rt","targets":[{"access_token":"secret-at"}]})",
      R"({"v":1,"refresh_token":"rt","targets":[{"resource":7,"access_token":"secret-at"}]})",
      R"({"v":1,"refresh_token":"rt","targets":[{"resource":"r","access_token":"secret-at",)"
      R"("expires_at":"soon"}]})",
      R"({"v":1,"refresh_token":"rt","targets":[{"resource":"r","access_token":"secret-at",)"
      R"("token_type":"DPoP"}]})",
  };
  for (const char* document : documents) {
    auto decoded = decode_stored_tokens(Secret(std::string_view(document)));
    ASSERT_FALSE(decoded) << document;
    EXPECT_EQ(decoded.error().code(), ErrorCode::storage) << document;
    EXPECT_EQ(decoded.error().message().find("secret-at"), std::string::npos);
  }
}

}  // namespace
}  // namespace freshtoken::detail
