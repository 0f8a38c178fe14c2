"""Compound questions: two questions asked in one message, answered one after the other.

A reader often asks 侯森在合肥参观的7家企业都和哪个领域深度融合？杏花岭区又在哪个板块主攻这一领域？
in one go.  Each part is a question of its own, with its own passages; a later part's
这一领域 / 该板块 points back at what the earlier part asked about, and is read as the
earlier part's answer when it is a short span, else as the bare noun (主攻领域).

:func:`split_compound` finds the parts, :func:`resolve_reference` rewrites a later part,
:func:`combine` joins the parts' answers into one, with the citations renumbered.  The
whole is refused unless every part is answered: half an answer to a question whose other
half the pages do not hold would look checked when it is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.question_constraints import tag
from rag.types import Answer, Citation, Passage

#: A part must be a question of its own, not a stray 是吗？ or 为什么？.
_MIN_PART = 5
_PART = re.compile(r"[^？?]+[？?]")
#: 这一领域, 这个板块, 该项目, 此项活动: a reference to what an earlier part was about.
_REFERENCE = re.compile(r"(?P<det>这一|这个|这项|这些|该|此)(?=[\u4e00-\u9fff])")
#: Short spans a later part may take in place of its reference (no sentence, no marker).
_MARKER = re.compile(r"\[(\d+)\]")
_SPAN = re.compile(r"^(?P<span>[^，,。；;\[\]]{2,16})。\[1\]$")


def split_compound(question: str) -> list[str]:
    """The questions asked in ``question``, or ``[question]`` when it asks one.

    Example:
        >>> split_compound("企业都和哪个领域深度融合？杏花岭区又在哪个板块主攻这一领域？")
        ['企业都和哪个领域深度融合？', '杏花岭区又在哪个板块主攻这一领域？']
        >>> split_compound("第八届进博会山西展厅面积多大？")
        ['第八届进博会山西展厅面积多大？']
    """
    parts = [p.strip() for p in _PART.findall(question)]
    tail = _PART.sub("", question).strip()
    if len(parts) < 2 or tail or any(len(p) < _MIN_PART for p in parts):
        return [question]
    return parts


def resolve_reference(part: str, earlier: Answer) -> str:
    """``part`` with its 这一领域 read as the earlier answer's span (数字经济), or as the bare noun.

    Example:
        >>> from rag.types import Citation
        >>> quote = Citation(1, "c", "a", "t", "d", "s", "7家企业全部与数字经济深度融合。", 0, 16)
        >>> earlier = Answer(question="", text="数字经济。[1]", refused=False, citations=(quote,))
        >>> resolve_reference("杏花岭区又在哪个板块主攻这一领域？", earlier)
        '杏花岭区又在哪个板块主攻数字经济？'
        >>> sentence = Answer(question="", text="它们都与数字经济深度融合。[1]", refused=False)
        >>> resolve_reference("该板块有多少企业？", sentence)
        '板块有多少企业？'
    """
    match = _REFERENCE.search(part)
    if match is None:
        return part
    noun = tag(part[match.end("det") :])[0][0]
    span = _SPAN.match(earlier.text)
    quote = earlier.citations[0].quote if earlier.citations else ""
    # Only a span copied out of a longer quote is an answer to stand in (数字经济), not a sentence.
    extracted = span is not None and span.group("span") in quote and len(span.group("span")) * 2 < len(quote)
    replacement = span.group("span") if span is not None and extracted and not earlier.refused else noun
    return part[: match.start()] + replacement + part[match.end("det") + len(noun) :]


def combine(question: str, answers: Sequence[Answer]) -> Answer:
    """One answer from the parts' answers: each on its own line, citations numbered on.

    Refused, with the first refusal's text, when any part was refused.
    """
    refused = next((a for a in answers if a.refused), None)
    passages = tuple({p.chunk.id: p for a in answers for p in a.passages}.values())
    generator = answers[0].generator if answers else "extractive"
    analysis = {"parts": [{"question": a.question, **(a.analysis or {})} for a in answers]}
    if refused is not None:
        return Answer(
            question=question,
            text=refused.text,
            refused=True,
            passages=passages,
            generator=generator,
            analysis={**analysis, "decision": f"part not answered: {refused.question}"},
        )
    lines: list[str] = []
    citations: list[Citation] = []
    for answer in answers:
        offset = len(citations)
        lines.append(_MARKER.sub(_shifted(offset), answer.text))
        citations.extend(_renumbered(c, c.n + offset) for c in answer.citations)
    return Answer(
        question=question,
        text="\n".join(lines),
        refused=False,
        citations=tuple(citations),
        passages=passages,
        generator=generator,
        notice="；".join(dict.fromkeys(a.notice for a in answers if a.notice)),
        analysis={**analysis, "decision": f"{len(answers)} parts answered"},
    )


def answer_compound(
    question: str,
    parts: Sequence[str],
    search: Callable[[str], Sequence[Passage]],
    generate: Callable[[str, Sequence[Passage]], Answer],
) -> Answer:
    """Each part searched and answered on its own, a later part's reference resolved, then joined.

    Stops at the first refused part: the whole is refused anyway.
    """
    answers: list[Answer] = []
    for part in parts:
        if answers:
            part = resolve_reference(part, answers[-1])
        answers.append(generate(part, search(part)))
        if answers[-1].refused:
            break
    return combine(question, answers)


def _shifted(offset: int) -> Callable[[re.Match[str]], str]:
    return lambda m: f"[{int(m.group(1)) + offset}]"


def _renumbered(citation: Citation, n: int) -> Citation:
    return Citation(
        n,
        citation.chunk_id,
        citation.article_id,
        citation.title,
        citation.date,
        citation.source,
        citation.quote,
        citation.start,
        citation.end,
    )


__all__ = ["answer_compound", "combine", "resolve_reference", "split_compound"]
