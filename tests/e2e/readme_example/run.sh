#!/usr/bin/env bash
# run.sh MOCK_SERVER EXAMPLE: the README example signs in (browser flow; the "browser" is curl
# following the mock server's auto-approve redirect to the loopback listener), calls
# /api/me, then runs again and must resume from the keyring without a second sign-in.
set -euo pipefail
mock=$1 example=$2
work=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

"$mock" --port 0 --auto-approve >"$work/issuer" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/issuer" ] && break; sleep 0.1; done
issuer=$(head -n 1 "$work/issuer")

printf '#!/bin/sh\nexec curl -sSL -o /dev/null "$1"\n' >"$work/browser"
chmod +x "$work/browser"

first=$(BROWSER=$work/browser "$example" "$issuer")
echo "first run: $first"
[[ $first == 200\ *alice* ]] || { echo "first run did not reach /api/me as alice"; exit 1; }

grants() { curl -sf "$issuer/mock/stats" | grep -o '"authorization_code":[0-9]*' | cut -d: -f2; }
before=$(grants)
second=$(BROWSER=/bin/false "$example" "$issuer")
echo "second run: $second"
[[ $second == 200\ *alice* ]] || { echo "second run did not resume the session"; exit 1; }
[ "$(grants)" = "$before" ] || { echo "second run signed in again"; exit 1; }
echo "README example works"
