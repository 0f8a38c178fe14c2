"""List answers: the items a question asks for, each cited.

A list is read, in this order, from the sentences defining each part of a quoted list
(“联管、联建、联防”分别指什么: :func:`defined_parts`), from an enumeration (第一，…/一是…:
:func:`enumerated_items`) or the article's section headings, else from the one sentence
that lists the items (:func:`richest_listing`), joined with the sentence carrying its items
when it only announces them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.compose import citation_of, clause_ends, section_headings
from rag.evidence import Candidate, Library
from rag.question import QuestionAnalysis
from rag.text import answer_sentences
from rag.types import Article, Chunk, Citation

_ENUM_ITEM = re.compile(
    r"\s*(?:第[一二三四五六七八九十]+[，,、：:]|[一二三四五六七八九十]是|首先|其次|再次|最后|其一|其二|其三)"
)
_ASKS_ASPECTS = re.compile(r"哪几|几个方面|哪些方面|几点|哪[两三四五六七八九十]|分别|[两三四五六七八九十]点")


def asks_for_items(analysis: QuestionAnalysis) -> bool:
    """Whether the question asks for several items or aspects (哪几个方面, 三点感受分别是什么)."""
    return _ASKS_ASPECTS.search(analysis.text) is not None


def enumerated_items(body: str, near: int) -> list[tuple[int, int]]:
    """Sentences of ``body`` that enumerate (第一，…/一是…/首先…) in the run closest to ``near``.

    A run is two or more such sentences with at most two others between them.
    """
    items = [(s, e) for s, e in answer_sentences(body) if _ENUM_ITEM.match(body, s)]
    runs: list[list[tuple[int, int]]] = []
    for item in items:
        if runs and body[runs[-1][-1][1] : item[0]].count("。") <= 6:
            runs[-1].append(item)
        else:
            runs.append([item])
    runs = [r for r in runs if len(r) >= 2]
    if not runs:
        return []
    return min(runs, key=lambda r: min(abs(s - near) for s, _ in r))[:6]


_COUNT_WORDS = "两二三四五六七八九十"
_ASKED_COUNT = re.compile(rf"哪([{_COUNT_WORDS}])|([{_COUNT_WORDS}])(?:大|点|个方面|项|个)")


def asked_count(question: str) -> int | None:
    """How many items the question asks for (哪两个, 三点感受 → 2, 3), or None when it does not say."""
    match = _ASKED_COUNT.search(question)
    if match is None:
        return None
    word = match.group(1) or match.group(2)
    return 2 if word == "两" else _COUNT_WORDS.index(word) + 1


def list_answer(
    analysis: QuestionAnalysis, best: Candidate, library: Library | None
) -> tuple[str, list[Citation]]:
    """The items of a list, each cited: enumerated sentences, section headings, or the listing sentence."""
    body = best.article.body
    chunks = library.chunks_of(best.article.id) if library is not None else [best.passage.chunk]
    defined = defined_parts(analysis, body)
    if len(defined) >= 2:
        return _cited_items(best.article, defined, chunks)
    if _ASKS_ASPECTS.search(analysis.text):
        items = enumerated_items(body, best.start)
        if not items and re.search(r"方面|部分", analysis.text):
            items = section_headings(body)
        if len(items) >= 2 and asked_count(analysis.text) in (None, len(items)):
            return _cited_items(best.article, items, chunks)
    return _listing_answer(best, library, chunks)


def _cited_items(
    article: Article, items: Sequence[tuple[int, int]], chunks: Sequence[Chunk]
) -> tuple[str, list[Citation]]:
    """``item[1]；item[2]。`` with each item quoted from ``article.body``."""
    parts, citations = [], []
    for n, (start, end) in enumerate(items, start=1):
        citations.append(citation_of(n, article, start, end, chunks))
        parts.append(f"{article.body[start:end].rstrip('。；;')}[{n}]")
    return "；".join(parts) + "。", citations


_QUOTED_LIST = re.compile(r"[“\"]([^”\"]{2,40}[、，][^”\"]{1,40})[”\"]")


def defined_parts(analysis: QuestionAnalysis, body: str) -> list[tuple[int, int]]:
    """The sentences that open with each part of a quoted list the question asks about.

    “联管、联建、联防”分别指什么: the article defines each in a sentence of its own
    (联管,省市直接调度…; 联建,…); those sentences, in order, are the answer.
    """
    quoted = _QUOTED_LIST.search(analysis.text)
    if quoted is None:
        return []
    parts = [p for p in re.split(r"[、，,]", quoted.group(1)) if len(p) >= 2]
    spans = answer_sentences(body)
    found = []
    for part in parts:
        opening = next((sp for sp in spans if body[sp[0] : sp[1]].lstrip().startswith(part)), None)
        if opening is not None:
            found.append(opening)
    return found if len(found) == len(parts) else []


#: Separators between the items of an enumeration, and book titles joined by 和.
_ENUMERATES = re.compile(r"[、；;]|一是|》[^，。《]{0,6}和《|”和“")
#: Openings that carry an enumeration on from the sentence before (not 同时/此外: a new point).
_CONTINUES = re.compile(r"\s*(?:二是|三是|其次|分别是|分别为|即|包括|主要有|具体)")


def enumerates(text: str) -> bool:
    """Whether a sentence lists items (丈子头板块…；杨家峪板块…, 《…》和《…》, A、B、C)."""
    return _ENUMERATES.search(text) is not None


def names_items(text: str) -> bool:
    """Whether a quote names two things or more (A、B; A和B; A与B; “A”“B”): a list can be read from it.

    A 、 inside quotation marks is a slogan's (以“启航新征程、凝聚新力量”为主题), not a list.
    """
    text = re.sub(r"“[^“”]*”", "“”", text)
    return enumerates(text) or re.search(r"\w[和与及]\w|”“", text) is not None


def richest_listing(candidates: Sequence[Candidate], margin: float = 0.1) -> Candidate:
    """Among near-ties of one article, the sentence that lists the most items.

    培训讲了哪些内容: the lead names the training with two scenes (…作业、机械操作), the
    next sentence lists the five topics; both match the question almost equally.
    """
    best = candidates[0]
    if len(_ENUMERATES.findall(best.text)) > 1:
        return best  # it lists three items or more already
    rivals = [
        c
        for c in candidates[1:4]
        if c.article.id == best.article.id
        and c.score >= best.score - margin
        and len(_ENUMERATES.findall(c.text)) >= 3
    ]
    return max(rivals, key=lambda c: c.score, default=best)


def _listing_answer(
    best: Candidate, library: Library | None, chunks: Sequence[Chunk]
) -> tuple[str, list[Citation]]:
    """The listing sentence, joined with the sentence that carries its items when it only announces them.

    One quote covers both (六地战略定位。分别是：…): the announcing sentence names no item, so
    cited on its own it would support nothing.
    """
    body = best.article.body
    start, end = best.start, best.end
    if library is not None and (best.text.rstrip().endswith(("：", ":")) or not enumerates(best.text)):
        following = [sp for sp in answer_sentences(body) if sp[0] >= best.end][:1]
        for s, e in following:
            if enumerates(body[s:e]) or _CONTINUES.match(body, s):
                end = e
    # A list cut at ；(丈子头板块…；杨家峪板块…) goes on to the end of its sentence.
    while body[end - 1 : end] in ("；", ";"):
        nxt = [sp for sp in answer_sentences(body) if sp[0] >= end][:1]
        if not nxt or body[end : nxt[0][0]].strip():
            break
        end = nxt[0][1]
    start, end = _listing_clause(body, start, end)
    text = body[start:end].rstrip("，,；;：: ")
    end = start + len(text)
    if not re.search(r"[。！？!?]$", text):
        text += "。"
    return f"{text}[1]", [citation_of(1, best.article, start, end, chunks)]


def _listing_clause(body: str, start: int, end: int, limit: int = 80) -> tuple[int, int]:
    """Within a long sentence, the clause that holds its list (系统讲解了A、B、C、D等知识).

    The clauses around it (引导员工树立…的安全意识，以…的责任感…) are not items; a sentence
    whose items are spread over several clauses is kept whole.
    """
    text = body[start:end]
    if end - start <= limit or "”“" in text:
        return start, end  # short already, or items printed as quoted names (“流动审批车”“视频云勘验”)
    bounds = [0, *clause_ends(text), len(text)]
    clauses = list(zip(bounds, bounds[1:], strict=False))
    # 、 inside quotation marks (“设备无隐患、操作零违章”) joins the words of one slogan.
    counts = [re.sub(r"“[^”]*”", "", text[a:b]).count("、") for a, b in clauses]
    richest = max(range(len(clauses)), key=lambda i: counts[i])
    if counts[richest] < 2 or sum(1 for c in counts if c) > 1:
        return start, end
    a, b = clauses[richest]
    return start + a, start + b


__all__ = [
    "asked_count",
    "asks_for_items",
    "defined_parts",
    "enumerated_items",
    "enumerates",
    "list_answer",
    "names_items",
    "richest_listing",
]
