// The libcurl transport as the contract suite's transport under test.
#include "contract.hpp"
#include "curl/curl_transport.hpp"

namespace freshtoken::contract {

std::shared_ptr<Transport> make(TransportOptions options) {
  return std::make_shared<detail::CurlTransport>(std::move(options));
}

std::optional<std::uint64_t> connections_opened(const Transport& transport) {
  return dynamic_cast<const detail::CurlTransport&>(transport).connections_opened();
}

std::optional<std::uint64_t> exchanges(const Transport& transport) {
  return dynamic_cast<const detail::CurlTransport&>(transport).exchanges();
}

namespace {
class CaFile : public TrustedCa {};
}  // namespace

std::unique_ptr<TrustedCa> trust_test_ca(TransportOptions& options, std::string&) {
  options.ca_file = endpoints().ca_file;
  return std::make_unique<CaFile>();
}

std::string cannot_run(const char*) { return {}; }

}  // namespace freshtoken::contract
