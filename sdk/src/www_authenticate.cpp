#include "www_authenticate.hpp"

#include <cstring>
#include <initializer_list>
#include <utility>

#include "freshtoken/http.hpp"

namespace freshtoken::detail {

namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token68_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::strchr("-._~+/", c) != nullptr;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// A cursor over the header value. Every read either consumes input or reports failure, so
// the loops below always make progress.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  std::size_t pos() const { return pos_; }
  void reset(std::size_t pos) { pos_ = pos; }
  void advance() { ++pos_; }

  void skip_ows() {
    while (!done() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }
  void skip_ows_and_commas() {
    while (!done() && (peek() == ' ' || peek() == '\t' || peek() == ',')) ++pos_;
  }
  // Error recovery: drop everything up to and including the next comma outside quotes.
  void skip_past_comma() {
    bool quoted = false;
    while (!done()) {
      char c = text_[pos_++];
      if (quoted && c == '\\' && !done()) {
        ++pos_;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        return;
      }
    }
  }

  std::string_view token() {
    std::size_t start = pos_;
    while (!done() && is_tchar(peek())) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  std::string_view token68() {
    std::size_t start = pos_;
    while (!done() && is_token68_char(peek())) ++pos_;
    while (!done() && peek() == '=') ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // At a '"': reads a quoted-string, unescaping quoted-pairs. nullopt when unterminated.
  std::optional<std::string> quoted_string() {
    std::string out;
    ++pos_;  // the opening quote
    while (!done()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (done()) return std::nullopt;
        c = text_[pos_++];
      }
      out += c;
    }
    return std::nullopt;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// True when the cursor is at `token BWS "="` (an auth-param), without moving it.
bool at_auth_param(Cursor& cursor) {
  std::size_t start = cursor.pos();
  bool name = !cursor.token().empty();
  cursor.skip_ows();
  bool equals = cursor.peek() == '=';
  cursor.reset(start);
  return name && equals;
}

enum class ParamsEnd { next_challenge, malformed, unrecoverable };

// Reads `#auth-param` into `challenge`; stops before a token that starts a new challenge.
ParamsEnd read_params(Cursor& cursor, AuthChallenge& challenge) {
  while (true) {
    std::string_view name = cursor.token();
    if (name.empty()) return ParamsEnd::malformed;
    cursor.skip_ows();
    if (cursor.peek() != '=') return ParamsEnd::malformed;
    cursor.advance();
    cursor.skip_ows();
    std::string value;
    if (cursor.peek() == '"') {
      auto quoted = cursor.quoted_string();
      if (!quoted) return ParamsEnd::unrecoverable;
      value = std::move(*quoted);
    } else {
      std::string_view token = cursor.token();
      if (token.empty()) return ParamsEnd::malformed;
      value = std::string(token);
    }
    std::string lowered(name);
    for (char& c : lowered) c = lower(c);
    challenge.params.emplace_back(std::move(lowered), std::move(value));

    cursor.skip_ows();
    if (cursor.done()) return ParamsEnd::next_challenge;
    if (cursor.peek() != ',') return ParamsEnd::malformed;
    cursor.skip_ows_and_commas();
    if (cursor.done() || !at_auth_param(cursor)) return ParamsEnd::next_challenge;
  }
}

}  // namespace

std::optional<std::string> AuthChallenge::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::vector<AuthChallenge> parse_www_authenticate(std::string_view header_value) {
  std::vector<AuthChallenge> challenges;
  Cursor cursor(header_value);
  while (true) {
    cursor.skip_ows_and_commas();
    if (cursor.done()) break;
    std::string_view scheme = cursor.token();
    if (scheme.empty()) {
      cursor.skip_past_comma();
      continue;
    }
    AuthChallenge challenge;
    challenge.scheme = std::string(scheme);
    const bool space = cursor.peek() == ' ' || cursor.peek() == '\t';
    cursor.skip_ows();
    if (cursor.done() || cursor.peek() == ',') {
      challenges.push_back(std::move(challenge));
      continue;
    }
    if (!space) {  // `Bearer"x"` — the scheme must be followed by a space
      cursor.skip_past_comma();
      continue;
    }
    // token68 when what follows is a token68 that runs to the end or a comma.
    std::size_t start = cursor.pos();
    std::string_view token68 = cursor.token68();
    cursor.skip_ows();
    if (!token68.empty() && (cursor.done() || cursor.peek() == ',')) {
      challenge.token68 = std::string(token68);
      challenges.push_back(std::move(challenge));
      continue;
    }
    cursor.reset(start);
    ParamsEnd end = read_params(cursor, challenge);
    challenges.push_back(std::move(challenge));
    if (end == ParamsEnd::unrecoverable) break;
    if (end == ParamsEnd::malformed) cursor.skip_past_comma();
  }
  return challenges;
}

namespace {

// The first challenge of `scheme` (compared case-insensitively) across the header values.
std::optional<AuthChallenge> first_challenge(const std::vector<std::string>& header_values,
                                             std::string_view scheme) {
  for (const auto& value : header_values) {
    for (auto& challenge : parse_www_authenticate(value)) {
      if (iequals(challenge.scheme, scheme)) return std::move(challenge);
    }
  }
  return std::nullopt;
}

void read_fields(const AuthChallenge& challenge,
                 std::initializer_list<std::pair<const char*, std::string*>> fields) {
  for (const auto& [name, target] : fields) {
    if (auto param = challenge.param(name)) *target = std::move(*param);
  }
}

}  // namespace

std::optional<BearerChallenge> find_bearer_challenge(
    const std::vector<std::string>& header_values) {
  auto challenge = first_challenge(header_values, "Bearer");
  if (!challenge) return std::nullopt;
  BearerChallenge bearer;
  read_fields(*challenge, {{"realm", &bearer.realm},
                           {"scope", &bearer.scope},
                           {"error", &bearer.error},
                           {"error_description", &bearer.error_description},
                           {"error_uri", &bearer.error_uri}});
  return bearer;
}

// RFC 9449 §7.1: a DPoP challenge takes RFC 6750's parameters, plus algs.
std::optional<DpopChallenge> find_dpop_challenge(const std::vector<std::string>& header_values) {
  auto challenge = first_challenge(header_values, "DPoP");
  if (!challenge) return std::nullopt;
  DpopChallenge dpop;
  read_fields(*challenge, {{"realm", &dpop.realm},
                           {"scope", &dpop.scope},
                           {"error", &dpop.error},
                           {"error_description", &dpop.error_description},
                           {"error_uri", &dpop.error_uri}});
  if (auto algs = challenge->param("algs")) {
    std::string_view rest = *algs;
    while (!rest.empty()) {
      const auto space = rest.find(' ');
      if (space != 0) dpop.algs.emplace_back(rest.substr(0, space));
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
  }
  return dpop;
}

std::optional<std::string> parse_dpop_nonce(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > 1024) return std::nullopt;
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (!(u == 0x21 || (u >= 0x23 && u <= 0x5B) || (u >= 0x5D && u <= 0x7E))) return std::nullopt;
  }
  return std::string(value);
}

}  // namespace freshtoken::detail
