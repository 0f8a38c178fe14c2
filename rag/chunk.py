"""Sentence-aware chunking of articles into retrievable slices with exact character spans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.text import split_sentences
from rag.types import Article, Chunk

# A sentence longer than the chunk size is cut at the last clause mark before the
# limit, so that a run-on list of districts or projects still yields readable chunks.
_CLAUSE_MARKS = "，,、：:；;"


@dataclass(frozen=True)
class ChunkerSettings:
    """What shapes the chunks; recorded in the index manifest so a mismatch can be detected."""

    size: int = 300
    overlap: int = 1

    def __post_init__(self) -> None:
        if self.size < 20:
            raise ValueError(f"chunk size must be at least 20 characters, got {self.size}")
        if self.overlap < 0:
            raise ValueError(f"chunk overlap must be ≥ 0 sentences, got {self.overlap}")


class SentenceChunker:
    """Packs an article's sentences into chunks of about ``size`` characters.

    Chunks never mix two articles, never cut a sentence (unless one sentence alone
    exceeds ``size``), prefer to end at a paragraph break once they are reasonably
    full, and repeat the last ``overlap`` sentences of a chunk at the start of the
    next one so that a fact stated across a boundary is retrievable from either side.
    Each chunk's text is exactly ``article.body[start:end]``.

    Example:
        >>> from rag.types import Article
        >>> art = Article(id="a1", title="标题", body="第一句。第二句。", source="p.txt", date="2025-01-01",
        ...               kind="brief")
        >>> [c.text for c in SentenceChunker(ChunkerSettings(size=20)).run([art])]
        ['第一句。第二句。']
    """

    def __init__(self, settings: ChunkerSettings | None = None) -> None:
        self.settings = settings or ChunkerSettings()

    def run(self, articles: Sequence[Article]) -> list[Chunk]:
        """Chunk every article, in order."""
        return [chunk for article in articles for chunk in self.chunk_article(article)]

    def chunk_article(self, article: Article) -> list[Chunk]:
        """The chunks of one article; ids are ``{article.id}:{n}``."""
        spans = self._sentence_spans(article.body)
        groups = self._pack(article.body, spans)
        return [
            Chunk(
                id=f"{article.id}:{n}",
                article_id=article.id,
                text=article.body[start:end],
                start=start,
                end=end,
                title=article.title,
                date=article.date,
                source=article.source,
            )
            for n, (start, end) in enumerate(groups)
        ]

    def _sentence_spans(self, body: str) -> list[tuple[int, int]]:
        """Sentence spans with surrounding whitespace trimmed and over-long sentences cut."""
        size = self.settings.size
        spans: list[tuple[int, int]] = []
        for start, end in split_sentences(body):
            while start < end and body[start].isspace():
                start += 1
            while end > start and body[end - 1].isspace():
                end -= 1
            while end - start > size:
                window = body[start : start + size]
                cut = max(window.rfind(mark) for mark in _CLAUSE_MARKS)
                cut = cut + 1 if cut >= size // 3 else size
                spans.append((start, start + cut))
                start += cut
            if end > start:
                spans.append((start, end))
        return spans

    def _pack(self, body: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        size, overlap = self.settings.size, self.settings.overlap
        groups: list[tuple[int, int]] = []
        i = 0
        while i < len(spans):
            j = i + 1
            while j < len(spans) and spans[j][1] - spans[i][0] <= size:
                # Once the chunk is well filled, stop at a paragraph break rather than
                # straddle two paragraphs.
                paragraph_break = "\n" in body[spans[j - 1][1] : spans[j][0]]
                if paragraph_break and spans[j - 1][1] - spans[i][0] >= 0.6 * size:
                    break
                j += 1
            groups.append((spans[i][0], spans[j - 1][1]))
            if j >= len(spans):
                break
            # Step back `overlap` sentences, but always advance and never repeat more
            # than half a chunk.
            back = j
            while (
                back > i + 1
                and j - back < overlap
                and spans[j][1] - spans[back - 1][0] <= size // 2 + (spans[j][1] - spans[j][0])
            ):
                back -= 1
            i = back
        return groups
