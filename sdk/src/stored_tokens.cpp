#include "stored_tokens.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "dpop.hpp"
#include "util/crypto.hpp"

namespace freshtoken::detail {

namespace {

using json = nlohmann::json;

// Upper bound for a stored time (about year 2223): keeps the conversion to
// system_clock's nanoseconds far from overflow.
constexpr double kMaxUnixSeconds = 8e9;

// nlohmann::json copies the strings it holds; wipe the copies that carried secrets.
void wipe_strings(json& document) {
  if (document.is_array()) {
    for (auto& item : document) wipe_strings(item);
    return;
  }
  if (!document.is_object()) return;
  for (auto& item : document.items()) {
    if (item.value().is_string()) {
      util::wipe(item.value().get_ref<std::string&>());
    } else {
      wipe_strings(item.value());
    }
  }
}

// Seconds since the epoch, to the millisecond and rounded down: a time read back is never later
// than the one written, so an expiry stays on the safe side. A short-lived token needs the
// fraction (whole seconds moved a 2 s token's refresh point by up to half its lifetime), and a
// reader that takes whole seconds, as earlier versions did, still reads a number.
double unix_seconds(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return static_cast<double>(ms) / 1000;
}

Error corrupt(const std::string& what) {
  return Error(ErrorCode::storage, "the stored tokens are unreadable: " + what);
}

// Reads an optional string field; false when it is present with another type.
bool read_string(const json& document, const char* name, std::string& out) {
  auto it = document.find(name);
  if (it == document.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

bool read_secret(const json& document, const char* name, Secret& out) {
  std::string value;
  if (!read_string(document, name, value)) return false;
  out = Secret(std::move(value));
  return true;
}

bool read_time(const json& document, const char* name,
               std::optional<StoredTokens::time_point>& out) {
  auto it = document.find(name);
  if (it == document.end() || it->is_null()) return true;
  if (!it->is_number()) return false;
  const double seconds = it->get<double>();
  if (!std::isfinite(seconds) || seconds < 0 || seconds > kMaxUnixSeconds) return false;
  // Nearest, not down: a millisecond written as a decimal fraction may come back a hair below.
  const std::chrono::milliseconds ms(std::llround(seconds * 1000));
  out =
      StoredTokens::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(ms));
  return true;
}

// One entry of "targets"; an error names what is wrong.
Result<StoredTarget> read_target(const json& entry) {
  if (!entry.is_object()) return corrupt("a target is not a JSON object");
  StoredTarget target;
  if (!read_string(entry, "resource", target.target.resource)) {
    return corrupt("a target's resource is not a string");
  }
  if (!read_string(entry, "scope", target.target.scope)) {
    return corrupt("a target's scope is not a string");
  }
  if (target.target == TokenTarget{}) return corrupt("a target names neither resource nor scope");
  if (!read_secret(entry, "access_token", target.access_token)) {
    return corrupt("a target's access_token is not a string");
  }
  if (target.access_token.empty()) return corrupt("a target holds no access_token");
  if (!read_string(entry, "token_type", target.token_type)) {
    return corrupt("a target's token_type is not a string");
  }
  if (target.token_type.empty()) target.token_type = "Bearer";
  if (!read_time(entry, "expires_at", target.expires_at)) {
    return corrupt("a target's expires_at is not a time");
  }
  if (!read_time(entry, "issued_at", target.issued_at)) {
    return corrupt("a target's issued_at is not a time");
  }
  return target;
}

}  // namespace

Secret encode_stored_tokens(const StoredTokens& tokens) {
  json document = json::object();
  document["v"] = 1;
  document["refresh_token"] = std::string(tokens.refresh_token.reveal());
  document["access_token"] = std::string(tokens.access_token.reveal());
  document["token_type"] = tokens.token_type;
  if (tokens.expires_at) document["expires_at"] = unix_seconds(*tokens.expires_at);
  if (tokens.issued_at) document["issued_at"] = unix_seconds(*tokens.issued_at);
  document["scope"] = tokens.scope;
  if (!tokens.id_token.empty()) document["id_token"] = std::string(tokens.id_token.reveal());
  if (tokens.dpop_key) {
    document["dpop_key"] = std::string(encode_dpop_key(*tokens.dpop_key).reveal());
  }
  if (!tokens.targets.empty()) {
    json targets = json::array();
    for (const StoredTarget& target : tokens.targets) {
      json entry = json::object();
      entry["resource"] = target.target.resource;
      entry["scope"] = target.target.scope;
      entry["access_token"] = std::string(target.access_token.reveal());
      entry["token_type"] = target.token_type;
      if (target.expires_at) entry["expires_at"] = unix_seconds(*target.expires_at);
      if (target.issued_at) entry["issued_at"] = unix_seconds(*target.issued_at);
      targets.push_back(std::move(entry));
    }
    document["targets"] = std::move(targets);
  }
  std::string text = document.dump();
  wipe_strings(document);
  return Secret(std::move(text));
}

Result<StoredTokens> decode_stored_tokens(const Secret& stored) {
  json document = json::parse(stored.reveal(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return corrupt("not JSON");
  struct Wipe {
    json& document;
    ~Wipe() { wipe_strings(document); }
  } wipe{document};
  if (!document.is_object()) return corrupt("not a JSON object");

  auto version = document.find("v");
  if (version == document.end() || !version->is_number_integer()) return corrupt("no version");
  if (version->get<std::int64_t>() != 1) {
    return corrupt("unsupported version " + std::to_string(version->get<std::int64_t>()));
  }

  StoredTokens tokens;
  if (!read_secret(document, "refresh_token", tokens.refresh_token)) {
    return corrupt("refresh_token is not a string");
  }
  if (!read_secret(document, "access_token", tokens.access_token)) {
    return corrupt("access_token is not a string");
  }
  if (!read_string(document, "token_type", tokens.token_type)) {
    return corrupt("token_type is not a string");
  }
  if (tokens.token_type.empty()) tokens.token_type = "Bearer";
  if (!read_time(document, "expires_at", tokens.expires_at)) {
    return corrupt("expires_at is not a time");
  }
  if (!read_time(document, "issued_at", tokens.issued_at)) {
    return corrupt("issued_at is not a time");
  }
  if (!read_string(document, "scope", tokens.scope)) return corrupt("scope is not a string");
  if (!read_secret(document, "id_token", tokens.id_token)) {
    return corrupt("id_token is not a string");
  }
  if (auto targets = document.find("targets"); targets != document.end()) {
    if (!targets->is_array()) return corrupt("targets is not an array");
    for (const json& entry : *targets) {
      auto target = read_target(entry);
      if (!target) return target.error();
      tokens.targets.push_back(std::move(*target));
    }
  }
  if (tokens.refresh_token.empty() && tokens.access_token.empty() && tokens.targets.empty()) {
    return corrupt("it holds no token");
  }
  Secret dpop_key;
  if (!read_secret(document, "dpop_key", dpop_key)) return corrupt("dpop_key is not a string");
  if (!dpop_key.empty()) {
    tokens.dpop_key = decode_dpop_key(dpop_key.reveal());
    if (!tokens.dpop_key) return corrupt("dpop_key is not a P-256 key");
  }
  if (!tokens.dpop_key && iequals(tokens.token_type, "DPoP")) {
    return corrupt("DPoP-bound tokens without their key");
  }
  for (const StoredTarget& target : tokens.targets) {
    if (!tokens.dpop_key && iequals(target.token_type, "DPoP")) {
      return corrupt("DPoP-bound tokens without their key");
    }
  }
  return tokens;
}

}  // namespace freshtoken::detail
