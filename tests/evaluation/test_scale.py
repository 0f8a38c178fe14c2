import json

import pytest

from rag.embed import HashingEmbedder
from rag.evaluation.scale import VariedEmbedder, render_scale, run_scale, scale_articles
from rag.index import Index
from rag.settings import Settings
from tests.conftest import STORE_ENGINES, make_stores


def test_repeats_are_distinct_articles_with_a_recorded_variation():
    texts = [("pd-00001", "甲。"), ("pd-00002", "乙。")]
    articles = scale_articles(texts, 5)
    assert len({a.id for a in articles}) == 5 and len({(a.title, a.date, a.body) for a in articles}) == 5
    assert [a.title for a in articles] == [
        "人民日报",
        "人民日报",
        "人民日报·重1",
        "人民日报·重1",
        "人民日报·重2",
    ]
    assert articles[2].body == articles[0].body and articles[2].date == "1998-01-02"


def test_varied_vectors_stay_near_their_model_vector_and_are_deterministic():
    base = {"正文。": HashingEmbedder(64).encode_documents(["正文。"])[0]}
    embedder = VariedEmbedder(HashingEmbedder(64), base, sigma=0.03)
    own, varied, other = embedder.encode_documents(
        ["人民日报（1998-01-01）\n正文。", "人民日报·重1（1998-01-02）\n正文。", "x"]
    )
    assert own.tolist() == base["正文。"].tolist()
    assert 0.7 < float(own @ varied) < 0.999
    assert abs(float(other @ other) - 1) < 1e-5
    again = embedder.encode_documents(["人民日报·重1（1998-01-02）\n正文。"])[0]
    assert again.tolist() == varied.tolist()


@pytest.mark.parametrize("store", STORE_ENGINES)
def test_run_scale_measures_an_index_of_the_requested_size(tmp_path, paragraphs, store):
    settings = Settings(cache_dir=tmp_path, _env_file=None)
    result = run_scale(
        settings, HashingEmbedder(64), chunks=150, store=store, embed=30, queries=8, paragraphs=paragraphs(60)
    )
    assert result.chunks == 150 and result.model_vectors == 30 and result.synthetic_vectors == 120
    # Exact search below the HNSW threshold: the store finds exactly the true neighbours.
    assert result.dense_index["index_type" if store == "milvus" else "index"] in {"flat", "FLAT"}
    assert result.recall_at_10 == 1.0
    assert set(result.latency_ms) == {"dense", "lexical", "hybrid"}
    assert all(0 < f["p50"] <= f["p95"] for f in result.latency_ms.values())
    assert result.disk_bytes > 0 and result.load["seconds"] > 0 and result.upload_seconds > 0
    # The upload was saved: the index on disk holds its three articles more.
    path = tmp_path / "bench" / f"scale-{store}-150"
    loaded = Index.load(path, HashingEmbedder(64), stores=make_stores(store, path))
    assert len(loaded) == 153 and json.dumps(result.to_dict())
    assert "recall@10" in render_scale(result)
