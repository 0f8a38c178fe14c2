"""Checks a language model's answer against the passages it was given, and cites it.

:meth:`GroundingChecker.check` is the entry point.  It

1. normalises the markers (``[1,2]``, ``【1】``, ``［１］`` → ``[1][2]``…) and cuts the answer
   into claims, each the text up to a group of markers;
2. repairs a marker that points at no given passage (``[7]`` of 3) to the passage that
   best supports its claim when that passage holds all of the claim's facts, and drops
   it otherwise;
3. checks the facts of every claim — numbers (Arabic or Chinese), dates and names —
   against the passages the claim cites (a claim without markers: against any passage;
   a refusal: also against the question).  A fact found nowhere it should be is a
   problem, and so is a non-refusal with no valid citation;
4. builds one :class:`~rag.types.Citation` per cited passage ``n``: the sentence of
   passage ``n`` that best supports the claims citing it, scored by the extractive
   generator's scorer, an exact span of the article body as in extractive answers.

An answer with problems is not to be shown: the caller falls back to the extractive one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from rag.generate import REFUSAL_TEXT, ExtractiveGenerator, ScoredSentence, citation_for
from rag.llm.prompt import defuse, looks_like_instruction
from rag.text import CHINESE_LARGE_UNITS, normalize_for_match, trim_span, zh_to_int
from rag.types import Citation, Passage

_DIGIT = "0-9０-９"
_MARKER_GROUP = re.compile(
    rf"[\[［【]\s*([{_DIGIT}]{{1,3}}(?:\s*[,，、;；]\s*[{_DIGIT}]{{1,3}})*)\s*[\]］】]"
)
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S)
_REFUSAL = re.compile(
    "没有找到|未找到|没有提到|未提到|没有提及|未提及|没有相关|无相关|无法回答|无法确定|不包含|没有包含"
    "|没有涉及|未涉及|没有给出|未给出|没有说明|未说明|没有记载|未记载|没有关于|无法从"
)
_ARABIC = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_ZH_NUMERAL = re.compile(r"[零〇一二三四五六七八九十百千万亿两]+")
# A single Chinese numeral is a quantity only before a measure word or after 第 (一个, 第八届);
# otherwise 一 is mostly part of a word (统一, 一起).
_ZH_UNITS = "年月日号届个项名家次人位座条天周岁倍所场批轮期件台辆户元亩吨米层栋"
_NAME_FLAGS = frozenset({"nr", "nrfg", "nrt", "ns", "nt", "nz"})
_PERSON_FLAGS = frozenset({"nr", "nrfg", "nrt"})
_FIRM_PART = frozenset("njalbi")
_NAME_TAILS = frozenset({"ng", "g", "n", "nr", "nrfg", "zg", "a", "ag"})
_BOOK_TITLE = re.compile(r"《([^》]{2,40})》")
# Words an answer puts in quotation marks claim to be the page's own (a theme, a slogan).
# (Chinese quotation marks only: straight quotes pair up ambiguously, as in echoed tags.)
_QUOTED = re.compile(r"[“「『]([^“”「」『』\n]{2,40})[”」』]")
# A reply that copies the prompt's passage blocks instead of answering (seen with Qwen2.5-1.5B).
_ECHOED_TAG = re.compile(r"<\s*/?\s*资料")


#: How much of a claim's terms a passage sentence must cover for a stray marker to be
#: moved to that passage; stricter than answering, since a wrong repair puts words in
#: a source's mouth.
REPAIR_COVERAGE = 0.5


@dataclass(frozen=True)
class Claim:
    """A stretch of answer text and the passage numbers its markers cite."""

    text: str
    cites: tuple[int, ...] = ()


@dataclass(frozen=True)
class Fact:
    """A number or a name stated in an answer, with the forms it may take in a passage."""

    surface: str
    forms: frozenset[str]
    is_number: bool = True


@dataclass(frozen=True)
class GroundingResult:
    """The checked answer: repaired text, citations, and what is wrong (in Chinese, for notices)."""

    text: str
    citations: tuple[Citation, ...] = ()
    refused: bool = False
    problems: tuple[str, ...] = ()
    repairs: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when the answer may be shown."""
        return not self.problems


# -- text helpers ----------------------------------------------------------------------


def strip_thinking(text: str) -> str:
    """``text`` without ``<think>…</think>`` blocks (reasoning models write them inline)."""
    return _THINK.sub("", text).strip()


