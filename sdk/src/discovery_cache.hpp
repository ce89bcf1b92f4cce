// The per-process discovery cache (internal): discovered metadata per issuer, shared by
// discover_cached() and the lazy discovery of AuthorizationServer::for_issuer(). Only metadata
// that passed discovery's checks is stored; failures never are.
//
// Thread safety: both functions may be called from many threads at once.
#pragma once

#include <optional>
#include <string>

#include "freshtoken/authorization_server.hpp"

namespace freshtoken::detail {

// The metadata discovered earlier in this process for `issuer`, if any.
std::optional<ServerMetadata> cached_metadata(const std::string& issuer);
// Keeps `metadata`, discovered for `issuer`; an entry already there is kept.
void cache_metadata(const std::string& issuer, const ServerMetadata& metadata);

}  // namespace freshtoken::detail
