import numpy as np
import pytest

from rag.errors import IndexMismatchError
from rag.store import FaissVectorStore


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
