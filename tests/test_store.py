import numpy as np
import pytest

from rag.errors import IndexMismatchError
from rag.protocols import Selection
from rag.store import FaissVectorStore
from rag.types import SearchFilters


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype("float32")


def test_search_returns_nearest_ids_by_inner_product():
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(20, 8)))
    store = FaissVectorStore(8)
    store.add(np.arange(100, 120), vectors)
    scores, ids = store.search(vectors[[3, 7]], k=2)
    assert ids[:, 0].tolist() == [103, 107]
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert scores[0, 0] >= scores[0, 1]


def test_remove_and_copy_are_independent():
    store = FaissVectorStore(4)
    store.add(np.array([1, 2, 3]), np.eye(4, dtype="float32")[:3])
    clone = store.copy()
    assert store.remove(np.array([2])) == 1
    assert len(store) == 2 and len(clone) == 3
    assert 2 not in store.search(np.eye(4, dtype="float32")[1:2], k=3)[1][0].tolist()
    assert clone.search(np.eye(4, dtype="float32")[1:2], k=1)[1][0, 0] == 2


def test_wrong_dimension_is_refused():
    store = FaissVectorStore(4)
    with pytest.raises(IndexMismatchError, match="dimension 4"):
        store.add(np.array([1]), np.ones((1, 5), dtype="float32"))


def test_save_and_load_round_trip(tmp_path):
    store = FaissVectorStore(3)
    store.add(np.array([5, 9]), np.eye(3, dtype="float32")[:2])
    store.save(tmp_path / "v.faiss")
    loaded = FaissVectorStore.load(tmp_path / "v.faiss")
    assert loaded.dimension == 3 and len(loaded) == 2
    assert loaded.search(np.eye(3, dtype="float32")[1:2], k=1)[1][0, 0] == 9


def _random_unit(n, d, seed=0):
    return _unit(np.random.default_rng(seed).standard_normal((n, d)))


def test_a_selection_filters_inside_faiss_on_flat_and_hnsw():
    vectors = _random_unit(400, 16)
    for approximate_from in (10_000, 100):
        store = FaissVectorStore(16, approximate_from=approximate_from)
        store.add(np.arange(400), vectors)
        allowed = np.arange(0, 400, 7)
        _, ids = store.search(vectors[:3], 5, Selection(SearchFilters(source="p"), allowed))
        assert set(ids.ravel().tolist()) <= set(allowed.tolist()) and (ids >= 0).all()
        # Exact over the allowed vectors: the best allowed one comes first.
        best = allowed[np.argmax(vectors[allowed] @ vectors[1])]
        assert ids[1, 0] == best


def test_past_the_threshold_the_store_is_hnsw_with_tombstones_that_survive_saving(tmp_path):
    vectors = _random_unit(600, 16, seed=1)
    store = FaissVectorStore(16, approximate_from=500)
    store.add(np.arange(300), vectors[:300])
    assert store.kind == "flat"
    store.add(np.arange(300, 600), vectors[300:])
    assert store.kind == "hnsw-sq8" and store.describe()["M"] == 32
    assert store.search(vectors[:1], 1)[1][0, 0] == 0
    assert store.remove(np.array([0, 1])) == 2 and len(store) == 598
    store.save(tmp_path / "v.faiss")
    # The graph holds 8-bit codes; the float vectors are beside it, for exact re-ranking.
    assert (tmp_path / "v.f32").stat().st_size == 600 * 16 * 4
    loaded = FaissVectorStore.load(tmp_path / "v.faiss", approximate_from=500)
    assert len(loaded) == 598 and loaded.describe()["tombstones"] == 2 and loaded.kind == "hnsw-sq8"
    _, ids = loaded.search(vectors[:2], 10)
    assert 0 not in ids and 1 not in ids and (ids >= 0).all()
    # Past a fifth of tombstones the graph is rebuilt from the live vectors (flat again below the threshold).
    loaded.remove(np.arange(2, 200))
    assert len(loaded) == 400 and loaded.kind == "flat" and loaded.search(vectors[250:251], 1)[1][0, 0] == 250


