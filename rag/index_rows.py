"""Rows of the records file (:mod:`rag.index_db`) as records: articles, chunks, the articles of a view."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from rag.types import Article, Chunk

#: A view's read: ``select(sql, *params, order="")`` restricted to the rows it sees.
Select = Callable[..., list[tuple[Any, ...]]]


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

    def items(self) -> list[tuple[str, Article]]:  # type: ignore[override]
        """(id, article) pairs, in ingest order."""
        return [(a.id, a) for a in self.values()]


__all__ = ["ArticleView", "Select", "article_of", "chunk_of"]
