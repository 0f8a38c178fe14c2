"""Retrieval: dense, BM25 or hybrid (weighted reciprocal-rank fusion), near-duplicates collapsed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rag.bm25 import tokenize
from rag.errors import InvalidInputError
from rag.index import Index
from rag.text import normalize_for_match
from rag.types import Chunk, Passage, SearchFilters

RetrieverMode = Literal["hybrid", "dense", "bm25"]
RETRIEVER_MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class RetrieverSettings:
    """Knobs of :class:`Retriever`; per-call arguments override ``top_k``."""

    mode: RetrieverMode = "hybrid"
    top_k: int = 5
    candidates: int = 50
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    #: Chunks whose normalised texts overlap this much (shorter one's share) count as duplicates.
    duplicate_overlap: float = 0.8

    def __post_init__(self) -> None:
        if self.mode not in RETRIEVER_MODES:
            raise ValueError(f"retriever mode must be one of {RETRIEVER_MODES}, got {self.mode!r}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be ≥ 1, got {self.top_k}")
        if self.candidates < self.top_k:
            raise ValueError(f"candidates ({self.candidates}) must be ≥ top_k ({self.top_k})")


def _shingles(text: str, n: int = 4) -> set[str]:
    norm = normalize_for_match(text)
    return {norm[i : i + n] for i in range(max(len(norm) - n + 1, 1))}


class Retriever:
    """Finds the passages most likely to answer a question.

    Hybrid mode fuses the dense (embedding) ranking and the BM25 ranking with
    weighted reciprocal-rank fusion, ``Σ w / (rrf_k + rank)``; near-duplicate chunks
    (an article printed twice, overlapping chunks) are collapsed to the best one.

    Example:
        >>> retriever = Retriever(index, RetrieverSettings(top_k=3))  # doctest: +SKIP
        >>> [p.chunk.title for p in retriever.run("第八届进博会山西展厅面积")]  # doctest: +SKIP
    """

    def __init__(self, index: Index, settings: RetrieverSettings | None = None) -> None:
        self.index = index
        self.settings = settings or RetrieverSettings()

    def run(
        self,
        query: str,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        mode: RetrieverMode | None = None,
    ) -> list[Passage]:
        """Return up to ``top_k`` passages for ``query``, best first."""
        query = query.strip()
        if not query:
            raise InvalidInputError("the query is empty")
        top_k = top_k or self.settings.top_k
        if top_k < 1 or top_k > 100:
            raise InvalidInputError(f"top_k must be between 1 and 100, got {top_k}")
        mode = mode or self.settings.mode
        if mode not in RETRIEVER_MODES:
            raise InvalidInputError(f"retriever must be one of {', '.join(RETRIEVER_MODES)}, got {mode!r}")
        depth = max(self.settings.candidates, top_k * 4)
        rankings: list[tuple[float, list[tuple[Chunk, float]]]] = []
        if mode in ("hybrid", "dense"):
            vector = self.index.embedder.encode_queries([query])
            rankings.append((self.settings.dense_weight, self.index.dense_search(vector, depth, filters)))
        if mode in ("hybrid", "bm25"):
            tokens = tokenize(query)
            rankings.append((self.settings.bm25_weight, self.index.bm25_search(tokens, depth, filters)))
        if mode == "hybrid":
            fused = self._fuse(rankings)
        else:
            fused = rankings[0][1]
        return self._dedupe(fused, top_k)

    def _fuse(self, rankings: Sequence[tuple[float, list[tuple[Chunk, float]]]]) -> list[tuple[Chunk, float]]:
        scores: dict[str, float] = {}
        chunks: dict[str, Chunk] = {}
        for weight, ranking in rankings:
            for rank, (chunk, _) in enumerate(ranking, start=1):
                scores[chunk.id] = scores.get(chunk.id, 0.0) + weight / (self.settings.rrf_k + rank)
                chunks[chunk.id] = chunk
        order = sorted(scores, key=lambda cid: -scores[cid])
        return [(chunks[cid], scores[cid]) for cid in order]

    def _dedupe(self, ranked: Sequence[tuple[Chunk, float]], top_k: int) -> list[Passage]:
        kept: list[tuple[Chunk, float, set[str]]] = []
        for chunk, score in ranked:
            grams = _shingles(chunk.text)
            duplicate = any(
                len(grams & other) >= self.settings.duplicate_overlap * min(len(grams), len(other))
                for _, _, other in kept
            )
            if not duplicate:
                kept.append((chunk, score, grams))
            if len(kept) >= top_k:
                break
        return [Passage(chunk=c, score=s, rank=r) for r, (c, s, _) in enumerate(kept, start=1)]
