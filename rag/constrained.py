"""Passages whose articles meet the question's hard constraints, looked for past the top few.

In a large archive the story a question names (侯森, 经北街, 第七届进博会) can rank below
passages that only share its common words (合肥, 企业, 项目): among 20,000 People's Daily
paragraphs the 侯森 article fell to ranks 8 and 10.  Those distractors fail the question's
hard constraints, so the answerer would reject them anyway; reading a few ranks deeper for
passages that meet the constraints puts the story back in front of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from rag.errors import NotFoundError
from rag.evidence_match import satisfies
from rag.question import analyze
from rag.types import Article, Passage

#: How many times ``top_k`` passages are read to find those meeting the constraints.
DEPTH = 4


def constrained_top(
    question: str, passages: Sequence[Passage], article_of: Callable[[str], Article], top_k: int
) -> list[Passage]:
    """The first ``top_k`` of ``passages``, failing ones swapped for deeper ones that meet the constraints.

    ``passages`` is a deeper retrieval (``top_k * DEPTH``), best first.  Within the top
    ``top_k``, a passage whose article fails a hard constraint of the question gives way —
    the lowest ranked first — to the next deeper passage whose article meets them all; the
    order of what stays is retrieval's.  With no constraints, or nothing deeper meeting them,
    this is the plain top ``top_k``.  An article deleted since the search (by another worker)
    meets nothing.
    """
    top = list(passages[:top_k])
    analysis = analyze(question)
    if not analysis.constraints or len(passages) <= top_k:
        return top
    verdicts: dict[str, bool] = {}

    def meets(passage: Passage) -> bool:
        article_id = passage.chunk.article_id
        if article_id not in verdicts:
            try:
                verdicts[article_id] = not satisfies(analysis, article_of(article_id))
            except NotFoundError:
                # Deleted by another worker since the search: it meets nothing any more.
                verdicts[article_id] = False
        return verdicts[article_id]

    deeper = [p for p in passages[top_k:] if meets(p)]
    failing = [i for i, p in enumerate(top) if not meets(p)]
    if not deeper or not failing:
        return top
    for passage in deeper:
        if not failing:
            break
        top[failing.pop()] = passage
    top.sort(key=lambda p: p.rank)
    return [replace(p, rank=i) for i, p in enumerate(top, start=1)]


__all__ = ["DEPTH", "constrained_top"]
