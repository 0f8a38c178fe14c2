"""Evaluation built into the product: run a QA set through the pipeline and score every stage.

Entry points:

* :func:`load_qa` reads a QA set (JSON Lines, see ``eval/README.md``), :func:`load_qa_files`
  several at once (ids unique across them); :func:`split_of` puts each question in one
  of two fixed halves (``calibrate`` to tune on, ``report`` to report on);
* :func:`evaluate` runs it through a :class:`~rag.pipeline.Pipeline` with one or more
  retrievers and returns an :class:`EvalReport` (``report.to_dict()`` is what
  ``rag eval --json`` prints; :mod:`rag.report` renders it as Markdown and HTML);
* :func:`check_thresholds` compares a report with recorded minimums (the CI gate).

What is measured, per retriever, overall and per question type:

* **retrieval** over answerable questions: hit@1/3/5/10, MRR@10 and nDCG@10 of the top-10
  passages, a passage being relevant when its text contains an evidence string
  (compared after :func:`rag.text.normalize_for_match`, which also joins column breaks);
* **answers**: *correct* when the answer contains a gold span after
  :func:`normalize_answer` (widths, spaces, punctuation, number formats); character F1
  against the best gold span; key-point recall for ``summary`` and ``list`` questions;
  the median answer length (characters, citation markers removed) and the share of
  correct answers whose first sentence already holds a gold span;
* **citations**: precision (cited passages that contain evidence), precision on the
  quoted sentence alone (:func:`quote_supports`), and the share of correct answers with
  at least one supporting cited passage;
* **refusals**: unanswerable questions refused (all of them, the near misses of an
  answerable question, the others), answerable questions wrongly refused;
* **latency** p50/p95 of each stage (the top-10 search, and ask's retrieve/generate/total).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import statistics
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rag.errors import InvalidInputError
from rag.text import CHINESE_DIGITS, CHINESE_LARGE_UNITS, normalize_for_match, zh_to_int
from rag.types import Answer, Chunk, Passage

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

#: Question types of the QA format, in the order reports list them.
QUESTION_TYPES: tuple[str, ...] = (
    "factoid",
    "numeric",
    "date",
    "paraphrase",
    "multi_hop",
    "temporal",
    "list",
    "summary",
    "unanswerable",
)
#: Types whose ``answers`` are key points to cover rather than alternative spellings.
KEYPOINT_TYPES: frozenset[str] = frozenset({"summary", "list"})
#: Cut-offs of hit@k.
HIT_KS: tuple[int, ...] = (1, 3, 5, 10)
#: Depth of the ranking scored by MRR and nDCG.
RANK_DEPTH = 10
#: The two halves of a QA set (see :func:`split_of`); ``all`` selects both.
SPLITS: tuple[str, ...] = ("calibrate", "report")
#: A quote shares at least this many normalised characters with an evidence string
#: (or all of a shorter one) to support it.
QUOTE_OVERLAP_CHARS = 8

# --------------------------------------------------------------------------- the QA set


@dataclass(frozen=True)
class QAItem:
    """One question of a QA set."""

    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    answerable: bool
    type: str
    note: str = ""
    #: For a near-miss unanswerable question: the id of the answerable question it varies.
    near_miss_of: str = ""
    #: For a near miss: the kind of constraint that was changed (year, edition, place, ...).
    changed: str = ""


def load_qa(path: Path | str) -> list[QAItem]:
    """Read a QA set (JSON Lines); raise :class:`InvalidInputError` naming the first bad line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise InvalidInputError(f"cannot read QA file {path}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"QA file {path} is not UTF-8") from None
    items: list[QAItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except ValueError as err:
            raise InvalidInputError(f"{where}: not valid JSON ({err.msg})") from None
        item = _qa_item(row, where)
        if item.id in seen:
            raise InvalidInputError(f"{where}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise InvalidInputError(f"QA file {path} holds no questions")
    return items


def _qa_item(row: Any, where: str) -> QAItem:
    if not isinstance(row, dict):
        raise InvalidInputError(f"{where}: expected a JSON object")
    missing = [k for k in ("id", "question", "answers", "evidence", "answerable", "type") if k not in row]
    if missing:
        raise InvalidInputError(f"{where}: missing field(s) {', '.join(missing)}")
    if row["type"] not in QUESTION_TYPES:
        raise InvalidInputError(
            f"{where}: type must be one of {', '.join(QUESTION_TYPES)}, got {row['type']!r}"
        )
    for key in ("answers", "evidence"):
        if not isinstance(row[key], list) or not all(isinstance(s, str) for s in row[key]):
            raise InvalidInputError(f"{where}: {key} must be a list of strings")
    if not isinstance(row["question"], str) or not row["question"].strip():
        raise InvalidInputError(f"{where}: question must be a non-empty string")
    if not isinstance(row["answerable"], bool):
        raise InvalidInputError(f"{where}: answerable must be true or false")
    if row["answerable"] and not (row["answers"] and row["evidence"]):
        raise InvalidInputError(f"{where}: an answerable question needs answers and evidence")
    if not row["answerable"] and (row["answers"] or row["evidence"]):
        raise InvalidInputError(f"{where}: an unanswerable question must have empty answers and evidence")
    return QAItem(
        id=str(row["id"]),
        question=row["question"].strip(),
        answers=tuple(row["answers"]),
        evidence=tuple(row["evidence"]),
        answerable=row["answerable"],
        type=row["type"],
        note=str(row.get("note") or ""),
        near_miss_of=str(row.get("near_miss_of") or ""),
        changed=str(row.get("changed") or ""),
    )


def load_qa_files(paths: Iterable[Path | str]) -> list[QAItem]:
    """Read several QA sets as one, in order; ids must be unique across all of them.

    Raises :class:`InvalidInputError` naming a duplicate id and the two files that hold it.
    """
    items: list[QAItem] = []
    origin: dict[str, Path] = {}
    for path in map(Path, paths):
        for item in load_qa(path):
            if item.id in origin:
                raise InvalidInputError(f"duplicate id {item.id!r}: in {origin[item.id]} and in {path}")
            origin[item.id] = path
            items.append(item)
    if not items:
        raise InvalidInputError("no QA file given")
    return items


def split_of(item_id: str) -> Literal["calibrate", "report"]:
    """The half of a QA set that question ``item_id`` belongs to, fixed by a hash of the id.

    SHA-256 of the UTF-8 id (not :func:`hash`, which changes between processes), so a
    question stays in its half across runs, machines and file orders: tune thresholds
    on ``calibrate``, report figures on ``report``.

    Example:
        >>> split_of("q001"), split_of("q002")
        ('calibrate', 'report')
    """
    return "calibrate" if hashlib.sha256(item_id.encode("utf-8")).digest()[-1] % 2 == 0 else "report"


def select_split(items: Iterable[QAItem], split: str) -> list[QAItem]:
    """The items of one half (``calibrate`` or ``report``, see :func:`split_of`), or all for ``all``."""
    if split == "all":
        return list(items)
    if split not in SPLITS:
        raise InvalidInputError(f"split must be one of all, {', '.join(SPLITS)}, got {split!r}")
    return [item for item in items if split_of(item.id) == split]


# --------------------------------------------------------------------------- answer matching

_CITATION_MARK = re.compile(r"\[\d+\]")
_CN = "".join(CHINESE_DIGITS)
# A Chinese numeral needs a digit (or starts with 十): 千余/百姓/万柏林 are words, not numbers.
_CN_NUMBER = re.compile(rf"(?:[{_CN}][{_CN}十百千万亿]*|十[{_CN}十百千万亿]*)(?:点[{_CN}]+)?")
_PERCENT_WORD = re.compile(rf"百分之([\d.]+|[{_CN}十百千点]+)")
_ARABIC_SCALED = re.compile(r"(\d+(?:\.\d+)?)([万亿]+)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# Unit spellings after NFKC (㎡ → m2, ㎢ → km2, ㎞ → km, ㎏ → kg); longest first.  Latin
# spellings count only right after a number, so that "pm2.5" keeps its "m2".
_AFTER_NUMBER = r"(?<=\d)\s*"
_NOT_WORD = r"(?![a-z0-9])"
_UNITS = [
    (re.compile(rf"平方公里|{_AFTER_NUMBER}km[2²]{_NOT_WORD}"), "平方公里"),
    (re.compile(rf"平方米|平米|{_AFTER_NUMBER}m[2²]{_NOT_WORD}"), "平方米"),
    (re.compile(rf"公里|千米|{_AFTER_NUMBER}km{_NOT_WORD}"), "公里"),
    (re.compile(rf"公斤|千克|{_AFTER_NUMBER}kg{_NOT_WORD}"), "公斤"),
]


def _cn_value(text: str) -> Decimal:
    """Value of a Chinese numeral: 四百三十五 → 435, 二〇二五 → 2025, 三点五 → 3.5, 三万 → 30000."""
    whole, _, frac = text.partition("点")
    value = Decimal(zh_to_int(whole) or 0)
    if frac:
        value += Decimal("0." + "".join(str(CHINESE_DIGITS[ch]) for ch in frac))
    return value


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _scaled(match: re.Match[str]) -> str:
    try:
        value = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
        return match.group(0)
    for ch in match.group(2):
        value *= CHINESE_LARGE_UNITS[ch]
    return _plain(value)


def normalize_answer(text: str) -> str:
    """Fold ``text`` so that equivalent answers compare equal as substrings.

    Citation markers ``[n]`` are dropped; widths, case, spaces and punctuation are folded
    as in :func:`rag.text.normalize_for_match`, except that ``%`` and a decimal point
    between digits are kept; units are unified (㎡/m2/平米 → 平方米, km → 公里 …);
    Chinese numerals become Arabic (四百三十五 → 435, 百分之七十 → 70%); thousands
    separators go; 万/亿 after a number are multiplied out (5111.5万 → 51115000).

    Example:
        >>> {normalize_answer(s) for s in ("435平方米", "435㎡", "四百三十五平方米", "４３５ 平米")}
        {'435平方米'}
    """
    text = _CITATION_MARK.sub("", text)
    text = unicodedata.normalize("NFKC", text).lower()
    for pattern, unit in _UNITS:
        text = pattern.sub(unit, text)
    text = _PERCENT_WORD.sub(r"\1%", text)
    text = _CN_NUMBER.sub(lambda m: _plain(_cn_value(m.group(0))), text)
    text = _THOUSANDS.sub("", text)
    text = _ARABIC_SCALED.sub(_scaled, text)
    kept = []
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        if unicodedata.category(ch).startswith("P") and ch != "%":
            between_digits = (
                ch == "." and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
            )
            if not between_digits:
                continue
        kept.append(ch)
    return "".join(kept)


def contains_answer(answer: str, golds: Iterable[str]) -> bool:
    """Whether ``answer`` contains one of the gold spans after :func:`normalize_answer`."""
    norm = normalize_answer(answer)
    return any(g and g in norm for g in (normalize_answer(s) for s in golds))


def char_f1(prediction: str, gold: str) -> float:
    """Character-level F1 (multiset overlap) of two strings after :func:`normalize_answer`.

    Example:
        >>> round(char_f1("面积435平方米", "435㎡"), 3)
        0.857
    """
    pred, ref = Counter(normalize_answer(prediction)), Counter(normalize_answer(gold))
    overlap = sum((pred & ref).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(pred.values())
    recall = overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def best_char_f1(prediction: str, golds: Iterable[str]) -> float:
    """The highest :func:`char_f1` of ``prediction`` against any gold span (0 when there are none)."""
    return max((char_f1(prediction, g) for g in golds), default=0.0)


def keypoint_recall(answer: str, points: Sequence[str]) -> float:
    """Share of ``points`` that ``answer`` mentions (each compared like :func:`contains_answer`)."""
    if not points:
        return 0.0
    norm = normalize_answer(answer)
    return sum(1 for p in points if (q := normalize_answer(p)) and q in norm) / len(points)


def plain_answer(text: str) -> str:
    """The answer text without citation markers ``[n]`` and surrounding whitespace."""
    return _CITATION_MARK.sub("", text).strip()


_SENTENCE_END = re.compile(r"[。！？]")


def first_sentence(text: str) -> str:
    """The answer's first sentence: markers removed, up to and with the first 。！？ (or all of it).

    Example:
        >>> first_sentence("山西展厅将亮相。[1]面积435平方米。[2]")
        '山西展厅将亮相。'
    """
    plain = plain_answer(text)
    end = _SENTENCE_END.search(plain)
    return plain[: end.end()] if end else plain


def longest_common_run(a: str, b: str) -> int:
    """Length of the longest common substring of ``a`` and ``b``.

    Example:
        >>> longest_common_run("山西展厅面积", "展厅面积很大")
        4
    """
    if not a or not b:
        return 0
    best = 0
    previous = [0] * (len(b) + 1)
    for ch in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, start=1):
            if ch == other:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def quote_supports(quote: str, answers: Sequence[str], evidence: Sequence[str]) -> bool:
    """Whether a cited quote, on its own, supports the answer.

    It does when it contains a gold span or key point (:func:`contains_answer`), or when
    it shares a run of at least :data:`QUOTE_OVERLAP_CHARS` characters (all of a shorter
    evidence string) with one of the ``evidence`` strings, both sides compared after
    :func:`rag.text.normalize_for_match`.
    """
    if answers and contains_answer(quote, answers):
        return True
    norm = normalize_for_match(quote)
    for text in evidence:
        wanted = normalize_for_match(text)
        if wanted and longest_common_run(norm, wanted) >= min(QUOTE_OVERLAP_CHARS, len(wanted)):
            return True
    return False


# --------------------------------------------------------------------------- ranking metrics


def hit_at(relevant: Sequence[bool], k: int) -> float:
    """1.0 when one of the first ``k`` results is relevant, else 0.0."""
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool], k: int = RANK_DEPTH) -> float:
    """1 / rank of the first relevant result within the first ``k`` (0.0 when none)."""
    return next((1.0 / rank for rank, rel in enumerate(relevant[:k], start=1) if rel), 0.0)


def ndcg_at(relevant: Sequence[bool], k: int = RANK_DEPTH, total_relevant: int | None = None) -> float:
    """Binary-relevance nDCG@k; the ideal ranking puts ``total_relevant`` hits first.

    ``total_relevant`` is how many relevant items exist in the whole collection
    (default: how many the ranking holds).

    Example:
        >>> round(ndcg_at([False, True], k=10, total_relevant=1), 4)
        0.6309
    """
    dcg = sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(relevant[:k], start=1) if rel)
    ideal_count = min(k, sum(relevant) if total_relevant is None else total_relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, ideal_count + 1))
    return dcg / ideal if ideal else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0–100, linear interpolation) or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


