#!/usr/bin/env bash
# check_exports.sh LIBRARY.so REQUIRED_SYMBOL...
# Fails when the shared library's dynamic symbol table exports an internal freshtoken symbol
# (freshtoken::detail, freshtoken::util) or anything of its dependencies (curl, OpenSSL,
# nlohmann::json, cpp-httplib, libsecret/glib), or when a REQUIRED_SYMBOL (a demangled name
# prefix, e.g. "freshtoken::make_curl_transport(") is not exported: an empty export table must
# not pass either.
set -euo pipefail
lib=$1
shift
exports=$(nm -DC --defined-only "$lib" | cut -d' ' -f3-)
if [[ -z $exports ]]; then
  echo "FAIL: $lib exports nothing" >&2
  exit 1
fi
forbidden='freshtoken::(detail|util)::|nlohmann|httplib|(^|[^[:alnum:]_])(curl_|Curl_|SSL_|EVP_|OPENSSL_|CRYPTO_|BIO_|secret_|g_)'
if leaks=$(grep -E "$forbidden" <<<"$exports"); then
  echo "FAIL: $lib exports $(wc -l <<<"$leaks") symbol(s) that are not its public API:" >&2
  head -n 20 <<<"$leaks" >&2
  exit 1
fi
for symbol in "$@"; do
  if ! grep -qF -- "$symbol" <<<"$exports"; then
    echo "FAIL: $lib does not export $symbol" >&2
    exit 1
  fi
done
echo "OK: $lib exports $(wc -l <<<"$exports") symbols, none internal"
