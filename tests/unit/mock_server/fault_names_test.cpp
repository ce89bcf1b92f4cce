// Fault endpoints and kinds are enums inside the mock server; their names exist only at the
// JSON boundary and must round-trip.
#include <gtest/gtest.h>

#include "faults.hpp"

namespace freshtoken::mock::detail {
namespace {

TEST(FaultNames, EveryEndpointRoundTripsThroughItsName) {
  for (FaultEndpoint e : {FaultEndpoint::token, FaultEndpoint::api, FaultEndpoint::authorize,
                          FaultEndpoint::device_authorization, FaultEndpoint::device,
                          FaultEndpoint::revoke, FaultEndpoint::introspect, FaultEndpoint::userinfo,
                          FaultEndpoint::discovery, FaultEndpoint::jwks, FaultEndpoint::files}) {
    EXPECT_EQ(parse_fault_endpoint(fault_endpoint_name(e)), e) << fault_endpoint_name(e);
  }
  EXPECT_STREQ(fault_endpoint_name(FaultEndpoint::device_authorization), "device_authorization");
  EXPECT_STREQ(fault_endpoint_name(FaultEndpoint::files), "files");
}

TEST(FaultNames, EveryKindRoundTripsThroughItsName) {
  for (FaultKind k :
       {FaultKind::status, FaultKind::delay, FaultKind::drop, FaultKind::truncate,
        FaultKind::not_json, FaultKind::commit_then_drop, FaultKind::commit_then_delay}) {
    EXPECT_EQ(parse_fault_kind(fault_kind_name(k)), k) << fault_kind_name(k);
  }
  EXPECT_STREQ(fault_kind_name(FaultKind::commit_then_delay), "commit_then_delay");
}

TEST(FaultNames, UnknownNamesAreRefused) {
  EXPECT_FALSE(parse_fault_endpoint(""));
  EXPECT_FALSE(parse_fault_endpoint("Token"));
  EXPECT_FALSE(parse_fault_kind(""));
  EXPECT_FALSE(parse_fault_kind("explode"));
}

}  // namespace
}  // namespace freshtoken::mock::detail