# --------------------------------------------------------------------------- evidence


class EvidenceMatcher:
    """Tells which chunks contain a question's evidence, comparing normalised texts.

    Normalising both sides (:func:`rag.text.normalize_for_match`) removes the line
    breaks a printed column break leaves inside a sentence, so evidence that crosses one
    still matches.  A chunk's title counts as part of it (an evidence string may be a
    headline).
    """

    def __init__(self, chunks: Iterable[Chunk] = ()) -> None:
        self._norms: dict[str, str] = {}
        self._all = list(chunks)
        for chunk in self._all:
            self._norm(chunk)

    def _norm(self, chunk: Chunk) -> str:
        norm = self._norms.get(chunk.id)
        if norm is None:
            norm = normalize_for_match(chunk.text) + "\x00" + normalize_for_match(chunk.title)
            self._norms[chunk.id] = norm
        return norm

    def supports(self, chunk: Chunk, evidence: Sequence[str]) -> bool:
        """Whether ``chunk`` contains one of the ``evidence`` strings."""
        norm = self._norm(chunk)
        return any(e and e in norm for e in (normalize_for_match(s) for s in evidence))

    def count(self, evidence: Sequence[str]) -> int:
        """How many chunks of the collection contain one of the ``evidence`` strings."""
        wanted = [e for e in (normalize_for_match(s) for s in evidence) if e]
        return sum(1 for c in self._all if any(e in self._norms[c.id] for e in wanted))


