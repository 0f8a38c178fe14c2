"""Chinese text helpers shared by the parser, the chunker and the generator.

Everything here is a pure function over ``str``:

* :func:`split_sentences` cuts text into sentence spans that tile it exactly;
* :func:`trim_span` narrows a span to its non-blank core (for quoting);
* :func:`ends_sentence` tells whether a line ends a sentence (column-break repair);
* :func:`split_clauses` cuts a sentence at commas outside quotes;
* :func:`normalize_for_match` folds text for comparisons (dedup, ids, matching quotes).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

#: Characters that end a sentence.  ASCII "." is deliberately absent: it is far more
#: often a decimal point, a URL or an abbreviation than a full stop in this corpus.
TERMINATORS = frozenset("。！？；!?;")
#: Ellipsis characters; "…" and "……" both end a sentence.
ELLIPSIS = "…"
#: Closing quotes and brackets that stay with the sentence they close.
CLOSERS = frozenset("”’」』）)》】")
#: Opening quotes and brackets, mapped to their closers.
PAIRS: dict[str, str] = {
    "“": "”",
    "‘": "’",
    "「": "」",
    "『": "』",
    "（": "）",
    "(": ")",
    "《": "》",
    "【": "】",
}
#: Commas and the like that separate clauses inside a sentence.
CLAUSE_SEPARATORS = frozenset("，,；;")


class _Quotes:
    """Nesting of quotes and brackets while walking a text left to right, O(1) per character.

    An opener only opens when enough matching closers follow on the same line: printed
    pages contain unbalanced quotes (“激活基层治理“神经末梢”), and a stray opener must
    not swallow every sentence boundary up to the end of the line.
    """

    def __init__(self, text: str) -> None:
        # For each opener position: how many of its closers follow it on its line.
        self._closers_after: dict[int, int] = {}
        counts: Counter[str] = Counter()
        for i in range(len(text) - 1, -1, -1):
            ch = text[i]
            if ch == "\n":
                counts.clear()
            elif ch in PAIRS:
                self._closers_after[i] = counts[PAIRS[ch]]
            elif ch in CLOSERS:
                counts[ch] += 1
        self._stack: list[str] = []
        self._pending: Counter[str] = Counter()

    @property
    def inside(self) -> bool:
        """Whether a quote or bracket is open."""
        return bool(self._stack)

    def feed(self, i: int, ch: str) -> None:
        """Account for character ``ch`` at position ``i`` (every character, in order)."""
        if ch == "\n":
            self._stack.clear()
            self._pending.clear()
        elif ch in PAIRS:
            closer = PAIRS[ch]
            if self._closers_after.get(i, 0) > self._pending[closer]:
                self._stack.append(closer)
                self._pending[closer] += 1
        elif ch in CLOSERS and self._pending[ch]:
            while self._stack:
                top = self._stack.pop()
                self._pending[top] -= 1
                if top == ch:
                    break


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Cut ``text`` into sentences; return ``(start, end)`` character spans.

    The spans tile the text: they are contiguous, non-empty and their concatenation is
    ``text`` (whitespace after a sentence belongs to it; leading whitespace belongs to
    the first sentence).  A sentence ends after 。！？；!?; or an ellipsis (… / ……),
    together with any further terminators and closing quotes/brackets (”’」』）)》】) that
    follow, so ``他说：“好。”`` and ``“真好…”。`` stay one sentence.  A terminator inside
    a quote that continues (``“神奇！精细！”``) is not a boundary.  A newline always is.

    Example:
        >>> t = "客商赞叹：“神奇！逼真！”大家笑了。\\n第二句"
        >>> [t[s:e] for s, e in split_sentences(t)]
        ['客商赞叹：“神奇！逼真！”', '大家笑了。\\n', '第二句']
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    quotes = _Quotes(text)
    i = 0

    def emit(end: int) -> None:
        nonlocal start
        if not text[start:end].isspace():
            spans.append((start, end))
            start = end
        # A blank-only stretch is kept and becomes the head of the next sentence.

    while i < n:
        ch = text[i]
        quotes.feed(i, ch)
        if ch == "\n":
            j = i + 1
            while j < n and text[j].isspace():
                quotes.feed(j, text[j])
                j += 1
            emit(j)
            i = j
            continue
        if ch in TERMINATORS or ch == ELLIPSIS:
            j = i + 1
            # Further terminators and closers stay with the sentence ("？！", "。”", "…”。").
            while j < n and (text[j] in TERMINATORS or text[j] == ELLIPSIS or text[j] in CLOSERS):
                quotes.feed(j, text[j])
                j += 1
            if not quotes.inside:
                while j < n and text[j].isspace():
                    quotes.feed(j, text[j])
                    j += 1
                emit(j)
            i = j
            continue
        i += 1
    if start < n:
        if not text[start:].isspace() or not spans:
            spans.append((start, n))
        else:
            spans[-1] = (spans[-1][0], n)
    return spans


#: A lead such as "本报讯(记者 尹哲)" is the paper's boilerplate, not part of a quotable fact.
LEAD = re.compile(r"\s*本报讯\s*(?:[（(][^）)]{0,30}[）)])?\s*")


def answer_sentences(body: str) -> list[tuple[int, int]]:
    """The quotable sentences of an article body: trimmed spans, 本报讯 leads dropped, tiny ones skipped.

    Example:
        >>> body = "本报讯（记者 李静）展厅面积435平方米。好。"
        >>> [body[s:e] for s, e in answer_sentences(body)]
        ['展厅面积435平方米。']
    """
    spans = []
    for start, end in split_sentences(body):
        lead = LEAD.match(body, start, end)
        if lead:
            start = lead.end()
        start, end = trim_span(body, start, end)
        if len(normalize_for_match(body[start:end])) >= 6:
            spans.append((start, end))
    return spans


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Narrow ``text[start:end]`` to its non-whitespace core (e.g. to quote a sentence).

    Example:
        >>> trim_span("  好。\\n", 0, 5)
        (2, 4)
    """
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def ends_sentence(text: str, extra: str = "") -> bool:
    """Whether ``text`` (ignoring trailing blanks and closers) ends with a sentence terminator.

    ``extra`` adds characters that count as an ending for the caller (e.g. "：").

    Example:
        >>> ends_sentence("他说：“好。”"), ends_sentence("丰富我市居民的购")
        (True, False)
    """
    stripped = text.rstrip()
    while stripped and stripped[-1] in CLOSERS:
        stripped = stripped[:-1]
    if not stripped:
        return False
    last = stripped[-1]
    return last in TERMINATORS or last == ELLIPSIS or last in extra


