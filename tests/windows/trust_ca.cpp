// freshtoken-trust-ca CA.pem: adds a CA certificate to the current user's Root store, the way
// an organisation deploys its private CA, so that WinHTTP (and so freshtoken-cli.exe) trusts
// servers it signed. certutil is not part of Wine; tests/windows/cli_e2e.sh runs this in the
// Wine prefix it made. On a real Windows machine adding a root shows a confirmation dialog:
// run it under Wine only.
//
// Exit codes: 0 added (or already there), 1 the file is unreadable or not a PEM certificate,
// 2 the store refused it.
#include <windows.h>

#include <wincrypt.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: freshtoken-trust-ca CA.pem\n");
    return 1;
  }
  std::ifstream in(argv[1], std::ios::binary);
  const std::string pem{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  DWORD size = 0;
  if (pem.empty() ||
      !CryptStringToBinaryA(pem.c_str(), static_cast<DWORD>(pem.size()), CRYPT_STRING_BASE64HEADER,
                            nullptr, &size, nullptr, nullptr)) {
    std::fprintf(stderr, "freshtoken-trust-ca: %s is not a PEM certificate\n", argv[1]);
    return 1;
  }
  std::vector<BYTE> der(size);
  if (!CryptStringToBinaryA(pem.c_str(), static_cast<DWORD>(pem.size()), CRYPT_STRING_BASE64HEADER,
                            der.data(), &size, nullptr, nullptr)) {
    std::fprintf(stderr, "freshtoken-trust-ca: %s is not a PEM certificate\n", argv[1]);
    return 1;
  }
  if (!CertAddEncodedCertificateToSystemStoreW(L"Root", der.data(), size)) {
    std::fprintf(stderr,
                 "freshtoken-trust-ca: the Root store refused the certificate (error %lu)\n",
                 static_cast<unsigned long>(GetLastError()));
    return 2;
  }
  std::printf("trusted %s (current user's Root store)\n", argv[1]);
  return 0;
}
