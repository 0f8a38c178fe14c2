"""Evidence: the sentences that may answer an analysed question, best first.

:func:`gather` reads the sentences of the retrieved passages.  Two tests decide whether a
sentence can support an answer at all:

1. its **article satisfies every hard constraint** of the question
   (:func:`rag.evidence_match.satisfies`): the edition, year, month and day, the named
   people, places and organisations, the figures and quoted terms;
2. for a question that asks for a typed answer (a figure with its unit, a date, a name),
   the sentence **holds a span of that type** that the question does not already state
   (:func:`rag.evidence_spans.typed_spans`), about the thing counted (多少家**企业**).

Each sentence that passes becomes a :class:`Candidate`, scored by
:class:`rag.evidence_score.AnswerabilityModel` (lexical coverage, dense similarity against the
sentence vectors stored at ingest; its threshold is calibrated by ``eval/calibrate.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.answer_types import person_names
from rag.evidence_counts import about_head, about_wider_area
from rag.evidence_match import (
    abbreviates,
    about_another_district,
    article_text,
    editions_in_force,
    local,
    misprinted,
    reported_edition,
    reports_another_period,
    satisfies,
)
from rag.evidence_score import AnswerabilityModel, coverage, missing_nouns, nouns_apart, term_weights
from rag.evidence_sentences import sentences_in, with_best_article
from rag.evidence_spans import COUNTERPART_MARKS, outside_question, typed_spans
from rag.question import QuestionAnalysis
from rag.question_constraints import Constraint, dictionary_frequency, plain_noun
from rag.text import normalize_for_match
from rag.types import Article, Chunk, Passage


class SentenceVectors(Protocol):
    """An article's quotable sentences with their vectors (``rag.index_records.SentenceTable`` is one)."""

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        """``(start, end)`` of each sentence in the article body."""
        ...

    @property
    def vectors(self) -> np.ndarray:
        """One L2-normalised vector a sentence, in the order of :attr:`spans`."""
        ...


class Library(Protocol):
    """What answering reads from the index besides the passages (``rag.index.Index`` is one)."""

    def article(self, article_id: str) -> Article:
        """The article with ``article_id``."""
        ...

    def sentences(self, article_id: str) -> SentenceVectors | None:
        """The article's quotable sentences with their vectors."""
        ...

    def query_vector(self, text: str) -> np.ndarray:
        """The (cached) query embedding of ``text``."""
        ...

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token."""
        ...

    def document_frequency(self, token: str) -> int:
        """Number of chunks holding a token."""
        ...

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """The chunks of an article, in order."""
        ...

    @property
    def articles(self) -> Mapping[str, Article]:
        """Every article by id (what the paper printed on a date is not only what retrieval ranked)."""
        ...


@dataclass(frozen=True)
class Candidate:
    """A sentence that may answer: where it is, what it holds, how well it matches."""

    passage: Passage
    article: Article
    start: int  # offsets into the article body
    end: int
    text: str
    coverage: float
    dense: float
    #: Answer spans of the expected type inside ``text`` (offsets into ``text``), best first.
    spans: tuple[tuple[int, int], ...] = ()
    score: float = 0.0
    #: Weighted share of the question's nouns that the article does not print, split into
    #: nouns the archive prints elsewhere and nouns it never prints.
    missing: float = 0.0
    unseen: float = 0.0
    #: Share of never-printed nouns that are names (tagged as places, people, organisations).
    unseen_names: float = 0.0
    #: Share of the question's nouns that neither the sentence nor the headline prints
    #: (甲烷产率 asked, the sentence reports 二氧化碳产率).
    apart: float = 0.0
    #: Fixed preferences added to the score (passage rank, a printed day for 哪天…).
    bonus: float = 0.0

    @property
    def span_text(self) -> str:
        """The best typed span, or '' when the question asks for no type."""
        if not self.spans:
            return ""
        s, e = self.spans[0]
        return self.text[s:e]


_STREET = re.compile(r"(?:路|街|大道)$")
_COUNTERPART_ASKED = re.compile(r"[和与跟同给为向]谁|[和与跟同给为向](?:哪家|哪个|哪些)")
_SPEECH = re.compile(r"表示|说|指出|介绍|认为|强调|坦言|感慨")
_NEW_NAME = re.compile(r"[“《]([^”》]{2,30})[”》]")
#: The whole a figure is taken of (占全国, 全省第一), and how the paper also writes it.
_SCOPES = {
    "全国": ("全国", "我国", "国内"),
    "全省": ("全省", "我省", "省内"),
    "全市": ("全市", "我市", "市内"),
}


def _another_scope(text: str, scope: str) -> bool:
    """Whether ``text`` speaks of another whole than the question's ``scope`` and never of it."""
    if any(w in text for w in _SCOPES[scope]):
        return False
    return any(w in text for name, words in _SCOPES.items() if name != scope for w in words[:1])


