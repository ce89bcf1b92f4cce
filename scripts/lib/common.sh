# Shared by scripts/demo and scripts/test: the Debian packages freshtoken needs, and the
# one way they get installed.
set -euo pipefail

FRESHTOKEN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

FRESHTOKEN_PACKAGES=(
  build-essential cmake ninja-build pkg-config ca-certificates curl
  libcurl4-openssl-dev nlohmann-json3-dev libssl-dev libsecret-1-dev
  libcpp-httplib-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  dbus dbus-x11 gnome-keyring libglib2.0-bin
)

# ensure_packages [extra packages...]: installs whatever is missing (as root), or prints
# the exact command to run and fails (as anyone else).
ensure_packages() {
  local missing=() p
  for p in "${FRESHTOKEN_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "freshtoken needs these Debian packages; please run:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "==> installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# configure_and_build <build-dir> [cmake args...]
configure_and_build() {
  local dir=$1
  shift
  cmake -S "$FRESHTOKEN_ROOT" -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}