def split_claims(text: str) -> list[Claim]:
    """Cut ``text`` into claims, each ending with its group of markers; trailing text has no cites.

    Markers that open the answer (``[1] 甲。``, as small models write them) cite the
    claim that follows them.

    Example:
        >>> split_claims("甲[1]，乙【2，3】。丙")
        [Claim(text='甲', cites=(1,)), Claim(text='，乙', cites=(2, 3)), Claim(text='。丙', cites=())]
    """
    claims: list[Claim] = []
    position = 0
    leading: tuple[int, ...] = ()
    for match in _MARKER_GROUP.finditer(text):
        numbers = tuple(
            int(unicodedata.normalize("NFKC", d)) for d in re.split(r"[^0-9０-９]+", match[1]) if d
        )
        segment = text[position : match.start()]
        if not segment.strip() and not claims:
            leading += numbers
        elif leading:
            claims.append(Claim(segment.lstrip(), leading + numbers))
            leading = ()
        elif not segment.strip() and claims:
            # "[1][2]" or "[1] [2]": one claim citing both.
            previous = claims.pop()
            claims.append(Claim(previous.text + segment, previous.cites + numbers))
        else:
            claims.append(Claim(segment, numbers))
        position = match.end()
    if position < len(text) or leading:
        rest = text[position:]
        claims.append(Claim(rest.lstrip() if leading else rest, leading))
    return claims


def join_claims(claims: Sequence[Claim]) -> str:
    """The answer text of ``claims`` with normalised ``[n]`` markers."""
    return "".join(c.text + "".join(f"[{n}]" for n in dict.fromkeys(c.cites)) for c in claims)


def is_refusal(text: str) -> bool:
    """Whether ``text`` says that the passages do not answer the question."""
    return REFUSAL_TEXT in text or bool(_REFUSAL.search(text))


# -- facts -----------------------------------------------------------------------------


def _canonical(number: str) -> str:
    number = unicodedata.normalize("NFKC", number).replace(",", "")
    try:
        return format(Decimal(number).normalize(), "f")
    except InvalidOperation:
        return number


def _number_forms(text: str, *, strict: bool) -> list[Fact]:
    """Numbers in ``text``; ``strict`` keeps only Chinese numerals that surely are quantities."""
    text = unicodedata.normalize("NFKC", text)
    facts: list[Fact] = []
    for match in _ARABIC.finditer(text):
        forms = {_canonical(match[0])}
        scale = CHINESE_LARGE_UNITS.get(text[match.end() : match.end() + 1])
        if scale:
            forms.add(_canonical(str(Decimal(match[0].replace(",", "")) * scale)))
        facts.append(Fact(match[0], frozenset(forms)))
    for match in _ZH_NUMERAL.finditer(text):
        run = match[0]
        value = zh_to_int(run)
        if value is None:
            continue
        if strict and len(run) == 1:
            before = text[match.start() - 1 : match.start()]
            after = text[match.end() : match.end() + 1]
            if before != "第" and (not after or after not in _ZH_UNITS):
                continue
        facts.append(Fact(run, frozenset({str(value), run})))
    return facts


def _names(text: str) -> list[Fact]:
    """Proper names (people, places, organisations, other names), 《titles》 and “quoted words”."""
    import jieba.posseg as pseg

    from rag.bm25 import jieba_tokenizer

    jieba_tokenizer()  # the archive's user dictionary makes its names single words
    words = [(w.word, w.flag) for w in pseg.cut(text)]
    names: set[str] = set()
    for i, (word, flag) in enumerate(words):
        if flag not in _NAME_FLAGS or len(word) < 2:
            continue
        following = words[i + 1] if i + 1 < len(words) else ("", "")
        if (
            flag in _PERSON_FLAGS
            and len(word) == 2
            and len(following[0]) == 1
            and following[1] in _NAME_TAILS
        ):
            # jieba cuts unknown three-character names short (王煜尘 → 王煜 + 尘).
            word += following[0]
        names.add(word)
    names.update(_firm_names(words))
    names.update(_BOOK_TITLE.findall(text))
    names.update(q.strip() for q in _QUOTED.findall(text) if normalize_for_match(q))
    return [Fact(name, frozenset({normalize_for_match(name)}), is_number=False) for name in sorted(names)]


def _firm_names(words: Sequence[tuple[str, str]]) -> list[str]:
    """Whole firm names (山西众诚物业管理有限公司): 公司/集团 with the name-like words before it.

    Each part alone is printed somewhere (太原, 物业管理); the whole name must be, or the model
    has renamed the firm (太原众诚… for 山西众诚…).
    """
    firms = []
    for i, (word, _) in enumerate(words):
        if not word.endswith(("公司", "集团")):
            continue
        j = i
        # A trade name is often tagged an adjective or an idiom (山西|众诚|物业管理有限公司).
        while j > 0 and i - j < 5 and words[j - 1][1][:1] in _FIRM_PART and len(words[j - 1][0]) > 1:
            j -= 1
        if j < i:
            firms.append("".join(w for w, _ in words[j : i + 1]))
    return firms


def answer_facts(text: str) -> list[Fact]:
    """The numbers, dates and names an answer states (markers excluded)."""
    bare = _MARKER_GROUP.sub(" ", text)
    return _number_forms(bare, strict=True) + _names(bare)


@dataclass(frozen=True)
class _Evidence:
    """What a passage (or the question) can vouch for."""

    numbers: frozenset[str]
    text: str  # normalize_for_match of everything in it

    @classmethod
    def of(cls, text: str, date: str = "") -> _Evidence:
        numbers = {form for fact in _number_forms(text, strict=False) for form in fact.forms}
        numbers.update(_canonical(part) for part in re.findall(r"\d+", date))
        return cls(frozenset(numbers), normalize_for_match(text))

    def supports(self, fact: Fact) -> bool:
        """Whether ``fact`` appears here, in any of its forms."""
        if fact.is_number:
            return bool(fact.forms & self.numbers)
        return any(form in self.text for form in fact.forms)


