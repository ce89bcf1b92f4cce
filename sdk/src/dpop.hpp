// DPoP internals (RFC 9449): the key's state, proofs, the key's storage form and the nonces
// servers hand out. Pure functions and small thread-safe state; no I/O.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "freshtoken/dpop.hpp"
#include "freshtoken/error.hpp"
#include "freshtoken/http.hpp"
#include "freshtoken/secret.hpp"
#include "util/crypto.hpp"

namespace freshtoken {

struct DpopKey::State {
  util::P256Key key;
  std::string thumbprint;
  // base64url of the proof's JOSE header, the same for every proof of this key.
  std::string encoded_header;
};

namespace detail {

// A key from its raw parts (32 bytes each); nullptr when they are not a usable P-256 key.
std::shared_ptr<const DpopKey> make_dpop_key(util::P256Key key);

// The public JWK members in RFC 7638 order: {"crv":"P-256","kty":"EC","x":..,"y":..}.
std::string dpop_public_jwk(const util::P256Key& key);

// RFC 9449 §4.2 proof for one request: header {typ, alg, jwk}, claims {jti, htm, htu, iat,
// [ath], [nonce]}. `url` is the request's URL; its query and fragment are left out of htu.
// `access_token` non-null adds ath = base64url(SHA-256(token)). Errors: internal when the key
// cannot sign.
Result<std::string> dpop_proof(const DpopKey& key, std::string_view method, std::string_view url,
                               const Secret* access_token, std::string_view nonce,
                               std::chrono::system_clock::time_point now);

// htu: the URL without query and fragment.
std::string_view dpop_htu(std::string_view url);

// The storage form of a key: "<d>.<x>.<y>", each part base64url. It holds the private key.
Secret encode_dpop_key(const DpopKey& key);
std::shared_ptr<const DpopKey> decode_dpop_key(std::string_view text);

// "scheme://host[:port]" of an absolute URL (the scheme and host lower-cased); empty when the
// URL has none.
std::string url_origin(std::string_view url);

// The latest DPoP-Nonce each origin sent (RFC 9449 §8, §9). Small: the least recently set
// entry goes when there are more than kMax origins.
class DpopNonces {
 public:
  static constexpr std::size_t kMax = 16;
  std::string get(std::string_view url) const;
  // Remembers `response`'s DPoP-Nonce for `url`'s origin; true when it carried a valid one.
  bool update(std::string_view url, const Response& response);

 private:
  std::atomic<bool> empty_{true};
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> entries_;  // origin -> nonce, oldest first
};

}  // namespace detail
}  // namespace freshtoken
