"""The Milvus collection behind ``RAG_STORE=milvus``: clients, the jieba BM25 analyzer, rows.

:class:`MilvusCollection` creates, fills, searches and deletes the rows of one index's
collection; the store views over it (:mod:`rag.milvus`) hold removals back until a save.
``RAG_MILVUS_URI`` is a file path (milvus-lite, embedded: tests and laptops) or
``http://host:19530`` (standalone or a cluster: the same client code).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.bm25 import USER_DICT
from rag.protocols import Selection

if TYPE_CHECKING:
    from rag.types import Chunk

#: The milvus-lite file inside the index folder when ``RAG_MILVUS_URI`` is unset.
MILVUS_FILE = "milvus.db"
#: Longest ``text`` (joined tokens) and ``source`` values a row may hold.
_MAX_TEXT = 16_384
_MAX_SOURCE = 512
_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def _client(uri: str, token: str) -> Any:
    """One client per URI and process (milvus-lite starts one embedded server per file)."""
    from pymilvus import MilvusClient

    with _CLIENTS_LOCK:
        client = _CLIENTS.get((uri, token))
        if client is None:
            client = MilvusClient(uri=uri, token=token)
            _CLIENTS[(uri, token)] = client
        return client


def close_clients() -> None:
    """Close this process's clients (milvus-lite: another process may then open the file)."""
    with _CLIENTS_LOCK:
        for client in _CLIENTS.values():
            client.close()
        _CLIENTS.clear()


def _user_words() -> list[str]:
    """The archive's user dictionary (进博会, 晋阳湖…), for Milvus's jieba analyzer."""
    words = []
    for line in USER_DICT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            words.append(line.split()[0])
    return words


def analyzer_params() -> dict[str, Any]:
    """Milvus's jieba tokenizer in search mode with its default dictionary plus the archive's words."""
    return {
        "tokenizer": {"type": "jieba", "dict": ["_default_", *_user_words()], "mode": "search", "hmm": True}
    }


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


