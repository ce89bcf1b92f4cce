#include "dpop.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "url.hpp"
#include "util/encoding.hpp"
#include "www_authenticate.hpp"

namespace freshtoken {

DpopKey::DpopKey(std::unique_ptr<State> state) : state_(std::move(state)) {}
DpopKey::~DpopKey() = default;

const std::string& DpopKey::thumbprint() const { return state_->thumbprint; }

std::shared_ptr<const DpopKey> DpopKey::generate() {
  return detail::make_dpop_key(util::generate_p256_key());
}

namespace detail {

std::string dpop_public_jwk(const util::P256Key& key) {
  // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
  std::string jwk = R"({"crv":"P-256","kty":"EC","x":")";
  jwk += util::base64url_encode(key.x());
  jwk += R"(","y":")";
  jwk += util::base64url_encode(key.y());
  jwk += "\"}";
  return jwk;
}

std::shared_ptr<const DpopKey> make_dpop_key(util::P256Key key) {
  if (key.d().size() != 32 || key.x().size() != 32 || key.y().size() != 32) return nullptr;
  // A key that cannot sign (a point off the curve) is refused here, not at the first request.
  if (!util::sign_es256(key, "freshtoken dpop key check")) return nullptr;
  const std::string jwk = dpop_public_jwk(key);
  std::string thumbprint = util::base64url_encode(util::sha256(jwk));
  std::string header = R"({"typ":"dpop+jwt","alg":"ES256","jwk":)" + jwk + "}";
  auto state = std::unique_ptr<DpopKey::State>(
      new DpopKey::State{std::move(key), std::move(thumbprint), util::base64url_encode(header)});
  return std::make_shared<const DpopKey>(std::move(state));
}

std::string_view dpop_htu(std::string_view url) {
  const auto end = url.find_first_of("?#");
  return end == std::string_view::npos ? url : url.substr(0, end);
}

namespace {

// Appends `text` as the body of a JSON string: quote, backslash and control characters escaped.
void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out.append("\\u00");
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

Result<std::string> dpop_proof(const DpopKey& key, std::string_view method, std::string_view url,
                               const Secret* access_token, std::string_view nonce,
                               std::chrono::system_clock::time_point now) {
  const DpopKey::State& state = key.state();
  // Built by hand, not through a JSON document: this runs on every request.
  std::string claims;
  claims.reserve(160 + url.size() + nonce.size());
  claims.append(R"({"jti":")").append(util::base64url_encode(util::random_bytes(16)));
  claims.append(R"(","htm":")");
  append_json_string(claims, method);
  claims.append(R"(","htu":")");
  append_json_string(claims, dpop_htu(url));
  claims.append(R"(","iat":)");
  claims.append(std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()));
  if (access_token) {
    claims.append(R"(,"ath":")")
        .append(util::base64url_encode(util::sha256(access_token->reveal())))
        .push_back('"');
  }
  if (!nonce.empty()) {
    claims.append(R"(,"nonce":")");
    append_json_string(claims, nonce);
    claims.push_back('"');
  }
  claims.push_back('}');
  const std::string payload = util::base64url_encode(claims);
  std::string proof;
  proof.reserve(state.encoded_header.size() + payload.size() + 2 + 86);
  proof.append(state.encoded_header).append(".").append(payload);
  auto signature = util::sign_es256(state.key, proof);
  if (!signature) return Error(ErrorCode::config, "the DPoP key cannot sign");
  proof.append(".").append(util::base64url_encode(*signature));
  return proof;
}

Secret encode_dpop_key(const DpopKey& key) {
  const util::P256Key& k = key.state().key;
  std::string d = util::base64url_encode(k.d());
  std::string text;
  text.reserve(d.size() + 2 + 2 * 43);
  text.append(d)
      .append(".")
      .append(util::base64url_encode(k.x()))
      .append(".")
      .append(util::base64url_encode(k.y()));
  util::wipe(d);
  return Secret(std::move(text));
}

std::shared_ptr<const DpopKey> decode_dpop_key(std::string_view text) {
  const auto first = text.find('.');
  if (first == std::string_view::npos) return nullptr;
  const auto second = text.find('.', first + 1);
  if (second == std::string_view::npos || text.find('.', second + 1) != std::string_view::npos) {
    return nullptr;
  }
  auto d = util::base64url_decode(text.substr(0, first));
  auto x = util::base64url_decode(text.substr(first + 1, second - first - 1));
  auto y = util::base64url_decode(text.substr(second + 1));
  if (!d || !x || !y) {
    if (d) util::wipe(*d);
    return nullptr;
  }
  return make_dpop_key(util::P256Key(std::move(*d), std::move(*x), std::move(*y)));
}

std::string url_origin(std::string_view url) {
  auto parsed = parse_url_view(url);
  if (!parsed) return {};
  return parsed->to_url().origin();
}

std::string DpopNonces::get(std::string_view url) const {
  // Most servers never send a nonce: then no URL is parsed and no lock taken per request.
  if (empty_.load(std::memory_order_acquire)) return {};
  const std::string origin = url_origin(url);
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [o, nonce] : entries_) {
    if (o == origin) return nonce;
  }
  return {};
}

bool DpopNonces::update(std::string_view url, const Response& response) {
  auto header = response.headers.get("DPoP-Nonce");
  if (!header) return false;
  auto value = parse_dpop_nonce(*header);
  if (!value) return false;
  std::string origin = url_origin(url);
  if (origin.empty()) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const auto& entry) { return entry.first == origin; });
  if (it != entries_.end()) entries_.erase(it);
  if (entries_.size() >= kMax) entries_.erase(entries_.begin());
  entries_.emplace_back(std::move(origin), std::move(*value));
  empty_.store(false, std::memory_order_release);
  return true;
}

}  // namespace detail
}  // namespace freshtoken
