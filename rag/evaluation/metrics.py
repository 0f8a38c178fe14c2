"""Every metric of the evaluation tooling, in one place: ``rag eval`` and ``rag bench`` both score here.

What is measured, per retriever, overall and per question type (:func:`summarize`):

* **retrieval** over answerable questions: hit@1/3/5/10, MRR@10 and nDCG@10 of the top-10
  passages, a passage being relevant when its text contains an evidence string
  (compared after :func:`rag.text.normalize_for_match`, which also joins column breaks);
  the benchmarks report the same hit rates and MRR from the rank of the gold paragraph
  (:func:`rank_scores`);
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
* **latency** p50/p95 of each stage (:func:`latency`); **drift** towards distractor
  paragraphs in the haystack benchmark (:func:`drift`).
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from rag.text import CHINESE_DIGITS, CHINESE_LARGE_UNITS, normalize_for_match, zh_to_int

if TYPE_CHECKING:
    from rag.evaluation.evaluate import QuestionResult

#: Cut-offs of hit@k.
HIT_KS: tuple[int, ...] = (1, 3, 5, 10)
#: Depth of the ranking scored by MRR and nDCG.
RANK_DEPTH = 10
#: A quote shares at least this many normalised characters with an evidence string
#: (or all of a shorter one) to support it.
QUOTE_OVERLAP_CHARS = 8


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


def first_relevant(relevant: Sequence[bool], k: int | None = None) -> int | None:
    """1-based rank of the first relevant result (among the first ``k``), or None when there is none."""
    return next((rank for rank, rel in enumerate(relevant[:k], start=1) if rel), None)


def hit_at(relevant: Sequence[bool], k: int) -> float:
    """1.0 when one of the first ``k`` results is relevant, else 0.0."""
    return _hit(first_relevant(relevant), k)


def reciprocal_rank(relevant: Sequence[bool], k: int = RANK_DEPTH) -> float:
    """1 / rank of the first relevant result within the first ``k`` (0.0 when none)."""
    return _reciprocal(first_relevant(relevant), k)


def _hit(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def _reciprocal(rank: int | None, k: int) -> float:
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def rank_scores(
    ranks: Sequence[int | None], ks: Sequence[int] = HIT_KS, names: tuple[str, str] = ("hit@{k}", "mrr@{k}")
) -> dict[str, float | None]:
    """Mean hit@k for each ``k`` and MRR@10 over queries, from each query's first relevant rank.

    ``ranks`` holds, per query, the rank of its first relevant result (None: not found);
    ``names`` are the formats of the two kinds of key (the benchmarks say ``R@{k}``).

    Example:
        >>> rank_scores([1, 3, None, 10], (1, 5), ("R@{k}", "MRR@{k}"))
        {'R@1': 0.25, 'R@5': 0.5, 'MRR@10': 0.3583}
    """
    scores = {names[0].format(k=k): _mean([_hit(rank, k) for rank in ranks]) for k in ks}
    scores[names[1].format(k=RANK_DEPTH)] = _mean([_reciprocal(rank, RANK_DEPTH) for rank in ranks])
    return scores


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
    metrics.update(rank_scores([first_relevant(r.relevance) for r in with_evidence]))
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


def drift(results: Sequence[QuestionResult], year: str) -> dict[str, int]:
    """How often questions lean on passages dated in ``year`` (the haystack's distractors).

    Counts answerable questions with such a passage at rank 1 or in the top 5, and answers
    (to answerable and to unanswerable questions) that cite one.
    """
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]

    def cites(r: QuestionResult) -> bool:
        return any(d.startswith(year) for d in r.cited_dates)

    return {
        "drift_rank1": sum(1 for r in answerable if r.retrieved and r.retrieved[0].date.startswith(year)),
        "drift_in_top5": sum(1 for r in answerable if any(p.date.startswith(year) for p in r.retrieved[:5])),
        "drift_cited": sum(1 for r in answerable if cites(r)),
        "drift_cited_unanswerable": sum(1 for r in unanswerable if cites(r)),
    }
