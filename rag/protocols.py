"""The seams between stages.  Anything with these methods can be injected."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rag.types import Answer, Chunk, Passage, SearchFilters, Turn


@runtime_checkable
class Embedder(Protocol):
    """Turns queries and documents into L2-normalised float32 vectors of ``dimension`` columns."""

    @property
    def name(self) -> str:
        """Model identifier written into index manifests (a name or a path)."""
        ...

    @property
    def dimension(self) -> int:
        """Width of the vectors (loads the model if needed)."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (applies the model's query prompt)."""
        ...

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed passages to be indexed (applies the model's passage prompt)."""
        ...


@dataclass(frozen=True)
class Selection:
    """The chunks a filtered search may return: the filters themselves and the slots passing them.

    A store that filters by expression (Milvus) reads ``filters``; one that filters by id
    (FAISS's ``IDSelector``, tantivy) reads ``ids`` (sorted int64 slots).
    """

    filters: SearchFilters
    ids: np.ndarray


@runtime_checkable
class DenseStore(Protocol):
    """Vectors addressed by int64 chunk slots, searched by inner product (cosine on normalised vectors)."""

    @property
    def dimension(self) -> int:
        """Width of the stored vectors."""
        ...

    def __len__(self) -> int:
        """Number of live vectors."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the manifest records about this store (engine, index type, parameters)."""
        ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (n × dimension) under ``ids`` (n int64)."""
        ...

    def remove(self, ids: np.ndarray) -> int:
        """Remove the given ids; returns how many were removed."""
        ...

    def search(
        self, vectors: np.ndarray, k: int, selection: Selection | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, ids), each (n × k), only ids in ``selection``; missing hits have id -1."""
        ...

    def copy(self) -> DenseStore:
        """A copy a writer may change while readers keep using this one."""
        ...

    def save(self, target: Path) -> None:
        """Write the store to ``target`` (a path the caller names and makes atomic)."""
        ...


@runtime_checkable
class LexicalStore(Protocol):
    """BM25 over pre-tokenised chunks (the project's jieba tokens) addressed by int64 slots."""

    def __len__(self) -> int:
        """Number of live documents."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the manifest records about this store."""
        ...

    def add(
        self, ids: Sequence[int], documents: Sequence[Sequence[str]], chunks: Sequence[Chunk] = ()
    ) -> None:
        """Index tokenised ``documents`` under ``ids``; ``chunks`` are their records (kept by engines
        that hold records, such as Milvus)."""
        ...

    def remove(self, ids: Sequence[int]) -> None:
        """Forget the documents of ``ids``."""
        ...

    def search(
        self, tokens: Sequence[str], k: int, selection: Selection | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) with a positive score, only ids in ``selection``."""
        ...

    def idf(self, token: str) -> float:
        """Robertson–Spärck Jones idf of ``token`` over the live documents (never negative)."""
        ...

    def document_frequency(self, token: str) -> int:
        """How many live documents hold ``token``."""
        ...

    def copy(self) -> LexicalStore:
        """A copy a writer may change while readers keep using this one."""
        ...

    def save(self, target: Path) -> None:
        """Write the store to ``target`` (a path the caller names and makes atomic)."""
        ...


@runtime_checkable
class Generator(Protocol):
    """Composes an :class:`Answer` with citations from retrieved passages."""

    @property
    def name(self) -> str:
        """Short generator name (``extractive``, ``transformers``, ``openai``)."""
        ...

    def generate(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Answer:
        """Answer ``question`` from ``passages`` (and the conversation so far)."""
        ...

    def stream(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Iterator[str | Answer]:
        """Yield pieces of answer text as they are produced, then the final :class:`Answer`."""
        ...


@runtime_checkable
class Stores(Protocol):
    """Makes and opens the dense and lexical stores of an index: one engine (FAISS + tantivy, Milvus).

    The index (:class:`rag.index.Index`) is given one at construction and never names an
    engine itself; ``RAG_STORE`` chooses it in the composition root (:mod:`rag.build`).
    """

    @property
    def name(self) -> str:
        """The engine's name as ``RAG_STORE`` spells it (recorded in the manifest)."""
        ...

    def new_dense(self, dimension: int) -> DenseStore:
        """An empty dense store."""
        ...

    def new_lexical(self) -> LexicalStore:
        """An empty lexical store."""
        ...

    def open_dense(self, path: Path) -> DenseStore:
        """The dense store saved at ``path``."""
        ...

    def open_lexical(self, path: Path) -> LexicalStore:
        """The lexical store saved at ``path``."""
        ...
