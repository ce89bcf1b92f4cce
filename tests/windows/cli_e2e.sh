#!/usr/bin/env bash
# tests/windows/cli_e2e.sh <linux-build-dir> <windows-build-dir>
#
# freshtoken-cli.exe end to end under Wine, against the Linux freshtoken-mock-server on
# 127.0.0.1: device sign-in, a call, a refresh with rotation once the access token expired, a
# 401 after the server revoked access tokens (refresh, retry), four Windows processes of one
# account calling in parallel for several token lifetimes with strict refresh-token reuse
# detection, sign-out, and the same sign-in and call over https with a test CA trusted through
# the Wine prefix's Windows certificate store.
#
# Needs: <linux-build-dir>/bin/freshtoken-mock-server; <windows-build-dir>/bin/freshtoken-cli.exe
# and freshtoken-trust-ca.exe (tests/windows/CMakeLists.txt; when that is not built, the script
# compiles trust_ca.cpp itself with the MinGW-w64 compiler); wine64, curl and openssl.
# Every run uses a Wine prefix of its own, made and removed here. One line per check; the last
# line counts them. Exits non-zero at the first failed check.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: tests/windows/cli_e2e.sh <linux-build-dir> <windows-build-dir>" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mock=$(cd "$1" && pwd)/bin/freshtoken-mock-server
win_bin=$(cd "$2" && pwd)/bin
cli_exe=$win_bin/freshtoken-cli.exe
trust_exe=$win_bin/freshtoken-trust-ca.exe
wine=${WINE:-/usr/lib/wine/wine64}
wineserver=${WINESERVER:-/usr/lib/wine/wineserver}

# Access tokens live `ttl` seconds: long enough for a Wine process to start and make its call
# inside one lifetime, short enough that the parallel run spans several.
ttl=4
parallel_seconds=$((3 * ttl + 2))

for f in "$mock" "$cli_exe"; do
  [ -x "$f" ] || [ -f "$f" ] || { echo "windows e2e: missing $f" >&2; exit 2; }
