#!/usr/bin/env bash
# Install what the browser tests (tests/browser, marker `browser`) need, idempotently:
#   - Debian's Chromium and its driver (/usr/bin/chromium, /usr/bin/chromedriver): no browser downloads;
#   - a CJK font, so screenshots show Chinese text rather than empty boxes;
#   - selenium in .venv (it is also in the `dev` extras).
# Does nothing that is already done; needs root (or sudo) only when a package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/apt-install.sh install-browser chromium chromium-driver fonts-wqy-microhei

for path in /usr/bin/chromium /usr/bin/chromedriver; do
    [ -x "$path" ] || { echo "install-browser: $path is missing after installation" >&2; exit 1; }
done

if [ -x .venv/bin/python ] && ! .venv/bin/python -c "import selenium" 2>/dev/null; then
    .venv/bin/pip install -q "selenium>=4.20"
fi

echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null | head -n1), $(/usr/bin/chromedriver --version | cut -d' ' -f1-2)"