def gather(
    analysis: QuestionAnalysis,
    passages: Sequence[Passage],
    library: Library | None,
    model: AnswerabilityModel,
) -> tuple[list[Candidate], dict[str, list[Constraint]]]:
    """Every sentence of ``passages`` that may answer, best first, and the constraints each article failed."""
    one_each = {p.chunk.article_id: p for p in passages}.values()  # what the retrieved articles print
    printed = None if library is None else [local(article_text(_article_of(p, library))) for p in one_each]
    weights = term_weights(analysis, library, printed)
    query = library.query_vector(analysis.text) if library is not None else None
    failed: dict[str, list[Constraint]] = {}
    candidates: list[Candidate] = []
    seen: set[tuple[str, int]] = set()
    missing_of: dict[str, tuple[float, float, float]] = {}
    streets = [c for c in analysis.constraints if c.kind == "place" and _STREET.search(str(c.value))]
    # Required even when the archive never prints it: a metric the pages lack (特等奖, 间接经费)
    # is the commonest near miss, and refusing it beats guessing a reader's synonym.
    focus = analysis.focus
    # Who said a short quoted phrase (精致清徐): it is printed in the speaker's sentence or one beside it;
    # a long quote is the gist of what was said, not its wording.
    quoted = [c.text for c in analysis.constraints if c.kind == "quoted" and len(c.text) <= 20]
    said = quoted if analysis.answer_type == "person" else []
    editions = {int(c.value) for c in analysis.constraints if c.kind == "edition"}
    current = _CURRENT_EDITION.search(analysis.text) is not None
    # The asked kind of thing (场馆, 号码), when it is a noun (not 天开 cut from 哪天开的).
    category = local(normalize_for_match(analysis.category)) if plain_noun(analysis.category) else ""
    scope = next((name for name, words in _SCOPES.items() if any(w in analysis.text for w in words)), "")
    for passage in passages:
        chunk = passage.chunk
        article = _article_of(passage, library)
        if article.id not in failed:
            failed[article.id] = satisfies(analysis, article)
        if failed[article.id]:
            continue
        sections = _sections(article) if article.kind == "roundup" else None
        if article.id not in missing_of:
            missing_of[article.id] = missing_nouns(analysis, article, library, printed)
        missing, unseen, unseen_names = missing_of[article.id]
        context = local(normalize_for_match(article.title + chunk.text))
        for start, end, vector in sentences_in(passage, article, library):
            if (article.id, start) in seen:
                continue
            seen.add((article.id, start))
            text = article.body[start:end]
            in_force = editions_in_force(article.body, start, end) if editions or current else set()
            if in_force and not in_force & (editions or {reported_edition(article.body) or 0}):
                # 第七届 asked; the article recalls it, but this sentence is about 本届 (第八届).
                # 最近一届 asked: a sentence recalling 第六届 is about an earlier one.
                continue
            if scope and _another_scope(text, scope):
                continue  # 占全国的比例 asked; the sentence's 80% is a share of 全省
            if focus and not all(_mentions(word, article, start, end) for word in focus):
                continue  # 产值达到多少 asked; the sentence's figure measures 配套率
            if said and not all(_beside(word, article.body, start, end) for word in said):
                continue  # 表示要打造“精致清徐”的是谁: the speaker whose words print it
            lo, hi = 0, len(article.body)
            if sections is not None:
                lo, hi = next(((a, b) for a, b in sections if a <= start < b), (lo, hi))
            # The headline, or a round-up item's heading (中北高新区), says what a sentence is about.
            about = article.title + (article.body[lo : article.body.find("\n", lo, start) + 1] if lo else "")
            if not all(_mentions(str(c.value), article, start, end) for c in streets):
                continue  # 机场东路 asked; the article names it once, the figure is 经北街's
            if about_another_district(text, analysis, about):
                continue  # 清徐县…局 asked; the sentence quotes 阳曲县's head of the same office
            if sections is not None:
                # A round-up holds one item per district: the item must satisfy the question.
                item = Article(
                    article.id, article.title, article.body[lo:hi], article.source, article.date, "news"
                )
                if satisfies(analysis, item):
                    continue
            spans: tuple[tuple[int, int], ...] = ()
            if analysis.expectation is not None:
                kind = analysis.expectation.kind
                found = [
                    s
                    for s in typed_spans(text, analysis)
                    if about_head(text, s, analysis.head, kind, analysis.text)
                    and not reports_another_period(analysis.text, text, s[0], _year_of(article.date))
                    and not about_wider_area(text, s, analysis)
                ]
                if not found:
                    continue
                spans = tuple(found)
            # 哪个场馆: a span of the asked kind (国家会展中心) is the 场馆; the word need not be printed.
            cov = coverage(weights, text + category if spans else text, context)
            dense = float(query[0] @ vector) if query is not None and vector is not None else 0.0
            apart = nouns_apart(analysis, text, article.title, library, printed, article.body)
            bonus = _preference(analysis, text, spans, missing, apart, article.body) + 0.02 / passage.rank
            score = model.score(cov, dense, missing, unseen, unseen_names, apart) + bonus
            candidates.append(
                Candidate(
                    passage,
                    article,
                    start,
                    end,
                    text,
                    cov,
                    dense,
                    spans,
                    score,
                    missing,
                    unseen,
                    unseen_names,
                    apart,
                    bonus,
                )
            )
    candidates.sort(key=lambda c: -c.score)
    return candidates, failed


