"""Retrieval through each store engine (RAG_STORE=faiss|milvus): the same behaviour from both.

Milvus runs embedded (milvus-lite) on small fixtures: the seed pages (177 chunks) once per
module (writes, filters and reloads run over both engines in tests/test_index.py).
"""

from pathlib import Path

import pytest

from rag.embed import HashingEmbedder
from rag.index import Index
from rag.parse import load_pages
from rag.protocols import Stores
from rag.retrieve import Retriever, RetrieverSettings
from tests.conftest import STORE_ENGINES as ENGINES
from tests.conftest import make_stores as _stores

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _build(stores: Stores, articles) -> Index:
    index = Index(HashingEmbedder(128), stores=stores)
    for source in sorted({a.source for a in articles}):
        index.sync_source(source, [a for a in articles if a.source == source])
    return index


@pytest.fixture(scope="module")
def seed_articles():
    return load_pages([SEEDS])


@pytest.fixture(scope="module", params=ENGINES)
def seeded(request, seed_articles, tmp_path_factory) -> tuple[str, Index, Stores, Path]:
    """(engine, the seed index, its stores, the folder it is saved in)."""
    folder = tmp_path_factory.mktemp(f"seeded-{request.param}")
    stores = _stores(request.param, folder)
    index = _build(stores, seed_articles)
    index.save(folder / "idx")
    return request.param, index, stores, folder / "idx"


def test_hybrid_retrieval_finds_the_exhibition_hall(seeded):
    index = seeded[1]
    passages = Retriever(index, RetrieverSettings(top_k=3)).run("第八届进博会山西展厅面积")
    assert any("435平方米" in p.chunk.text for p in passages)
    lexical = index.bm25_search(["进博会", "山西", "展厅"], 5)
    assert lexical and all(score > 0 for _, score in lexical)
    assert lexical == sorted(lexical, key=lambda hit: -hit[1])


def test_a_saved_index_loads_with_the_same_results_and_term_statistics(seeded):
    engine, index, stores, path = seeded
    loaded = Index.load(path, HashingEmbedder(128), stores=stores)
    assert len(loaded) == len(index)
    vector = index.embedder.encode_queries(["南极科考"])
    assert [c.id for c, _ in loaded.dense_search(vector, 5)] == [
        c.id for c, _ in index.dense_search(vector, 5)
    ]
    assert [c.id for c, _ in loaded.bm25_search(["南极"], 5)] == [
        c.id for c, _ in index.bm25_search(["南极"], 5)
    ]
    assert loaded.document_frequency("南极") == index.document_frequency("南极") > 0
    assert loaded.idf("南极") > loaded.idf("太原") > 0
    assert loaded.manifest()["store"]["engine"] == engine
