// The fixed public keys the jws and jwks targets verify against. They and the validly signed
// seeds in corpus/jws/ were made once with a throwaway key pair whose private halves were
// discarded, so a signature that verifies here can only come from those seeds.
#pragma once

#include <array>
#include <string_view>

namespace freshtoken::fuzz {

inline constexpr std::string_view kJwks =
    R"({"keys":[{"kty":"RSA","kid":"rsa1","use":"sig","alg":"RS256","n":"vvwW2JVQsMnZwwr3ud8omycoml7H01VZux4JB1c5-N0JVa2PLFpKMFqYKqPfrB8YzbIolkBj7rdhlWxUfl1KScsc7cND9-q8uh47Cvzxyc9HVuXAMUkzk4gWS1AWJbtGP6n8AxG84752kTAubIM4dK9AnLncNerfvRxr0BtTpOKxJOjQ0TIiXwhDeJV7crnEgjr4mTr0qGNN4_nU5zMGRPTSsczFTuPa1995fxjAr-yDALFBg7LTSm65SQLik3YPDxgLoQTu8G-GdYB-w3wBNRrJnABmXlexCag6xiB27fHoOo2vrTk-KZiJ_seeUwGljruawx1zo3cETQPbiOZgfw","e":"AQAB"},)"
    R"({"kty":"EC","kid":"ec1","use":"sig","alg":"ES256","crv":"P-256","x":"UtvTzUmUJjdCU7NJns1hnzzdAFJiswWHTNbb-FrXnt4","y":"u-FgZmqWpUKbgJExwV0fWl7ClLpXzMUKOi_9a64xOM8"}]})";

// SHA-256 (hex) of the signing input of every token that was signed with those keys
// (corpus/jws/{rs256,es256}_*.txt).
inline constexpr std::array<std::string_view, 6> kSignedInputs = {
    "c35495699bf958261d96530edaaa0a8ccf007edb146be9db7a2405702eb50bc4",  // rs256_valid
    "3f9fd4328387a184c6624b58158bcc81f44761b8fc6021d42a54d7ebe15de333",  // es256_valid
    "083156767ba34b2e98570cee717210813963b4347f09a53e052f4bbff05bda5b",  // rs256_multi_aud_azp
    "8e2b11d610aec54ff7d70fbe7cb3142d79c47796ba21dd903abcf312599fa34d",  // es256_expired
    "3515bcebcbf6d70c5d7309619364931df13b82e6558336b16d76ff8f3666b203",  // rs256_wrong_nonce
    "e13d7c6b44ffebd7677d2303198b95cc89ca375f543242ae33a2954fb8f45f88",  // es256_no_kid
};

inline constexpr std::string_view kIssuer = "https://issuer.example";
inline constexpr std::string_view kClientId = "client";
inline constexpr std::string_view kNonce = "n-0S6_WzA2Mj";

}  // namespace freshtoken::fuzz
