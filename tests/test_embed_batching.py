"""Concurrent query embeddings share forward passes."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from rag.batching import BatchingEmbedder
from rag.embed import HashingEmbedder
from rag.errors import ModelError


class SlowEmbedder(HashingEmbedder):
    """Takes a while per call (like a model) and records the batches it was given."""

    def __init__(self, fail_on: str | None = None) -> None:
        super().__init__(32)
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        time.sleep(0.05)
        if self.fail_on and self.fail_on in texts:
            raise ModelError("the model crashed")
        return super().encode_queries(texts)


def ask_concurrently(embedder: BatchingEmbedder, queries: list[str]) -> dict[str, np.ndarray | Exception]:
    results: dict[str, np.ndarray | Exception] = {}

    def one(query: str) -> None:
        try:
            results[query] = embedder.encode_queries([query])
        except Exception as err:  # noqa: BLE001
            results[query] = err

    threads = [threading.Thread(target=one, args=(q,)) for q in queries]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_each_caller_gets_its_own_vectors() -> None:
    inner = SlowEmbedder()
    queries = [f"问题{i}：山西展厅" for i in range(12)]
    results = ask_concurrently(BatchingEmbedder(inner), queries)
    for query in queries:
        vector = results[query]
        assert isinstance(vector, np.ndarray)
        np.testing.assert_allclose(vector, HashingEmbedder(32).encode_queries([query]))


def test_concurrent_queries_are_batched() -> None:
    inner = SlowEmbedder()
    embedder = BatchingEmbedder(inner, max_batch=4)
    ask_concurrently(embedder, [f"q{i}" for i in range(12)])
    assert sum(len(c) for c in inner.calls) == 12
    assert len(inner.calls) < 12
    assert max(len(c) for c in inner.calls) <= 4
    assert embedder.batch_sizes == [len(c) for c in inner.calls]


def test_a_lone_query_is_not_delayed() -> None:
    inner = SlowEmbedder()
    embedder = BatchingEmbedder(inner)
    started = time.perf_counter()
    embedder.encode_queries(["太原"])
    assert time.perf_counter() - started < 0.5
    assert inner.calls == [["太原"]]


def test_a_failing_batch_fails_its_callers_only() -> None:
    inner = SlowEmbedder(fail_on="bad")
    embedder = BatchingEmbedder(inner)
    with pytest.raises(ModelError):
        embedder.encode_queries(["bad"])
    assert embedder.encode_queries(["good"]).shape == (1, 32)


def test_it_looks_like_the_wrapped_embedder() -> None:
    inner = HashingEmbedder(48)
    embedder = BatchingEmbedder(inner)
    assert embedder.name == inner.name and embedder.dimension == 48
    np.testing.assert_allclose(embedder.encode_documents(["文"]), inner.encode_documents(["文"]))
    assert embedder.encode_queries([]).shape == (0, 48)
    with pytest.raises(ValueError):
        BatchingEmbedder(inner, max_batch=0)


def test_a_poisoned_query_fails_only_its_own_caller() -> None:
    inner = SlowEmbedder(fail_on="bad")
    embedder = BatchingEmbedder(inner)
    # One slow pass first, so that the others queue up behind it and share the next pass.
    first = threading.Thread(target=embedder.encode_queries, args=(["warm"],))
    first.start()
    time.sleep(0.01)
    results = ask_concurrently(embedder, ["bad", *(f"good {i}" for i in range(8))])
    first.join()
    assert isinstance(results["bad"], ModelError)
    for i in range(8):
        vector = results[f"good {i}"]
        assert isinstance(vector, np.ndarray), vector
        np.testing.assert_allclose(vector, HashingEmbedder(32).encode_queries([f"good {i}"]))
    # The poisoned query really was batched with the others, then isolated.
    assert any("bad" in call and len(call) > 1 for call in inner.calls)
    assert ["bad"] in inner.calls