def _passage_evidence(passage: Passage) -> _Evidence:
    chunk = passage.chunk
    return _Evidence.of(f"{chunk.title}\n{defuse(chunk.text)}", chunk.date)


def _support(facts: Sequence[Fact], evidence: Sequence[_Evidence]) -> list[Fact]:
    """The facts that none of ``evidence`` supports."""
    return [f for f in facts if not any(e.supports(f) for e in evidence)]


# -- the checker -----------------------------------------------------------------------


class GroundingChecker:
    """Repairs markers, checks facts and builds citations for an answer written by a model.

    Args:
        scorer: the extractive generator whose sentence scorer picks each citation's quote
            and the passage a stray marker is repaired to.
    """

    def __init__(self, scorer: ExtractiveGenerator) -> None:
        self.scorer = scorer

    def _ranked(self, text: str, passages: Sequence[Passage]) -> list[ScoredSentence]:
        # An instruction-like sentence was hidden from the model: it is never quoted.
        return [s for s in self.scorer.rank_sentences(text, passages) if not looks_like_instruction(s.text)]

    def _repair(
        self, claim: Claim, passages: Sequence[Passage], evidence: Sequence[_Evidence], log: list[str]
    ) -> Claim:
        """``claim`` with markers pointing outside 1..len(passages) repaired or dropped."""
        valid = [n for n in claim.cites if 1 <= n <= len(passages)]
        if len(valid) == len(claim.cites):
            return claim
        facts = answer_facts(claim.text)
        ranked = self._ranked(claim.text, passages)
        target: int | None = None
        if ranked and ranked[0].coverage >= REPAIR_COVERAGE:
            n = next(i for i, p in enumerate(passages, start=1) if p is ranked[0].passage)
            if not _support(facts, [evidence[n - 1]]):
                target = n
        for bad in (n for n in claim.cites if not 1 <= n <= len(passages)):
            if target is not None:
                log.append(f"[{bad}]→[{target}]")
                valid.append(target)
            else:
                log.append(f"[{bad}] dropped")
        return Claim(claim.text, tuple(dict.fromkeys(valid)))

    def _citation(self, n: int, claims: Sequence[Claim], passage: Passage) -> Citation:
        """Citation ``[n]``: the sentence of ``passage`` that best supports the claims citing it."""
        ranked = self._ranked("".join(c.text for c in claims), [passage])
        if ranked:
            return citation_for(n, ranked[0])
        chunk = passage.chunk
        start, end = trim_span(chunk.text, 0, len(chunk.text))
        whole = ScoredSentence(
            passage, chunk.start + start, chunk.start + end, chunk.text[start:end], 0.0, 0.0
        )
        return citation_for(n, whole)

    def check(self, question: str, answer: str, passages: Sequence[Passage]) -> GroundingResult:
        """Check ``answer`` (raw model output) for ``question`` against the ``passages`` it was given."""
        text = strip_thinking(answer)
        if not text:
            return GroundingResult(text="", problems=("模型没有给出回答",))
        if _ECHOED_TAG.search(text):
            return GroundingResult(text=text, problems=("模型照抄了资料而没有回答",))
        evidence = [_passage_evidence(p) for p in passages]
        repairs: list[str] = []
        claims = [self._repair(c, passages, evidence, repairs) for c in split_claims(text)]
        text = join_claims(claims).strip()
        cited = sorted({n for c in claims for n in c.cites})
        problems: list[str] = []

        if not cited and is_refusal(text):
            missing = _support(answer_facts(text), [*evidence, _Evidence.of(question)])
            problems += [f"「{f.surface}」不在任何资料中" for f in missing]
            return GroundingResult(text=text, refused=True, problems=tuple(problems), repairs=tuple(repairs))

        for claim in claims:
            facts = answer_facts(claim.text)
            if claim.cites:
                missing = _support(facts, [evidence[n - 1] for n in claim.cites])
                where = "".join(f"[{n}]" for n in claim.cites)
                problems += [f"「{f.surface}」不在所引资料{where}中" for f in missing]
            else:
                problems += [f"「{f.surface}」不在任何资料中" for f in _support(facts, evidence)]
        if not cited:
            problems.append("回答没有引用任何资料")

        citations = tuple(
            self._citation(n, [c for c in claims if n in c.cites], passages[n - 1]) for n in cited
        )
        return GroundingResult(
            text=text, citations=citations, problems=tuple(problems), repairs=tuple(repairs)
        )


__all__ = [
    "Claim",
    "Fact",
    "GroundingChecker",
    "GroundingResult",
    "answer_facts",
    "is_refusal",
    "join_claims",
    "split_claims",
    "strip_thinking",
    "zh_to_int",
]
