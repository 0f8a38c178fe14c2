#!/usr/bin/env bash
# Set everything up and run the whole test suite (fast and slow tests, browser tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-browser.sh
bash scripts/install-redis.sh
bash scripts/validate-compose.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check rag api tests scripts
.venv/bin/mypy                     # rag/, strictly (pyproject.toml [tool.mypy])
.venv/bin/python -m pytest "$@"
