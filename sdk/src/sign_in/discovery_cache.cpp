#include "discovery_cache.hpp"

#include <map>
#include <mutex>
#include <utility>

#include "freshtoken/sign_in.hpp"

namespace freshtoken {

namespace {

struct DiscoveryCache {
  std::mutex mutex;
  std::map<std::string, ServerMetadata> by_issuer;
};

DiscoveryCache& cache() {
  static auto* instance = new DiscoveryCache();  // never destroyed: usable during exit
  return *instance;
}

}  // namespace

namespace detail {

std::optional<ServerMetadata> cached_metadata(const std::string& issuer) {
  std::lock_guard<std::mutex> lock(cache().mutex);
  auto it = cache().by_issuer.find(issuer);
  if (it == cache().by_issuer.end()) return std::nullopt;
  return it->second;
}

void cache_metadata(const std::string& issuer, const ServerMetadata& metadata) {
  std::lock_guard<std::mutex> lock(cache().mutex);
  cache().by_issuer.emplace(issuer, metadata);
}

}  // namespace detail

Result<std::shared_ptr<AuthorizationServer>> discover_cached(std::shared_ptr<Transport> transport,
                                                             const std::string& issuer,
                                                             ClientConfig client,
                                                             std::shared_ptr<Clock> clock) {
  if (auto metadata = detail::cached_metadata(issuer)) {
    return std::make_shared<AuthorizationServer>(std::move(transport), std::move(*metadata),
                                                 std::move(client), std::move(clock));
  }
  // Not under the lock: discovery is network I/O. Two first callers may both discover; the
  // results are equal, so either may win.
  auto server = AuthorizationServer::discover(std::move(transport), issuer, std::move(client),
                                              std::move(clock));
  if (!server) return server.error();
  detail::cache_metadata(issuer, *(*server)->metadata());
  return server;
}

void clear_discovery_cache() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  cache().by_issuer.clear();
}

}  // namespace freshtoken
