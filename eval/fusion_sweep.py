"""Sweep hybrid-fusion variants on the inverse-cloze benchmark and on the dev set in one go.

Each query's dense and BM25 candidate lists (depth 50, as the retriever uses) are
computed once, through the benchmark's embedding cache, and every fusion variant is
scored on the same lists, so a sweep takes seconds once the corpus is embedded.  The
product's own fusions come from :func:`rag.retrieve.fuse`; z-scored fusion and the
BM25 "booster" exist only here, as experiments.  Near-duplicate collapsing is left out,
so figures can differ from ``rag bench ict`` by a query or two.

    .venv/bin/python eval/fusion_sweep.py --ict-seeds 0,1 --chunk-sizes 200,300,400,500

See ``eval/EXPERIMENTS.md`` for the results.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.bm25 import tokenize
from rag.chunk import ChunkerSettings
from rag.embed import SentenceTransformerEmbedder
from rag.evaluation.bench import ict_index
from rag.evaluation.cache import cached_embedder
from rag.evaluation.corpus import build_ict, load_corpus
from rag.evaluation.evaluate import EvidenceMatcher
from rag.evaluation.qa import load_qa
from rag.index import Index
from rag.parse import load_pages
from rag.retrieve import fuse
from rag.settings import Settings
from rag.types import Chunk

Ranking = list[tuple[Chunk, float]]
Fusion = Callable[[Ranking, Ranking], Ranking]
DEPTH = 50


def convex_z(alpha: float) -> Fusion:
    """``alpha · z(dense) + (1 − alpha) · z(bm25)``; a missing chunk gets the list's lowest z."""

    def run(dense: Ranking, bm25: Ranking) -> Ranking:
        def z(ranking: Ranking) -> dict[str, float]:
            values = [s for _, s in ranking]
            if not values:
                return {}
            mean, sd = statistics.fmean(values), statistics.pstdev(values) or 1.0
            return {c.id: (s - mean) / sd for c, s in ranking}

        zd, zb = z(dense), z(bm25)
        low_d, low_b = min(zd.values(), default=0.0), min(zb.values(), default=0.0)
        chunks = {c.id: c for c, _ in [*dense, *bm25]}
        score = {cid: alpha * zd.get(cid, low_d) + (1 - alpha) * zb.get(cid, low_b) for cid in chunks}
        return [(chunks[cid], score[cid]) for cid in sorted(score, key=lambda cid: -score[cid])]

    return run


def boost(beta: float) -> Fusion:
    """Dense order, with ``beta · bm25 / max(bm25)`` added to dense hits that BM25 also found."""

    def run(dense: Ranking, bm25: Ranking) -> Ranking:
        top = max((s for _, s in bm25), default=1.0) or 1.0
        lexical = {c.id: s / top for c, s in bm25}
        scored = [(c, s + beta * lexical.get(c.id, 0.0)) for c, s in dense]
        return sorted(scored, key=lambda cs: -cs[1])

    return run


def variants() -> dict[str, Fusion]:
    """Every fusion tried, by name."""
    out: dict[str, Fusion] = {"dense": lambda d, b: d, "bm25": lambda d, b: b}
    for k in (60, 10):
        for wd, wb in ((1, 1), (2, 1), (3, 1)):
            out[f"rrf k={k} {wd}:{wb}"] = lambda d, b, k=k, wd=wd, wb=wb: fuse([(wd, d), (wb, b)], "rrf", k)
    for alpha in (0.5, 0.6, 0.65, 0.7, 0.75, 0.8):
        out[f"convex minmax {alpha}"] = lambda d, b, a=alpha: fuse([(a, d), (1 - a, b)], "convex")
        out[f"convex z {alpha}"] = convex_z(alpha)
    for beta in (0.02, 0.05, 0.1):
        out[f"boost {beta}"] = boost(beta)
    return out


def candidates(index: Index, embedder: object, query: str) -> tuple[Ranking, Ranking]:
    """The dense and BM25 candidate lists of ``query``."""
    vector = embedder.encode_queries([query])  # type: ignore[attr-defined]
    return index.dense_search(vector, DEPTH), index.bm25_search(tokenize(query), DEPTH)


def ict_figures(ranked: Sequence[tuple[str, Ranking]]) -> list[float]:
    """R@1, R@5, R@20 and MRR@10 by distinct article."""
    ranks = []
    for gold, ranking in ranked:
        articles: list[str] = []
        for chunk, _ in ranking:
            if chunk.article_id not in articles:
                articles.append(chunk.article_id)
        ranks.append(articles.index(gold) + 1 if gold in articles else None)
    n = len(ranks)
    recall = [sum(1 for r in ranks if r and r <= k) / n for k in (1, 5, 20)]
    return [*recall, sum(1 / r for r in ranks if r and r <= 10) / n]


def dev_figures(ranked: Sequence[tuple[tuple[str, ...], Ranking]], matcher: EvidenceMatcher) -> list[float]:
    """hit@1/3/5/10 and MRR@10 of passages holding evidence."""
    rows = [[matcher.supports(c, evidence) for c, _ in ranking[:10]] for evidence, ranking in ranked]
    n = len(rows)
    hits = [sum(any(r[:k]) for r in rows) / n for k in (1, 3, 5, 10)]
    return [*hits, sum(next((1 / i for i, x in enumerate(r, 1) if x), 0.0) for r in rows) / n]


def main() -> None:
    """Parse arguments, collect candidate lists, print one row per variant."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ict-seeds", default="0")
    parser.add_argument("--paragraphs", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--chunk-sizes", default="300", help="Chunk sizes of the dev-set index (overlap 1).")
    parser.add_argument("--qa", type=Path, default=Path("eval/qa_dev.jsonl"))
    args = parser.parse_args()
    settings = Settings()
    model = SentenceTransformerEmbedder(settings.embedding_model, cache_dir=settings.cache_dir)
    embedder = cached_embedder(settings, model)
    corpus = load_corpus()
    ict_runs: list[tuple[str, list[tuple[str, Ranking, Ranking]]]] = []
    for seed in (int(s) for s in args.ict_seeds.split(",")):
        ict = build_ict(corpus, args.paragraphs, args.queries, seed)
        index = ict_index(ict, embedder, ChunkerSettings())
        ict_runs.append(
            (f"ICT seed {seed}", [(q.article_id, *candidates(index, embedder, q.text)) for q in ict.queries])
        )
    items = [i for i in load_qa(args.qa) if i.answerable]
    articles = load_pages([settings.seeds_dir])
    dev_runs = []
    for size in (int(s) for s in args.chunk_sizes.split(",")):
        index = Index(embedder, ChunkerSettings(size=size, overlap=1))
        for source in sorted({a.source for a in articles}):
            index.sync_source(source, [a for a in articles if a.source == source])
        lists = [(i.evidence, *candidates(index, embedder, i.question)) for i in items]
        dev_runs.append((f"dev chunk {size}", EvidenceMatcher(index.chunks()), lists))
    print(
        "columns: "
        + " | ".join(
            [
                *(n + " R@1 R@5 R@20 MRR" for n, _ in ict_runs),
                *(n + " hit@1 3 5 10 MRR" for n, _, _ in dev_runs),
            ]
        )
    )
    for name, fusion in variants().items():
        cells = [ict_figures([(g, fusion(d, b)) for g, d, b in lists]) for _, lists in ict_runs]
        cells += [dev_figures([(e, fusion(d, b)) for e, d, b in lists], m) for _, m, lists in dev_runs]
        print(f"{name:<20}" + " | ".join(" ".join(f"{x:.3f}" for x in cell) for cell in cells))


if __name__ == "__main__":
    main()
