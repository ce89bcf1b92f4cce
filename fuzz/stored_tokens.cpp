// Fuzzes the stored-token codec: the secret store's entry may have been written by another
// process, another version, or damaged. Property: a document that decodes re-encodes to one
// that decodes to the same tokens, the other targets' included.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "stored_tokens.hpp"

using namespace freshtoken;
using namespace freshtoken::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  auto tokens = decode_stored_tokens(Secret(text));
  if (!tokens) {
    FUZZ_CHECK(tokens.error().code() == ErrorCode::storage);
    FUZZ_CHECK(!fuzz::leaks_canary(text, tokens.error().message()));
    return 0;
  }
  FUZZ_CHECK(!tokens->refresh_token.empty() || !tokens->access_token.empty() ||
             !tokens->targets.empty());
  FUZZ_CHECK(!tokens->token_type.empty());

  auto again = decode_stored_tokens(encode_stored_tokens(*tokens));
  FUZZ_CHECK(again);
  FUZZ_CHECK(again->refresh_token == tokens->refresh_token);
  FUZZ_CHECK(again->access_token == tokens->access_token);
  FUZZ_CHECK(again->token_type == tokens->token_type);
  FUZZ_CHECK(again->expires_at == tokens->expires_at);
  FUZZ_CHECK(again->issued_at == tokens->issued_at);
  FUZZ_CHECK(again->scope == tokens->scope);
  FUZZ_CHECK(again->id_token == tokens->id_token);
  FUZZ_CHECK(!again->dpop_key == !tokens->dpop_key);
  if (tokens->dpop_key) FUZZ_CHECK(again->dpop_key->thumbprint() == tokens->dpop_key->thumbprint());
  FUZZ_CHECK(again->targets.size() == tokens->targets.size());
  for (std::size_t i = 0; i < tokens->targets.size() && i < again->targets.size(); ++i) {
    const StoredTarget& a = tokens->targets[i];
    const StoredTarget& b = again->targets[i];
    FUZZ_CHECK(b.target == a.target);
    FUZZ_CHECK(b.access_token == a.access_token);
    FUZZ_CHECK(b.token_type == a.token_type);
    FUZZ_CHECK(b.expires_at == a.expires_at);
    FUZZ_CHECK(b.issued_at == a.issued_at);
  }
  return 0;
}