# --------------------------------------------------------------------------- one question


@dataclass(frozen=True)
class RetrievedPassage:
    """A passage as the report shows it."""

    rank: int
    chunk_id: str
    title: str
    date: str
    source: str
    text: str
    relevant: bool


@dataclass(frozen=True)
class QuestionResult:
    """Everything measured for one question with one retriever."""

    id: str
    type: str
    question: str
    answerable: bool
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    retrieved: tuple[RetrievedPassage, ...]
    relevant_in_index: int
    answer: str
    refused: bool
    correct: bool
    f1: float
    keypoint_recall: float | None
    citations: int
    citations_supported: int
    cited_dates: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    #: Citations whose quoted sentence itself supports the answer (:func:`quote_supports`).
    citations_supported_quote: int = 0
    #: For an unanswerable question: the id of the answerable question it is a near miss of.
    near_miss_of: str = ""

    @property
    def relevance(self) -> list[bool]:
        """Relevance of the retrieved passages, best first."""
        return [p.relevant for p in self.retrieved]

    @property
    def first_relevant_rank(self) -> int | None:
        """Rank of the first retrieved passage holding evidence (None when none does)."""
        return next((p.rank for p in self.retrieved if p.relevant), None)

    @property
    def failed(self) -> bool:
        """Wrong, wrongly refused, or answered although the pages do not say."""
        return (not self.correct) if self.answerable else (not self.refused)

    @property
    def answer_chars(self) -> int | None:
        """Length of the answer without citation markers (None when refused)."""
        return None if self.refused else len(plain_answer(self.answer))

    @property
    def first_sentence_gold(self) -> bool:
        """A correct answer whose first sentence already contains a gold span."""
        return self.correct and contains_answer(first_sentence(self.answer), self.answers)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["first_relevant_rank"] = self.first_relevant_rank
        data["failed"] = self.failed
        data["answer_chars"] = self.answer_chars
        data["first_sentence_gold"] = self.first_sentence_gold
        return data


