#!/usr/bin/env bash
# Validate docker-compose.yml with Debian's docker-compose (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "validate-compose: installing Debian's docker-compose"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi
# Validation reads the file only: no Docker daemon is needed.
docker-compose -f docker-compose.yml config -q
echo "validate-compose: docker-compose.yml is valid ($(docker-compose version --short 2>/dev/null || echo '?'))"
