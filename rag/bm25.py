"""The project's tokenizer: jieba with the archive's user dictionary, NFKC, no stopwords.

BM25 itself is scored by the lexical store (tantivy, :mod:`rag.lexical`) over these tokens.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

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
