"""recall@10 of the dense store's approximate index against exact search, on real vectors.

Usage: .venv/bin/python scripts/recall_real_vectors.py   (after `rag bench haystack --distractors 19484`)

The vectors are the chunk vectors of the seeds among all 19,484 People's Daily paragraphs (the
haystack bench's cached index: 20,546 chunks embedded by the default model, none synthetic); the
queries are the dev and near-miss questions embedded by the same model. Compared: the store's
HNSW over 8-bit codes with exact re-ranking (what ``rag.store`` builds past 50,000 chunks), the
HNSW-Flat it replaced, and the codes alone without re-ranking.
"""

from __future__ import annotations

import glob
import json
import os
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.build import build_embedder
from rag.settings import Settings
from rag.store import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, FaissVectorStore

ROOT = Path(__file__).resolve().parent.parent


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / exact.shape[1] for f, e in zip(found, exact, strict=True)]))


def _graph(index: Any) -> Any:
    index.hnsw.efConstruction, index.hnsw.efSearch = HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH
    return index


def main() -> None:
    folders = sorted(glob.glob(os.path.expanduser("~/.cache/taiyuan-rag/bench/index-seeds-19484-*/")))
    if not folders:
        raise SystemExit("no cached haystack index: run `rag bench haystack --distractors 19484` first")
    folder = Path(folders[0])
    files = json.loads((folder / "manifest.json").read_text())["files"]
    base = FaissVectorStore.load(folder / files["vectors"])
    for segment in files.get("segments", []):
        base.apply_segment(folder / segment)
    ids, vectors = base._base_vectors()
    questions = [
        json.loads(line)["question"]
        for name in ("qa_dev.jsonl", "qa_near_miss.jsonl")
        for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines()
    ]
    queries = build_embedder(Settings()).encode_queries(questions).astype("float32")
    exact = ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :10]]
    print(f"{len(ids):,} real chunk vectors, {len(questions)} questions")

    started = time.perf_counter()
    store = FaissVectorStore(vectors.shape[1], approximate_from=1000)
    store.add(ids, vectors)
    built = time.perf_counter() - started
    started = time.perf_counter()
    found = store.search(queries, 10)[1]
    per_query = (time.perf_counter() - started) / len(queries) * 1000
    print(
        f"{store.kind} + exact re-ranking (rag.store): recall@10 {_recall(found, exact):.4f}, "
        f"built in {built:.1f} s, {per_query:.2f} ms a query"
    )
    flat = _graph(faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT))
    flat.add(vectors)
    print(f"hnsw-flat (before): recall@10 {_recall(ids[flat.search(queries, 10)[1]], exact):.4f}")
    eight_bit = faiss.ScalarQuantizer.QT_8bit
    codes = _graph(faiss.IndexHNSWSQ(vectors.shape[1], eight_bit, HNSW_M, faiss.METRIC_INNER_PRODUCT))
    codes.train(vectors)
    codes.add(vectors)
    print(f"hnsw-sq8 codes alone: recall@10 {_recall(ids[codes.search(queries, 10)[1]], exact):.4f}")


if __name__ == "__main__":
    main()
