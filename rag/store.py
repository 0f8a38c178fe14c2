"""Dense vector store: FAISS inner product over L2-normalised vectors, addressed by int64 ids.

Exact (``IndexFlatIP``) while small; past ``approximate_from`` vectors (default 50,000) an
HNSW graph over 8-bit codes (``IndexHNSWSQ``, M 32, efConstruction 200, efSearch 128),
re-ranked exactly from float vectors memory-mapped beside it (:mod:`rag.store_floats`).
An older index's ``IndexHNSWFlat`` still loads.  The kind is recorded in the manifest.

Layers: a *base* FAISS index, never changed once a copy shares it, the vectors added since
(the *delta*, searched exactly) and the base ids removed since (*gone*, hidden by an
``IDSelector``): a copy costs nothing and a save writes one segment file of the changes
(:mod:`rag.store_segments`).  Compaction folds delta and gone into a new base file,
synchronously, in the save that finds over ``SEGMENT_LIMIT`` unfolded vectors or
``MAX_SEGMENTS`` segments (and in memory past ``FOLD_IN_MEMORY``, for bulk builds).

HNSW cannot remove vectors: a folded removal becomes a tombstone (its entry in the id
map is set to -1, so it is saved with the index and no search returns it), and the graph
is rebuilt from the live vectors once tombstones pass a fifth of it.  Filtered searches
use FAISS's ``IDSelector`` (no full scan in Python); on HNSW, a filter that keeps few
vectors is searched exactly over those vectors, since a graph walk restricted to a small
subset can come back short.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.errors import IndexMismatchError
from rag.index_files import write_atomic
from rag.index_manifest import floats_name
from rag.protocols import Selection
from rag.store_floats import FloatRows, exact_top, new_sq8_graph, search_reranked
from rag.store_segments import read_segment, write_segment

#: Where exact search gives way to HNSW (chunks); ``RAG_FAISS_APPROXIMATE_FROM`` sets it.
APPROXIMATE_FROM = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
#: Rebuild the graph once this share of it is tombstones.
TOMBSTONE_SHARE = 0.2
#: A filtered HNSW search over at most this many vectors is done exactly.
EXACT_SUBSET = 20_000
#: Every real id is below this: the selector that hides tombstones (id -1).
_ID_LIMIT = 1 << 62
#: A save folds the delta into a new base file past this many unfolded vectors…
SEGMENT_LIMIT = 2_000
#: …or past this many segment files.
MAX_SEGMENTS = 64
#: An add folds the delta into the base past this many vectors (bulk builds).
FOLD_IN_MEMORY = 10_000

_NO_IDS = np.zeros(0, dtype="int64")


def _as_matrix(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype="float32")
    return vectors[None, :] if vectors.ndim == 1 else vectors


class FaissVectorStore:
    """A FAISS ``IndexIDMap2`` over ``IndexFlatIP`` (exact) or ``IndexHNSWSQ`` (approximate), plus a delta.

    Example:
        >>> store = FaissVectorStore(dimension=3)
        >>> store.add(np.array([7]), np.array([[1.0, 0.0, 0.0]], dtype="float32"))
        >>> scores, ids = store.search(np.array([[1.0, 0.0, 0.0]], dtype="float32"), k=1)
        >>> int(ids[0, 0])
        7
    """

    def __init__(self, dimension: int, *, approximate_from: int = APPROXIMATE_FROM) -> None:
        if dimension <= 0:
            raise ValueError(f"dimension must be positive, got {dimension}")
        self._dimension = dimension
        self.approximate_from = approximate_from
        #: The base; ``_shared`` once a copy holds it too (then cloned before any change).
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._shared = False
        self._dead = 0  # tombstones folded into the base (id -1 in its id map)
        #: The base's float vectors in storage order when its graph holds only 8-bit codes.
        self._floats: FloatRows | None = None
        #: Vectors added since the base was made, in blocks (arrays are replaced, never changed).
        self._blocks: list[tuple[np.ndarray, np.ndarray]] = []
        self._joined: tuple[np.ndarray, np.ndarray] | None = None
        #: Base ids removed since the base was made (sorted).
        self._gone = _NO_IDS
        #: The files this store was last loaded from or saved as (base first, then segments)…
        self._files: list[str] = []
        self._folder: Path | None = None
        #: …and the changes since: ids and vectors added (still live), ids of older vectors removed.
        self._new: list[tuple[np.ndarray, np.ndarray]] = []
        self._removed: list[np.ndarray] = []

    # -- what it is ------------------------------------------------------------------

    @property
    def dimension(self) -> int:
        """Width of the stored vectors."""
        return self._dimension

    @property
    def kind(self) -> str:
        """``flat`` (exact), ``hnsw-sq8`` (approximate) or ``hnsw-flat`` (approximate, an older index)."""
        if self._hnsw is None:
            return "flat"
        return "hnsw-sq8" if self._floats is not None else "hnsw-flat"

    @property
    def _hnsw(self) -> Any:
        inner = faiss.downcast_index(self._index.index)
        return inner if isinstance(inner, faiss.IndexHNSW) else None

    def _delta(self) -> tuple[np.ndarray, np.ndarray]:
        """Ids and vectors of the delta, joined (cached until it changes)."""
        if self._joined is None:
            blocks = self._blocks or [(_NO_IDS, np.zeros((0, self._dimension), dtype="float32"))]
            self._joined = np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])
            self._blocks = [self._joined] if self._blocks else []
        return self._joined

    def _delta_size(self) -> int:
        return sum(len(b[0]) for b in self._blocks)

    def __len__(self) -> int:
        return int(self._index.ntotal) - self._dead - len(self._gone) + self._delta_size()

    def describe(self) -> dict[str, Any]:
        """Engine, index kind and its parameters (for the manifest)."""
        info: dict[str, Any] = {
            "engine": "faiss",
            "index": self.kind,
            "approximate_from": self.approximate_from,
        }
        if self._hnsw is not None:
            info |= {"M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": HNSW_EF_SEARCH}
            info["tombstones"] = self._dead + len(self._gone)
        return info

    # -- writing ---------------------------------------------------------------------

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (n × dimension, float32) under ``ids`` (n, int64)."""
        vectors = np.ascontiguousarray(vectors, dtype="float32")
        ids = np.ascontiguousarray(ids, dtype="int64")
        if vectors.ndim != 2 or vectors.shape[1] != self._dimension:
            raise IndexMismatchError(
                f"vectors of shape {vectors.shape} do not fit a store of dimension {self._dimension}"
            )
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if not len(ids):
            return
        self._blocks, self._joined, self._new = (
            [*self._blocks, (ids, vectors)],
            None,
            [*self._new, (ids, vectors)],
        )
        if (self._hnsw is None and len(self) >= self.approximate_from) or self._delta_size() > FOLD_IN_MEMORY:
            self._fold()

    def remove(self, ids: np.ndarray) -> int:
        """Remove the given ids; returns how many vectors were removed."""
        ids = np.unique(np.ascontiguousarray(ids, dtype="int64"))
        if not len(ids):
            return 0
        removed = self._drop(ids)
        # Ids added since the files were written are simply not written; the rest are recorded.
        fresh = np.concatenate([b[0] for b in self._new]) if self._new else _NO_IDS
        self._new = [(i[keep], v[keep]) for i, v in self._new if (keep := ~np.isin(i, ids)).any()]
        older = np.setdiff1d(ids, fresh)
        if len(older):
            self._removed = [*self._removed, older]
        if self._dead + len(self._gone) > TOMBSTONE_SHARE * self._index.ntotal:
            self._fold()
        return removed

    def _drop(self, ids: np.ndarray) -> int:
        """Hide sorted unique ``ids`` from the delta and the base; how many were live."""
        removed = 0
        if self._blocks:
            delta_ids, delta = self._delta()
            hit = np.isin(delta_ids, ids)
            if hit.any():
                removed += int(hit.sum())
                self._blocks = [(delta_ids[~hit], delta[~hit])]
                self._joined = None
        in_base = np.intersect1d(self._id_map(), ids)
        in_base = np.setdiff1d(in_base[in_base >= 0], self._gone)
        if len(in_base):
            removed += len(in_base)
            self._gone = np.union1d(self._gone, in_base)
        return removed

    def _fold(self) -> None:
        """Make the delta and the gone list part of a new base (the shared base is not changed)."""
        delta_ids, delta = self._delta()
        rebuild = (self._hnsw is None and len(self) >= self.approximate_from) or (
            self._hnsw is not None and self._dead + len(self._gone) > TOMBSTONE_SHARE * self._index.ntotal
        )
        if rebuild:
            live_ids, live = self._base_vectors()
            delta_ids, delta = np.concatenate([live_ids, delta_ids]), np.vstack([live, delta])
            if len(delta_ids) >= self.approximate_from:
                args = (HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH)
                index, self._floats = new_sq8_graph(self._dimension, *args, delta), FloatRows(self._dimension)
            else:
                index, self._floats = faiss.IndexIDMap2(faiss.IndexFlatIP(self._dimension)), None
            self._dead = 0
        else:
            index = self._index
            if self._shared:
                cloned = faiss.clone_index(index)
                assert isinstance(cloned, faiss.IndexIDMap2), type(cloned).__name__
                index = cloned
            if len(self._gone) and self._hnsw is None:
                index.remove_ids(faiss.IDSelectorBatch(self._gone))
            elif len(self._gone):
                id_map = faiss.rev_swig_ptr(index.id_map.data(), int(index.ntotal))
                id_map[np.isin(id_map, self._gone)] = -1
                index.construct_rev_map()
                self._dead += len(self._gone)
        if len(delta_ids):
            index.add_with_ids(delta, delta_ids)
            if self._floats is not None:
                self._floats = self._floats.appended(delta)
        self._index, self._shared = index, False
        self._blocks, self._joined, self._gone = [], None, _NO_IDS
        # The base no longer matches a file: the next save writes it whole.
        self._files = []

    def _id_map(self) -> np.ndarray:
        """The id of each base vector, in storage order (-1: a tombstone); a live view."""
        return faiss.rev_swig_ptr(self._index.id_map.data(), int(self._index.ntotal))

    def _stored(self) -> np.ndarray:
        """Every base vector (tombstones included), in storage order; a view, not a copy."""
        if self._floats is not None:
            return self._floats.whole()
        inner = faiss.downcast_index(self._index.index)
        flat = faiss.downcast_index(inner.storage) if isinstance(inner, faiss.IndexHNSW) else inner
        # Exact and older HNSW bases keep their vectors in a flat index (IndexFlatIP, or the graph's storage).
        assert isinstance(flat, faiss.IndexFlat), type(flat).__name__
        n = int(self._index.ntotal)
        if not n:
            return np.zeros((0, self._dimension), dtype="float32")
        return faiss.rev_swig_ptr(flat.get_xb(), n * self._dimension).reshape(n, self._dimension)

    def _base_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Ids and vectors of the live base entries (copies)."""
        id_map = self._id_map()
        keep = (id_map >= 0) & ~np.isin(id_map, self._gone)
        return id_map[keep].copy(), np.ascontiguousarray(self._stored()[keep])

    # -- searching -------------------------------------------------------------------

    def search(
        self, vectors: np.ndarray, k: int, selection: Selection | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, ids), each (n × k), only ids in ``selection``; missing hits have id -1."""
        vectors = _as_matrix(vectors)
        k = max(1, min(k, max(len(self), 1)))
        scores, ids = self._search_base(vectors, k, selection)
        if not self._blocks:
            return scores, ids
        delta_ids, delta = self._delta()
        if selection is not None:
            keep = np.isin(delta_ids, selection.ids)
            delta_ids, delta = delta_ids[keep], delta[keep]
        scores = np.hstack([scores, vectors @ delta.T]).astype("float32", copy=False)
        ids = np.hstack([ids, np.broadcast_to(delta_ids, (len(vectors), len(delta_ids)))])
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)

    def _search_base(
        self, vectors: np.ndarray, k: int, selection: Selection | None
    ) -> tuple[np.ndarray, np.ndarray]:
        allowed = None if selection is None else np.setdiff1d(_ids(selection), self._gone)
        # Selectors are held in locals: FAISS keeps no Python reference to them during the search.
        gone = faiss.IDSelectorBatch(self._gone)
        hidden = faiss.IDSelectorNot(gone)
        if self._hnsw is None:
            if allowed is None and not len(self._gone):
                return self._index.search(vectors, k)
            params = faiss.SearchParameters()
            only = faiss.IDSelectorBatch(allowed) if allowed is not None else hidden
            params.sel = only
            return self._index.search(vectors, k, params=params)
        if allowed is not None and len(allowed) <= EXACT_SUBSET:
            return self._search_subset(vectors, k, allowed)
        real = faiss.IDSelectorRange(0, _ID_LIMIT)
        both = faiss.IDSelectorAnd(real, hidden)
        selector: faiss.IDSelector | None = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
        elif len(self._gone):
            selector = both
        elif self._dead:
            selector = real
        return search_reranked(self._index, self._float_rows(), vectors, k, HNSW_EF_SEARCH, selector)

    def _search_subset(self, vectors: np.ndarray, k: int, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner product over the base vectors of ``ids`` (a small filtered subset)."""
        rows = np.flatnonzero(np.isin(self._id_map(), ids))
        return exact_top(vectors, self._float_rows().take(rows), self._id_map()[rows], k)

    def _float_rows(self) -> FloatRows:
        """The base's float vectors: beside a compressed graph, else in its flat storage (a view)."""
        return self._floats if self._floats is not None else FloatRows(self._dimension, [self._stored()])

    # -- copies and files ------------------------------------------------------------

    def copy(self) -> FaissVectorStore:
        """A copy sharing the base (cloned by whichever of the two folds first) and the delta's arrays."""
        clone = FaissVectorStore.__new__(FaissVectorStore)
        clone.__dict__.update(self.__dict__)
        self._shared = clone._shared = True
        clone._files, clone._new, clone._removed = list(self._files), list(self._new), list(self._removed)
        return clone

    def save(self, target: Path) -> None:
        """Write the whole store, folded, to ``target`` as one FAISS file (callers make that write atomic).

        A compressed graph's float vectors go beside it first, atomically (``floats_name``).
        """
        self._save_floats(target)
        faiss.write_index(self._index, str(target))

    def _save_floats(self, target: Path) -> None:
        """Fold, then write a compressed graph's float vectors beside ``target`` (named as its base)."""
        if self._blocks or len(self._gone):
            self._fold()
        if self._floats is not None:
            path = target.parent / floats_name(target.name)
            write_atomic(path, self._floats.write)
            # Read back from the file: a bulk build's vectors leave memory once written.
            self._floats = FloatRows.open(path, len(self._floats), self._dimension)

    def save_segment(self, target: Path) -> None:
        """Write the changes since the last file (``persist``) to ``target``, an ``.npz`` file."""
        write_segment(target, self._new, self._removed, self._dimension)

    def persist(self, folder: Path, generation: int) -> list[str]:
        """Write what changed since this store's files in ``folder`` (atomically); the names, base first.

        Only a segment file (``vectors-<gen>.npz``) when this store was loaded from or saved
        in ``folder``; the whole store folded into a base file (``vectors-<gen>.faiss``) the
        first time, or past ``SEGMENT_LIMIT`` unfolded vectors or ``MAX_SEGMENTS`` segments.
        Call :meth:`persisted` once the manifest naming them is in place.
        """
        fresh = self._folder != folder or not self._files
        if fresh or self._delta_size() > SEGMENT_LIMIT or len(self._files) > MAX_SEGMENTS:
            name = f"vectors-{generation:06d}.faiss"
            self._save_floats(folder / name)
            write_atomic(folder / name, lambda tmp: faiss.write_index(self._index, str(tmp)))
            return [name]
        if not self._new and not self._removed:
            return list(self._files)
        name = f"vectors-{generation:06d}.npz"
        write_atomic(folder / name, self.save_segment)
        return [*self._files, name]

    def persisted(self, folder: Path, names: list[str]) -> None:
        """Record that ``names`` in ``folder`` (as :meth:`persist` returned them) now hold this store."""
        self._folder, self._files = folder, list(names)
        self._new, self._removed = [], []

    @classmethod
    def load(cls, path: Path, *, approximate_from: int = APPROXIMATE_FROM) -> FaissVectorStore:
        """Read a store written by :meth:`save`."""
        index = faiss.read_index(str(path))
        store = cls(index.d, approximate_from=approximate_from)
        if not isinstance(index, faiss.IndexIDMap2):
            raise ValueError(f"{path.name} holds a {type(index).__name__}, not an id-mapped index")
        store._index = index
        if isinstance(faiss.downcast_index(index.index), faiss.IndexHNSWSQ):
            store._floats = FloatRows.open(path.parent / floats_name(path.name), int(index.ntotal), index.d)
        store._dead = int((store._id_map() < 0).sum())
        store._folder, store._files = path.parent, [path.name]
        return store

    def apply_segment(self, path: Path) -> None:
        """Replay a segment file written by :meth:`save_segment` (no folding: the files stay as they are)."""
        removed, ids, vectors = read_segment(path, self._dimension)
        self._drop(removed)
        if len(ids):
            self._blocks, self._joined = [*self._blocks, (ids, vectors)], None
        self._files.append(path.name)


def _ids(selection: Selection) -> np.ndarray:
    return np.ascontiguousarray(selection.ids, dtype="int64")


__all__ = ["APPROXIMATE_FROM", "FaissVectorStore"]
