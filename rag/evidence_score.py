"""Answerability: how well a sentence that may answer does, as one calibrated score.

Each sentence gets lexical coverage (:func:`coverage`: idf-weighted share of the question's
words found in the sentence and, with less credit, its headline and passage), dense
similarity (the question's vector against the sentence vector stored in the index at
ingest) and penalties for the question's nouns its article or sentence does not print
(:func:`missing_nouns`, :func:`nouns_apart`).  :class:`AnswerabilityModel` combines them;
its refusal threshold is calibrated on data (``eval/calibrate.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rag.evidence_match import abbreviates, abbreviates_word, article_text, local, misprinted, without_asides
from rag.question import QuestionAnalysis
from rag.question_constraints import dictionary_frequency, tag
from rag.text import normalize_for_match
from rag.types import Article

if TYPE_CHECKING:
    from rag.evidence import Candidate, Library


def missing_nouns(
    analysis: QuestionAnalysis,
    article: Article,
    library: Library | None,
    printed: Sequence[str] | None = None,
) -> tuple[float, float, float]:
    """Shares of the question's nouns that ``article`` does not print: (printed elsewhere, never printed).

    A noun the archive prints elsewhere but not here (大同 asked, 太原 printed) points at
    another story; a noun it never prints (甲烷, 地铁) may be a metric the pages lack, or a
    reader's own word for one they have (马路 for 道路), so the two are weighed apart.
    ``printed``: the normalised texts of the retrieved articles; "elsewhere" is then one of
    them, since a large archive prints every common word (元素, 观众) in some unrelated story.
    """
    if not analysis.nouns:
        return 0.0, 0.0, 0.0

    text = article_text(article)
    missing = unseen = names = 0
    for noun in analysis.nouns:
        # One noun the archive prints elsewhere but this article does not is enough to
        # point at another story (水塔醋业 asked, 紫林醋业 printed): counted once, not diluted.
        norm = local(noun)
        if norm in text or (len(norm) == 3 and abbreviates(norm, text)) or misprinted(norm, text):
            continue
        if library is not None and library.document_frequency(noun) == 0:
            if abbreviates_word(norm, text):
                continue  # the reader's contraction of a word the article prints (自科: 自然科学基金)
            if _name_like(noun, tag(noun)):
                names += 1
            else:
                unseen += 1
        elif _tagged_name(noun):
            # 西安 asked, 合肥 printed: a place or person the archive prints elsewhere (as a larger
            # archive always does) points at another story as surely as one it never prints.
            names += 1
        elif printed is not None and not any(norm in other for other in printed):
            unseen += 1  # no story at hand prints it: it points at none of them
        else:
            missing += 1
    n = len(analysis.nouns)
    return float(missing > 0), unseen / n, names / n


def _tagged_name(word: str) -> bool:
    """Whether the tagger reads ``word`` as one place, person or organisation name (西安, 德国)."""
    tags = tag(word)
    return len(tags) == 1 and tags[0][1] in ("ns", "nr", "nt")


def _name_like(word: str, tags: tuple[tuple[str, str], ...]) -> bool:
    """Whether a word reads as a name: tagged as one, or unknown to jieba's dictionary (六味斋, 太重)."""
    if any(flag in ("ns", "nr", "nt", "nz", "nrt", "eng") for _, flag in tags):
        return True
    return dictionary_frequency(word) == 0


@lru_cache(maxsize=64)
def _normalised(body: str) -> str:
    """``body`` folded for matching, once per article (each of its sentences asks for it)."""
    return local(normalize_for_match(body))


def nouns_apart(
    analysis: QuestionAnalysis,
    sentence: str,
    title: str,
    library: Library | None = None,
    printed: Sequence[str] | None = None,
    body: str = "",
) -> float:
    """Share of the question's nouns and compound names that neither ``sentence`` nor the headline prints.

    The article satisfies the names already; here they say which of its sentences is about
    them (山西产业合作推介会 asked: the sentence on it, not the one on 山西之夜).  ``printed``:
    the normalised texts of the articles retrieved; a noun none of them prints is the reader's
    own here as much as one the archive never prints.  ``body``: the article, which must print
    one noun at least of a leading clause setting the scene (…高校搞火灾逃生练习时，来了多少…).
    """
    # A numbered unit (第12窟) is, like an edition, the article's: the sentence answering may not repeat it.
    names = [
        str(c.value)
        for c in analysis.constraints
        if c.kind in ("name", "quoted") and len(str(c.value)) >= 4 and not str(c.value).startswith("第")
    ]
    nouns = list(analysis.nouns)
    asked = re.split(r"[，,；;]", analysis.text)[-1]
    scene = [w for w in nouns if local(w) not in local(normalize_for_match(asked))]
    if library is not None and body and asked != analysis.text:
        # 1998's 台下…100多名在校中学生 for a Shanxi university's fire drill: an article printing
        # none of the scene's words (高校, 火灾) is another story, whatever its sentence counts.
        scene = [w for w in scene if library.document_frequency(w) > 0]
        story = _normalised(body)
        if scene and not any(local(w) in story for w in scene):
            return 1.0
    if library is not None:
        # A noun the archive never prints is the reader's own (外国货, 展示区): it says nothing
        # about which sentence answers.  Constrained names stay: the article prints them.
        nouns = [w for w in nouns if library.document_frequency(w) > 0]
        if printed is not None:
            nouns = [w for w in nouns if any(local(w) in text for text in printed)]
        if analysis.nouns and not nouns and not names:
            return 1.0  # none of the question's nouns is ever printed: nothing ties a sentence to it
    # 太原企业去进博会，展会在哪个场馆举办: a leading clause sets the scene the article already
    # satisfies; the sentence answering is the one about the asked clause.
    if asked != analysis.text:
        nouns = [w for w in nouns if local(w) in local(normalize_for_match(asked))]
    wanted = [*nouns, *names]
    if not wanted:
        return 0.0
    text = local(normalize_for_match(title + sentence))
    return sum(1 for n in wanted if local(n) not in text) / len(wanted)


