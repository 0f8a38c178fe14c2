"""Whose figure a span is: the thing it counts, the whole it is a share of.

:func:`about_head` keeps a figure only when the thing counted (多少家**企业**) is the one
printed with it, and not a figure per unit; :func:`about_wider_area` drops a figure of the
province or the country when the question asks about a place in the city.
"""

from __future__ import annotations

import re

from rag.evidence_match import abbreviates, local
from rag.question import QuestionAnalysis
from rag.question_constraints import tag
from rag.text import clause_around, normalize_for_match

#: Words that make a figure the province's or the country's, not the city's (全省26家优质企业).
_WIDER_AREA = re.compile(r"全省|全国|省内|国内|全球|全世界")


def about_wider_area(text: str, span: tuple[int, int], analysis: QuestionAnalysis) -> bool:
    """Whether the figure at ``span`` counts a whole province or country while the question asks about a city.

    太原有几家企业参展: 包含全省26家优质企业，…其中位于我市的有7家 — 26家 is the province's.
    """
    places = [str(c.value) for c in analysis.constraints if c.kind == "place"]
    if not places or _WIDER_AREA.search(analysis.text):
        return False
    clause_start = max(text.rfind(p, 0, span[0]) for p in "，,；;。：:") + 1
    before = text[clause_start : span[0]]
    # (…数量居全省第一)、45所: a closed aside is about what it follows, not the figure after it.
    before = before[max(before.rfind(")"), before.rfind("）")) + 1 :]
    return bool(_WIDER_AREA.search(before)) and not any(local(p) in local(before) for p in places)


_HEAD_KINDS = ("count:", "people", "number")
_PER_UNIT = re.compile(r"每[个所家村户人名位]|各(?:设立|设|建设|建|有|配备|配|选派|派)")
_PER_UNIT_ASKED = re.compile(r"[每各]|平均")


def _another_kind_counted(clause: str, head: str) -> bool:
    """Whether ``clause`` counts another kind of the head's noun (绿色工厂4家 for 智能工厂).

    The question's modifier (智能) is not printed, and the noun is printed after another
    word: the figure counts those, not the ones asked about.  A place as modifier (太原企业)
    is left to the place constraint, since the paper writes 我市 or nothing.
    """
    words = tag(head)
    if len(words) < 2 or words[0][1].startswith("ns"):
        return False
    noun, modifier = local(words[-1][0]), local("".join(w for w, _ in words[:-1]))
    if len(noun) < 2 or modifier in clause:
        return False
    tokens = tag(clause)
    for (before, flag), (word, _) in zip(tokens, tokens[1:], strict=False):
        # A noun or attribute word right before the noun qualifies it (绿色|工厂); a verb does not
        # (获批|项目 counts the 项目 asked about).
        if local(word) == noun and flag[:1] in ("n", "a", "b") and len(before) >= 2 and before not in head:
            return True
    return False


def _counts_another_noun(side: str, head: str, before: bool = False) -> bool:
    """Whether the nouns printed right after (or right before) a figure count another thing than the head.

    A Chinese noun phrase ends in its head: 在全区14个街道各设立… counts 街道, 45所社区日间照料中心
    counts 照料中心, …社区养老幸福工程9个 counts 工程, none of them the 服务中心 asked about; 7家太原企业
    still counts 企业.
    """
    words = list(tag(side))
    if before:
        words.reverse()  # the run that ends at the figure
    run: list[str] = []
    for word, flag in words:
        if run and not before and flag in ("q", "k") and len(word) == 1:
            continue  # 街道|级|社区养老服务中心: a one-character suffix joins the run
        # z: jieba reads some compounds (邻里纠纷) as state words.
        if not (flag.startswith(("n", "j", "b", "t", "vn", "z")) or (run and flag == "a")):
            break
        run.append(local(word))
        if before and len(run) == 2:
            break  # the nouns right before the figure are what it counts (幸福工程9个, 邻里纠纷23件)
    # A place before the head is left to the place constraint (太原|企业 counts 企业).
    heads = [local(w) for w, f in tag(head) if w.strip() and not f.startswith("ns")]
    if not run or not heads:
        return False
    printed = "".join(reversed(run) if before else run)
    tail = _tail(run if not before else run[::-1])
    # 4000余名师生 counts 老师学生: the paper's contraction of the head counts as the head.
    return (
        _tail(heads) not in printed
        and tail not in local(head)
        and not (abbreviates(run[-1], head) and run[-1] not in head)
    )


def _noun_before_asked(before: str, question: str) -> bool:
    """Whether the nouns right before a figure are ones the question names (游客 in 接待游客3200人次).

    Two nouns are read together: 邻里纠纷23件 is not the question's 物业纠纷, though both hold 纠纷.
    """
    words = list(tag(before))
    run = ""
    for word, flag in reversed(words[-2:]):
        if not flag.startswith(("n", "j", "vn")):
            break
        run = word + run
    return len(run) >= 2 and local(run) in local(normalize_for_match(question))


def _nouns_follow(after: str) -> bool:
    """Whether a noun follows at once (26家|优质企业), so the figure counts what comes after it."""
    words = list(tag(after[:6]))
    return bool(words) and words[0][1].startswith(("n", "j", "b", "t", "vn", "a"))


def _tail(words: list[str]) -> str:
    """The head noun of a phrase: its last word, with the word before when it is short (照料|中心)."""
    return words[-1] if len(words[-1]) >= 3 or len(words) < 2 else words[-2] + words[-1]


def about_head(text: str, span: tuple[int, int], head: str, kind: str, question: str = "") -> bool:
    """Whether the counted thing (企业 in 多少家企业) is near the figure: same clause."""
    clause_start = max(text.rfind(p, 0, span[0]) for p in "，,；;。：:") + 1
    if (
        kind.startswith("count:")
        and _PER_UNIT.search(text, clause_start, span[0])
        and not _PER_UNIT_ASKED.search(question)
    ):
        return False  # 每个村建设1所…, 14个街道各设立1至2所…: a figure per unit, not the total asked
    if not head or not kind.startswith(_HEAD_KINDS):
        return True
    clause = local(normalize_for_match(text[clause_start : clause_around(text, *span)[1]]))

    after, preceding = text[span[1] :], text[max(0, span[0] - 12) : span[0]]
    if (
        _another_kind_counted(clause, head)
        or _counts_another_noun(after, head)
        # 幸福工程9个, (clause ends): the noun before counts; 全省26家企业: the noun after does.
        or (
            not _nouns_follow(after)
            and _counts_another_noun(preceding, head, before=True)
            # 接待游客3200人次 counts the 游客 the question names.
            and not _noun_before_asked(preceding, question)
        )
    ):
        return False
    # Any noun of the run will do: 其中位于我市的有7家 counts 太原企业 (企业 understood).
    if any(local(w) in clause for w, _ in tag(head) if len(w) >= 2):
        return True
    if clause.startswith("其中") and any(
        local(w) in local(normalize_for_match(text[: span[0]])) for w, _ in tag(head) if len(w) >= 2
    ):
        return True  # 包含全省26家优质企业，…，其中位于我市的有7家: 其中 counts the same 企业
    # The paper's contraction of a run of nouns counts too: 4000余名师生 for 老师学生.
    return len(tag(head)) > 1 and any(
        len(w) == 2 and abbreviates(w, head) and w not in head for w, _ in tag(clause)
    )


__all__ = ["about_head", "about_wider_area"]
