#!/usr/bin/env bash
# A $BROWSER for freshtoken-cli: given the authorization URL as its only argument, it drives a
# headless Chromium through chromedriver's W3C WebDriver API (plain curl) and signs in at the
# mock server's form as alice/wonderland, the way a person would.
#
# Environment (set by browser_login_test.sh):
#   WEBDRIVER_URL   http://127.0.0.1:<port> of a running chromedriver
#   BROWSER_STATE   a private directory: session id, profile, log, diagnostics, exit code
#
# The CLI does not wait for its browser, so everything goes to $BROWSER_STATE/driver.log and
# the exit code to $BROWSER_STATE/driver.rc, where the test reads them. Nothing written here
# contains the authorization code: URLs are logged without their query.
set -u
url=${1:?usage: webdriver_browser.sh URL}
state=${BROWSER_STATE:?}
wd=${WEBDRIVER_URL:?}
exec >>"$state/driver.log" 2>&1
trap 'echo $? >"$state/driver.rc.tmp"; mv "$state/driver.rc.tmp" "$state/driver.rc"' EXIT

elem_key=element-6066-11e4-a52e-4f735466cecf
session=

log() { echo "browser: $*"; }
fail() {
  log "FAILED: $*"
  diagnostics
  exit 1
}

# wd_call METHOD PATH [JSON]: the answer's body on stdout; fails on an HTTP error or a
# WebDriver error object.
wd_call() {
  local method=$1 path=$2 data=${3-} out
  local args=(-sS --noproxy '*' --max-time 60 -X "$method" -H 'Content-Type: application/json')
  [ -n "$data" ] && args+=(--data "$data")
  out=$(curl "${args[@]}" "$wd$path") || return 1
  if printf '%s' "$out" | grep -q '"error":'; then
    # An error answer names the failure; it never echoes what we typed.
    printf '%s\n' "$out" | head -c 600 >&2
    echo >&2
    return 1
  fi
  printf '%s' "$out"
}

json_string() {  # json_string KEY: the first "KEY":"value" in stdin
  grep -o "\"$1\":\"[^\"]*\"" | head -n1 | sed 's/.*:"\(.*\)"/\1/'
}

without_query() { printf '%s' "${1%%[?#]*}"; }

# On failure: where the browser is and what the page says (its visible text only: the form's
# hidden fields are not shown).
diagnostics() {
  [ -n "$session" ] || return 0
  local current text
  current=$(wd_call GET "/session/$session/url" | json_string value)
  log "page URL (query removed): $(without_query "$current")"
  text=$(wd_call POST "/session/$session/execute/sync" \
    '{"script":"return document.title + \"\\n\" + (document.body ? document.body.innerText : \"\")","args":[]}')
  log "page text:"
  printf '%s\n' "$text" | sed 's/^{"value":"//; s/"}$//; s/\\n/\n/g' | head -n 40
}

find_element() {  # find_element CSS
  local answer id
  answer=$(wd_call POST "/session/$session/element" \
    "{\"using\":\"css selector\",\"value\":\"$1\"}") || return 1
  id=$(printf '%s' "$answer" | json_string "$elem_key")
  [ -n "$id" ] || return 1
  printf '%s' "$id"
}

log "opening $(without_query "$url") in headless Chromium"
mkdir -p "$state/profile"
caps=$(
  cat <<EOF
{"capabilities":{"alwaysMatch":{"browserName":"chrome","pageLoadStrategy":"normal",
 "goog:chromeOptions":{"binary":"/usr/bin/chromium","args":[
  "--headless","--no-sandbox","--disable-gpu","--disable-dev-shm-usage",
  "--disable-background-networking","--disable-component-update","--disable-sync",
  "--disable-quic","--no-first-run","--no-default-browser-check","--no-proxy-server",
  "--disable-extensions","--user-data-dir=$state/profile"]}}}}
EOF
)
answer=$(wd_call POST /session "$caps") || fail "chromedriver could not start Chromium"
session=$(printf '%s' "$answer" | json_string sessionId)
[ -n "$session" ] || fail "no session id in chromedriver's answer"
echo "$session" >"$state/session"
log "session started"

wd_call POST "/session/$session/timeouts" '{"implicit":10000,"pageLoad":30000}' >/dev/null ||
  fail "cannot set timeouts"
wd_call POST "/session/$session/url" "{\"url\":\"$url\"}" >/dev/null ||
  fail "cannot open the authorization URL"

user=$(find_element 'input[name=username]') || fail "no username field on the sign-in page"
password=$(find_element 'input[name=password]') || fail "no password field on the sign-in page"
approve=$(find_element 'button[name=action][value=approve]') || fail "no Sign in button"
log "sign-in form found"

# The form pre-fills alice; clear it so what we type is the whole value.
wd_call POST "/session/$session/element/$user/clear" '{}' >/dev/null || fail "cannot clear username"
wd_call POST "/session/$session/element/$user/value" '{"text":"alice"}' >/dev/null ||
  fail "cannot type the username"
wd_call POST "/session/$session/element/$password/value" '{"text":"wonderland"}' >/dev/null ||
  fail "cannot type the password"
wd_call POST "/session/$session/element/$approve/click" '{}' >/dev/null ||
  fail "cannot click Sign in"
log "submitted the sign-in form"

# The server redirects to the CLI's loopback listener (also on 127.0.0.1, but not the
# issuer's origin); wait until the browser got there.
origin=$(printf '%s' "$url" | sed 's#^\(https\{0,1\}://[^/]*\).*#\1#')
at_loopback() {
  case $1 in
    "$origin"/* | "$origin") return 1 ;;
    http://127.0.0.1:*) return 0 ;;
  esac
  return 1
}
current=
deadline=$((SECONDS + 15))
while [ "$SECONDS" -lt "$deadline" ]; do
  current=$(wd_call GET "/session/$session/url" | json_string value)
  at_loopback "$current" && break
  sleep 0.2
done
at_loopback "$current" || fail "the browser never reached the loopback redirect"
log "redirected to the loopback listener $(without_query "$current")"
wd_call DELETE "/session/$session" >/dev/null && rm -f "$state/session"
log "done"
exit 0
