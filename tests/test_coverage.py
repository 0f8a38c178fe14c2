"""Question-term coverage: fused hits weighed by the question's terms they print."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from rag.coverage import coverage, rerank_by_coverage, term_weights
from rag.index import Index
from rag.retrieve import Retriever, RetrieverSettings
from rag.settings import Settings
from rag.types import Article, Chunk


def _chunk(cid: str, text: str, title: str = "") -> Chunk:
    return Chunk(cid, cid, text, 0, len(text), title, "2025-01-01", "a.txt")


class _Stats:
    def __init__(self, df: dict[str, int]) -> None:
        self.df = df

    def document_frequency(self, token: str) -> int:
        return self.df.get(token, 0)

    def idf(self, token: str) -> float:
        return 10.0 / self.df[token]


def test_terms_are_weighted_by_idf_squared_once_each_and_unseen_terms_dropped():
    weights = term_weights(["侯森", "企业", "侯森", "钙钛矿"], _Stats({"侯森": 2, "企业": 10}))
    assert weights == {"侯森": 25.0, "企业": 1.0}


def test_coverage_is_the_weighted_share_of_terms_printed():
    weights = {"侯森": 5.0, "企业": 1.0}
    assert coverage(weights, "侯森说，合肥的企业") == 1.0
    assert coverage(weights, "合肥的企业") == pytest.approx(1 / 6)
    assert coverage(weights, "合肥") == 0.0
    assert coverage({}, "侯森") == 0.0


def test_a_hit_printing_the_rare_term_overtakes_near_ties_printing_none():
    ranked = [(_chunk("a", "合肥四万下岗职工再就业"), 0.70), (_chunk("b", "侯森：合肥仅靠一户企业"), 0.30)]
    weights = {"侯森": 5.0, "企业": 1.0}
    reranked = rerank_by_coverage(ranked, weights, floor=0.3)
    assert [c.id for c, _ in reranked] == ["b", "a"]
    assert [round(s, 3) for _, s in reranked] == [0.3, 0.21]
    # The title counts, and full-width digits are read as the tokenizer reads them.
    titled = rerank_by_coverage([(_chunk("c", "１９９７年", title="侯森"), 1.0)], {"侯森": 1, "1997": 1}, 0.0)
    assert titled[0][1] == 1.0


def test_a_floor_of_one_or_no_known_term_leaves_the_ranking_as_it_is():
    ranked = [(_chunk("a", "合肥"), 0.7), (_chunk("b", "侯森"), 0.3)]
    assert rerank_by_coverage(ranked, {"侯森": 5.0}, floor=1.0) == ranked
    assert rerank_by_coverage(ranked, {}, floor=0.3) == ranked


# -- through the retriever ------------------------------------------------------------


class _NearTies:
    """A dense model that puts every paragraph without 侯森 a little closer to any question."""

    name = "near-ties"
    dimension = 2

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.tile(np.array([1.0, 0.0], dtype="float32"), (len(texts), 1))

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        rows = [(0.90, 0.4359) if "侯森" in t else (0.95, 0.3122) for t in texts]
        vectors = np.asarray(rows, dtype="float32")
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def near_ties_index() -> Index:
    bodies = [
        "侯森提到，合肥仅靠京东方一户企业，就带动40多个项目落户。",
        "当时，呼市政府确定13家单位搞股份制试点。",
        "送温暖常抓不懈，四万下岗职工再就业。",
        "在广阔的安徽大地，一颗颗高新机械产业之星正在闪光。",
    ]
    articles = [
        Article(id=f"a{i}", title="要闻", body=b, source="p.txt", date="2025-01-01", kind="brief")
        for i, b in enumerate(bodies)
    ]
    index = Index(_NearTies())  # type: ignore[arg-type]
    index.sync_source("p.txt", articles)
    return index


def test_the_retriever_ranks_the_passage_printing_the_question_first(near_ties_index):
    question = "侯森提到合肥靠哪一户企业带动项目落户？"
    weighed = Retriever(near_ties_index, RetrieverSettings(top_k=4)).run(question)
    assert "侯森" in weighed[0].chunk.text
    # Fused alone, the near-tied paragraphs printing none of the question come first.
    fused = Retriever(near_ties_index, RetrieverSettings(top_k=4, coverage_floor=1.0)).run(question)
    assert "侯森" not in fused[0].chunk.text
    # Dense and BM25 rankings stay pure: only hybrid is re-weighed.
    dense = Retriever(near_ties_index, RetrieverSettings(top_k=4)).run(question, mode="dense")
    assert "侯森" in dense[-1].chunk.text


def test_the_floor_is_a_setting_between_zero_and_one():
    assert RetrieverSettings.from_settings(Settings(coverage_floor=0.5)).coverage_floor == 0.5
    with pytest.raises(ValueError, match="coverage_floor"):
        RetrieverSettings(coverage_floor=1.5)