def term_weights(
    analysis: QuestionAnalysis, library: Library | None, printed: Sequence[str] | None = None
) -> dict[str, float]:
    """idf weight of each question term; a word the archive's index never saw is negative: it
    counts for a sentence printing it and never against one that does not.

    ``printed``: the normalised texts of the articles retrieved; a word none of them prints is
    treated as unseen too when it is wording, not a noun (自称, 后来, 离开: a large archive prints
    such a word somewhere, always, and that says nothing about which of these articles answers).
    """
    terms = [t for t in analysis.terms if normalize_for_match(t)]
    terms = [t for t in terms if not any(t != o and t in o for o in terms)]
    weights: dict[str, float] = {}
    for term in terms:
        unseen = False
        if library is not None:
            # Unseen as a token is not unprinted: jieba cut 谭姝淘 as one word, the question 谭姝|淘.
            unseen = library.document_frequency(term) == 0
            if not unseen and printed is not None and _wording(term):
                norm = local(normalize_for_match(term))
                unseen = not any(norm in text for text in printed)
            if unseen and len(term) < 2:
                continue
            idf = library.idf(term)
        else:
            idf = 1.0
        weight = max(idf, 0.1) * (0.5 if len(term) == 1 else 1.0)
        if analysis.category and term in analysis.category:
            weight *= 2.0  # 有什么感受: the sentence about the 感受 answers, not the one naming the man
        # An unseen word counts only where it is printed (a negative weight says so).
        weights[local(normalize_for_match(term))] = -weight if unseen else weight
    return weights


#: Part-of-speech flags of a reader's wording rather than of a fact asked about: verbs,
#: adverbs, time words, adjectives, pronouns, idioms and set phrases, a pronoun glued to its
#: measure word (自称, 后来, 离开, 不必, 从头到尾, 那条).
_WORDING_FLAGS = frozenset({"v", "vd", "vi", "d", "t", "a", "ad", "r", "i", "l", "mq"})


def _wording(term: str) -> bool:
    """Whether every word of ``term`` is tagged as wording (a verb, adverb, time word…), not a noun."""
    tags = tag(term)
    return bool(tags) and all(flag in _WORDING_FLAGS for _, flag in tags)


def coverage(weights: dict[str, float], sentence: str, context: str) -> float:
    """Weighted share of question terms in ``sentence``, with 0.5 credit for those only in ``context``."""
    norm = without_asides(sentence)
    total = got = 0.0
    for term, weight in weights.items():
        if weight < 0:
            # Never counted against a sentence: only where it is printed.
            if term in norm:
                total, got = total - weight, got - weight
            continue
        total += weight
        if term in norm:
            got += weight
        elif term in context:
            got += 0.5 * weight
    return got / total if total else 0.0


@dataclass(frozen=True)
class AnswerabilityModel:
    """``score = coverage + dense_weight · max(0, dense − dense_floor)``; refuse below ``threshold``.

    The defaults were fitted on the calibration half of the dev and near-miss sets with the
    default embedding model (``eval/calibrate.py``, result in ``eval/answerability.json``).
    """

    dense_weight: float = 1.0
    dense_floor: float = 0.75
    missing_weight: float = 0.0
    unseen_weight: float = 0.0
    unseen_name_weight: float = 4.0
    apart_weight: float = 0.25
    threshold: float = 0.395

    @classmethod
    def for_embedder(cls, name: str) -> AnswerabilityModel:
        """The model calibrated for embedder ``name``: lexical-only for the hashing test fake.

        Dense similarities mean something only for the model they were calibrated with; the
        hashing fake's are noise, so its model ignores them (``eval/calibrate.py --lexical``).
        """
        if name.startswith("hashing"):
            return LEXICAL_MODEL
        return cls()

    def answers(self, candidates: Sequence[Candidate]) -> bool:
        """Whether the best of ``candidates`` (best first) reaches the refusal threshold."""
        return bool(candidates) and candidates[0].score >= self.threshold

    def score(
        self,
        coverage: float,
        dense: float,
        missing: float = 0.0,
        unseen: float = 0.0,
        unseen_names: float = 0.0,
        apart: float = 0.0,
    ) -> float:
        """The answerability of one sentence."""
        return (
            coverage
            + self.dense_weight * max(0.0, dense - self.dense_floor)
            - self.missing_weight * missing
            - self.unseen_weight * unseen
            - self.unseen_name_weight * unseen_names
            - self.apart_weight * apart
        )


#: Calibrated with ``eval/calibrate.py --lexical`` (dense similarity switched off).
LEXICAL_MODEL = AnswerabilityModel(
    dense_weight=0.0,
    missing_weight=0.0,
    unseen_weight=0.0,
    unseen_name_weight=4.0,
    apart_weight=0.0,
    threshold=0.377,
)


__all__ = [
    "LEXICAL_MODEL",
    "AnswerabilityModel",
    "coverage",
    "missing_nouns",
    "nouns_apart",
    "term_weights",
]
