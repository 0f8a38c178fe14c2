"""Evaluation built into the product: run a QA set through the pipeline and score every stage.

:func:`evaluate` runs the questions (:mod:`rag.evaluation.qa`) through a
:class:`~rag.pipeline.Pipeline` with one or more retrievers and returns an
:class:`EvalReport`: ``report.to_dict()`` is what ``rag eval --json`` prints, and
:mod:`rag.evaluation.report` renders it as text, Markdown and HTML.  Each question is
scored by :func:`score_question`; what is measured, and how, is :mod:`rag.evaluation.metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from rag.errors import InvalidInputError
from rag.evaluation.metrics import (
    RANK_DEPTH,
    best_char_f1,
    contains_answer,
    first_sentence,
    keypoint_recall,
    latency,
    plain_answer,
    quote_supports,
    summarize,
)
from rag.evaluation.qa import KEYPOINT_TYPES, QUESTION_TYPES, QAItem
from rag.text import normalize_for_match
from rag.types import Answer, Chunk, Passage

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

#: Called after each question with (questions done, questions in total, retriever).
ProgressCallback = Callable[[int, int, str], None]

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


# --------------------------------------------------------------------------- runs


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
        return self._per_type(summarize)

    @property
    def latency(self) -> dict[str, dict[str, float | None]]:
        """Latency per stage over every question."""
        return latency(self.results)

    @property
    def latency_by_type(self) -> dict[str, dict[str, dict[str, float | None]]]:
        """Latency per stage, per question type."""
        return self._per_type(latency)

    def _per_type(self, measure: Callable[[Sequence[QuestionResult]], Any]) -> dict[str, Any]:
        return {
            t: measure(group) for t in QUESTION_TYPES if (group := [r for r in self.results if r.type == t])
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


def check_retrievers(modes: Iterable[str]) -> list[str]:
    """``modes`` as a list, each a known retriever (hybrid, dense, bm25) named once.

    Raises :class:`InvalidInputError` naming the first unknown or repeated one.
    """
    from rag.types import RETRIEVER_MODES

    modes = list(modes)
    unknown = [m for m in modes if m not in RETRIEVER_MODES]
    if unknown:
        raise InvalidInputError(f"unknown retriever {unknown[0]!r}: choose from {', '.join(RETRIEVER_MODES)}")
    if len(set(modes)) != len(modes):
        raise InvalidInputError("each retriever may be compared only once")
    return modes


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
    modes = check_retrievers(retrievers or [pipeline.retriever_settings.mode])
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
