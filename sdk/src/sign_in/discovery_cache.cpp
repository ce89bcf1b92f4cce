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

Result<std::shared_ptr<AuthorizationServer>> discover_cached(std::shared_ptr<Transport> transport,
                                                             const std::string& issuer,
                                                             ClientConfig client,
                                                             std::shared_ptr<Clock> clock) {
  {
    std::lock_guard<std::mutex> lock(cache().mutex);
    auto it = cache().by_issuer.find(issuer);
    if (it != cache().by_issuer.end()) {
      return std::make_shared<AuthorizationServer>(std::move(transport), it->second,
                                                   std::move(client), std::move(clock));
    }
  }
  // Not under the lock: discovery is network I/O. Two first callers may both discover; the
  // results are equal, so either may win.
  auto server = AuthorizationServer::discover(std::move(transport), issuer, std::move(client),
                                              std::move(clock));
  if (!server) return server.error();
  std::lock_guard<std::mutex> lock(cache().mutex);
  cache().by_issuer.emplace(issuer, (*server)->metadata());
  return server;
}

void clear_discovery_cache() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  cache().by_issuer.clear();
}

}  // namespace freshtoken