class MilvusCollection:
    """The collection of one index, shared by its dense and lexical views.

    Rows are written whole: :meth:`MilvusDenseStore.add` leaves the vectors here and
    :meth:`MilvusLexicalStore.add` (which the index calls next, with the tokens and
    chunks) upserts the rows.  What differs between an index and its copy (rows removed
    but not yet deleted, document frequencies) lives in the views, not here.
    """

    def __init__(self, uri: str, name: str, token: str = "") -> None:
        self.uri = uri
        self.name = name
        self.token = token
        self.client = _client(uri, token)
        self.pending: dict[int, np.ndarray] = {}
        self.dimension: int | None = None
        #: Rows in the collection, counted once when opened and kept since (idf asks often).
        self.rows: int | None = None
        #: Whether this process has loaded the collection for search (a new one is loaded at creation).
        self.loaded = False

    def exists(self) -> bool:
        """Whether the collection is there."""
        return bool(self.client.has_collection(self.name))

    def reset(self, dimension: int) -> None:
        """Drop the collection and make it anew, empty (a new or rebuilt index)."""
        from pymilvus import DataType, Function, FunctionType

        if self.exists():
            self.client.drop_collection(self.name)
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("slot", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_field(
            "text",
            DataType.VARCHAR,
            max_length=_MAX_TEXT,
            enable_analyzer=True,
            analyzer_params=analyzer_params(),
        )
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("date", DataType.VARCHAR, max_length=16)
        schema.add_field("source", DataType.VARCHAR, max_length=_MAX_SOURCE)
        schema.add_field("record", DataType.JSON)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["text"],
                output_field_names=["sparse"],
            )
        )
        params = self.client.prepare_index_params()
        params.add_index(field_name="vector", metric_type="IP", **self.dense_index())
        params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self.client.create_collection(self.name, schema=schema, index_params=params)
        self.loaded = True
        self.pending.clear()
        self.dimension = dimension
        self.rows = 0

    def dense_index(self) -> dict[str, Any]:
        """The vector index: exact in milvus-lite (a file), an HNSW graph on a server."""
        if "://" in self.uri:
            return {"index_type": "HNSW", "params": {"M": 32, "efConstruction": 200}}
        return {"index_type": "FLAT", "params": {}}

    def load(self) -> None:
        """Make the collection searchable (Milvus opens an existing collection released)."""
        if not self.loaded:
            self.client.load_collection(self.name)
            self.loaded = True

    def count(self) -> int:
        """Rows in the collection."""
        if self.rows is None:
            if not self.exists():
                return 0
            found = self.client.query(self.name, filter="", output_fields=["count(*)"])
            self.rows = int(found[0]["count(*)"]) if found else 0
        return self.rows

    def insert(self, ids: Sequence[int], documents: Sequence[Sequence[str]], chunks: Sequence[Chunk]) -> None:
        """Write whole rows: the vectors left by the dense view, the tokens and records given.

        Upserted, not inserted: Milvus keeps duplicate primary keys on insert, and a slot can
        come back (the last slots of an index freed, or rows left by a killed write).
        """
        rows = []
        for slot, tokens, chunk in zip(ids, documents, chunks, strict=True):
            vector = self.pending.pop(int(slot), None)
            if vector is None:
                raise ValueError(f"slot {slot} has no vector: add the vectors first")
            rows.append(
                {
                    "slot": int(slot),
                    "vector": vector.tolist(),
                    "text": " ".join(tokens)[:_MAX_TEXT],
                    "date": chunk.date,
                    "source": chunk.source[:_MAX_SOURCE],
                    "record": chunk.to_dict(),
                }
            )
        for start in range(0, len(rows), 1000):
            self.client.upsert(self.name, rows[start : start + 1000])
        # Recounted when next asked: an upsert may have replaced rows rather than added them.
        self.rows = None

    def texts(self, ids: Sequence[int]) -> list[str]:
        """The ``text`` (joined tokens) of the rows of ``ids`` that exist."""
        slots = [int(i) for i in ids]
        if not slots or not self.exists():
            return []
        rows = self.client.query(self.name, filter=f"slot in {slots}", output_fields=["text"])
        return [str(row["text"]) for row in rows]

    def delete(self, ids: Sequence[int]) -> None:
        """Delete rows by slot (absent ones are no error)."""
        slots = sorted({int(i) for i in ids})
        if not slots or not self.exists():
            return
        for start in range(0, len(slots), 1000):
            self.client.delete(self.name, filter=f"slot in {slots[start : start + 1000]}")
        self.rows = None

    def expression(self, selection: Selection | None) -> str:
        """A Milvus filter: dates by range on the row, pages by slot (a page's chunks are few)."""
        if selection is None:
            return ""
        filters, parts = selection.filters, []
        if filters.date_from:
            parts.append(f"date >= {_quote(filters.date_from)}")
        if filters.date_to:
            parts.append(f"date <= {_quote(filters.date_to)}")
        if filters.source:
            # Not the row's ``source``: an article another page still holds moves to that page
            # in the records without its rows being rewritten.
            parts.append(f"slot in {[int(i) for i in selection.ids]}")
        return " and ".join(parts)

    def search(
        self,
        data: list[Any],
        field: str,
        metric: str,
        k: int,
        selection: Selection | None,
        removed: frozenset[int] | set[int] = frozenset(),
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, slots) of the first query, best first, without the ``removed`` slots (asked
        for ``k`` more hits than there are of them, so ``k`` remain)."""
        if not self.exists() or (selection is not None and not len(selection.ids)):
            return np.zeros(0, dtype="float32"), np.zeros(0, dtype="int64")
        hits = self.client.search(
            self.name,
            data=data,
            anns_field=field,
            limit=min(k + len(removed), 16_384),
            filter=self.expression(selection),
            output_fields=["slot"],
            search_params={"metric_type": metric, "params": {"ef": max(128, k)} if metric == "IP" else {}},
        )[0]
        # milvus-lite reports BM25 scores negated (order right); Milvus proper reports them positive.
        hits = [h for h in hits if int(h["slot"]) not in removed][:k]
        scores = [abs(float(h["distance"])) if metric == "BM25" else float(h["distance"]) for h in hits]
        return np.asarray(scores, dtype="float32"), np.asarray([int(h["slot"]) for h in hits], dtype="int64")

    def pointer(self, **extra: Any) -> dict[str, Any]:
        """What a pointer file holds: where the collection is (credentials are not written)."""
        return {"engine": "milvus", "uri": self.uri, "collection": self.name, **extra}


__all__ = ["MILVUS_FILE", "MilvusCollection", "analyzer_params", "close_clients"]
