// The one SecretStore entry a Session keeps per account (internal): a small JSON document,
// {"v":1,"refresh_token","access_token","token_type","expires_at","issued_at","scope",
// "id_token","dpop_key"}, times in unix seconds. Storing the access token lets a second process
// resume without refreshing. dpop_key (absent for Bearer tokens, and in records written before
// DPoP) is the private key DPoP-bound tokens need: a record whose token_type is DPoP without one
// is unusable, and a storage error.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "freshtoken/dpop.hpp"
#include "freshtoken/error.hpp"
#include "freshtoken/secret.hpp"

namespace freshtoken::detail {

struct StoredTokens {
  using time_point = std::chrono::system_clock::time_point;

  Secret refresh_token;
  Secret access_token;
  std::string token_type = "Bearer";
  std::optional<time_point> expires_at;
  std::optional<time_point> issued_at;
  std::string scope;
  Secret id_token;
  std::shared_ptr<const DpopKey> dpop_key;  // null for Bearer tokens
};

Secret encode_stored_tokens(const StoredTokens& tokens);

// A document that is not what encode_stored_tokens writes is an ErrorCode::storage error
// naming what is wrong (never echoing the content).
Result<StoredTokens> decode_stored_tokens(const Secret& stored);

}  // namespace freshtoken::detail
