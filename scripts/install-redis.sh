#!/usr/bin/env bash
# Install what the Redis session-store tests (tests/api/test_api_sessions.py) need, idempotently:
#   - Debian's redis-server (/usr/bin/redis-server): the tests start their own instance on a
#     free port in a temporary folder, so the system service is neither needed nor used;
#   - the redis client in .venv (it is also a project dependency).
# Does nothing that is already done; needs root (or sudo) only when the package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/apt-install.sh install-redis redis-server
[ -x /usr/bin/redis-server ] || { echo "install-redis: /usr/bin/redis-server is missing after installation" >&2; exit 1; }

if [ -x .venv/bin/python ] && ! .venv/bin/python -c "import redis" 2>/dev/null; then
    .venv/bin/pip install -q "redis>=5.0"
fi

echo "install-redis: $(/usr/bin/redis-server --version | cut -d' ' -f1-3)"
