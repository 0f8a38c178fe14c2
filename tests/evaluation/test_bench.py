from pathlib import Path

from rag.build import build_pipeline
from rag.chunk import ChunkerSettings
from rag.embed import HashingEmbedder
from rag.evaluation.bench import (
    ict_scores,
    measure_throughput,
    render_haystack,
    render_ict,
    run_haystack,
    run_ict,
)
from rag.evaluation.corpus import haystack_paragraphs
from rag.evaluation.qa import load_qa
from rag.generate import ExtractiveGenerator
from rag.pipeline import Pipeline
from rag.protocols import Embedder
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_ict_scores_hand_computed():
    scores = ict_scores([1, 3, None, 10])
    assert scores == {"R@1": 0.25, "R@5": 0.5, "R@20": 0.75, "MRR@10": round((1 + 1 / 3 + 1 / 10) / 4, 4)}


def test_measure_throughput_counts_passages(paragraphs):
    articles = haystack_paragraphs(paragraphs(20), 20)
    t = measure_throughput(HashingEmbedder(), articles, ChunkerSettings())
    assert t.passages == 20 and t.index_per_second > 0 and t.model_per_second > 0


def test_run_ict_scores_every_retriever(tmp_path, corpus):
    settings = Settings(cache_dir=tmp_path, _env_file=None)
    result = run_ict(settings, HashingEmbedder(128), paragraphs=300, queries=20, seed=3)
    assert set(result.scores) == {"bm25", "dense", "hybrid"}
    for row in result.scores.values():
        assert 0 <= row["R@1"] <= row["R@5"] <= row["R@20"] <= 1
    # A verbatim sentence of the paragraph's neighbourhood is easy for BM25.
    assert result.scores["bm25"]["R@20"] > 0.5
    assert result.embeddings_computed > 0
    again = run_ict(settings, HashingEmbedder(128), paragraphs=300, queries=20, seed=3)
    assert again.scores == result.scores and again.embeddings_computed == 0
    assert "hybrid" in render_ict(result)


def test_run_haystack_puts_both_indexes_side_by_side(tmp_path, corpus):
    settings = Settings(cache_dir=tmp_path, seeds_dir=ROOT / "seeds", _env_file=None)
    items = load_qa(ROOT / "eval" / "qa_dev.jsonl")[:12]

    def build(s: Settings, embedder: Embedder | None) -> Pipeline:
        return build_pipeline(
            s, embedder or HashingEmbedder(128), generator=lambda _, index: ExtractiveGenerator(index.idf)
        )

    result = run_haystack(settings, items, distractors=80, seed=0, throughput_sample=20, build=build)
    seeds, haystack = result.sides
    assert haystack.articles == seeds.articles + 80
    assert seeds.figures()["drift_in_top5"] == 0
    for side in result.sides:
        assert side.run.summary["questions"] == 12
    # Passages are chunks: 20 paragraphs give at least 20.
    assert result.throughput is not None and result.throughput.passages >= 20
    text = render_haystack(result)
    assert "seeds+80" in text and "passages/s" in text
