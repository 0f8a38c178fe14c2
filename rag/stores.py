"""The store engines an index can use, and the choice between them (``RAG_STORE``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import InvalidInputError
from rag.lexical import TantivyLexicalStore
from rag.protocols import DenseStore, LexicalStore, Stores
from rag.store import APPROXIMATE_FROM, FaissVectorStore

if TYPE_CHECKING:
    from rag.settings import Settings


class FaissStores:
    """FAISS for vectors (exact, then HNSW past ``approximate_from``), tantivy for BM25: files in the index.

    Example:
        >>> FaissStores().new_dense(3).describe()["index"]
        'flat'
    """

    name = "faiss"

    def __init__(self, approximate_from: int = APPROXIMATE_FROM) -> None:
        self.approximate_from = approximate_from

    def new_dense(self, dimension: int) -> DenseStore:
        """An empty FAISS store."""
        return FaissVectorStore(dimension, approximate_from=self.approximate_from)

    def new_lexical(self) -> LexicalStore:
        """An empty tantivy store (in a private folder until saved)."""
        return TantivyLexicalStore()

    def open_dense(self, path: Path) -> DenseStore:
        """The FAISS file at ``path``."""
        return FaissVectorStore.load(path, approximate_from=self.approximate_from)

    def open_lexical(self, path: Path) -> LexicalStore:
        """The tantivy folder at ``path``."""
        return TantivyLexicalStore.load(path)


def build_stores(settings: Settings) -> Stores:
    """The engine ``settings.store`` names (``RAG_STORE``), set up from the settings."""
    if settings.store == "faiss":
        return FaissStores(approximate_from=settings.faiss_approximate_from)
    if settings.store == "milvus":
        from rag.milvus import MilvusStores

        return MilvusStores.from_settings(settings)
    raise InvalidInputError(f"RAG_STORE={settings.store!r}: expected faiss or milvus")


__all__ = ["FaissStores", "build_stores"]
