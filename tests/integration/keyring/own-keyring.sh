#!/usr/bin/env bash
# own-keyring.sh COMMAND...: runs COMMAND in a D-Bus session and gnome-keyring of its own
# (fresh HOME, login keyring with password "pass", unlocked), even when already inside
# scripts/with-keyring. For tests that lock the keyring: locking the shared one would break
# the keyring tests that ctest runs next to them.
set -euo pipefail
home=$(mktemp -d /tmp/freshtoken-ownkeyring-home.XXXXXX)
runtime=$(mktemp -d /tmp/freshtoken-ownkeyring-run.XXXXXX)
chmod 700 "$home" "$runtime"
trap 'rm -rf "$home" "$runtime"' EXIT
export HOME=$home XDG_RUNTIME_DIR=$runtime XDG_DATA_HOME=$home/.local/share \
  XDG_CONFIG_HOME=$home/.config XDG_CACHE_HOME=$home/.cache
unset GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
mkdir -p "$XDG_DATA_HOME/keyrings"
dbus-run-session -- bash -c '
  eval "$(printf pass | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null
  exec "$@"' own-keyring "$@" 2> >(grep -v "Failed to set fd limit" >&2)
