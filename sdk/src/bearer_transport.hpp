// BearerTransport: a Transport that attaches the bearer token itself (internal; the curl
// transport is one). HttpClient uses it when its transport has it: the token is then copied
// once, into the transport's own header buffer that is wiped after the exchange. Otherwise it
// goes into an Authorization field that the Request's header vector must grow for, and that
// is wiped and removed after the transport has copied it: two allocations and two passes over
// a token of often 1 kB more, on every request.
//
// Thread safety: as Transport.
#pragma once

#include <string_view>

#include "freshtoken/transport.hpp"

namespace freshtoken::detail {

class BearerTransport : public Transport {
 public:
  // send() with "Authorization: Bearer <token>" in place of any Authorization field the
  // request has. A token with CR, LF or NUL in it is refused as a config error.
  virtual Result<Response> send_with_bearer(const Request& request, std::string_view token) = 0;
};

}  // namespace freshtoken::detail
