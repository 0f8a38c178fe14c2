"""Concurrent questions share one forward pass of the embedding model.

Under load, several requests embed their query at the same moment.  One forward pass
over a batch of queries costs far less than one per query (e5-small on one core:
14 ms for one query, 24 ms for four), so :class:`BatchingEmbedder` hands every
``encode_queries`` call to a single worker thread that embeds whatever has queued up
while it was busy.  Nothing waits on purpose: a lone query is embedded at once.

One caller's bad input must not fail the others batched with it: when a batched forward
pass fails, each request of the batch is embedded again on its own, so only the request
that fails alone gets the error.  Chosen by :func:`rag.build.build_embedder`
(``batch_queries=True``: the HTTP server).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.embed import WrappingEmbedder
from rag.protocols import Embedder

log = logging.getLogger(__name__)


@dataclass
class _Request:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    vectors: np.ndarray | None = None
    error: BaseException | None = None


class BatchingEmbedder(WrappingEmbedder):
    """Wraps an :class:`~rag.protocols.Embedder`; concurrent query embeddings are batched.

    Documents are embedded by the wrapped embedder directly (ingest batches already).

    Example:
        >>> from rag.embed import HashingEmbedder
        >>> embedder = BatchingEmbedder(HashingEmbedder(16))
        >>> embedder.encode_queries(["山西展厅"]).shape
        (1, 16)
    """

    def __init__(self, inner: Embedder, max_batch: int = 32) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be ≥ 1")
        super().__init__(inner)
        self.max_batch = max_batch
        self._pending: list[_Request] = []
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        #: Sizes of the batches run so far (bounded: the last 1,000), for tests and tuning.
        self.batch_sizes: list[int] = []

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries, sharing a forward pass with queries of other threads queued meanwhile."""
        request = _Request(list(texts))
        if not request.texts:
            return self.inner.encode_queries([])
        with self._cond:
            self._pending.append(request)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="query-embedder", daemon=True)
                self._worker.start()
            self._cond.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.vectors is not None
        return request.vectors

    def _take(self) -> list[_Request]:
        """Block until queries are queued; take up to ``max_batch`` texts' worth (at least one request)."""
        with self._cond:
            while not self._pending:
                self._cond.wait()
            batch: list[_Request] = []
            size = 0
            while self._pending and (not batch or size + len(self._pending[0].texts) <= self.max_batch):
                request = self._pending.pop(0)
                batch.append(request)
                size += len(request.texts)
            return batch

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.inner.encode_queries(texts)
        self.batch_sizes.append(len(texts))
        del self.batch_sizes[:-1000]
        return vectors

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                self._run_batch(batch)
            except BaseException as err:  # noqa: BLE001 - never leave a caller waiting
                for request in batch:
                    if not request.done.is_set():
                        request.error = err
                        request.done.set()

    def _run_batch(self, batch: list[_Request]) -> None:
        texts = [t for r in batch for t in r.texts]
        try:
            vectors = self._encode(texts)
        except Exception as err:
            if len(batch) == 1:
                batch[0].error = err
                batch[0].done.set()
                return
            # Someone's input broke the shared pass: find whose, by embedding each request alone.
            # The caller whose request fails logs the failure; this is only a note.
            log.debug(
                "a batch of %d queries failed (%s: %s); embedding them one by one",
                len(batch),
                type(err).__name__,
                " ".join(str(err).split())[:200],
            )
            for request in batch:
                try:
                    request.vectors = self._encode(request.texts)
                except Exception as own:  # noqa: BLE001 - handed to its caller only
                    request.error = own
                request.done.set()
            return
        start = 0
        for request in batch:
            request.vectors = vectors[start : start + len(request.texts)]
            start += len(request.texts)
            request.done.set()
