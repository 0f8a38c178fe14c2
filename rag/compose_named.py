"""Answers naming what the question asks for by kind: a quoted name (主题, App, 品牌) or a noun
phrase ending in the asked kind word (由什么基金资助 → 由国家艺术基金资助).

The name is copied verbatim from the cited sentence into the question's own wording.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.compose import candidate_citation
from rag.compose_typed import TRAILING, asks_several
from rag.evidence import Candidate
from rag.evidence_spans import outside_question
from rag.question import QuestionAnalysis
from rag.question_constraints import plain_noun, tag
from rag.types import Citation

#: A question asking for a name the paper prints in quotation marks (什么主题, 哪个App, 品牌叫什么).
_NAMED_ASKED = re.compile(
    r"(?:什么|哪个|哪款|哪一个|哪本|哪份)\w{0,2}?(?P<a>主题|品牌|App|APP|app|口号|理念|系列|栏目|平台|小程序|公众号|期刊|杂志)"
    r"|(?P<b>主题|品牌|App|APP|名称|口号|理念|系列|栏目|活动|平台)(?:是什么|叫什么(?:名字)?)"
    r"|以什么为(?P<c>主题)"
)
_QUOTED = re.compile(r"“([^“”]{2,30})”|《([^《》]{2,30})》")
#: Kinds named by a title in 《》 or quotation marks, never by the kind word alone.
_TITLED = frozenset({"期刊", "杂志"})
_INTERROGATIVE = re.compile(r"什么|哪一个|哪个|哪款|哪本|哪份")


def asked_name_missing(analysis: QuestionAnalysis, quotes: Sequence[str]) -> bool:
    """Whether the question asks a printed name (主题, 品牌, App…) that none of ``quotes`` states.

    第七届进博会山西展厅的主题是什么？ quoting a sentence about the crowds at the stand: it names
    no 主题, so the pages do not hold the answer.
    """
    asked = _asked_name(TRAILING.sub("", analysis.text))
    if asked is None:
        return False
    if asked[1] in _TITLED:
        # 学术期刊普遍与国际通行学术规范接轨 prints 期刊 and names none: a journal is named by its title.
        return not any(_QUOTED.search(quote) for quote in quotes)
    return not any(asked[1] in quote or _QUOTED.search(quote) for quote in quotes)


def _asked_name(question: str) -> tuple[re.Match[str], str] | None:
    """Where ``question`` asks for a printed name, and the word naming its kind (主题, App…)."""
    asked = _NAMED_ASKED.search(question)
    if asked is None:
        return None
    return asked, asked.group("a") or asked.group("b") or asked.group("c")


def _kind_phrase(analysis: QuestionAnalysis, text: str) -> str | None:
    """The one run of nouns in ``text`` ending in the asked kind word (国家|艺术|基金 for 什么基金)."""
    kind = analysis.category
    if len(kind) < 2 or not plain_noun(kind):
        return None
    words = tag(text)
    found = []
    for i, (word, _) in enumerate(words):
        if word != kind:
            continue
        j = i
        while j > 0 and words[j - 1][1].startswith("n") and len(words[j - 1][0]) >= 2:
            j -= 1
        phrase = "".join(w for w, _ in words[j : i + 1])
        if j < i and outside_question(phrase, analysis):
            found.append(phrase)
    return found[0] if len(set(found)) == 1 else None


def _kind_answer(
    analysis: QuestionAnalysis, best: Candidate, question: str
) -> tuple[str, list[Citation]] | None:
    """由什么基金资助 → 由国家艺术基金资助: the printed noun phrase ending in the asked kind word."""
    phrase = _kind_phrase(analysis, best.text)
    kind = re.escape(analysis.category)
    asked = re.search(rf"(?:什么|哪个|哪种|哪一个){kind}", question) if phrase else None
    if phrase is None or asked is None:
        return None
    statement = re.sub(r"(?:呢|吗)$", "", question[: asked.start()] + phrase + question[asked.end() :])
    return f"{statement}。[1]", [candidate_citation(1, best)]


def named_answer(analysis: QuestionAnalysis, best: Candidate) -> tuple[str, list[Citation]] | None:
    """``…以“表里山河·晋览未来”为主题`` for a question asking a printed name (主题, App, 品牌…), or None.

    The name is the quoted term printed next to the asked word (“志愿汇”App, “草坪易办”品牌
    建设); without such a term beside it the sentence answers instead.
    """
    question = TRAILING.sub("", analysis.text)
    found = _asked_name(question)
    if asks_several(analysis):
        return None
    if found is None:
        return _kind_answer(analysis, best, question)
    asked, word = found
    text = best.text
    near = [m.start() for m in re.finditer(re.escape(word), text)]
    if not near:
        # 微视频系列叫什么名字: the paper prints “百品荟”微视频, without 系列; the noun before it will do.
        before = [w for w, f in tag(question[: asked.start(asked.lastgroup or 0)]) if f.startswith("n")]
        if before and len(before[-1]) >= 2:
            word = before[-1]
            near = [m.start() for m in re.finditer(re.escape(word), text)]
    best_quote, best_gap = None, 9
    for quote in _QUOTED.finditer(text):
        for at in near:
            gap = at - quote.end() if at >= quote.end() else quote.start() - (at + len(word))
            if 0 <= gap < best_gap:
                best_quote, best_gap = quote.group(0), gap
    if best_quote is None:
        return None
    interrogatives = list(_INTERROGATIVE.finditer(question))
    last = interrogatives[-1]
    statement = question[: last.start()] + best_quote + question[last.end() :]
    statement = re.sub(r"(叫“[^”]+”)名字$", r"\1", statement)
    statement = re.sub(r"(?:呢|吗)$", "", statement)
    return f"{statement}。[1]", [candidate_citation(1, best)]


__all__ = ["asked_name_missing", "named_answer"]
