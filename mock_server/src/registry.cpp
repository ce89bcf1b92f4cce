#include "registry.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include <openssl/crypto.h>

namespace freshtoken::mock::detail {
namespace {

const std::set<std::string>& interactive_scopes() {
  static const std::set<std::string> scopes(known_scopes().begin(), known_scopes().end());
  return scopes;
}

const std::map<std::string, ClientInfo>& clients() {
  static const std::map<std::string, ClientInfo> table = [] {
    std::map<std::string, ClientInfo> t;
    const std::set<std::string> interactive = {kGrantCode, kGrantRefresh, kGrantDevice};
    t["freshtoken-demo"] = {"freshtoken-demo", "", interactive, interactive_scopes(),
                            "openid profile api"};
    t["freshtoken-other"] = {"freshtoken-other", "", interactive, interactive_scopes(),
                             "openid profile api"};
    t["freshtoken-service"] = {
        "freshtoken-service", "service-secret", {kGrantClientCredentials}, {"api", "admin"}, "api"};
    return t;
  }();
  return table;
}

const std::map<std::string, std::string>& users() {
  static const std::map<std::string, std::string> table = {{"alice", "wonderland"},
                                                           {"bob", "builder"}};
  return table;
}

}  // namespace

bool known_grant(const std::string& grant) {
  return grant == kGrantCode || grant == kGrantRefresh || grant == kGrantClientCredentials ||
         grant == kGrantDevice;
}

const std::vector<std::string>& known_scopes() {
  static const std::vector<std::string> scopes = {"openid", "profile", "api", "admin",
                                                  "offline_access"};
  return scopes;
}

const ClientInfo* find_client(const std::string& id) {
  const auto it = clients().find(id);
  return it == clients().end() ? nullptr : &it->second;
}

bool known_user(const std::string& user) { return users().count(user) != 0; }

bool check_password(const std::string& user, const std::string& password) {
  const auto it = users().find(user);
  return it != users().end() && equal_secret(it->second, password);
}

std::string display_name(const std::string& user) {
  return user == "alice" ? "Alice Liddell" : "Bob the Builder";
}

bool equal_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::vector<std::string> split_scope(const std::string& scope) {
  std::vector<std::string> out;
  std::istringstream in(scope);
  std::string item;
  while (in >> item) {
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  }
  return out;
}

std::string join_scope(const std::vector<std::string>& scope) {
  std::string out;
  for (const auto& s : scope) out += (out.empty() ? "" : " ") + s;
  return out;
}

bool has_scope(const std::string& scope, const std::string& wanted) {
  const auto items = split_scope(scope);
  return std::find(items.begin(), items.end(), wanted) != items.end();
}

}  // namespace freshtoken::mock::detail
