#!/usr/bin/env bash
# Re-fetch the vendored npm files (nothing is loaded from a CDN at run time) and print their hashes.
#   api/static/vendor/   marked (Markdown → HTML) and DOMPurify (sanitiser): served with the chat page
#   tests/browser/vendor/ axe-core: injected by the browser tests only, never served
# Versions are pinned here and recorded in api/static/vendor/README.md; bump both together.
set -euo pipefail
cd "$(dirname "$0")/.."

MARKED=18.3.0
DOMPURIFY=3.5.0
AXE_CORE=4.14.1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "marked@$MARKED" "dompurify@$DOMPURIFY" "axe-core@$AXE_CORE" >/dev/null)
for tgz in "$work"/*.tgz; do
    mkdir -p "${tgz%.tgz}" && tar xzf "$tgz" -C "${tgz%.tgz}"
done

cp "$work/marked-$MARKED/package/lib/marked.umd.js" api/static/vendor/marked.umd.js
cp "$work/marked-$MARKED/package/LICENSE" api/static/vendor/LICENSE.marked
cp "$work/dompurify-$DOMPURIFY/package/dist/purify.min.js" api/static/vendor/purify.min.js
cp "$work/dompurify-$DOMPURIFY/package/LICENSE" api/static/vendor/LICENSE.dompurify
cp "$work/dompurify-$DOMPURIFY/package/LICENSE-MPL" api/static/vendor/LICENSE-MPL.dompurify
cp "$work/axe-core-$AXE_CORE/package/axe.min.js" tests/browser/vendor/axe.min.js
cp "$work/axe-core-$AXE_CORE/package/LICENSE" tests/browser/vendor/LICENSE.axe-core
sha256sum api/static/vendor/*.js tests/browser/vendor/*.js