#: Words that make the figure after them a bound, not a value (突破80项, 超过100项).
_BOUND = re.compile(r"(?:突破|超过|逾|超)$")


def _preference(
    analysis: QuestionAnalysis,
    text: str,
    spans: Sequence[tuple[int, int]],
    missing: float = 0.0,
    apart: float = 0.0,
    body: str = "",
) -> float:
    """Small fixed preferences among sentences of the same article (not part of the calibrated model).

    ``missing`` is :func:`rag.evidence_score.missing_nouns`' first share: an article lacking a
    noun the archive prints elsewhere is likely another story, so its sentences get no
    preference for stating the asked category.
    """
    bonus = 0.0
    if spans and analysis.typed and all(_BOUND.search(text, max(0, s - 3), s) for s, _ in spans):
        # 首次突破80项 states a bound; 青年科学基金项目89项 in the next sentence is the figure.
        bonus -= 0.05
    if spans and analysis.expectation is not None and analysis.expectation.kind == "date":
        # 哪天: a sentence printing the day beats one printing only the year.
        bonus += 0.1 * any(re.search(r"[日号]", text[s:e]) for s, e in spans)
    if (
        analysis.category
        and analysis.expectation is None
        and analysis.category in local(normalize_for_match(text))
        and not missing
        and apart <= 0.5  # 晋悦诚…展出的是什么产品: not a colleague's 文创产品 two sentences on
        and not _subject_elsewhere(analysis, text, body)
    ):
        bonus += 0.5  # 有什么感受: the sentence stating the 感受, not the one naming the man
    if spans and _COUNTERPART_ASKED.search(analysis.text):
        # 和谁签了合同: the counterpart follows 与/和/供/为… in the sentence.
        bonus += 0.3 * any(text[max(0, s - 1) : s] in COUNTERPART_MARKS for s, _ in spans)
    if (
        spans
        and _SPEECH.search(analysis.text)
        and analysis.expectation
        and analysis.expectation.kind == "person"
    ):
        # 表示要打造“精致清徐”的是谁: the one the sentence has speaking, not the one it mentions.
        bonus += 0.2 * any(_SPEECH.match(text, e, e + 4) for _, e in spans)
    if analysis.kind == "what":
        # 哪款游戏 / 什么主题: a sentence introducing a quoted name answers it.
        bonus += 0.1 * any(outside_question(m.group(1), analysis) for m in _NEW_NAME.finditer(text))
    return bonus


