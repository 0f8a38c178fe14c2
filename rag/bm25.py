"""Lexical retrieval: Okapi BM25 over jieba tokens, kept with the index."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

# Words that carry no topic in a question or a news sentence.  Kept short on purpose:
# BM25's idf already discounts common words; this list removes question scaffolding
# (什么, 多少, 哪些…) that would otherwise match unrelated sentences.
STOPWORDS: frozenset[str] = frozenset(
    """的 了 是 在 和 与 及 或 也 都 就 而 并 等 将 对 为 以 于 把 被 从 向 到 由 中 上 下 这 那
    其 之 个 有 无 什么 多少 哪些 哪个 哪里 哪 几 几个 如何 怎么 怎样 为何 为什么 是否 吗 呢
    吧 啊 请问 请 问 谁 何 何时 哪年 哪天 一 一个 我们 你们 他们 她们 它们 它 他 她 我 你
    我市 本报讯 记者 通讯员 报道 表示 介绍 据 了解 获悉 多 少 时候 什么样 月 日 年 号""".split()
)

USER_DICT = Path(__file__).parent / "data" / "userdict.txt"
_TOKEN_OK = re.compile(r"[\w]", re.UNICODE)


@lru_cache(maxsize=1)
def jieba_tokenizer():  # type: ignore[no-untyped-def]
    """jieba with the archive's user dictionary loaded (once; jieba's tokenizer is process-wide)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    # Names of this archive's recurring events, places and bodies that jieba's general
    # dictionary splits apart (进博会 → 进/博会), which would blur lexical matching.
    jieba.load_userdict(str(USER_DICT))
    # The tagger loads its own tag table on its first cut and only then takes the user
    # dictionary's tags: cut once now, or the first question is tagged without them.
    import jieba.posseg

    jieba.posseg.lcut("太原")
    return jieba


def pos_tags(text: str) -> list[tuple[str, str]]:
    """``(word, part-of-speech flag)`` pairs of jieba's tagger, with the archive's user dictionary."""
    import jieba.posseg

    jieba_tokenizer()  # the user dictionary first, whichever module tags first
    return [(pair.word, pair.flag) for pair in jieba.posseg.cut(text)]


def tokenize(text: str) -> list[str]:
    """Split Chinese/mixed text into search tokens (jieba search mode, NFKC, lower-case, no stopwords)."""
    text = unicodedata.normalize("NFKC", text).lower()
    tokens = jieba_tokenizer().lcut_for_search(text)
    return [t for t in (tok.strip() for tok in tokens) if t and _TOKEN_OK.search(t) and t not in STOPWORDS]


class BM25Index:
    """Okapi BM25 over pre-tokenised documents addressed by position.

    Documents are added as token lists at caller-chosen positions (the index's chunk
    slots), so the tokens can be saved with the index and never recomputed; removal
    leaves a gap that scores zero.

    Example:
        >>> bm25 = BM25Index()
        >>> bm25.add([0, 1], [["太原", "进博会"], ["图书馆", "自习室"]])
        >>> [int(i) for i in bm25.search(["进博会"], k=1)[1]]
        [0]
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._docs: list[list[str] | None] = []
        self._postings: dict[str, dict[int, int]] = defaultdict(dict)
        self._lengths: list[int] = []
        self._live = 0
        self._total_len = 0

    def __len__(self) -> int:
        return self._live

    def add(self, positions: Sequence[int], documents: Sequence[Sequence[str]]) -> None:
        """Store tokenised ``documents`` at the given (unused) ``positions``."""
        if len(positions) != len(documents):
            raise ValueError(f"{len(positions)} positions for {len(documents)} documents")
        for pos, tokens in zip(positions, documents, strict=True):
            if pos < len(self._docs) and self._docs[pos] is not None:
                raise ValueError(f"position {pos} is already used")
            if pos >= len(self._docs):
                grow = pos + 1 - len(self._docs)
                self._docs.extend([None] * grow)
                self._lengths.extend([0] * grow)
            self._docs[pos] = list(tokens)
            self._lengths[pos] = len(tokens)
            for term, tf in Counter(tokens).items():
                self._postings[term][pos] = tf
            self._live += 1
            self._total_len += len(tokens)

    def remove(self, positions: Iterable[int]) -> None:
        """Forget the documents at ``positions``."""
        for pos in positions:
            tokens = self._docs[pos] if pos < len(self._docs) else None
            if tokens is None:
                continue
            for term in set(tokens):
                self._postings[term].pop(pos, None)
                if not self._postings[term]:
                    del self._postings[term]
            self._docs[pos] = None
            self._live -= 1
            self._total_len -= self._lengths[pos]
            self._lengths[pos] = 0

    def tokens(self, pos: int) -> list[str]:
        """The tokens stored at ``pos`` (empty when removed)."""
        return list(self._docs[pos] or [])

    def document_frequency(self, term: str) -> int:
        """How many live documents hold ``term``."""
        return len(self._postings.get(term, ()))

    def idf(self, term: str) -> float:
        """Robertson–Spärck Jones idf (never negative)."""
        n = len(self._postings.get(term, ()))
        return math.log(1.0 + (self._live - n + 0.5) / (n + 0.5))

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every position (dead ones score 0)."""
        scores = np.zeros(len(self._docs), dtype="float32")
        if not self._live:
            return scores
        avg_len = self._total_len / self._live or 1.0
        lengths = np.asarray(self._lengths, dtype="float32")
        for term, qtf in Counter(query_tokens).items():
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = self.idf(term)
            pos = np.fromiter(postings.keys(), dtype="int64", count=len(postings))
            tf = np.fromiter(postings.values(), dtype="float32", count=len(postings))
            norm = self.k1 * (1.0 - self.b + self.b * lengths[pos] / avg_len)
            scores[pos] += qtf * idf * tf * (self.k1 + 1.0) / (tf + norm)
        return scores

    def search(
        self, query_tokens: Sequence[str], k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, positions) with a positive score; ``mask`` keeps only True positions."""
        scores = self.scores(query_tokens)
        if mask is not None:
            scores = np.where(mask[: len(scores)], scores, 0.0)
        hits = np.flatnonzero(scores > 0)
        if not len(hits):
            return np.zeros(0, dtype="float32"), np.zeros(0, dtype="int64")
        top = hits[np.argsort(-scores[hits], kind="stable")[:k]]
        return scores[top], top
