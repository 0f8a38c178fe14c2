"""Bridge questions: what else the person who reported a story reported.

报道五市民生档案一站通查的记者，还报道了哪个“宣传日”的主题活动？ asks two things in a row: who
reported the first story (a byline question the answerer already handles) and what else
that person reported.  The second half names nothing the articles' bodies print (a byline
is not the story), so it is answered only from that person's other articles: the names
the first answer quotes select them.  Refused unless both halves are answered, as a
compound question is.

:func:`split_bridge` finds the two halves; :func:`answer_bridge` answers them with the
pipeline's own search and generator, passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rag.compound import combine
from rag.generate import REFUSAL_TEXT
from rag.types import Answer, Article, Passage

#: …的记者，(在2023年8月)还报道了…？  The role word must name who made an article.
_BRIDGE = re.compile(
    r"^(?P<about>[^，,。？?]{4,}?)的(?P<role>摄影记者|记者|作者|通讯员|摄影师)[，,]?\s*"
    r"(?P<rest>[^，,。？?]{0,12}?(?:还|又|也|另外|同时)(?:报道|采写|写|拍摄|拍)[^？?]*[？?]?)$"
)
#: Names in a byline quote: 弓凤飞, 侯慧琴、魏薇, 记者 王丹 通讯员 刘娜.
_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")
_ROLE_WORDS = frozenset({"记者", "通讯员", "摄影", "本报", "实习生", "编辑"})
#: Retrieval depth multiplier: the person's articles must be found among everyone's.
_DEPTH = 8


@dataclass(frozen=True)
class Bridge:
    """The two halves of a bridge question.

    Attributes:
        first: the byline question (报道五市民生档案一站通查的记者是谁？).
        rest: what is asked about the person's other articles (还报道了哪个“宣传日”的主题活动？).
        role: the role word asked (记者, 作者, 通讯员…).
    """

    first: str
    rest: str
    role: str


def split_bridge(question: str) -> Bridge | None:
    """The halves of ``question`` when it asks what a story's reporter also reported, else ``None``.

    Example:
        >>> bridge = split_bridge("报道五市民生档案一站通查的记者，还报道了哪个“宣传日”的主题活动？")
        >>> bridge.first, bridge.rest
        ('报道五市民生档案一站通查的记者是谁？', '还报道了哪个“宣传日”的主题活动？')
        >>> split_bridge("第八届进博会山西展厅面积多大？") is None
        True
    """
    match = _BRIDGE.match(question.strip())
    if match is None:
        return None
    rest = match.group("rest")
    if not rest.endswith(("？", "?")):
        rest += "？"
    return Bridge(f"{match.group('about')}的{match.group('role')}是谁？", rest, match.group("role"))


def byline_names(answer: Answer) -> frozenset[str]:
    """The people an answered byline question quotes (its citations' spans), role words left out."""
    names = {name for c in answer.citations for name in _NAME.findall(c.quote) if name not in _ROLE_WORDS}
    return frozenset(names)


def answer_bridge(
    question: str,
    bridge: Bridge,
    search: Callable[[str, int], Sequence[Passage]],
    generate: Callable[[str, Sequence[Passage]], Answer],
    article_of: Callable[[str], Article],
    top_k: int,
) -> Answer:
    """Answer both halves: the byline first, then ``rest`` from the named people's other articles.

    Args:
        question: the whole question, as asked.
        bridge: its halves (:func:`split_bridge`).
        search: retrieval, ``(query, top_k) -> passages`` best first.
        generate: the answerer, ``(question, passages) -> Answer``.
        article_of: the article with a given id.
        top_k: passages the second half is answered from.
    """
    first = generate(bridge.first, search(bridge.first, top_k))
    names = byline_names(first) if not first.refused else frozenset()
    if first.refused or not names:
        return _refused(combine(question, [first]), "the first story's reporter was not found")
    reported = {c.article_id for c in first.citations}
    kept: list[Passage] = []
    for passage in search(bridge.rest, min(100, top_k * _DEPTH)):
        article = article_of(passage.chunk.article_id)
        if article.id not in reported and names & set(article.reporters):
            kept.append(replace(passage, rank=len(kept) + 1))
        if len(kept) == top_k:
            break
    if not kept:
        second = Answer(question=bridge.rest, text=first.text, refused=True)
        return _refused(
            combine(question, [first, second]), f"nothing else by {'、'.join(sorted(names))} answers"
        )
    second = generate(bridge.rest, kept)
    return combine(question, [first, second])


def _refused(answer: Answer, decision: str) -> Answer:
    """``answer`` refused with the refusal text its parts use, and why."""
    return replace(
        answer,
        text=REFUSAL_TEXT,
        refused=True,
        citations=(),
        analysis={**(answer.analysis or {}), "decision": decision},
    )


__all__ = ["Bridge", "answer_bridge", "byline_names", "split_bridge"]
