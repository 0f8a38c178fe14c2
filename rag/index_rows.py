"""Rows of the records file (:mod:`rag.index_db`) as records: articles, chunks, the articles of a view."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.types import Article, Chunk

#: A view's read: ``select(sql, *params, order="")`` restricted to the rows it sees.
Select = Callable[..., list[tuple[Any, ...]]]


@dataclass(frozen=True)
class SentenceTable:
    """The answerable sentences of one article: spans into its body and their vectors."""

    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray  # (len(spans), dimension) float32, L2-normalised


def sentence_embed_text(article: Article, start: int, end: int) -> str:
    """What a sentence is embedded as: the headline gives a bare sentence its subject."""
    return f"{article.title}\n{article.body[start:end]}"


def sentence_tables(
    articles: Sequence[Article], spans: Mapping[str, Sequence[tuple[int, int]]], vectors: np.ndarray
) -> dict[str, SentenceTable]:
    """Each article's sentence table, from its spans and the rows of ``vectors`` (in article order)."""
    tables: dict[str, SentenceTable] = {}
    row = 0
    for article in articles:
        n = len(spans[article.id])
        tables[article.id] = SentenceTable(
            tuple(spans[article.id]), np.ascontiguousarray(vectors[row : row + n], dtype="float32")
        )
        row += n
    return tables


def sentence_table_of(width: int, spans: bytes, vectors: bytes) -> SentenceTable:
    """The sentence table an article row's ``width``, ``spans`` and ``vectors`` columns hold."""
    pairs = np.frombuffer(spans, dtype="int64").reshape(-1, 2)
    matrix = np.frombuffer(vectors, dtype="float32").reshape(len(pairs), int(width))
    return SentenceTable(tuple((int(a), int(b)) for a, b in pairs), matrix)


def article_of(data: object) -> Article:
    """The article a row's ``data`` (JSON) holds."""
    return Article.from_dict(json.loads(str(data)))


def chunk_of(data: object) -> Chunk:
    """The chunk a row's ``data`` (JSON) holds."""
    return Chunk.from_dict(json.loads(str(data)))


class ArticleView(Mapping[str, Article]):
    """The articles of one generation by id, in ingest order, read from the records file."""

    def __init__(self, select: Select) -> None:
        self._select = select

    def __getitem__(self, article_id: str) -> Article:
        rows = self._select("SELECT data FROM articles WHERE id = ?", article_id)
        if not rows:
            raise KeyError(article_id)
        return article_of(rows[0][0])

    def __contains__(self, article_id: object) -> bool:
        return bool(self._select("SELECT 1 FROM articles WHERE id = ?", article_id))

    def __iter__(self) -> Iterator[str]:
        return iter([str(r[0]) for r in self._select("SELECT id FROM articles", order="seq")])

    def __len__(self) -> int:
        return int(self._select("SELECT COUNT(*) FROM articles")[0][0])

    def values(self) -> list[Article]:  # type: ignore[override]
        """Every article, in ingest order (one read)."""
        return [article_of(r[0]) for r in self._select("SELECT data FROM articles", order="seq")]

    def page(self, source: str | None, offset: int, limit: int) -> tuple[int, list[Article]]:
        """How many articles there are (of page file ``source`` only, when given) and ``limit`` of
        them from ``offset``, in ingest order: a listing reads the articles it shows, no others."""
        where, params = (" WHERE source = ?", (source,)) if source else ("", ())
        total = int(self._select(f"SELECT COUNT(*) FROM articles{where}", *params)[0][0])
        window = f"seq LIMIT {int(limit)} OFFSET {int(offset)}"  # ints: the view's parameters come last
        return total, [
            article_of(r[0]) for r in self._select(f"SELECT data FROM articles{where}", *params, order=window)
        ]

    def items(self) -> list[tuple[str, Article]]:  # type: ignore[override]
        """(id, article) pairs, in ingest order."""
        return [(a.id, a) for a in self.values()]


__all__ = [
    "ArticleView",
    "Select",
    "SentenceTable",
    "article_of",
    "chunk_of",
    "sentence_embed_text",
    "sentence_table_of",
    "sentence_tables",
]
