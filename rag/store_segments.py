"""Segment files of the dense store: the vectors one save added and the ids it removed.

A FAISS store saved once as a base file (``vectors-<gen>.faiss``) is saved afterwards as
segments (``vectors-<gen>.npz``: ``ids``, ``vectors``, ``removed``) until a compaction
writes a new base; loading reads the base, then replays the segments in order, removals
first (see :class:`rag.store.FaissVectorStore`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_segment(
    target: Path,
    added: Sequence[tuple[np.ndarray, np.ndarray]],
    removed: Sequence[np.ndarray],
    dimension: int,
) -> None:
    """Write the (ids, vectors) blocks ``added`` and the id arrays ``removed`` to ``target``."""
    ids = np.concatenate([b[0] for b in added]) if added else np.zeros(0, dtype="int64")
    vectors = np.concatenate([b[1] for b in added]) if added else np.zeros((0, dimension), dtype="float32")
    gone = np.unique(np.concatenate(removed)) if removed else np.zeros(0, dtype="int64")
    buffer = io.BytesIO()
    np.savez(buffer, ids=ids.astype("int64"), vectors=vectors.astype("float32"), removed=gone.astype("int64"))
    target.write_bytes(buffer.getvalue())


def read_segment(path: Path, dimension: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(removed ids sorted, added ids, their vectors) of a segment file; ValueError if malformed."""
    with np.load(path) as data:
        removed, ids, vectors = data["removed"], data["ids"], data["vectors"]
    if vectors.ndim != 2 or vectors.shape[1] != dimension or len(ids) != len(vectors):
        raise ValueError(f"{path.name} holds vectors of shape {vectors.shape} for {len(ids)} ids")
    return (
        np.unique(removed.astype("int64")),
        ids.astype("int64"),
        np.ascontiguousarray(vectors, dtype="float32"),
    )


__all__ = ["read_segment", "write_segment"]
