// Known-answer tests for the crypto seam (util/crypto.hpp). Every vector is a constant, so the
// same test passes against each implementation: OpenSSL on Linux, CNG on Windows.
#include "util/crypto.hpp"

#include <gtest/gtest.h>

#include <string>

#include "util/encoding.hpp"

namespace freshtoken::util {
namespace {

std::string b64(std::string_view text) {
  auto decoded = base64url_decode(text);
  EXPECT_TRUE(decoded.has_value()) << text;
  return decoded.value_or("");
}

std::string flip_last_bit(std::string bytes) {
  bytes.back() = static_cast<char>(bytes.back() ^ 1);
  return bytes;
}

// The message every signature below signs (a JWS signing input).
constexpr const char* kInput =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJmcmVzaHRva2VuLXRlc3QifQ";

// Made once with `openssl genpkey` and `openssl dgst -sha256 -sign` over kInput.
struct RsaVector {
  const char* n;
  const char* sig;
};
constexpr const char* kExponent = "AQAB";
constexpr RsaVector kRsa2048{
    "y6KX-1LsTesJzL9UPR8_lZ8iQ0KYNBSn4jIp6fI7xSwBBv3cKLutHdYVbiOfL7zD9wFxbiyL8XMReJG7pTnRhsQ3Pkf"
    "fNPThrt3GHYv73juCrdqdq--uMN7Fd7qx4zYIDXkH9gF9szrYLBPRzHzDZhFsuGAa7iMKvdmQSoB_Zf3AqCeOXtWZC5"
    "umxJiq09tzpLYfO1YOa_MREvoGmYmyeJCiYIFX0z03Bh1CiC7dPjhT-mdrpy7Oolo0F5tk70p0sEiCvp2GdwLEkCtvP"
    "4oQCqQa5dL3S4B5AXP2inDCwzAQCn6QtIRQzEIqcW-_1LRnOFQobWlNFoMSJNUo5-RTNQ",
    "fav35NDKD1e9sXqKNMRrxpcRz8DV7lmpgnCAAwF-BHnDeNDy8xq_aRKTXpdJI9niGjQ-VNI_K5FJbBXDCleRTUQcVLJ"
    "rNK0TtgL0OXu9Ldkn2nRtb7NUV2Nblo8R09xH3eGOIpo6ThWJFHn9ONRuYVwgZ55yfLD7DmGp6SnYnS_oHTuQivtJVh"
    "JubvUN0DNA981RpFIaSutCX_qzzXvBnxieBZbga8beGqBZNkhY34PbK4ERH-6JSpI_DXJ1tt4Ou1GHEjpTJ-l311z3j"
    "yct-PI_q04CXu_Uhg0u81Ac_LyhO-pm9yclf7p6n3qj0OLryZSC_zH9G3gxSIb6Nm_yEQ"};
constexpr RsaVector kRsa1024{
    "r4i2QampohKbnezdZVa1o7sFVDIdkGfFc33DCCutpFniQO3d0KkQcfMDHSriItrF-CsK9IDJcn-KRaZZy9pnWvr61li"
    "HSIXd5XsteVJ9tx8lb5Z7qxTCh-4z4BGAYp0g0mUTY6UtGX4nK6GKtHRzMStBjQ4rxoyE1ZUDGa_KXyU",
    "mmDz7k_PLpVLdP_D2H7hWcky5y-nlyEd7oNvKJIEBC9USLwa3IhuIfhCbF-i5ldsZSpCeaV0QVdNYJGoP8l3IfS72DF"
    "-yE0CZBJhv8UambzNVGkb9n465Y01ftOeCQNNLpatk2UUx3XwHrqzl47KsRGIBZMTUlDSbFvX3lyXaSA"};

// A P-256 key (JWK d, x, y) and an ES256 signature (R || S) of kInput made with it.
constexpr const char* kEcD = "LCceZCaictvZYrp1cMZjFitx1LudNwmOhrgC4xo09DM";
constexpr const char* kEcX = "1bCshz5Rnbo9p7w1bcZnWs6s4nydBHOvonIntzlu34U";
constexpr const char* kEcY = "luJrK1CCZIEWeESy7fG8StY65PQrcyNvdvPNe-B6WQ0";
constexpr const char* kEcSig =
    "cDYluEVR0mzUlaAAH2tApFNk5OlhdpJyl89ehMdrxczP9rE6-PYa9xC63OCW4Cbj9nt2Jb_6r-yHZGYy_exeBA";

SignatureCheck rs256(const RsaVector& key, std::string_view input, const std::string& signature) {
  return verify_rs256(b64(key.n), b64(kExponent), input, signature);
}

SignatureCheck es256(std::string_view input, const std::string& signature) {
  return verify_es256(b64(kEcX), b64(kEcY), input, signature);
}

P256Key fixed_key() { return P256Key(b64(kEcD), b64(kEcX), b64(kEcY)); }

TEST(Sha256, MatchesFips180Vectors) {
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex(sha256(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(RandomBytes, ReturnsTheCountAskedForAndDiffersBetweenCalls) {
  EXPECT_EQ(random_bytes(0).size(), 0u);
  EXPECT_EQ(random_bytes(1).size(), 1u);
  EXPECT_EQ(random_bytes(100000).size(), 100000u);
  const std::string a = random_bytes(32), b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_NE(a, std::string(32, '\0'));
}

TEST(ConstantTimeEqual, ComparesEveryByte) {
  const std::string a = "0123456789abcdef", b = a;
  EXPECT_TRUE(constant_time_equal(a.data(), b.data(), a.size()));
  EXPECT_TRUE(constant_time_equal(a.data(), "x", 0));
  EXPECT_FALSE(constant_time_equal(a.data(), "1123456789abcdef", a.size()));
  EXPECT_FALSE(constant_time_equal(a.data(), "0123456789abcdeF", a.size()));
}

TEST(Wipe, ZeroesTheBytesAndEmptiesAString) {
  char buffer[] = "secret";
  wipe(buffer, sizeof buffer - 1);
  EXPECT_EQ(std::string(buffer, sizeof buffer - 1), std::string(6, '\0'));
  std::string text = "a refresh token that is longer than the small-string buffer";
  wipe(text);
  EXPECT_TRUE(text.empty());
}

TEST(VerifyRs256, AcceptsTheSignatureOfAFixedKey) {
  EXPECT_EQ(rs256(kRsa2048, kInput, b64(kRsa2048.sig)), SignatureCheck::valid);
  // A JWK "n" with a leading zero byte is the same modulus.
  EXPECT_EQ(verify_rs256(std::string(1, '\0') + b64(kRsa2048.n), b64(kExponent), kInput,
                         b64(kRsa2048.sig)),
            SignatureCheck::valid);
}

TEST(VerifyRs256, RejectsATamperedInputOrSignature) {
  const std::string tampered = std::string(kInput) + "x";
  EXPECT_EQ(rs256(kRsa2048, tampered, b64(kRsa2048.sig)), SignatureCheck::bad_signature);
  EXPECT_EQ(rs256(kRsa2048, kInput, flip_last_bit(b64(kRsa2048.sig))),
            SignatureCheck::bad_signature);
  EXPECT_EQ(rs256(kRsa2048, kInput, b64(kRsa2048.sig).substr(1)), SignatureCheck::bad_signature);
  EXPECT_EQ(rs256(kRsa2048, kInput, ""), SignatureCheck::bad_signature);
}

TEST(VerifyRs256, CallsAModulusUnder2048BitsWeakEvenWithAGoodSignature) {
  EXPECT_EQ(rs256(kRsa1024, kInput, b64(kRsa1024.sig)), SignatureCheck::weak_key);
}

TEST(VerifyRs256, CallsAKeyWithoutModulusOrExponentBad) {
  const std::string sig = b64(kRsa2048.sig);
  EXPECT_EQ(verify_rs256("", b64(kExponent), kInput, sig), SignatureCheck::bad_key);
  EXPECT_EQ(verify_rs256(b64(kRsa2048.n), "", kInput, sig), SignatureCheck::bad_key);
}

TEST(VerifyEs256, AcceptsTheSignatureOfAFixedKey) {
  EXPECT_EQ(es256(kInput, b64(kEcSig)), SignatureCheck::valid);
}

TEST(VerifyEs256, RejectsATamperedInputOrSignature) {
  EXPECT_EQ(es256(std::string(kInput) + "x", b64(kEcSig)), SignatureCheck::bad_signature);
  EXPECT_EQ(es256(kInput, flip_last_bit(b64(kEcSig))), SignatureCheck::bad_signature);
  EXPECT_EQ(es256(kInput, b64(kEcSig).substr(1)), SignatureCheck::bad_signature);
  EXPECT_EQ(es256(kInput, std::string(64, '\0')), SignatureCheck::bad_signature);
  EXPECT_EQ(es256(kInput, ""), SignatureCheck::bad_signature);
}

TEST(VerifyEs256, CallsAPointNotOnTheCurveBad) {
  EXPECT_EQ(verify_es256(b64(kEcX), flip_last_bit(b64(kEcY)), kInput, b64(kEcSig)),
            SignatureCheck::bad_key);
  EXPECT_EQ(verify_es256(std::string(32, '\0'), std::string(32, '\0'), kInput, b64(kEcSig)),
            SignatureCheck::bad_key);
  // x = p, a coordinate outside the field: reduced mod p it would be the point (0, y).
  const std::string p = b64("_____wAAAAEAAAAAAAAAAAAAAAD_______________8");
  EXPECT_EQ(verify_es256(p, b64(kEcY), kInput, b64(kEcSig)), SignatureCheck::bad_key);
}

TEST(VerifyEs256, CallsCoordinatesOfTheWrongSizeBad) {
  EXPECT_EQ(verify_es256(b64(kEcX).substr(1), b64(kEcY), kInput, b64(kEcSig)),
            SignatureCheck::bad_key);
  EXPECT_EQ(verify_es256(b64(kEcX), b64(kEcY) + '\0', kInput, b64(kEcSig)),
            SignatureCheck::bad_key);
}

TEST(SignEs256, SignsWithAFixedKeySoThatTheFixedPublicKeyVerifies) {
  const auto signature = sign_es256(fixed_key(), kInput);
  ASSERT_TRUE(signature.has_value());
  ASSERT_EQ(signature->size(), 64u);
  EXPECT_EQ(es256(kInput, *signature), SignatureCheck::valid);
  EXPECT_EQ(es256(std::string(kInput) + "x", *signature), SignatureCheck::bad_signature);
  // A fresh nonce each time.
  EXPECT_NE(sign_es256(fixed_key(), kInput), signature);
}

TEST(SignEs256, GeneratedKeysSignAndVerify) {
  const P256Key key = generate_p256_key();
  ASSERT_EQ(key.d().size(), 32u);
  ASSERT_EQ(key.x().size(), 32u);
  ASSERT_EQ(key.y().size(), 32u);
  const auto signature = sign_es256(key, kInput);
  ASSERT_TRUE(signature.has_value());
  EXPECT_EQ(verify_es256(key.x(), key.y(), kInput, *signature), SignatureCheck::valid);
  EXPECT_EQ(verify_es256(b64(kEcX), b64(kEcY), kInput, *signature), SignatureCheck::bad_signature);
  EXPECT_NE(generate_p256_key().d(), key.d());
}

TEST(SignEs256, RefusesAnUnusableKey) {
  EXPECT_FALSE(sign_es256(P256Key(b64(kEcD), b64(kEcX), flip_last_bit(b64(kEcY))), kInput));
  EXPECT_FALSE(sign_es256(P256Key(b64(kEcD).substr(1), b64(kEcX), b64(kEcY)), kInput));
  EXPECT_FALSE(sign_es256(P256Key(b64(kEcD), b64(kEcX).substr(1), b64(kEcY)), kInput));
}

}  // namespace
}  // namespace freshtoken::util