def split_clauses(sentence: str) -> list[str]:
    """Split a sentence at commas and semicolons that are not inside quotes or brackets.

    Separators and surrounding blanks are dropped; final terminators are stripped.

    Example:
        >>> split_clauses("8月29日，街道举办“讲红色故事，传红色基因”活动。")
        ['8月29日', '街道举办“讲红色故事，传红色基因”活动']
    """
    clauses: list[str] = []
    quotes = _Quotes(sentence)
    current: list[str] = []
    for i, ch in enumerate(sentence):
        quotes.feed(i, ch)
        if ch in CLAUSE_SEPARATORS and not quotes.inside:
            clauses.append("".join(current))
            current = []
            continue
        current.append(ch)
    clauses.append("".join(current))
    cleaned = [c.strip().rstrip("。！？!?…").strip() for c in clauses]
    return [c for c in cleaned if c]


def normalize_for_match(text: str) -> str:
    """Fold ``text`` for comparison: NFKC (full/half width), no whitespace or punctuation, lower case.

    Two strings that differ only in width, spacing, punctuation or letter case normalise
    to the same value.  Symbols such as "+" and digits are kept.

    Example:
        >>> normalize_for_match("“ＡＢＣ” 党建＋， 引领！")
        'abc党建+引领'
    """
    # NFKC again after lower-casing and after filtering: both can leave decomposed
    # sequences ("T" + "¨" → "ẗ"), and the result must be a fixed point.
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).lower())
    kept = "".join(ch for ch in folded if not (ch.isspace() or unicodedata.category(ch).startswith("P")))
    return unicodedata.normalize("NFKC", kept)


def han_count(text: str) -> int:
    """Number of CJK unified ideographs in ``text`` (a length measure that ignores markup)."""
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf")


#: Values of the Chinese digits (〇/零 … 九, and 两).
CHINESE_DIGITS: dict[str, int] = {"零": 0, "〇": 0, "两": 2} | {
    ch: i for i, ch in enumerate("一二三四五六七八九", start=1)
}
#: Multipliers inside a section (十, 百, 千) and closing a section (万, 亿).
CHINESE_SMALL_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
CHINESE_LARGE_UNITS: dict[str, int] = {"万": 10**4, "亿": 10**8}


def zh_to_int(numeral: str) -> int | None:
    """The value of a Chinese numeral (二十五 → 25, 二〇二五 → 2025, 三千五百 → 3500), or None.

    Example:
        >>> zh_to_int("二十五"), zh_to_int("二〇二五"), zh_to_int("十"), zh_to_int("万")
        (25, 2025, 10, None)
    """
    if not numeral or all(c in CHINESE_LARGE_UNITS for c in numeral):
        return None
    if len(numeral) > 1 and all(c in CHINESE_DIGITS for c in numeral):
        return int("".join(str(CHINESE_DIGITS[c]) for c in numeral))
    # total: whole 亿 groups; wan: the 万 group below them; section: below 万.
    total = wan = section = digit = 0
    for char in numeral:
        if char in CHINESE_DIGITS:
            digit = CHINESE_DIGITS[char]
        elif char in CHINESE_SMALL_UNITS:
            section += (digit or 1) * CHINESE_SMALL_UNITS[char]
            digit = 0
        elif char == "万":
            wan += (section + digit or 1) * 10**4
            section = digit = 0
        else:
            total = (total + wan + section + digit or 1) * 10**8
            wan = section = digit = 0
    return total + wan + section + digit


#: What ends a clause for :func:`clause_around`.
_CLAUSE_MARKS = "，,；;。"


def clause_around(text: str, start: int, end: int) -> tuple[int, int]:
    """Bounds of the clause of ``text`` holding ``text[start:end]``, between the ，；。 around it.

    Example:
        >>> text = "8月29日，对接活动在万柏林区举行，5项成果落地。"
        >>> a, b = clause_around(text, 12, 16)
        >>> text[a:b]
        '对接活动在万柏林区举行'
    """
    lo = max(text.rfind(p, 0, start) for p in _CLAUSE_MARKS) + 1
    his = [i for p in _CLAUSE_MARKS if (i := text.find(p, end)) >= 0]
    return lo, min(his) if his else len(text)
