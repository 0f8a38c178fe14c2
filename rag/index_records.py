"""The records an index holds besides its stores: articles, chunks by slot, and answerable sentences.

A chunk's *slot* is its id in the dense and lexical stores; slots are never reused
within an index, so a store's ids stay valid.  The records live in a SQLite file
(:mod:`rag.index_db`), read as they are needed rather than held as Python objects: a
:class:`Records` is one generation's view of that file, and the view a writer changes
(a copy) tags its rows with the next generation, invisible to the readers of this one.
:class:`Records` does the bookkeeping only: :class:`rag.index.Index` embeds, keeps the
stores in step and searches them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from rag.errors import NotFoundError
from rag.index_db import VISIBLE, RecordsDatabase, visible
from rag.index_rows import (
    ArticleView,
    SentenceTable,
    chunk_of,
    sentence_embed_text,
    sentence_table_of,
    sentence_tables,
)
from rag.protocols import Selection
from rag.types import Article, Chunk, SearchFilters

T = TypeVar("T")


class Records:
    """Articles, their chunks at numbered slots, and each article's sentence table, at one generation.

    Example:
        >>> records = Records()
        >>> article = Article(id="a", title="t", body="太原。", source="p.txt",
        ...                   date="2025-01-01", kind="brief")
        >>> records.place([article], [])
        []
        >>> records.holders("a")
        {'p.txt'}
    """

    #: Rewrite the file (dropping removed rows) once this share of its chunk rows is removed.
    GARBAGE_SHARE = 0.25
    #: …and they are more than this many.
    GARBAGE_MIN = 1000
    #: How many articles, chunk lists and sentence tables a view remembers (then it starts afresh).
    CACHE_SIZE = 256

    def __init__(self, database: RecordsDatabase | None = None, generation: int = 0) -> None:
        self._database = database
        #: The generation read; ``_writing``: the one this view's own changes are tagged with.
        self.generation = generation
        self._writing: int | None = None
        self._count: int | None = None
        self._next_slot: int | None = None
        #: Live flag, date and page of every slot as arrays, for filters (rebuilt after a change).
        self._columns: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        #: Articles, chunk lists and sentence tables read lately (answering rereads the same few).
        self._cache: dict[tuple[str, str], object] = {}

    # -- the file ----------------------------------------------------------------------

    @property
    def database(self) -> RecordsDatabase:
        """The records file (a private temporary one, made on first use, until the index is saved)."""
        if self._database is None:
            self._database = RecordsDatabase.temporary()
        return self._database

    @property
    def view(self) -> int:
        """The generation whose rows this view sees (its own changes' tag while it has any)."""
        return self._writing if self._writing is not None else self.generation

    def _select(self, sql: str, *params: object, order: str = "", group: str = "") -> list[tuple[Any, ...]]:
        """``sql`` (a SELECT … FROM table [WHERE …]) restricted to the rows this generation sees."""
        joiner = " AND " if " WHERE " in sql else " WHERE "
        view = self.view
        tail = (f" GROUP BY {group}" if group else "") + (f" ORDER BY {order}" if order else "")
        return self.database.query(f"{sql}{joiner}{VISIBLE}{tail}", (*params, view, view))

    def _begin(self) -> int:
        """The tag of this view's changes: the first change rolls back what abandoned writers left."""
        if self._writing is None:
            self.database.roll_back_after(self.generation)
            self._writing = self.generation + 1
        self._count = None
        self._columns = None
        self._cache = {}
        return self._writing

    @property
    def unsaved(self) -> bool:
        """Whether this view changed rows no manifest names yet."""
        return self._writing is not None

    def prepare_save(self) -> None:
        """Before a save: drop rows that other (abandoned) writers tagged past this view."""
        self.database.roll_back_after(self.view)

    def needs_compaction(self) -> bool:
        """Whether enough rows are removed that the file should be rewritten."""
        removed, total = self.database.garbage()
        return removed > self.GARBAGE_MIN and removed > self.GARBAGE_SHARE * total

    def saved(self, generation: int, database: RecordsDatabase | None = None) -> None:
        """A manifest of ``generation`` names this view's rows (in ``database`` when a copy was written)."""
        if database is not None:
            self._database = database
        self.generation, self._writing = generation, None

    @property
    def next_slot(self) -> int:
        """The slot the next chunk gets (past every slot ever used)."""
        if self._next_slot is None:
            rows = self.database.query(
                "SELECT MAX(COALESCE((SELECT MAX(slot) FROM chunks) + 1, 0), "
                "COALESCE((SELECT value FROM meta WHERE key = 'next_slot'), 0))"
            )
            self._next_slot = int(rows[0][0])
        return self._next_slot

    # -- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        if self._count is None:
            self._count = int(self._select("SELECT COUNT(*) FROM chunks")[0][0])
        return self._count

    @property
    def articles(self) -> ArticleView:
        """Articles by id, in ingest order."""
        return ArticleView(self._select)

    def _cached(self, kind: str, key: str, read: Callable[[], T]) -> T:
        """``read()``, remembered by this view (its rows only change by its own writes, which forget)."""
        cache = self._cache
        if (kind, key) in cache:
            return cast(T, cache[kind, key])
        value = read()
        if len(cache) >= self.CACHE_SIZE:
            self._cache = cache = {}
        cache[kind, key] = value
        return value

    def article(self, article_id: str) -> Article:
        """The article with ``article_id`` or :class:`NotFoundError`."""
        try:
            return self._cached("article", article_id, lambda: self.articles[article_id])
        except KeyError:
            raise NotFoundError(f"no article with id {article_id!r}") from None

    def chunks(self) -> list[Chunk]:
        """All live chunks in slot order."""
        return [chunk_of(r[0]) for r in self._select("SELECT data FROM chunks", order="slot")]

    def chunk(self, chunk_id: str) -> Chunk:
        """The chunk with ``chunk_id`` or :class:`NotFoundError`."""
        rows = self._select("SELECT data FROM chunks WHERE id = ?", chunk_id)
        if not rows:
            raise NotFoundError(f"no chunk with id {chunk_id!r}")
        return chunk_of(rows[0][0])

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """The chunks of one article, in order."""

        def read() -> list[Chunk]:
            rows = self._select("SELECT data FROM chunks WHERE article_id = ?", article_id, order="slot")
            return [chunk_of(r[0]) for r in rows]

        return list(self._cached("chunks", article_id, read))

    def slots_of(self, article_id: str) -> list[int]:
        """The slots of one article's chunks, in order."""
        rows = self._select("SELECT slot FROM chunks WHERE article_id = ?", article_id, order="slot")
        return [int(r[0]) for r in rows]

    @property
    def sources(self) -> list[str]:
        """Page files represented in the records."""
        return [str(r[0]) for r in self._select("SELECT DISTINCT source FROM articles", order="source")]

    def page_dates(self) -> dict[str, tuple[str, int]]:
        """Each page file's date (its first article's: SQLite takes a bare column of a ``MIN()`` query
        from the row holding the minimum) and article count, in one pass of SQL, remembered."""
        sql = "SELECT source, json_extract(data, '$.date'), MIN(seq), COUNT(*) FROM articles"
        read = lambda: {str(r[0]): (str(r[1] or ""), int(r[3])) for r in self._select(sql, group="source")}  # noqa: E731
        return self._cached("pages", "", read)

    def holders(self, article_id: str) -> set[str]:
        """The page files that hold an article (its own ``source`` at least)."""
        held = {
            str(r[0]) for r in self._select("SELECT source FROM holders WHERE article_id = ?", article_id)
        }
        return held or {self.articles[article_id].source}

    def held_by(self, source: str) -> list[str]:
        """The ids of the articles page file ``source`` holds, in ingest order."""
        view = self.view
        rows = self.database.query(
            "SELECT a.id FROM holders AS h JOIN articles AS a ON a.id = h.article_id "
            f"WHERE h.source = ? AND {visible('h')} AND {visible('a')} ORDER BY a.seq",
            (source, view, view, view, view),
        )
        return list(dict.fromkeys(str(r[0]) for r in rows))

    def sentences(self, article_id: str) -> SentenceTable | None:
        """The answerable sentences of an article with their vectors (None for an unknown id)."""
        return self._cached("sentences", article_id, lambda: self._read_sentences(article_id))

    def _read_sentences(self, article_id: str) -> SentenceTable | None:
        rows = self._select("SELECT width, spans, vectors FROM articles WHERE id = ?", article_id)
        if not rows:
            return None
        return sentence_table_of(*rows[0])

    # -- searching -------------------------------------------------------------------

    def selection(self, filters: SearchFilters | None) -> Selection | None:
        """The slots ``filters`` keep, computed over arrays (no Python loop over the chunks)."""
        if filters is None or filters.is_empty:
            return None
        if self._columns is None:
            rows = self._select("SELECT slot, date, source FROM chunks")
            size = self.next_slot
            live = np.zeros(size, dtype=bool)
            dates = np.full(size, "", dtype="<U10")
            sources = np.full(size, "", dtype=object)
            if rows:
                slots = np.fromiter((r[0] for r in rows), dtype="int64", count=len(rows))
                live[slots] = True
                dates[slots] = [r[1] for r in rows]
                sources[slots] = [r[2] for r in rows]
            self._columns = (live, dates, sources)
        live, dates, sources = self._columns
        keep = live.copy()
        if filters.date_from:
            keep &= dates >= filters.date_from
        if filters.date_to:
            keep &= dates <= filters.date_to
        if filters.source:
            keep &= sources == filters.source
        return Selection(filters, np.flatnonzero(keep).astype("int64"))

    def hits(self, scores: np.ndarray, slots: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        """The first ``k`` chunks a store found, with their scores, in the store's order."""
        wanted = [int(s) for s in slots if s >= 0]
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        found = {
            int(r[0]): r[1]
            for r in self._select(f"SELECT slot, data FROM chunks WHERE slot IN ({marks})", *wanted)
        }
        hits: list[tuple[Chunk, float]] = []
        for score, slot in zip(scores, slots, strict=True):
            # A slot this generation does not hold (a store ahead of the records) is skipped.
            if (data := found.get(int(slot))) is not None:
                hits.append((chunk_of(data), float(score)))
            if len(hits) >= k:
                break
        return hits

    # -- changing --------------------------------------------------------------------

    def hold(self, article_id: str, source: str) -> None:
        """Record that page file ``source`` holds an indexed article too."""
        if source in self.holders(article_id):
            return
        tag = self._begin()
        with self.database.transaction() as conn:
            conn.execute(
                "INSERT INTO holders (article_id, source, added) VALUES (?, ?, ?)", (article_id, source, tag)
            )

    def rehome(self, article_id: str, holders: set[str]) -> None:
        """Keep an article another page still holds; its ``source`` becomes one of those pages."""
        article = self.articles[article_id]
        tag = self._begin()
        with self.database.transaction() as conn:
            marks = ",".join("?" * len(holders))
            conn.execute(
                f"UPDATE holders SET removed = ? WHERE article_id = ? AND {VISIBLE} "
                f"AND source NOT IN ({marks})",
                (tag, article_id, tag, tag, *sorted(holders)),
            )
            if article.source in holders:
                return
            home = min(holders)
            moved = dataclasses.replace(article, source=home)
            (rid,) = conn.execute(
                f"SELECT rid FROM articles WHERE id = ? AND {VISIBLE}", (article_id, tag, tag)
            ).fetchone()
            conn.execute(
                "INSERT INTO articles (id, seq, source, data, width, spans, vectors, added) "
                "SELECT id, seq, ?, ?, width, spans, vectors, ? FROM articles WHERE rid = ?",
                (home, json.dumps(moved.to_dict(), ensure_ascii=False), tag, rid),
            )
            conn.execute("UPDATE articles SET removed = ? WHERE rid = ?", (tag, rid))
            rows = conn.execute(
                f"SELECT rid, data FROM chunks WHERE article_id = ? AND {VISIBLE}", (article_id, tag, tag)
            ).fetchall()
            for chunk_rid, data in rows:
                chunk = dataclasses.replace(chunk_of(data), source=home)
                conn.execute(
                    "INSERT INTO chunks (slot, id, article_id, date, source, data, added) "
                    "SELECT slot, id, article_id, date, ?, ?, ? FROM chunks WHERE rid = ?",
                    (home, json.dumps(chunk.to_dict(), ensure_ascii=False), tag, chunk_rid),
                )
                conn.execute("UPDATE chunks SET removed = ? WHERE rid = ?", (tag, chunk_rid))

    def remove(self, article_id: str) -> list[int]:
        """Forget an article, its chunks and sentences; returns the slots its chunks held."""
        slots = self.slots_of(article_id)
        tag = self._begin()
        with self.database.transaction() as conn:
            for table, key in (("articles", "id"), ("holders", "article_id"), ("chunks", "article_id")):
                conn.execute(
                    f"UPDATE {table} SET removed = ? WHERE {key} = ? AND {VISIBLE}",  # noqa: S608
                    (tag, article_id, tag, tag),
                )
        return slots

    def place(
        self,
        articles: Sequence[Article],
        chunks: Sequence[Chunk],
        sentences: Mapping[str, SentenceTable] | None = None,
    ) -> list[int]:
        """Add ``articles`` (each held by its own source, with its sentence table) and their ``chunks``
        at new slots, returned."""
        first = self.next_slot
        slots = list(range(first, first + len(chunks)))
        tag = self._begin()
        sentences = sentences or {}
        with self.database.transaction() as conn:
            (seq,) = conn.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM articles").fetchone()
            for i, article in enumerate(articles):
                table = sentences.get(article.id)
                spans = np.asarray(table.spans if table else (), dtype="int64").reshape(-1, 2)
                vectors = np.ascontiguousarray(table.vectors if table else np.zeros((0, 0)), dtype="float32")
                conn.execute(
                    "INSERT INTO articles (id, seq, source, data, width, spans, vectors, added) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        article.id,
                        seq + i,
                        article.source,
                        json.dumps(article.to_dict(), ensure_ascii=False),
                        int(vectors.shape[1]) if vectors.ndim == 2 else 0,
                        spans.tobytes(),
                        vectors.tobytes(),
                        tag,
                    ),
                )
            conn.executemany(
                "INSERT INTO holders (article_id, source, added) VALUES (?, ?, ?)",
                [(a.id, a.source, tag) for a in articles],
            )
            conn.executemany(
                "INSERT INTO chunks (slot, id, article_id, date, source, data, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        slot,
                        c.id,
                        c.article_id,
                        c.date,
                        c.source,
                        json.dumps(c.to_dict(), ensure_ascii=False),
                        tag,
                    )
                    for slot, c in zip(slots, chunks, strict=True)
                ],
            )
        self._next_slot = first + len(chunks)
        return slots

    def copy(self) -> Records:
        """Another view of what this one sees (its changes are tagged with the generation after)."""
        clone = Records(self.database, self.view)
        clone._next_slot = self._next_slot
        return clone

    def write_copy(self, target: Path) -> None:
        """Write the rows this view sees into a new records file ``target`` (a compaction or a first save)."""
        self.database.write_copy(target, self.view, self.next_slot)


__all__ = ["Records", "SentenceTable", "sentence_embed_text", "sentence_tables"]
