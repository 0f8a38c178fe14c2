#!/usr/bin/env bash
# Install what the browser tests (tests/browser, marker `browser`) need, idempotently:
#   - Debian's Chromium and its driver (/usr/bin/chromium, /usr/bin/chromedriver): no browser downloads;
#   - a CJK font, so screenshots show Chinese text rather than empty boxes;
#   - selenium in .venv (it is also in the `dev` extras).
# Does nothing that is already done; needs root (or sudo) only when a package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(chromium chromium-driver fonts-wqy-microhei)
missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null; then
        echo "install-browser: apt-get not found; install ${missing[*]} by hand" >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null; then sudo="sudo"; else
            echo "install-browser: need root to install ${missing[*]}" >&2
            exit 1
        fi
    fi
    echo "install-browser: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for path in /usr/bin/chromium /usr/bin/chromedriver; do
    [ -x "$path" ] || { echo "install-browser: $path is missing after installation" >&2; exit 1; }
done

if [ -x .venv/bin/python ] && ! .venv/bin/python -c "import selenium" 2>/dev/null; then
    .venv/bin/pip install -q "selenium>=4.20"
fi

echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null | head -n1), $(/usr/bin/chromedriver --version | cut -d' ' -f1-2)"
