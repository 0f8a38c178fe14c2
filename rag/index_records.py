"""The records an index holds besides its stores: articles, chunks by slot, and answerable sentences.

A chunk's *slot* is its position in :attr:`Records.slots` and its id in the dense and
lexical stores; a removed chunk leaves ``None`` at its slot (slots are never reused
within an index, so a store's ids stay valid).  :class:`Records` does the bookkeeping
only: :class:`rag.index.Index` embeds, keeps the stores in step and searches them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.errors import NotFoundError
from rag.protocols import Selection
from rag.types import Article, Chunk, SearchFilters


@dataclass(frozen=True)
class SentenceTable:
    """The answerable sentences of one article: spans into its body and their vectors."""

    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray  # (len(spans), dimension) float32, L2-normalised


def sentence_embed_text(article: Article, start: int, end: int) -> str:
    """What a sentence is embedded as: the headline gives a bare sentence its subject."""
    return f"{article.title}\n{article.body[start:end]}"


class Records:
    """Articles, their chunks at numbered slots, and each article's sentence table.

    Example:
        >>> records = Records()
        >>> article = Article(id="a", title="t", body="太原。", source="p.txt",
        ...                   date="2025-01-01", kind="brief")
        >>> records.place([article], [])
        []
        >>> records.holders("a")
        {'p.txt'}
    """

    def __init__(self) -> None:
        self.articles: dict[str, Article] = {}
        #: The page files that hold each article: the same text printed on two pages (or uploaded
        #: under two names) is indexed once and stays until no page holds it.
        self.holders_of: dict[str, set[str]] = {}
        self.slots: list[Chunk | None] = []
        self.slot_of: dict[str, int] = {}
        self.by_article: dict[str, list[int]] = {}
        self.sentences: dict[str, SentenceTable] = {}
        #: Date and page of every slot as arrays, for filters (rebuilt after a change).
        self._columns: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.slot_of)

    def article(self, article_id: str) -> Article:
        """The article with ``article_id`` or :class:`NotFoundError`."""
        try:
            return self.articles[article_id]
        except KeyError:
            raise NotFoundError(f"no article with id {article_id!r}") from None

    def chunks(self) -> list[Chunk]:
        """All live chunks in slot order."""
        return [c for c in self.slots if c is not None]

    def chunk(self, chunk_id: str) -> Chunk:
        """The chunk with ``chunk_id`` or :class:`NotFoundError`."""
        slot = self.slot_of.get(chunk_id)
        if slot is None:
            raise NotFoundError(f"no chunk with id {chunk_id!r}")
        chunk = self.slots[slot]
        assert chunk is not None
        return chunk

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """The chunks of one article, in order."""
        return [c for s in self.by_article.get(article_id, []) if (c := self.slots[s]) is not None]

    @property
    def sources(self) -> list[str]:
        """Page files represented in the records."""
        return sorted({a.source for a in self.articles.values()})

    def holders(self, article_id: str) -> set[str]:
        """The page files that hold an article (its own ``source`` at least)."""
        return set(self.holders_of.get(article_id) or {self.articles[article_id].source})

    # -- searching -------------------------------------------------------------------

    def selection(self, filters: SearchFilters | None) -> Selection | None:
        """The slots ``filters`` keep, computed over arrays (no Python loop over the chunks)."""
        if filters is None or filters.is_empty:
            return None
        if self._columns is None:
            live = np.array([c is not None for c in self.slots], dtype=bool)
            dates = np.array([c.date if c is not None else "" for c in self.slots], dtype=str)
            sources = np.array([c.source if c is not None else "" for c in self.slots], dtype=object)
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
        hits: list[tuple[Chunk, float]] = []
        for score, slot in zip(scores, slots, strict=True):
            # A slot this generation does not hold (a store ahead of the records) is skipped.
            if 0 <= slot < len(self.slots) and (chunk := self.slots[slot]) is not None:
                hits.append((chunk, float(score)))
            if len(hits) >= k:
                break
        return hits

    # -- changing --------------------------------------------------------------------

    def rehome(self, article_id: str, holders: set[str]) -> None:
        """Keep an article another page still holds; its ``source`` becomes one of those pages."""
        self.holders_of[article_id] = holders
        article = self.articles[article_id]
        if article.source in holders:
            return
        home = min(holders)
        self._columns = None
        self.articles[article_id] = dataclasses.replace(article, source=home)
        for slot in self.by_article.get(article_id, []):
            chunk = self.slots[slot]
            if chunk is not None:
                self.slots[slot] = dataclasses.replace(chunk, source=home)

    def remove(self, article_id: str) -> list[int]:
        """Forget an article, its chunks and sentences; returns the slots its chunks held."""
        slots = self.by_article.pop(article_id, [])
        for slot in slots:
            chunk = self.slots[slot]
            if chunk is not None:
                del self.slot_of[chunk.id]
                self.slots[slot] = None
        self._columns = None
        del self.articles[article_id]
        self.holders_of.pop(article_id, None)
        self.sentences.pop(article_id, None)
        return slots

    def place(self, articles: Sequence[Article], chunks: Sequence[Chunk]) -> list[int]:
        """Add ``articles`` (each held by its own source) and their ``chunks`` at new slots, returned."""
        first = len(self.slots)
        slots = list(range(first, first + len(chunks)))
        if chunks:
            self._columns = None
        for article in articles:
            self.articles[article.id] = article
            self.holders_of[article.id] = {article.source}
            if chunks:
                self.by_article.setdefault(article.id, [])
        for slot, chunk in zip(slots, chunks, strict=True):
            self.slots.append(chunk)
            self.slot_of[chunk.id] = slot
            self.by_article[chunk.article_id].append(slot)
        return slots

    def copy(self) -> Records:
        """An independent copy (sentence tables are shared: they are never changed in place)."""
        clone = Records()
        clone.articles = dict(self.articles)
        clone.holders_of = {k: set(v) for k, v in self.holders_of.items()}
        clone.slots = list(self.slots)
        clone.slot_of = dict(self.slot_of)
        clone.by_article = {k: list(v) for k, v in self.by_article.items()}
        clone.sentences = dict(self.sentences)
        return clone
