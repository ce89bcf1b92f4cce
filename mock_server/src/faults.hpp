// Armed faults at the HTTP level (internal): the names of fault endpoints and kinds (the
// strings of the control API's JSON), and what each kind does to a request being handled.
// Thread safety: free functions without shared state.
#pragma once

#include <optional>
#include <string>

#include <httplib.h>

#include "freshtoken/mock_server.hpp"

namespace freshtoken::mock::detail {

const char* fault_endpoint_name(FaultEndpoint endpoint);
const char* fault_kind_name(FaultKind kind);
// nullopt for a name that is none of them.
std::optional<FaultEndpoint> parse_fault_endpoint(const std::string& name);
std::optional<FaultKind> parse_fault_kind(const std::string& name);

// What `fault` does before the endpoint runs; true when it answered (or dropped) the request
// and the endpoint must not run.
bool apply_fault_before(const Fault& fault, const httplib::Request& req, httplib::Response& res);
// What `fault` does to the endpoint's answer.
void apply_fault_after(const Fault& fault, const httplib::Request& req, httplib::Response& res);

}  // namespace freshtoken::mock::detail
