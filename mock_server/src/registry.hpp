// The mock server's fixed registry (internal): its clients, users and scopes, the grant type
// names, and the scope-string helpers every endpoint shares.
// Thread safety: everything here is immutable after first use; call from any thread.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace freshtoken::mock::detail {

inline constexpr const char* kGrantCode = "authorization_code";
inline constexpr const char* kGrantRefresh = "refresh_token";
inline constexpr const char* kGrantClientCredentials = "client_credentials";
inline constexpr const char* kGrantDevice = "urn:ietf:params:oauth:grant-type:device_code";

// True for the four grant types the token endpoint knows.
bool known_grant(const std::string& grant);

// Every scope some client may ask for, in the order discovery lists them; the interactive
// clients may ask for all of them.
const std::vector<std::string>& known_scopes();

struct ClientInfo {
  std::string id;
  std::string secret;  // empty for public clients
  std::set<std::string> grants;
  std::set<std::string> scopes;
  std::string default_scope;
  bool confidential() const { return !secret.empty(); }
};

// nullptr when no client has this id.
const ClientInfo* find_client(const std::string& id);

bool known_user(const std::string& user);
bool check_password(const std::string& user, const std::string& password);
// The `name` claim of a known user.
std::string display_name(const std::string& user);

// Compares in constant time.
bool equal_secret(const std::string& a, const std::string& b);

// A space-separated scope as items, duplicates dropped, order kept.
std::vector<std::string> split_scope(const std::string& scope);
std::string join_scope(const std::vector<std::string>& scope);
bool has_scope(const std::string& scope, const std::string& wanted);

}  // namespace freshtoken::mock::detail
