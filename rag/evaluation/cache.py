"""What the benchmarks keep on disk under ``<cache_dir>/bench``: embeddings and built indexes.

Embedding the People's Daily corpus is slow on a CPU (~28 passages/s), so
:class:`CachingEmbedder` keeps every vector in a SQLite file, keyed by model, prompt and
text hash; :func:`cached_index` saves each haystack index once and reuses it while the
model, chunking, tokenizer and articles stay the same.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rag.chunk import ChunkerSettings
from rag.embed import WrappingEmbedder, embedder_prompts
from rag.index import Index
from rag.index_manifest import FORMAT_VERSION, TOKENIZER_VERSION
from rag.protocols import Embedder
from rag.settings import Settings
from rag.types import Article


class CachingEmbedder(WrappingEmbedder):
    """Wraps an :class:`~rag.protocols.Embedder` and keeps its vectors in a SQLite file.

    Keys are SHA-1 digests of (kind, text); the file name carries the model name and
    prompts, so a different model or prompt never reads stale vectors.  ``name`` is
    the wrapped model's, so indexes built through the cache load with the bare model.
    """

    def __init__(self, inner: Embedder, cache_dir: Path) -> None:
        super().__init__(inner)
        prompts = embedder_prompts(inner)
        ident = "\x00".join([inner.name, prompts["query"], prompts["passage"]])
        digest = hashlib.sha1(ident.encode("utf-8")).hexdigest()[:16]
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / f"embeddings-{digest}.sqlite"
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries, from the cache where possible."""
        return self._encode("query", texts, lambda missing: self.inner.encode_queries(missing))

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed documents, from the cache where possible."""
        return self._encode(
            "passage",
            texts,
            lambda missing: self.inner.encode_documents(missing, show_progress=show_progress),
        )

    def _encode(
        self, kind: str, texts: Sequence[str], compute: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        keys = [hashlib.sha1(f"{kind}\x00{t}".encode()).hexdigest() for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                rows = self._db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(batch))})", batch
                ).fetchall()
                found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        self.hits += len(keys) - sum(1 for k in keys if k not in found)
        self.misses += len(todo)
        if todo:
            vectors = compute([t for _, t in todo])
            with self._lock:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(k, v.astype(np.float32).tobytes()) for (k, _), v in zip(todo, vectors, strict=True)],
                )
                self._db.commit()
            found.update((k, v.astype(np.float32)) for (k, _), v in zip(todo, vectors, strict=True))
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([found[k] for k in keys]).astype(np.float32)


def bench_dir(settings: Settings) -> Path:
    """Where benchmark caches (embeddings, haystack indexes) live."""
    return settings.cache_dir / "bench"


def cached_embedder(settings: Settings, embedder: Embedder) -> CachingEmbedder:
    """``embedder`` behind the on-disk cache of :func:`bench_dir`."""
    return CachingEmbedder(embedder, bench_dir(settings))


def chunker_of(settings: Settings) -> ChunkerSettings:
    """The chunking ``settings`` ask for (what the product's pipeline uses too)."""
    return ChunkerSettings(size=settings.chunk_size, overlap=settings.chunk_overlap)


def _index_key(settings: Settings, embedder: Embedder, articles: Sequence[Article]) -> str:
    digest = hashlib.sha1()
    # The index format too: a cached index an older version wrote is rebuilt, not refused.
    parts = (embedder.name, str(settings.chunk_size), str(settings.chunk_overlap), TOKENIZER_VERSION)
    for part in (*parts, f"format {FORMAT_VERSION}"):
        digest.update(part.encode("utf-8") + b"\x00")
    for article in articles:
        digest.update(article.id.encode("utf-8") + b"\x00")
    return digest.hexdigest()[:16]


def cached_index(
    settings: Settings, embedder: CachingEmbedder, label: str, articles: Sequence[Article]
) -> tuple[Path, float]:
    """Save an index of ``articles`` under the bench dir (reused when it exists); return (dir, seconds).

    The folder name holds ``label`` and a digest of the model, chunking, tokenizer, index
    format and article ids, so any change builds a new index.
    """
    path = bench_dir(settings) / f"index-{label}-{_index_key(settings, embedder, articles)}"
    started = time.perf_counter()
    if not Index.exists(path):
        index = Index(embedder, chunker_of(settings))
        by_source: dict[str, list[Article]] = {}
        for article in articles:
            by_source.setdefault(article.source, []).append(article)
        for source, group in by_source.items():
            index.sync_source(source, group, show_progress=True)
        index.save(path)
    return path, round(time.perf_counter() - started, 2)
