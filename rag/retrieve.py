"""Retrieval: dense, BM25 or hybrid (score or rank fusion of both), near-duplicates collapsed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.bm25 import tokenize
from rag.coverage import rerank_by_coverage, term_weights
from rag.errors import InvalidInputError
from rag.index import Index
from rag.text import normalize_for_match
from rag.types import (
    FUSION_METHODS,
    RETRIEVER_MODES,
    Chunk,
    FusionMethod,
    Passage,
    RetrieverMode,
    SearchFilters,
)

if TYPE_CHECKING:
    from rag.settings import Settings


#: The most passages one search returns.
MAX_TOP_K = 100


@dataclass(frozen=True)
class RetrieverSettings:
    """Knobs of :class:`Retriever`; per-call arguments override ``top_k``."""

    mode: RetrieverMode = "hybrid"
    top_k: int = 5
    candidates: int = 50
    #: How hybrid mode combines the two rankings (see ``eval/EXPERIMENTS.md`` for why convex).
    fusion: FusionMethod = "convex"
    rrf_k: int = 60
    dense_weight: float = 0.7
    bm25_weight: float = 0.3
    #: Chunks whose normalised texts overlap this much (shorter one's share) count as duplicates.
    duplicate_overlap: float = 0.8
    #: What a hybrid hit printing none of the question's terms keeps of its fused score
    #: (:func:`rag.coverage.rerank_by_coverage`; 1 turns the re-ranking off).
    coverage_floor: float = 0.3

    def __post_init__(self) -> None:
        if self.fusion not in FUSION_METHODS:
            raise ValueError(f"fusion must be one of {FUSION_METHODS}, got {self.fusion!r}")
        if self.mode not in RETRIEVER_MODES:
            raise ValueError(f"retriever mode must be one of {RETRIEVER_MODES}, got {self.mode!r}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be ≥ 1, got {self.top_k}")
        if self.candidates < self.top_k:
            raise ValueError(f"candidates ({self.candidates}) must be ≥ top_k ({self.top_k})")
        if not 0.0 <= self.coverage_floor <= 1.0:
            raise ValueError(f"coverage_floor must be between 0 and 1, got {self.coverage_floor}")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetrieverSettings:
        """The retriever knobs of the product-wide :class:`~rag.settings.Settings`."""
        return cls(
            mode=settings.retriever,
            top_k=settings.top_k,
            candidates=max(settings.candidates, settings.top_k),
            fusion=settings.fusion,
            rrf_k=settings.rrf_k,
            dense_weight=settings.dense_weight,
            bm25_weight=settings.bm25_weight,
            coverage_floor=settings.coverage_floor,
        )


def _shingles(text: str, n: int = 4) -> set[str]:
    norm = normalize_for_match(text)
    return {norm[i : i + n] for i in range(max(len(norm) - n + 1, 1))}


class Retriever:
    """Finds the passages most likely to answer a question.

    Hybrid mode fuses the dense (embedding) and the BM25 candidates.  The default,
    ``fusion="convex"``, min-max normalises each retriever's scores over its candidate
    list and adds them with the two weights (``0.7 · dense + 0.3 · bm25``; a chunk one
    retriever did not return gets 0 from it); ``fusion="rrf"`` is weighted
    reciprocal-rank fusion, ``Σ w / (rrf_k + rank)``.  Convex fusion keeps how *much*
    better the best hit is, which ranks alone throw away: on the inverse-cloze benchmark
    plain RRF lost to dense retrieval at R@5 while convex fusion beats it at every k.
    Near-duplicate chunks (an article printed twice, overlapping chunks) are collapsed
    to the best one.

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
        if top_k < 1 or top_k > MAX_TOP_K:
            raise InvalidInputError(f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}")
        mode = mode or self.settings.mode
        if mode not in RETRIEVER_MODES:
            raise InvalidInputError(f"retriever must be one of {', '.join(RETRIEVER_MODES)}, got {mode!r}")
        # A fixed depth for every top_k up to half of it: convex fusion normalises over the
        # candidate lists, so their length must not change the order of the first hits.
        depth = max(self.settings.candidates, top_k * 2)
        rankings: list[tuple[float, list[tuple[Chunk, float]]]] = []
        tokens = tokenize(query) if mode in ("hybrid", "bm25") else []
        if mode in ("hybrid", "dense"):
            vector = self.index.query_vector(query)
            rankings.append((self.settings.dense_weight, self.index.dense_search(vector, depth, filters)))
        if mode in ("hybrid", "bm25"):
            rankings.append((self.settings.bm25_weight, self.index.bm25_search(tokens, depth, filters)))
        if mode == "hybrid":
            fused = self._fuse(rankings)
            if self.settings.coverage_floor < 1.0:
                # Weighed by the question's terms each prints: at scale the dense list alone is
                # a run of near-ties (see rag.coverage).
                weights = term_weights(tokens, self.index)
                fused = rerank_by_coverage(fused, weights, self.settings.coverage_floor)
        else:
            fused = rankings[0][1]
        return self._dedupe(fused, top_k)

    def _fuse(self, rankings: Sequence[tuple[float, list[tuple[Chunk, float]]]]) -> list[tuple[Chunk, float]]:
        return fuse(rankings, self.settings.fusion, self.settings.rrf_k)

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


def _min_max(ranking: Sequence[tuple[Chunk, float]]) -> list[float]:
    """Scores rescaled to 0–1 over the list (all 1.0 when they are equal)."""
    values = [score for _, score in ranking]
    low, high = min(values, default=0.0), max(values, default=0.0)
    if high <= low:
        return [1.0] * len(values)
    return [(v - low) / (high - low) for v in values]


def fuse(
    rankings: Sequence[tuple[float, Sequence[tuple[Chunk, float]]]],
    method: FusionMethod = "convex",
    rrf_k: int = 60,
) -> list[tuple[Chunk, float]]:
    """Combine weighted rankings of ``(chunk, score)`` into one, best first.

    ``convex``: ``Σ weight · minmax(score)`` (0 from a ranking that lacks the chunk);
    ``rrf``: ``Σ weight / (rrf_k + rank)``.  Ties keep the order of first appearance.

    Example:
        >>> a, b = (Chunk(i, i, "", 0, 0, "", "", "") for i in "ab")
        >>> fused = fuse([(0.7, [(a, 0.9), (b, 0.8)]), (0.3, [(b, 12.0), (a, 2.0)])])
        >>> [(c.id, round(s, 2)) for c, s in fused]
        [('a', 0.7), ('b', 0.3)]
    """
    if method not in FUSION_METHODS:
        raise ValueError(f"fusion must be one of {FUSION_METHODS}, got {method!r}")
    scores: dict[str, float] = {}
    chunks: dict[str, Chunk] = {}
    for weight, ranking in rankings:
        if method == "convex":
            contributions = [weight * v for v in _min_max(ranking)]
        else:
            contributions = [weight / (rrf_k + rank) for rank in range(1, len(ranking) + 1)]
        for (chunk, _), value in zip(ranking, contributions, strict=True):
            scores[chunk.id] = scores.get(chunk.id, 0.0) + value
            chunks[chunk.id] = chunk
    order = sorted(scores, key=lambda cid: -scores[cid])
    return [(chunks[cid], scores[cid]) for cid in order]
