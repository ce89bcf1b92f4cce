// The mock server's DPoP helpers on their own: the RFC 7638 thumbprint against RFC 9449's
// example key, and how htu is normalised before it is compared.
#include <gtest/gtest.h>

#include "dpop.hpp"

namespace freshtoken::mock::detail {
namespace {

TEST(DpopThumbprint, MatchesTheJktOfRfc9449sExampleKey) {
  // RFC 9449 §4.1's proof key; §6.1 gives its thumbprint as the access token's cnf.jkt.
  EXPECT_EQ(ec_jwk_thumbprint("l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
                              "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
}

TEST(DpopHtu, EquivalentSpellingsNormaliseAlike) {
  EXPECT_EQ(normalize_htu("HTTPS://Server.Example.COM:443/token?x=1#frag"),
            "https://server.example.com/token");
  EXPECT_EQ(normalize_htu("http://127.0.0.1:80"), "http://127.0.0.1/");
  EXPECT_EQ(normalize_htu("http://127.0.0.1:8080/api/me"), "http://127.0.0.1:8080/api/me");
  EXPECT_EQ(normalize_htu("http://[::1]:443/x"), "http://[::1]:443/x");
  EXPECT_EQ(normalize_htu("http://[::1]/x"), "http://[::1]/x");
}

TEST(DpopHtu, PathCaseAndOtherSchemesAreNotEquivalent) {
  EXPECT_NE(normalize_htu("http://127.0.0.1/Token"), normalize_htu("http://127.0.0.1/token"));
  EXPECT_EQ(normalize_htu("ftp://127.0.0.1/token"), std::nullopt);
  EXPECT_EQ(normalize_htu("/token"), std::nullopt);
  EXPECT_EQ(normalize_htu("http://user@127.0.0.1/token"), std::nullopt);
}

TEST(DpopProofCheck, ANonJwsIsMalformedAndAnEmptyOneToo) {
  const DpopExpectation expected{"POST", "http://127.0.0.1/token", std::chrono::system_clock::now(),
                                 nullptr};
  EXPECT_EQ(check_dpop_proof("", expected).reason, DpopReject::malformed);
  EXPECT_EQ(check_dpop_proof("a.b", expected).reason, DpopReject::malformed);
  EXPECT_EQ(check_dpop_proof("e30.e30.", expected).reason, DpopReject::typ);  // {} . {}
}

}  // namespace
}  // namespace freshtoken::mock::detail
