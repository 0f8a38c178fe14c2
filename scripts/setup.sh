#!/usr/bin/env bash
# Create .venv in the checkout and install the project with its CPU-only torch.
# Idempotent: a second run only checks that everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)

# torch first, pinned, so that resolving sentence-transformers never pulls the CUDA
# build.  Elsewhere, point TORCH_INDEX_URL at PyTorch's CPU wheel index (or install a
# GPU build yourself before running this script: an installed torch is kept).
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "setup: installing torch==$TORCH_VERSION (CPU)"
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "${PIP[@]}" install "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX_URL"
  else
    "${PIP[@]}" install "torch==$TORCH_VERSION"
  fi
fi

# dev: tests and linters; eval: rag eval --report and rag bench (jinja2, matplotlib, snownlp);
# milvus: RAG_STORE=milvus (pymilvus, milvus-lite: the tests run the Milvus store embedded).
EXTRAS="${RAG_SETUP_EXTRAS:-dev,eval,milvus}"
echo "setup: installing the project (.[$EXTRAS])"
"${PIP[@]}" install -e ".[$EXTRAS]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import rag, faiss, jieba, sentence_transformers" \
  || { echo "setup: the install is incomplete" >&2; exit 1; }
echo "setup: ok ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
