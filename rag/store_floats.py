"""The float32 vectors beside a compressed HNSW graph, and the exact re-ranking that reads them.

Past ``approximate_from`` vectors the dense store searches an HNSW graph over 8-bit codes
(``IndexHNSWSQ``): 384 bytes a vector instead of 1,536, which is what keeps 10^6 chunks
inside a server's memory.  Codes alone rank near-duplicates poorly (recall@10 0.70 on
noisy copies of People's Daily vectors), so the graph is asked for more candidates than
wanted and those are ranked by exact inner product over the float vectors.  These live
in a raw file beside the graph (``vectors-<gen>.f32``, rows in the graph's storage order)
that loading memory-maps: a query reads only the rows it re-ranks, so the float vectors
stay out of resident memory; rebuilds read them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

#: The graph is asked for ``max(RERANK_FACTOR * k, k + RERANK_EXTRA)`` candidates.
RERANK_FACTOR = 2
RERANK_EXTRA = 30


class FloatRows:
    """Float32 rows in blocks (arrays or memory maps, never changed once held).

    Example:
        >>> rows = FloatRows(2).appended(np.eye(2, dtype="float32"))
        >>> rows.take(np.array([1])).tolist()
        [[0.0, 1.0]]
    """

    def __init__(self, dimension: int, blocks: Sequence[np.ndarray] = ()) -> None:
        self.dimension = dimension
        self._blocks = tuple(blocks)
        self._starts = np.cumsum([0, *(len(b) for b in self._blocks)])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def appended(self, vectors: np.ndarray) -> FloatRows:
        """These rows and then ``vectors`` (a new object: copies of a store share the old one)."""
        return FloatRows(self.dimension, [*self._blocks, np.ascontiguousarray(vectors, dtype="float32")])

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The rows at positions ``rows`` (any order, as a new array)."""
        rows = np.asarray(rows, dtype="int64")
        out = np.empty((len(rows), self.dimension), dtype="float32")
        block = np.searchsorted(self._starts, rows, side="right") - 1
        for b in np.unique(block):
            at = block == b
            out[at] = self._blocks[b][rows[at] - self._starts[b]]
        return out

    def whole(self) -> np.ndarray:
        """Every row as one matrix (the memory map itself when there is one block)."""
        if len(self._blocks) == 1:
            return self._blocks[0]
        if not self._blocks:
            return np.zeros((0, self.dimension), dtype="float32")
        return np.concatenate(self._blocks)

    def write(self, target: Path) -> None:
        """Write every row to ``target`` as raw float32, block by block (no joined copy)."""
        with open(target, "wb") as fh:
            for block in self._blocks:
                for start in range(0, len(block), 65_536):
                    fh.write(np.ascontiguousarray(block[start : start + 65_536], dtype="float32").tobytes())

    @classmethod
    def open(cls, path: Path, rows: int, dimension: int) -> FloatRows:
        """Memory-map the ``rows`` × ``dimension`` file at ``path`` (read-only).

        Raises ``ValueError`` when the file is missing or its size does not fit.
        """
        if not path.exists():
            raise ValueError(f"{path.name} is missing")
        expected = rows * dimension * 4
        if path.stat().st_size != expected:
            raise ValueError(f"{path.name} holds {path.stat().st_size} bytes, not {expected}")
        if not rows:
            return cls(dimension)
        return cls(dimension, [np.memmap(path, dtype="float32", mode="r", shape=(rows, dimension))])


def new_sq8_graph(dimension: int, m: int, ef_construction: int, ef_search: int, sample: np.ndarray) -> Any:
    """An empty id-mapped HNSW graph over 8-bit codes, its ranges trained on ``sample``."""
    eight_bit = faiss.ScalarQuantizer.QT_8bit
    inner = faiss.IndexHNSWSQ(dimension, eight_bit, m, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]
    inner.hnsw.efConstruction = ef_construction
    inner.hnsw.efSearch = ef_search
    inner.train(np.ascontiguousarray(sample, dtype="float32"))
    return faiss.IndexIDMap2(inner)


def exact_top(
    vectors: np.ndarray, stored: np.ndarray, ids: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``stored`` (rows with ids ``ids``) by exact inner product; (scores, ids).

    Short rows are padded with score -inf and id -1, as FAISS pads them.
    """
    scores = np.full((len(vectors), k), -np.inf, dtype="float32")
    found = np.full((len(vectors), k), -1, dtype="int64")
    if not len(ids):
        return scores, found
    sims = vectors @ stored.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    width = top.shape[1]
    scores[:, :width] = np.take_along_axis(sims, top, axis=1)
    found[:, :width] = ids[top]
    return scores, found


def search_reranked(
    index: Any,
    floats: FloatRows,
    vectors: np.ndarray,
    k: int,
    ef_search: int,
    selector: faiss.IDSelector | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Search ``index`` (an ``IndexIDMap2`` over an HNSW graph) and re-rank exactly; (scores, ids).

    ``selector`` keeps ids (not storage rows): it is translated through the id map.
    """
    inner = faiss.downcast_index(index.index)
    depth = min(max(RERANK_FACTOR * k, k + RERANK_EXTRA), int(index.ntotal))
    # In faiss's Python API, missing from the stubs it ships (faiss-cpu 1.15).
    params = faiss.SearchParametersHNSW(efSearch=max(ef_search, depth))  # type: ignore[attr-defined]
    translated = None if selector is None else faiss.IDSelectorTranslated(index.id_map, selector)
    if translated is not None:
        params.sel = translated
    _, rows = inner.search(vectors, depth, params=params)
    id_map = faiss.rev_swig_ptr(index.id_map.data(), int(index.ntotal))
    scores = np.full((len(vectors), k), -np.inf, dtype="float32")
    found = np.full((len(vectors), k), -1, dtype="int64")
    for q, candidates in enumerate(rows):
        candidates = candidates[candidates >= 0]
        top = exact_top(vectors[q : q + 1], floats.take(candidates), id_map[candidates], k)
        scores[q], found[q] = top[0][0], top[1][0]
    return scores, found


__all__ = ["FloatRows", "exact_top", "new_sq8_graph", "search_reranked"]