done
for tool in "$wine" curl openssl; do
  command -v "$tool" >/dev/null || { echo "windows e2e: needs $tool" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/freshtoken-win-e2e.XXXXXX")
export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEARCH=win64
# No Mono or Gecko installer on the prefix's first start.
export WINEDLLOVERRIDES="mscoree,mshtml="
unset BROWSER DISPLAY WAYLAND_DISPLAY FRESHTOKEN_ISSUER FRESHTOKEN_STORE FRESHTOKEN_CLIENT_ID

server_pids=()
passed=0
cleanup() {
  local rc=$?
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # This prefix's wineserver only (WINEPREFIX selects it), and the Windows processes in it.
  if [ -d "$WINEPREFIX" ]; then "$wineserver" -k 2>/dev/null || true; fi
  rm -rf "$work"
  if [ "$rc" -ne 0 ]; then
    echo "windows e2e: FAILED after $passed checks passed" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT

pass() {
  passed=$((passed + 1))
  echo "ok $passed - $*"
}
fail() {
  echo "not ok - $*" >&2
  exit 1
}

# start_mock NAME [flags...]: starts freshtoken-mock-server and sets `issuer` to the URL it
# prints first.
start_mock() {
  local name=$1
  shift
  "$mock" --port 0 --access-token-ttl "$ttl" --device-interval 1 --reuse-grace 0 --rotation on \
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
  server_pids+=($!)
  issuer=""
  for _ in $(seq 100); do
    issuer=$(head -n1 "$work/$name.out" 2>/dev/null) || true
    [ -n "$issuer" ] && break
    kill -0 "${server_pids[-1]}" 2>/dev/null || fail "the mock server did not start: $(cat "$work/$name.err")"
    sleep 0.1
  done
  [ -n "$issuer" ] || fail "the mock server printed no issuer"
}

# stat NAME: one counter from the mock's GET /mock/stats (0 when absent).
stat() {
  local value
  value=$(curl -fsS "$issuer/mock/stats" ${curl_ca:+--cacert "$curl_ca"} |
    grep -o "\"$1\":[0-9]*" | sed -n '1s/.*://p') || true
  echo "${value:-0}"
}
refreshes() { stat refresh_token; }  # token_requests' refresh_token grant count

control() {  # control PATH JSON
  curl -fsS -X POST "$issuer$1" -d "$2" ${curl_ca:+--cacert "$curl_ca"} >/dev/null
}

# cli OUT_PREFIX ARGS...: freshtoken-cli.exe under Wine; stdout and stderr to files, sets rc.
cli() {
  local out=$1
  shift
  rc=0
  "$wine" "$cli_exe" --issuer "$issuer" "$@" >"$work/$out.stdout" 2>"$work/$out.stderr" || rc=$?
}
expect_rc() {  # expect_rc WANTED OUT_PREFIX WHAT
  [ "$rc" -eq "$1" ] || fail "$3: exit $rc, expected $1; stderr: $(head -c 2000 "$work/$2.stderr")"
}

# device_login NAME: `login --device`, the user code read from its stderr and approved as
# alice through the mock's control API.
device_login() {
  local name=$1 code="" pid
  "$wine" "$cli_exe" --issuer "$issuer" login --device >"$work/$name.stdout" \
    2>"$work/$name.stderr" &
  pid=$!
  for _ in $(seq 600); do
    code=$(sed -n 's/.*enter the code \([A-Z0-9-]*\).*/\1/p' "$work/$name.stderr" | head -n1)
    [ -n "$code" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$code" ]; then
    rc=0
    wait "$pid" || rc=$?
    fail "$name: login --device printed no user code (exit $rc): $(head -c 2000 "$work/$name.stderr")"
  fi
  control /mock/device/approve "{\"user_code\":\"$code\",\"user\":\"alice\"}"
  rc=0
  wait "$pid" || rc=$?
}

expect_alice() {  # expect_alice OUT_PREFIX WHAT
  grep -q '"sub":"alice"' "$work/$1.stdout" ||
    fail "$2: the body does not name alice: $(head -c 500 "$work/$1.stdout")"
}

# --- the Windows program runs under Wine at all (this run also makes the prefix) ------------
# This prefix's wineserver stays up between the many short runs below (else each run whose
# predecessor ended more than 3 s earlier starts one).
mkdir -p "$WINEPREFIX"
"$wineserver" -p || fail "cannot start a wineserver for $WINEPREFIX"
issuer=unused
out=$("$wine" "$cli_exe" --version 2>"$work/version.stderr") ||
  fail "freshtoken-cli.exe --version under Wine: $(head -c 2000 "$work/version.stderr")"
[[ $out == "freshtoken-cli "* ]] || fail "freshtoken-cli.exe --version printed '$out'"
default_store=$("$wine" "$cli_exe" --help 2>/dev/null |
  sed -n 's/.*--store TEXT:[^=]*=\([a-z-]*\).*/\1/p')
[ "$default_store" = credential-manager ] ||
  fail "the default --store is '$default_store', expected credential-manager"
pass "freshtoken-cli.exe runs under Wine ($out); the default store is $default_store"

# --- http on 127.0.0.1 -------------------------------------------------------------------------
start_mock http

cli status0 status
expect_rc 3 status0 "status before any sign-in"
pass "status before sign-in exits 3 (login required)"

device_login login
expect_rc 0 login "login --device"
[ "$(stat 'urn:ietf:params:oauth:grant-type:device_code')" -ge 1 ] ||
  fail "login --device: the server saw no device_code grant"
pass "login --device: user code read from stderr, approved via /mock/device/approve, signed in"

cli me get "$issuer/api/me"
expect_rc 0 me "get $issuer/api/me"
expect_alice me "get /api/me"
pass "get <issuer>/api/me returns alice (session loaded from Credential Manager)"

before=$(refreshes)
reuse_before=$(stat refresh_reuse_detected)
sleep $((ttl + 1))
cli expired get /api/me
expect_rc 0 expired "get after the access token expired"
expect_alice expired "get after expiry"
after=$(refreshes)
[ "$after" -gt "$before" ] || fail "no refresh after the access token expired ($before -> $after)"
[ "$(stat refresh_reuse_detected)" -eq "$reuse_before" ] || fail "refresh-token reuse detected"
pass "after expiry a call refreshes (refresh_token grants $before -> $after) and succeeds"

# The next refresh must use the rotated refresh token the last one saved: with no grace, the old
# one would be reuse and would revoke the family.
before=$(refreshes)
api401_before=$(stat api_401)
control /mock/revoke '{"what":"access_tokens"}'
cli revoked get /api/me
expect_rc 0 revoked "get after the server revoked access tokens"
expect_alice revoked "get after revoke"
api401_after=$(stat api_401)
after=$(refreshes)
[ "$api401_after" -gt "$api401_before" ] || fail "the call after revoke got no 401 ($api401_before -> $api401_after)"
[ "$after" -gt "$before" ] || fail "no refresh after the 401 ($before -> $after)"
[ "$(stat refresh_reuse_detected)" -eq 0 ] || fail "refresh-token reuse detected (rotation not saved)"
pass "after /mock/revoke access_tokens: 401 (api_401 $api401_before -> $api401_after), refresh with the rotated token, retry succeeds"

# Four Windows processes of the one account (the same Credential Manager entry and the same
# cross-process lock in this prefix), each calling in a loop for several token lifetimes.
before=$(refreshes)
calls_before=$(stat api_requests)
worker() {
  local n=$1 i=0 end=$((SECONDS + parallel_seconds)) wrc
  while [ "$SECONDS" -lt "$end" ]; do
    i=$((i + 1))
    wrc=0
    "$wine" "$cli_exe" --issuer "$issuer" get /api/me >"$work/p$n.$i.stdout" \
      2>"$work/p$n.$i.stderr" || wrc=$?
    echo "$wrc" >>"$work/p$n.rcs"
    if [ "$wrc" -ne 0 ] || ! grep -q '"sub":"alice"' "$work/p$n.$i.stdout"; then
      echo "process $n call $i: exit $wrc: $(head -c 1000 "$work/p$n.$i.stderr")" >>"$work/p$n.failures"
    fi
  done
}
workers=()
for n in 1 2 3 4; do
  worker "$n" &
  workers+=($!)
done
for pid in "${workers[@]}"; do wait "$pid" || fail "parallel run: a worker broke down"; done
calls=$(cat "$work"/p[1-4].rcs | wc -l)
failures=$(cat "$work"/p[1-4].failures 2>/dev/null || true)
[ -z "$failures" ] ||
  fail "parallel run: $(grep -c . <<<"$failures") of $calls calls failed: ${failures:0:2000}"
for n in 1 2 3 4; do
  [ "$(wc -l <"$work/p$n.rcs")" -ge 2 ] || fail "parallel run: process $n made fewer than 2 calls"
done
after=$(refreshes)
reuse=$(stat refresh_reuse_detected)
[ "$reuse" -eq 0 ] || fail "parallel run: refresh_reuse_detected is $reuse"
[ $((after - before)) -ge 2 ] ||
  fail "parallel run: $((after - before)) refreshes in ${parallel_seconds} s with ${ttl} s tokens"
[ $(($(stat api_requests) - calls_before)) -ge "$calls" ] || fail "parallel run: the server saw fewer calls than were made"
pass "4 Windows processes, ${parallel_seconds} s (${ttl} s tokens): $calls calls, all alice, $((after - before)) refreshes, refresh_reuse_detected 0"

revocations_before=$(stat revocations)
families_before=$(stat active_families)
cli logout logout
expect_rc 0 logout "logout"
[ "$(stat revocations)" -gt "$revocations_before" ] || fail "logout revoked nothing at the server"
[ "$(stat active_families)" -lt "$families_before" ] ||
  fail "logout left the refresh-token family active ($families_before active)"
cli after_logout get /api/me
expect_rc 3 after_logout "get after logout"
pass "logout revokes the refresh token (active families $families_before -> $(stat active_families)); get then exits 3"

# --- https, with a private CA trusted through the prefix's Windows certificate store ---------
pki=$work/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 \
  -subj "/CN=freshtoken Windows e2e test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$pki/server.key" -out "$pki/server.csr" \
  -subj "/CN=127.0.0.1" 2>/dev/null
# 127.0.0.1 as an IP address name (what Windows and OpenSSL match an IP against) and as a DNS
# name: Wine 8's SSL chain policy compares the server name with DNS names only.
printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:127.0.0.1" "extendedKeyUsage=serverAuth" \
  "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" >"$pki/ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
  -CAcreateserial -out "$pki/server.pem" -days 2 -extfile "$pki/ext" 2>/dev/null
curl_ca=$pki/ca.pem
start_mock https --tls-cert "$pki/server.pem" --tls-key "$pki/server.key"
[[ $issuer == https://* ]] || fail "the TLS mock's issuer is not https: $issuer"

# Sign-in is the first command that speaks to this server (discovery is lazy: a get without a
# stored session would stop at "not signed in" before any request).
cli untrusted login --device
expect_rc 4 untrusted "login over https before the CA is trusted"
pass "over https, before the test CA is trusted: exit 4 (the server's certificate is refused)"

if [ ! -f "$trust_exe" ]; then
  trust_exe=$work/freshtoken-trust-ca.exe
  x86_64-w64-mingw32-g++-posix -std=c++17 -O1 -static -DUNICODE -D_UNICODE -DWIN32_LEAN_AND_MEAN \
    -Wall -Wextra -Werror -o "$trust_exe" "$here/trust_ca.cpp" -lcrypt32 ||
    fail "cannot build freshtoken-trust-ca.exe"
fi
"$wine" "$trust_exe" "$pki/ca.pem" >"$work/trust.stdout" 2>"$work/trust.stderr" ||
  fail "freshtoken-trust-ca.exe: $(cat "$work/trust.stderr")"
pass "test CA added to the Wine prefix's Root store (freshtoken-trust-ca.exe)"

device_login tls_login
expect_rc 0 tls_login "login --device over https"
cli tls_me get /api/me
expect_rc 0 tls_me "get over https"
expect_alice tls_me "get over https"
pass "over https ($issuer): device sign-in and get /api/me return alice"

echo "windows e2e: $passed checks passed"