def score_question(
    item: QAItem,
    passages: Sequence[Passage],
    answer: Answer,
    matcher: EvidenceMatcher,
    timings: Mapping[str, float] | None = None,
) -> QuestionResult:
    """Score one question from its ranked ``passages`` (top-10) and the pipeline's ``answer``."""
    retrieved = tuple(
        RetrievedPassage(
            rank=p.rank,
            chunk_id=p.chunk.id,
            title=p.chunk.title,
            date=p.chunk.date,
            source=p.chunk.source,
            text=p.chunk.text,
            relevant=bool(item.evidence) and matcher.supports(p.chunk, item.evidence),
        )
        for p in passages
    )
    chunks = {p.chunk.id: p.chunk for p in answer.passages}
    cited = [chunks[c.chunk_id] for c in answer.citations if c.chunk_id in chunks]
    supported = sum(1 for chunk in cited if item.evidence and matcher.supports(chunk, item.evidence))
    supported_quote = sum(
        1
        for c in answer.citations
        if item.answerable and quote_supports(c.quote, item.answers, item.evidence)
    )
    text = "" if answer.refused else answer.text
    correct = item.answerable and not answer.refused and contains_answer(text, item.answers)
    return QuestionResult(
        id=item.id,
        type=item.type,
        question=item.question,
        answerable=item.answerable,
        answers=item.answers,
        evidence=item.evidence,
        retrieved=retrieved,
        relevant_in_index=matcher.count(item.evidence) if item.evidence else 0,
        answer=answer.text,
        refused=answer.refused,
        correct=correct,
        f1=best_char_f1(text, item.answers) if item.answerable and text else 0.0,
        keypoint_recall=keypoint_recall(text, item.answers) if item.type in KEYPOINT_TYPES else None,
        citations=len(answer.citations),
        citations_supported=supported,
        cited_dates=tuple(c.date for c in answer.citations),
        timings=dict(timings or {}),
        citations_supported_quote=supported_quote,
        near_miss_of=str(getattr(item, "near_miss_of", "") or ""),
    )