def test_a_save_after_the_first_writes_a_segment_that_loading_replays(tmp_path):
    vectors = _random_unit(60, 8, seed=2)
    store = FaissVectorStore(8)
    store.add(np.arange(40), vectors[:40])
    assert store.persist(tmp_path, 1) == ["vectors-000001.faiss"]
    store.persisted(tmp_path, ["vectors-000001.faiss"])
    base = (tmp_path / "vectors-000001.faiss").read_bytes()
    # Changes after the base: 20 added, then one of them and one of the base removed.
    store.add(np.arange(40, 60), vectors[40:])
    assert store.remove(np.array([3, 55])) == 2 and len(store) == 58
    names = store.persist(tmp_path, 2)
    assert names == ["vectors-000001.faiss", "vectors-000002.npz"]
    assert (tmp_path / "vectors-000001.faiss").read_bytes() == base  # the base is not rewritten
    with np.load(tmp_path / "vectors-000002.npz") as segment:  # only what changed
        assert segment["ids"].tolist() == [i for i in range(40, 60) if i != 55]
        assert segment["removed"].tolist() == [3]
    loaded = FaissVectorStore.load(tmp_path / names[0])
    loaded.apply_segment(tmp_path / names[1])
    assert len(loaded) == 58
    for query in (vectors[:5], vectors[50:55]):
        expected = store.search(query, 5)
        found = loaded.search(query, 5)
        assert found[1].tolist() == expected[1].tolist()
        assert np.allclose(found[0], expected[0], atol=1e-5)
    _, ids = loaded.search(vectors[[3, 55]], 1)
    assert 3 not in ids and 55 not in ids
    # A filtered search sees the delta and the base alike.
    allowed = Selection(SearchFilters(source="p"), np.array([10, 45, 55]))
    assert sorted(loaded.search(vectors[45:46], 5, allowed)[1][0][:2].tolist()) == [10, 45]


def test_past_the_segment_limit_a_save_folds_everything_into_a_new_base(tmp_path, monkeypatch):
    import rag.store

    monkeypatch.setattr(rag.store, "SEGMENT_LIMIT", 10)
    vectors = _random_unit(40, 8, seed=3)
    store = FaissVectorStore(8)
    store.add(np.arange(20), vectors[:20])
    store.persisted(tmp_path, store.persist(tmp_path, 1))
    clone = store.copy()  # shares the base: folding must not change it under the clone
    store.add(np.arange(20, 40), vectors[20:])
    store.remove(np.array([0]))
    assert store.persist(tmp_path, 2) == ["vectors-000002.faiss"]
    loaded = FaissVectorStore.load(tmp_path / "vectors-000002.faiss")
    assert len(loaded) == 39 and loaded.search(vectors[30:31], 1)[1][0, 0] == 30
    assert len(clone) == 20 and clone.search(vectors[:1], 1)[1][0, 0] == 0


def _near_duplicates(n, d, seed=0):
    """Noisy copies of a few vectors: what 8-bit codes alone rank poorly."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n // 20, d))
    return _unit(base[rng.integers(0, len(base), n)] + 0.03 * rng.standard_normal((n, d)))


def _recall_at_10(store, queries, vectors):
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = store.search(queries, 10)[1]
    return np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])


def test_the_compressed_graph_is_reranked_exactly_and_maps_its_floats_from_the_file(tmp_path):
    vectors = _near_duplicates(3000, 32)
    queries = vectors[::150] + 0.01
    store = FaissVectorStore(32, approximate_from=1000)
    store.add(np.arange(3000), vectors)
    assert store.kind == "hnsw-sq8"
    assert _recall_at_10(store, queries, vectors) >= 0.95
    scores, ids = store.search(vectors[7:8], 3)
    assert ids[0, 0] == 7 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)  # exact, not a code's score
    store.save(tmp_path / "v.faiss")
    loaded = FaissVectorStore.load(tmp_path / "v.faiss", approximate_from=1000)
    assert isinstance(loaded._floats.whole(), np.memmap)  # read from disk, not held in memory
    assert loaded.search(queries, 10)[1].tolist() == store.search(queries, 10)[1].tolist()
    # A filter over many vectors walks the graph; its answers are only allowed ids, re-ranked exactly.
    allowed = np.arange(0, 3000, 2)
    _, ids = loaded.search(vectors[8:9], 5, Selection(SearchFilters(source="p"), allowed))
    assert ids[0, 0] == 8 and set(ids[0].tolist()) <= set(allowed.tolist())


def test_a_compressed_graph_without_its_float_file_is_refused_naming_it(tmp_path):
    store = FaissVectorStore(16, approximate_from=100)
    store.add(np.arange(200), _random_unit(200, 16))
    store.save(tmp_path / "vectors-000001.faiss")
    (tmp_path / "vectors-000001.f32").unlink()
    with pytest.raises(ValueError, match="vectors-000001.f32 is missing"):
        FaissVectorStore.load(tmp_path / "vectors-000001.faiss")


def test_an_older_index_with_a_float_graph_still_loads_and_searches(tmp_path):
    import faiss

    vectors = _random_unit(300, 16, seed=4)
    index = faiss.IndexIDMap2(faiss.IndexHNSWFlat(16, 32, faiss.METRIC_INNER_PRODUCT))
    index.add_with_ids(vectors, np.arange(100, 400))
    faiss.write_index(index, str(tmp_path / "v.faiss"))
    loaded = FaissVectorStore.load(tmp_path / "v.faiss", approximate_from=100)
    assert loaded.kind == "hnsw-flat" and len(loaded) == 300
    assert loaded.search(vectors[5:6], 1)[1][0, 0] == 105
    loaded.add(np.array([1]), vectors[:1])
    assert loaded.remove(np.arange(100, 170)) == 70  # past a fifth: rebuilt, now compressed
    assert loaded.kind == "hnsw-sq8" and loaded.search(vectors[200:201], 1)[1][0, 0] == 300
