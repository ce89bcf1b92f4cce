#!/usr/bin/env bash
# End to end with a real browser (issue 5): `freshtoken-cli login --browser` against
# freshtoken-mock-server's sign-in form (no --auto-approve), where $BROWSER is headless
# Chromium driven through chromedriver (webdriver_browser.sh) that types alice/wonderland.
# Then the stored session answers `get /api/me` as alice, and the server saw exactly one
# authorization_code grant.
#
#   browser_login_test.sh <freshtoken-cli> <freshtoken-mock-server>
#
# Exit 0 pass, 1 fail, 77 skip (chromium or chromedriver not installed; scripts/test
# installs them). Output never contains a token or an authorization code.
set -u
cli=${1:?usage: browser_login_test.sh CLI MOCK_SERVER}
server_bin=${2:?usage: browser_login_test.sh CLI MOCK_SERVER}
here=$(cd "$(dirname "$0")" && pwd)

for tool in chromium chromedriver curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (apt-get install chromium chromium-driver curl)"
    exit 77
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/freshtoken-browser.XXXXXX")
state=$tmp/browser
mkdir -p "$state" "$tmp/store"
chmod 700 "$tmp/store"
server_pid=
driver_pid=
driver_port=

# Chromium runs as chromedriver's child; anything still holding our private profile
# directory after chromedriver is gone is ours too, and is ended by its pid.
kill_profile_users() {
  local proc pid
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    tr '\0' ' ' 2>/dev/null <"$proc/cmdline" | grep -qF -- "--user-data-dir=$state/profile" &&
      kill -9 "$pid" 2>/dev/null
  done
  return 0
}

cleanup() {
  if [ -s "$state/session" ] && [ -n "$driver_port" ]; then
    curl -sS --noproxy '*' --max-time 10 -X DELETE \
      "http://127.0.0.1:$driver_port/session/$(cat "$state/session")" >/dev/null 2>&1
  fi
  [ -n "$driver_pid" ] && kill "$driver_pid" 2>/dev/null && wait "$driver_pid" 2>/dev/null
  kill_profile_users
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*"
  echo "--- freshtoken-cli output"
  cat "$tmp/cli.out" 2>/dev/null
  echo "--- browser driver log"
  cat "$state/driver.log" 2>/dev/null
  echo "--- chromedriver log (tail)"
  # chromedriver logs every URL and keystroke: the redirect's code and what was typed go.
  tail -n 30 "$tmp/chromedriver.log" 2>/dev/null |
    sed -E 's/([?&](code|state)=)[^&" ]*/\1[redacted]/g; s/("text": *")[^"]*"/\1[redacted]"/g'
  echo "--- mock server stderr"
  tail -n 20 "$tmp/server.err" 2>/dev/null
  exit 1
}

# --- the mock server, with the interactive sign-in form
"$server_bin" --port 0 >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
issuer=
for _ in $(seq 1 100); do
  issuer=$(head -n1 "$tmp/server.out" 2>/dev/null)
  [ -n "$issuer" ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "the mock server exited at start"
  sleep 0.1
done
case $issuer in
  http://127.0.0.1:*) ;;
  *) fail "the mock server printed no issuer" ;;
esac
echo "mock server: $issuer"

# --- chromedriver on a free port (picked, then confirmed: another process may win the race)
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
    2>/dev/null || echo $((20000 + RANDOM % 40000))
}
for attempt in 1 2 3 4 5; do
  driver_port=$(free_port) || fail "cannot find a free port"
  : >"$tmp/chromedriver.log"
  chromedriver --port="$driver_port" --allowed-ips=127.0.0.1 --log-path="$tmp/chromedriver.log" \
    >/dev/null 2>&1 &
  driver_pid=$!
  ready=0
  for _ in $(seq 1 100); do
    kill -0 "$driver_pid" 2>/dev/null || break
    if curl -sS --noproxy '*' --max-time 2 "http://127.0.0.1:$driver_port/status" 2>/dev/null |
      grep -q '"ready":true'; then
      ready=1
      break
    fi
    sleep 0.1
  done
  # Ready and still alive: the answer came from our chromedriver, not a squatter on the port.
  if [ "$ready" = 1 ] && kill -0 "$driver_pid" 2>/dev/null; then
    break
  fi
  kill "$driver_pid" 2>/dev/null
  wait "$driver_pid" 2>/dev/null
  driver_pid=
  echo "chromedriver did not come up on port $driver_port (attempt $attempt)"
done
[ -n "$driver_pid" ] || fail "chromedriver never became ready"
echo "chromedriver: port $driver_port"

# --- the sign-in, with the WebDriver script as the browser
BROWSER=$here/webdriver_browser.sh WEBDRIVER_URL=http://127.0.0.1:$driver_port \
  BROWSER_STATE=$state timeout 90 \
  "$cli" --issuer "$issuer" --store "file:$tmp/store" login --browser >"$tmp/cli.out" 2>&1 &
cli_pid=$!
# When the browser side gives up, the CLI would wait for a redirect that never comes: stop it
# and report the browser's failure instead of a timeout.
while kill -0 "$cli_pid" 2>/dev/null; do
  if [ -f "$state/driver.rc" ] && [ "$(cat "$state/driver.rc")" != 0 ]; then
    kill "$cli_pid" 2>/dev/null
    wait "$cli_pid" 2>/dev/null
    fail "the browser driver failed while login --browser was waiting"
  fi
  sleep 0.1
done
wait "$cli_pid"
rc=$?
[ "$rc" = 0 ] || fail "login --browser exited with $rc"
echo "login --browser: exit 0"

# The browser side ends on its own after the redirect; its verdict is part of the test.
for _ in $(seq 1 300); do
  [ -f "$state/driver.rc" ] && break
  sleep 0.1
done
[ -f "$state/driver.rc" ] || fail "the browser driver did not finish"
[ "$(cat "$state/driver.rc")" = 0 ] || fail "the browser driver failed"

# --- the stored session works and belongs to alice
me=$(timeout 30 "$cli" --issuer "$issuer" --store "file:$tmp/store" get /api/me 2>"$tmp/get.err")
rc=$?
[ "$rc" = 0 ] || {
  cat "$tmp/get.err"
  fail "get /api/me exited with $rc"
}
printf '%s' "$me" | grep -q '"sub":"alice"' || fail "get /api/me did not answer for alice: $me"
echo "get /api/me: signed in as alice"

# --- the server saw one code exchange, and the form was both shown and posted
stats=$(curl -sS --noproxy '*' --max-time 10 "$issuer/mock/stats") || fail "no /mock/stats"
printf '%s' "$stats" | grep -q '"authorization_code":1[,}]' ||
  fail "expected exactly one authorization_code grant, stats: $stats"
authorize=$(printf '%s' "$stats" | grep -o '"authorize_requests":[0-9]*' | cut -d: -f2)
[ "${authorize:-0}" -ge 2 ] ||
  fail "expected the form to be shown and posted (>= 2 /authorize requests), got ${authorize:-0}"
echo "mock stats: 1 authorization_code grant, $authorize /authorize requests"
echo "PASS"