# --------------------------------------------------------------------------- aggregates


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _median(values: Sequence[int]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


def summarize(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Every metric over ``results`` (None where no question applies), plus counts."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    with_evidence = [r for r in answerable if r.evidence]
    keypoint = [r.keypoint_recall for r in results if r.keypoint_recall is not None]
    correct = [r for r in answerable if r.correct]
    cited = [r for r in answerable if not r.refused]
    near_miss = [r for r in unanswerable if r.near_miss_of]
    other_unanswerable = [r for r in unanswerable if not r.near_miss_of]
    metrics: dict[str, Any] = {"questions": len(results), "answerable": len(answerable)}
    for k in HIT_KS:
        metrics[f"hit@{k}"] = _mean([hit_at(r.relevance, k) for r in with_evidence])
    metrics["mrr@10"] = _mean([reciprocal_rank(r.relevance, RANK_DEPTH) for r in with_evidence])
    metrics["ndcg@10"] = _mean(
        [ndcg_at(r.relevance, RANK_DEPTH, max(r.relevant_in_index, sum(r.relevance))) for r in with_evidence]
    )
    metrics["answer_accuracy"] = _ratio(len(correct), len(answerable))
    metrics["char_f1"] = _mean([r.f1 for r in answerable])
    metrics["keypoint_recall"] = _mean(keypoint)
    metrics["answer_first_sentence_gold"] = _ratio(sum(r.first_sentence_gold for r in correct), len(correct))
    metrics["median_answer_chars"] = _median([r.answer_chars for r in results if r.answer_chars is not None])
    metrics["citation_precision"] = _ratio(
        sum(r.citations_supported for r in cited), sum(r.citations for r in cited)
    )
    metrics["citation_precision_quote"] = _ratio(
        sum(r.citations_supported_quote for r in cited), sum(r.citations for r in cited)
    )
    metrics["correct_with_supporting_citation"] = _ratio(
        sum(1 for r in correct if r.citations_supported), len(correct)
    )
    metrics["unanswerable_refused"] = _ratio(sum(r.refused for r in unanswerable), len(unanswerable))
    metrics["near_miss_refused"] = _ratio(sum(r.refused for r in near_miss), len(near_miss))
    metrics["other_unanswerable_refused"] = _ratio(
        sum(r.refused for r in other_unanswerable), len(other_unanswerable)
    )
    metrics["answerable_refused"] = _ratio(sum(r.refused for r in answerable), len(answerable))
    metrics["failed"] = sum(r.failed for r in results)
    return metrics


def latency(results: Sequence[QuestionResult]) -> dict[str, dict[str, float | None]]:
    """p50/p95 (and mean) milliseconds of each timed stage."""
    stages = sorted({s for r in results for s in r.timings})
    out: dict[str, dict[str, float | None]] = {}
    for stage in stages:
        values = [r.timings[stage] for r in results if stage in r.timings]
        out[stage] = {
            "p50": _round(percentile(values, 50)),
            "p95": _round(percentile(values, 95)),
            "mean": _round(statistics.fmean(values) if values else None),
        }
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass(frozen=True)
class RunResult:
    """One retriever's results over the whole QA set."""

    retriever: str
    results: tuple[QuestionResult, ...]

    @property
    def summary(self) -> dict[str, Any]:
        """Metrics over every question."""
        return summarize(self.results)

    @property
    def by_type(self) -> dict[str, dict[str, Any]]:
        """Metrics per question type, in :data:`QUESTION_TYPES` order."""
        return {
            t: summarize(group) for t in QUESTION_TYPES if (group := [r for r in self.results if r.type == t])
        }

    @property
    def latency(self) -> dict[str, dict[str, float | None]]:
        """Latency per stage over every question."""
        return latency(self.results)

    @property
    def latency_by_type(self) -> dict[str, dict[str, dict[str, float | None]]]:
        """Latency per stage, per question type."""
        return {
            t: latency(group) for t in QUESTION_TYPES if (group := [r for r in self.results if r.type == t])
        }

    @property
    def failures(self) -> list[QuestionResult]:
        """The questions that went wrong, in file order."""
        return [r for r in self.results if r.failed]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the summary, the per-type tables, latency and every question."""
        return {
            "retriever": self.retriever,
            "summary": self.summary,
            "by_type": self.by_type,
            "latency": self.latency,
            "latency_by_type": self.latency_by_type,
            "questions": [r.to_dict() for r in self.results],
        }


@dataclass(frozen=True)
class EvalReport:
    """The outcome of :func:`evaluate`: one :class:`RunResult` per retriever, plus context."""

    qa_file: str
    runs: tuple[RunResult, ...]
    context: dict[str, Any] = field(default_factory=dict)

    def run(self, retriever: str) -> RunResult:
        """The run of one retriever (KeyError when it was not run)."""
        for run in self.runs:
            if run.retriever == retriever:
                return run
        raise KeyError(retriever)

    def to_dict(self) -> dict[str, Any]:
        """The document ``rag eval --json`` prints."""
        return {"qa_file": self.qa_file, "context": self.context, "runs": [r.to_dict() for r in self.runs]}


# --------------------------------------------------------------------------- the runner

#: Called after each question with (questions done, questions in total, retriever).
ProgressCallback = Callable[[int, int, str], None]


def run_question(pipeline: Pipeline, item: QAItem, mode: str, matcher: EvidenceMatcher) -> QuestionResult:
    """Search (top-10, for the ranking metrics) and ask (as the product does), then score."""
    t0 = time.perf_counter()
    passages = pipeline.search(item.question, top_k=RANK_DEPTH, mode=mode)  # type: ignore[arg-type]
    t1 = time.perf_counter()
    answer = pipeline.ask(item.question, mode=mode)  # type: ignore[arg-type]
    t2 = time.perf_counter()
    timings = {"search_top10_ms": (t1 - t0) * 1000, "ask_total_ms": (t2 - t1) * 1000}
    for stage in ("retrieve_ms", "generate_ms"):
        if stage in answer.timings:
            timings[f"ask_{stage}"] = float(answer.timings[stage])
    return score_question(item, passages, answer, matcher, timings)


def evaluate(
    pipeline: Pipeline,
    items: Sequence[QAItem],
    retrievers: Sequence[str] | None = None,
    *,
    qa_file: str = "",
    progress: ProgressCallback | None = None,
) -> EvalReport:
    """Run every question through ``pipeline`` once per retriever and score it.

    ``retrievers`` are retriever modes (hybrid, dense, bm25); default: the configured one.
    All runs use the same index, loaded once.
    """
    from rag.retrieve import RETRIEVER_MODES

    modes = list(retrievers or [pipeline.retriever_settings.mode])
    unknown = [m for m in modes if m not in RETRIEVER_MODES]
    if unknown:
        raise InvalidInputError(f"unknown retriever {unknown[0]!r}: choose from {', '.join(RETRIEVER_MODES)}")
    if len(set(modes)) != len(modes):
        raise InvalidInputError("each retriever may be compared only once")
    matcher = EvidenceMatcher(pipeline.index.chunks())
    pipeline.warm_up()
    runs = []
    for mode in modes:
        results = []
        for done, item in enumerate(items, start=1):
            results.append(run_question(pipeline, item, mode, matcher))
            if progress:
                progress(done, len(items), mode)
        runs.append(RunResult(retriever=mode, results=tuple(results)))
    settings = pipeline.settings
    context = {
        **pipeline.stats(),
        "top_k": settings.top_k,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "retriever_settings": asdict(pipeline.retriever_settings),
        "index_dir": str(settings.index_dir),
        "evidence_not_in_index": [
            {"id": item.id, "evidence": e} for item in items for e in item.evidence if not matcher.count([e])
        ],
    }
    return EvalReport(qa_file=qa_file, runs=tuple(runs), context=context)


# --------------------------------------------------------------------------- thresholds


def check_thresholds(summary: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
    """Compare a run's summary with recorded thresholds; return one line per metric that fails.

    ``thresholds["metrics"]`` maps a metric name to ``{"min": x}`` or ``{"max": x}``
    (other keys, such as the measured figure, are notes for people).
    """
    failures: list[str] = []
    for name, rule in thresholds.get("metrics", {}).items():
        value = summary.get(name)
        if value is None:
            failures.append(f"{name}: not measured")
            continue
        if "min" in rule and value < rule["min"]:
            failures.append(f"{name} = {value:.4f} is below the minimum {rule['min']}")
        if "max" in rule and value > rule["max"]:
            failures.append(f"{name} = {value:.4f} is above the maximum {rule['max']}")
    return failures


def load_thresholds(path: Path | str) -> dict[str, Any]:
    """Read a thresholds file (see ``eval/thresholds.json``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InvalidInputError(f"cannot read thresholds file {path}: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise InvalidInputError(f"thresholds file {path} must be an object with a 'metrics' object")
    return data
