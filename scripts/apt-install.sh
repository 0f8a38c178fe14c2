#!/usr/bin/env bash
# Install the Debian packages named after the caller's name, idempotently:
#   bash scripts/apt-install.sh install-browser chromium chromium-driver
# Does nothing when every package is installed; needs root (or sudo) only when one is missing.
set -euo pipefail
caller="$1"
shift

missing=()
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
[ "${#missing[@]}" -gt 0 ] || exit 0

if ! command -v apt-get >/dev/null; then
    echo "$caller: apt-get not found; install ${missing[*]} by hand" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
        echo "$caller: need root to install ${missing[*]}" >&2
        exit 1
    fi
fi
echo "$caller: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
