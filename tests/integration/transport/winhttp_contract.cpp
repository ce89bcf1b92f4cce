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

// The test CA in the current user's Root store, removed again when the test ends.
class StoreTrust : public TrustedCa {
 public:
  StoreTrust(HCERTSTORE store, PCCERT_CONTEXT added) : store_(store), added_(added) {}
  ~StoreTrust() override {
    // CertDeleteCertificateFromStore frees the context it is given.
    CertDeleteCertificateFromStore(CertDuplicateCertificateContext(added_));
    CertFreeCertificateContext(added_);
    CertCloseStore(store_, 0);
  }

 private:
  HCERTSTORE store_;
  PCCERT_CONTEXT added_;
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
  HCERTSTORE store =
      CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_CURRENT_USER, L"Root");
  if (store == nullptr) {
    why = "the current user's Root store cannot be opened";
    return nullptr;
  }
  PCCERT_CONTEXT added = nullptr;
  if (!CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der.data(), size,
                                        CERT_STORE_ADD_REPLACE_EXISTING, &added)) {
    CertCloseStore(store, 0);
    why = "the test CA cannot be added to the current user's Root store";
    return nullptr;
  }
  return std::make_unique<StoreTrust>(store, added);
}

std::string cannot_run(const char*) { return {}; }

}  // namespace freshtoken::contract
