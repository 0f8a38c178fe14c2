"""Which sentences evidence reads: those of the retrieved chunks, or all of the best one's article.

Among many articles (a year of the paper, or People's Daily paragraphs mixed in), the chunk
holding the answer often falls out of the top five while the article's lead stays first: 侯森在
合肥考察时参观了几家企业 retrieves the lead, and 这次参观的7家企业… is two chunks further on.  The best
passage's article is the one the question is most surely about, so when no retrieved sentence
answers, all of its sentences may (the generator reads them only then: a sentence of the article
that was not retrieved never displaces one that was).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rag.text import answer_sentences
from rag.types import Passage

if TYPE_CHECKING:
    from rag.evidence import Library
    from rag.types import Article


def with_best_article(passages: Sequence[Passage], library: Library | None) -> list[Passage]:
    """``passages``, then the best passage's other chunks (ranked after every retrieved one)."""
    if not passages or library is None:
        return list(passages)
    held = {p.chunk.id for p in passages}
    extra = [c for c in library.chunks_of(passages[0].chunk.article_id) if c.id not in held]
    last = passages[-1]
    return [
        *passages,
        *(Passage(chunk=c, score=last.score, rank=last.rank + 1 + i) for i, c in enumerate(extra)),
    ]


def sentences_in(
    passage: Passage, article: Article, library: Library | None
) -> list[tuple[int, int, np.ndarray | None]]:
    """Sentences of ``article`` inside the passage's chunk, with their stored vectors when known."""
    chunk = passage.chunk
    table = library.sentences(article.id) if library is not None else None
    if table is not None and article.body[chunk.start : chunk.end] == chunk.text:
        return [
            (s, e, table.vectors[i])
            for i, (s, e) in enumerate(table.spans)
            if s < chunk.end and e > chunk.start
        ]
    return [(chunk.start + s, chunk.start + e, None) for s, e in answer_sentences(chunk.text)]


__all__ = ["sentences_in", "with_best_article"]
