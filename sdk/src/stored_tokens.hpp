// The one SecretStore entry a Session keeps per account (internal): a small JSON document,
// {"v":1,"refresh_token","access_token","token_type","expires_at","issued_at","scope",
// "id_token","dpop_key"}, times in unix seconds. Storing the access token lets a second process
// resume without refreshing. dpop_key (absent for Bearer tokens, and in records written before
// DPoP) is the private key DPoP-bound tokens need: a record whose token_type is DPoP without one
// is unusable, and a storage error.
//
// The default target's access token (TokenTarget {}) keeps the top-level fields, so that readers
// that know nothing of targets still work. The access tokens of the other targets are in an
// optional "targets" array, [{"resource","scope","access_token","token_type","expires_at",
// "issued_at"}], sharing the one refresh token and DPoP key; a record without it holds the
// default target's token alone. A "targets" member that is not such an array is a storage error.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "freshtoken/dpop.hpp"
#include "freshtoken/error.hpp"
#include "freshtoken/secret.hpp"
#include "freshtoken/token_source.hpp"

namespace freshtoken::detail {

// The access token of one target other than the default (its scope as resolved by the
// Session: never empty when the Session has a scope).
struct StoredTarget {
  using time_point = std::chrono::system_clock::time_point;

  TokenTarget target;
  Secret access_token;
  std::string token_type = "Bearer";
  std::optional<time_point> expires_at;
  std::optional<time_point> issued_at;
};

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
  std::vector<StoredTarget> targets;        // the other targets' access tokens
};

Secret encode_stored_tokens(const StoredTokens& tokens);

// A document that is not what encode_stored_tokens writes is an ErrorCode::storage error
// naming what is wrong (never echoing the content).
Result<StoredTokens> decode_stored_tokens(const Secret& stored);

}  // namespace freshtoken::detail
