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
    assert store.kind == "hnsw-flat" and store.describe()["M"] == 32
    assert store.search(vectors[:1], 1)[1][0, 0] == 0
    assert store.remove(np.array([0, 1])) == 2 and len(store) == 598
    store.save(tmp_path / "v.faiss")
    loaded = FaissVectorStore.load(tmp_path / "v.faiss", approximate_from=500)
    assert len(loaded) == 598 and loaded.describe()["tombstones"] == 2
    _, ids = loaded.search(vectors[:2], 10)
    assert 0 not in ids and 1 not in ids and (ids >= 0).all()
    # Past a fifth of tombstones the graph is rebuilt from the live vectors (flat again below the threshold).
    loaded.remove(np.arange(2, 200))
    assert len(loaded) == 400 and loaded.kind == "flat" and loaded.search(vectors[250:251], 1)[1][0, 0] == 250
