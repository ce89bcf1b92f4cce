// What only the WinHTTP transport does, beyond the contract (transport_contract_test.cpp).
#include <gtest/gtest.h>

#include "contract.hpp"
#include "freshtoken/transport.hpp"

namespace freshtoken {
namespace {

// Schannel verifies against the Windows certificate store only: a CA file would silently not
// be trusted (or, honoured by hand, checked only after the request's token went out).
TEST(WinHttpTransport, ACaFileIsRefusedAsAConfigErrorNotIgnored) {
  TransportOptions options;
  options.ca_file = "C:\\ca.pem";
  Request request;
  request.url = contract::endpoints().http + "/echo";
  auto res = make_winhttp_transport(options)->send(request);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::config);
  EXPECT_NE(res.error().message().find("certificate store"), std::string::npos)
      << res.error().message();
}

TEST(WinHttpTransport, AProxyOtherThanHttpIsRefusedAsAConfigError) {
  TransportOptions options;
  options.proxy = "socks5://127.0.0.1:1080";
  Request request;
  request.url = contract::endpoints().http + "/echo";
  auto res = make_winhttp_transport(options)->send(request);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::config);
}

}  // namespace
}  // namespace freshtoken