def _subject_elsewhere(analysis: QuestionAnalysis, text: str, body: str) -> bool:
    """Whether ``text`` is about another person than the question's fullest name, which the article prints.

    极地科考团队长期从事什么工作: the sentence naming the 团队 answers, not a colleague's
    sentence ending in …等工作.
    """
    names = [str(c.value) for c in analysis.constraints if c.kind in ("organisation", "person")]
    name = max(names, key=len, default="")
    if not (len(name) >= 4 and name in body and name not in text):
        return False
    from rag.parse import is_person_name  # the parser imports the answerer's modules

    # 该公司/该项目 stands for the name; another person named in the sentence is its subject instead.
    return any(p not in analysis.text and is_person_name(p) for p in person_names(text))


#: The edition an article reports, asked without its number.
_CURRENT_EDITION = re.compile(r"最近一届|最新一届|本届|这一?届|今年的?(?:进博会|农交会|博览会)")


def _beside(phrase: str, body: str, start: int, end: int) -> bool:
    """Whether ``phrase`` is printed in ``body[start:end]`` or in the sentence before or after it."""
    lo = body.rfind("。", 0, max(start - 1, 0)) + 1
    hi = body.find("。", end)
    return phrase in body[lo : hi if hi >= 0 else len(body)]


def _mentions(noun: str, article: Article, start: int, end: int) -> bool:
    """Whether the sentence at ``start:end``, the one before it, the headline or the lead prints ``noun``.

    The lead states what the whole article is about (这也是太钢的首单不锈钢复合板订单): a
    figure paragraphs later is still that order's.
    """
    before = article.body.rfind("。", 0, max(start - 1, 0))
    lead_end = article.body.find("。") + 1
    window = article.title + article.body[:lead_end] + article.body[max(before, 0) : end]
    text = local(normalize_for_match(window))
    noun = local(noun)
    # A common word (马路) is no contraction of a name: 马练营路 does not print it.
    contracted = len(noun) <= 3 and dictionary_frequency(noun) < 500 and abbreviates(noun, text)
    return noun in text or contracted or misprinted(noun, text)


def _sections(article: Article) -> list[tuple[int, int]]:
    """Spans of a round-up's items: each starts at a short label line (小店区, 古交市…)."""
    starts, pos = [0], 0
    for line in article.body.split("\n"):
        if 0 < len(line) <= 8 and not re.search(r"[，。,；]", line):
            starts.append(pos)
        pos += len(line) + 1
    starts = sorted(set(starts))
    return list(zip(starts, [*starts[1:], len(article.body)], strict=True))


def _year_of(date: str) -> int:
    """The year of an ISO date, or 0 when it has none."""
    return int(date[:4]) if date[:4].isdigit() else 0


def _article_of(passage: Passage, library: Library | None) -> Article:
    chunk = passage.chunk
    if library is not None:
        try:
            return library.article(chunk.article_id)
        except Exception:  # noqa: BLE001 - an index swapped under us: fall back to the chunk
            pass
    # Without an index the chunk stands for its article (offsets shifted to the chunk).
    body = " " * chunk.start + chunk.text
    return Article(chunk.article_id, chunk.title, body, chunk.source, chunk.date, "news")


def gather_widening(
    analysis: QuestionAnalysis,
    passages: Sequence[Passage],
    library: Library | None,
    model: AnswerabilityModel,
) -> tuple[list[Candidate], dict[str, list[Constraint]]]:
    """:func:`gather`, and when no retrieved sentence answers, again over all of the best passage's
    article: only then, so a sentence that was not retrieved never displaces one that was."""
    found = gather(analysis, passages, library, model)
    if model.answers(found[0]):
        return found
    wider = gather(analysis, with_best_article(passages, library), library, model)
    return wider if model.answers(wider[0]) else found


__all__ = ["Candidate", "Library", "SentenceVectors", "gather", "gather_widening"]
