"""The seams between stages.  Anything with these methods can be injected."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from rag.types import Answer, Passage, Turn


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


@runtime_checkable
class VectorStore(Protocol):
    """A dense index of int64 ids to vectors, searched by inner product."""

    @property
    def dimension(self) -> int:
        """Width of the stored vectors."""
        ...

    def __len__(self) -> int:
        """Number of stored vectors."""
        ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (n × dimension) under ``ids`` (n int64)."""
        ...

    def remove(self, ids: np.ndarray) -> int:
        """Remove the given ids; returns how many were removed."""
        ...

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, ids), each (n × k); missing hits have id -1."""
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
