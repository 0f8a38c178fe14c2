#!/usr/bin/env bash
# Set everything up and run the product on its built-in defaults:
# convert the bundled embedding model, build the index from seeds/, serve the API and chat page.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/rag model convert     # the bundled embedding model, once (then it only checks)
.venv/bin/rag ingest            # indexes seeds/ (incremental)
exec .venv/bin/rag serve "$@"   # http://127.0.0.1:8000/ (chat page), /docs (API)
