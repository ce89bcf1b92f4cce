// The WinHTTP transport as the contract suite's transport under test.
#include "contract.hpp"

#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
// windows.h first: wincrypt.h needs its types.
#include <wincrypt.h>

#include <vector>

#include "windows/winhttp_transport.hpp"

namespace freshtoken::contract {
namespace {

bool under_wine() {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

HCERTSTORE open_root_store() {
  return CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_CURRENT_USER, L"Root");
}

// The test CA in the current user's Root store, removed again when the test ends. The store is
// closed after each change: that is when Wine writes it where the chain engine reads it.
class StoreTrust : public TrustedCa {
 public:
  explicit StoreTrust(std::vector<BYTE> der) : der_(std::move(der)) {}
  ~StoreTrust() override {
    HCERTSTORE store = open_root_store();
    if (store == nullptr) return;
    PCCERT_CONTEXT ca = CertCreateCertificateContext(X509_ASN_ENCODING, der_.data(),
                                                     static_cast<DWORD>(der_.size()));
    if (ca != nullptr) {
      // CertDeleteCertificateFromStore frees the context it is given.
      if (PCCERT_CONTEXT found = CertFindCertificateInStore(store, X509_ASN_ENCODING, 0,
                                                            CERT_FIND_EXISTING, ca, nullptr))
        CertDeleteCertificateFromStore(found);
      CertFreeCertificateContext(ca);
    }
    CertCloseStore(store, 0);
  }

 private:
  std::vector<BYTE> der_;
};

}  // namespace

std::shared_ptr<Transport> make(TransportOptions options) {
  return std::make_shared<detail::WinHttpTransport>(std::move(options));
}

// WinHTTP does not say when it opens a connection; the server counts them instead.
std::optional<std::uint64_t> connections_opened(const Transport&) { return std::nullopt; }

std::optional<std::uint64_t> exchanges(const Transport& transport) {
  return dynamic_cast<const detail::WinHttpTransport&>(transport).exchanges();
}

std::unique_ptr<TrustedCa> trust_test_ca(TransportOptions&, std::string& why) {
  if (!under_wine()) {
    // On Windows adding a root asks the user in a dialog; an unattended test must not.
    why =
        "trusting the test CA needs it in the Windows Root store, which only the Wine run "
        "of this suite changes unattended";
    return nullptr;
  }
  const std::string& pem = endpoints().ca_pem;
  DWORD size = 0;
  if (!CryptStringToBinaryA(pem.c_str(), static_cast<DWORD>(pem.size()), CRYPT_STRING_BASE64HEADER,
                            nullptr, &size, nullptr, nullptr)) {
    why = "the test CA is not PEM";
    return nullptr;
  }
  std::vector<BYTE> der(size);
  CryptStringToBinaryA(pem.c_str(), static_cast<DWORD>(pem.size()), CRYPT_STRING_BASE64HEADER,
                       der.data(), &size, nullptr, nullptr);
  HCERTSTORE store = open_root_store();
  if (store == nullptr) {
    why = "the current user's Root store cannot be opened";
    return nullptr;
  }
  const bool added = CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der.data(), size,
                                                      CERT_STORE_ADD_REPLACE_EXISTING, nullptr);
  CertCloseStore(store, 0);
  if (!added) {
    why = "the test CA cannot be added to the current user's Root store";
    return nullptr;
  }
  der.resize(size);
  return std::make_unique<StoreTrust>(std::move(der));
}

// What Wine 8.0's WinHTTP does differently from Windows, as observed running this suite.
std::string cannot_run(const char* test_name) {
  if (!under_wine()) return {};
  const std::string name = test_name;
  if (name == "TransportContract.StreamedBodyOfUnknownLengthArrivesIntactChunked" ||
      name == "TransportContract.MethodBodyAndTimeoutNeverCarryOverOnAReusedHandle")
    return "Wine limitation: Wine 8's WinHTTP adds \"Content-Length: 0\" to a POST or PUT sent "
           "with WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH and \"Transfer-Encoding: chunked\", so the "
           "server takes the chunks for the next request (Windows sends no Content-Length then)";
  if (name == "TransportContract.OnlyTheFinalResponsesHeadersAreReturned")
    return "Wine limitation: Wine 8's WinHTTP hands over a 103 Early Hints response as the final "
           "one (Windows passes over interim responses), and refuses a second "
           "WinHttpReceiveResponse (ERROR_WINHTTP_INCORRECT_HANDLE_STATE)";
  if (name == "TransportContractTls.HttpsSucceedsWithTheTestCaAndReusesTheConnection")
    return "Wine limitation: Wine 8's WinHTTP rejects the test CA's chain as partial "
           "(ERROR_WINHTTP_SECURE_INVALID_CA) although CertGetCertificateChain trusts the same "
           "ECDSA chain once the CA is in the current user's Root store";
  return {};
}

}  // namespace freshtoken::contract
