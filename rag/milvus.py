"""The Milvus engine (``RAG_STORE=milvus``): one collection per index holds vectors, BM25 terms and records.

Each chunk is one row: ``slot`` (primary key), ``vector`` (dense, inner product),
``text`` (the project's jieba tokens joined by spaces, analysed by Milvus's jieba
tokenizer with the archive's user dictionary; its BM25 function fills ``sparse``),
``date`` and ``source`` (filter fields) and ``record`` (the chunk as JSON).  Retrieval
asks each side for its own top candidates and fuses them with the project's fusion
(:func:`rag.retrieve.fuse`), so results stay comparable with the FAISS path and the
evaluation.  ``RAG_MILVUS_URI`` is a file path (milvus-lite, embedded: tests and
laptops) or ``http://host:19530`` (standalone or a cluster: the same client code).

The index folder still holds the manifest and the article and chunk files; the
``vectors-<gen>`` and ``lexical-<gen>`` entries are small JSON files naming the
collection.  Milvus has no transaction spanning inserts and deletes, so a write is made
safe for readers of the saved generation this way: new rows are written at once (their
slots are unknown to the saved records, so searches of that generation skip them);
removed rows stay until the index is saved (a writer's views skip them and ask for as
many more hits).  A process killed mid-write leaves rows no manifest names, which
searches skip and a later write of the same slot overwrites (upsert); a load that finds
fewer rows than chunks says the index is damaged and names the rebuild.

The vectors are searched exactly (``FLAT``) in milvus-lite and by an HNSW graph (M 32,
efConstruction 200, ef 128, as the FAISS path) on a Milvus server.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import IndexMismatchError
from rag.milvus_collection import MILVUS_FILE, MilvusCollection
from rag.protocols import Selection

if TYPE_CHECKING:
    from rag.settings import Settings
    from rag.types import Chunk


class _View:
    """What both views of a collection share: removals held back until the index is saved.

    A removed row stays in the collection until :meth:`save`, so readers of the saved
    generation (an :class:`~rag.index.Index` copied for a write shares the collection)
    keep finding it; this view skips it and asks for as many more hits.
    """

    def __init__(self, collection: MilvusCollection, removed: set[int] | None = None) -> None:
        self.collection = collection
        self.removed: set[int] = set(removed or ())

    def __len__(self) -> int:
        return max(self.collection.count() - len(self.removed), 0)

    def _remove(self, ids: Sequence[int]) -> list[int]:
        fresh = [int(i) for i in ids if int(i) not in self.removed]
        self.removed.update(fresh)
        return fresh

    def _apply(self) -> None:
        """Delete the removed rows and flush: the collection then holds what the save names."""
        if self.removed:
            self.collection.delete(sorted(self.removed))
            self.removed.clear()
        if self.collection.exists():
            self.collection.client.flush(self.collection.name)


class MilvusDenseStore(_View):
    """The vector side of a :class:`MilvusCollection` (a :class:`~rag.protocols.DenseStore`)."""

    def __init__(self, collection: MilvusCollection, dimension: int, removed: set[int] | None = None) -> None:
        super().__init__(collection, removed)
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        """Width of the stored vectors."""
        return self._dimension

    def describe(self) -> dict[str, Any]:
        """Engine and collection, for the manifest."""
        return self.collection.pointer(metric="IP", **self.collection.dense_index())

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Hold the vectors until the lexical side writes their rows."""
        vectors = np.ascontiguousarray(vectors, dtype="float32")
        if vectors.ndim != 2 or vectors.shape[1] != self._dimension:
            raise IndexMismatchError(
                f"vectors of shape {vectors.shape} do not fit a store of dimension {self._dimension}"
            )
        if not self.collection.exists():
            self.collection.reset(self._dimension)
        for slot, vector in zip(ids, vectors, strict=True):
            self.removed.discard(int(slot))
            self.collection.pending[int(slot)] = vector

    def remove(self, ids: np.ndarray) -> int:
        """Remove the rows from this view (deleted from the collection when saved)."""
        return len(self._remove([int(i) for i in ids]))

    def search(
        self, vectors: np.ndarray, k: int, selection: Selection | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by inner product, as (1 × k) arrays; missing hits have id -1."""
        query = np.ascontiguousarray(vectors, dtype="float32").reshape(-1, self._dimension)[0]
        scores, ids = self.collection.search([query.tolist()], "vector", "IP", k, selection, self.removed)
        out_scores = np.full((1, max(k, 1)), -np.inf, dtype="float32")
        out_ids = np.full((1, max(k, 1)), -1, dtype="int64")
        out_scores[0, : len(ids)] = scores
        out_ids[0, : len(ids)] = ids
        return out_scores, out_ids

    def copy(self) -> MilvusDenseStore:
        """A view of the same collection with its own removals (rows written reach it at once)."""
        return MilvusDenseStore(self.collection, self._dimension, self.removed)

    def save(self, target: Path) -> None:
        """Delete the removed rows, flush the collection and write the pointer file."""
        self._apply()
        _write_json(Path(target), self.collection.pointer(dimension=self._dimension))


class MilvusLexicalStore(_View):
    """The BM25 side of a :class:`MilvusCollection` (a :class:`~rag.protocols.LexicalStore`).

    Document frequencies over the project's tokens (which Milvus does not report) are
    counted here and saved in the pointer file: the answerer's idf reads them.
    """

    def __init__(
        self, collection: MilvusCollection, df: Counter[str] | None = None, removed: set[int] | None = None
    ) -> None:
        super().__init__(collection, removed)
        self.df: Counter[str] = Counter(df or {})

    def describe(self) -> dict[str, Any]:
        """Engine, collection and analyzer, for the manifest."""
        return self.collection.pointer(analyzer="jieba+userdict", function="BM25")

    def add(
        self, ids: Sequence[int], documents: Sequence[Sequence[str]], chunks: Sequence[Chunk] = ()
    ) -> None:
        """Write the rows (the dense side has left their vectors)."""
        if len(chunks) != len(ids):
            raise ValueError("the Milvus store keeps the chunk records: pass the chunks")
        self.collection.insert(ids, documents, chunks)
        for slot, tokens in zip(ids, documents, strict=True):
            self.removed.discard(int(slot))
            self.df.update(set(tokens))

    def remove(self, ids: Sequence[int]) -> None:
        """Remove the rows from this view (deleted from the collection when saved)."""
        for text in self.collection.texts(self._remove(ids)):
            self.df.subtract(set(text.split()))
        self.df += Counter()  # drops the zero counts

    def search(
        self, tokens: Sequence[str], k: int, selection: Selection | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by Milvus's BM25 over the tokens (re-analysed by its jieba tokenizer)."""
        text = " ".join(t for t in tokens if t)
        if not text or k < 1:
            return np.zeros(0, dtype="float32"), np.zeros(0, dtype="int64")
        scores, ids = self.collection.search([text], "sparse", "BM25", k, selection, self.removed)
        keep = scores > 0
        return scores[keep], ids[keep]

    def document_frequency(self, token: str) -> int:
        """How many rows hold ``token`` among the project's tokens."""
        return int(self.df.get(token, 0))

    def idf(self, token: str) -> float:
        """Robertson–Spärck Jones idf over the rows (never negative)."""
        n = self.document_frequency(token)
        live = max(len(self), n)
        return float(np.log(1.0 + (live - n + 0.5) / (n + 0.5)))

    def copy(self) -> MilvusLexicalStore:
        """A view of the same collection with its own removals and document frequencies."""
        return MilvusLexicalStore(self.collection, self.df, self.removed)

    def save(self, target: Path) -> None:
        """Delete the removed rows, flush, and write the pointer file with the document frequencies."""
        self._apply()
        _write_json(Path(target), self.collection.pointer(df=dict(self.df)))


def _write_json(target: Path, data: dict[str, Any]) -> None:
    """Write ``target`` through a temporary file and a rename (the index names it in its manifest)."""
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tmp.replace(target)


class MilvusStores:
    """Makes and opens the two views of one index's Milvus collection (a :class:`~rag.protocols.Stores`)."""

    name = "milvus"

    def __init__(self, uri: str, collection: str, token: str = "") -> None:
        self.collection = MilvusCollection(uri, collection, token)

    @classmethod
    def from_settings(cls, settings: Settings) -> MilvusStores:
        """``RAG_MILVUS_URI``; one collection per index folder.

        Unset, the collection lives in ``<index_dir>/milvus.db`` (milvus-lite) and is named
        ``rag``, so the folder is self-contained (copied, it is a copy of the index).  A
        shared file or server holds the collections of many folders: each is named after
        its folder's path.
        """
        index_dir = Path(settings.index_dir).resolve()
        if not settings.milvus_uri:
            index_dir.mkdir(parents=True, exist_ok=True)
            return cls(str(index_dir / MILVUS_FILE), "rag", settings.milvus_token or "")
        uri = settings.milvus_uri
        if "://" not in uri:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1(str(index_dir).encode("utf-8")).hexdigest()[:12]
        return cls(uri, f"rag_{digest}", settings.milvus_token or "")

    def new_dense(self, dimension: int) -> MilvusDenseStore:
        """An empty collection (dropped and made anew: a new or rebuilt index)."""
        self.collection.reset(dimension)
        return MilvusDenseStore(self.collection, dimension)

    def new_lexical(self) -> MilvusLexicalStore:
        """The lexical view (the collection is made by the dense side, which knows the width)."""
        return MilvusLexicalStore(self.collection)

    def open_dense(self, path: Path) -> MilvusDenseStore:
        """The collection a pointer file names (it must be this settings' collection)."""
        pointer = self._pointer(path)
        self.collection.rows = None  # counted anew: another process may have written
        dimension = int(pointer["dimension"])
        self.collection.dimension = dimension
        return MilvusDenseStore(self.collection, dimension)

    def open_lexical(self, path: Path) -> MilvusLexicalStore:
        """The lexical view, with the document frequencies saved beside the pointer."""
        pointer = self._pointer(path)
        return MilvusLexicalStore(
            self.collection, Counter({str(k): int(v) for k, v in pointer.get("df", {}).items()})
        )

    def _pointer(self, path: Path) -> dict[str, Any]:
        pointer = json.loads(Path(path).read_text(encoding="utf-8"))
        # The collection's name, not its URI: a copied index folder holds its own milvus.db.
        if pointer.get("collection") != self.collection.name:
            raise IndexMismatchError(
                f"the index names Milvus collection {pointer.get('collection')!r}, the settings "
                f"{self.collection.name!r} at {self.collection.uri!r}: set RAG_MILVUS_URI or "
                "rebuild with `rag ingest --rebuild`"
            )
        if not self.collection.exists():
            raise FileNotFoundError(f"Milvus collection {self.collection.name} is gone")
        self.collection.load()
        return dict(pointer)


__all__ = ["MilvusDenseStore", "MilvusLexicalStore", "MilvusStores"]
