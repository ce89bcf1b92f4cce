// Compiled with a poisoned nlohmann/json.hpp first on the include path (see CMakeLists.txt):
// an application's test can use the whole public API of the mock server without nlohmann.
#include "freshtoken/mock_server.hpp"

namespace freshtoken::mock {

long header_check(MockServer& server) {
  Fault fault;
  fault.endpoint = FaultEndpoint::token;
  fault.kind = FaultKind::commit_then_drop;
  server.arm_fault(fault);
  const IssuedTokens tokens = server.issue_tokens("alice");
  const MockServerStats stats = server.stats();
  return stats.token_requests.refresh_token + static_cast<long>(tokens.access_token.size()) +
         static_cast<long>(server.jwks().size());
}

}  // namespace freshtoken::mock
