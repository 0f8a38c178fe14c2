"""The message text of ``/v1/chat/completions``: capped at ``max_tokens``, with optional source footnotes.

Clients that only show the message text (LangChain's ``content``, the ``llm`` CLI, many
chat front ends) lose the ``citations`` field; with ``sources: footnotes`` the numbered
sources follow the answer as a short block (:func:`footnotes`).  ``max_tokens`` caps the
whole content, counted in characters (there is no language-model tokenizer); the cut
never splits a ``[n]`` marker or an ``&lt;`` entity (:class:`CappedText`), and the
citations whose markers were cut away are dropped with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

#: What a cut must not split: a citation marker or a character entity.
_ATOM = re.compile(r"\[\d{1,4}\]|&[a-z]{2,5};")
#: The start of one at the end of a piece, completed (or not) by the next piece.
_OPEN_TAIL = re.compile(r"(?:\[\d{0,4}|&[a-z]{0,5})$")
_MARKER = re.compile(r"\[(\d{1,4})\]")
#: Longest quote shown in a footnote, in characters (the citation keeps the whole quote).
FOOTNOTE_QUOTE_MAX = 60
#: The line that opens the footnote block.
FOOTNOTE_HEADING = "来源："
# Markdown front ends join lines of one paragraph; two spaces before a line break keep each
# footnote on its own line there, and are invisible to clients that print the text as is.
_LINE_BREAK = "  \n"


def _safe_cut(text: str, room: int) -> int:
    """The longest prefix length ≤ ``room`` that ends neither inside a marker nor an entity."""
    cut = room
    for atom in _ATOM.finditer(text):
        if atom.start() < cut < atom.end():
            cut = atom.start()
            break
        if atom.start() >= cut:
            break
    # A "[1" or "&l" at the cut may be completed by a piece not yet received: cut before it
    # too, so a streamed answer is cut exactly where the whole answer would be.
    tail = _OPEN_TAIL.search(text[:cut])
    if tail is not None:
        cut = tail.start()
    return len(text[:cut].rstrip())


class CappedText:
    """Text sent piece by piece, at most ``limit`` characters in all (None: no limit).

    :meth:`feed` returns what may be sent now: a trailing ``[1`` or ``&l`` is held back
    until the next piece shows whether a cut would split it.  Once the limit is reached
    everything else is dropped and :attr:`truncated` is set.  Sending a whole text at once
    (``feed`` then ``flush``) cuts it exactly as streaming it does.

    Example:
        >>> capped = CappedText(8)
        >>> capped.feed("面积435平方米。[1]") + capped.flush()
        '面积435平方米'
        >>> capped.truncated
        True
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.sent = ""
        self.truncated = False
        self._held = ""

    def feed(self, piece: str) -> str:
        """The part of ``piece`` (after any held-back text) to send now."""
        if self.truncated:
            return ""
        text = self._held + piece
        self._held = ""
        if self.limit is not None and len(self.sent) + len(text) > self.limit:
            text = text[: _safe_cut(text, self.limit - len(self.sent))]
            self.truncated = True
        else:
            tail = _OPEN_TAIL.search(text)
            if tail is not None and tail.start() < len(text):
                text, self._held = text[: tail.start()], text[tail.start() :]
        self.sent += text
        return text

    def flush(self) -> str:
        """Whatever was held back (the text ended; it fits, or the feed would have cut it)."""
        text, self._held = self._held, ""
        self.sent += text
        return text

    def room(self) -> int | None:
        """Characters that may still be sent (None: no limit)."""
        return None if self.limit is None else max(0, self.limit - len(self.sent))


def cited_numbers(text: str) -> set[int]:
    """The numbers of the ``[n]`` markers in ``text``."""
    return {int(n) for n in _MARKER.findall(text)}


def _shorten(quote: str) -> str:
    quote = " ".join(quote.split())
    return quote if len(quote) <= FOOTNOTE_QUOTE_MAX else quote[: FOOTNOTE_QUOTE_MAX - 1] + "…"


def footnote_lines(citations: Sequence[Mapping[str, Any]], answer: str = "") -> list[str]:
    """One line per citation: ``[1] 标题 — 太原日报 2025年11月5日：“quote”`` (the quote shortened).

    A quote the ``answer`` already shows whole is not repeated: ``[1] 标题 — 太原日报 2025年11月5日``.
    """
    lines = []
    for c in citations:
        line = f"[{c['n']}] {c['title']} — {c['page_label']}"
        if c["quote"] not in answer:
            line += f"：“{_shorten(c['quote'])}”"
        lines.append(line)
    return lines


def footnotes(citations: Sequence[Mapping[str, Any]], room: int | None = None, answer: str = "") -> str:
    """The footnote block to append to ``answer`` ("" without citations).

    ``room`` (characters left under ``max_tokens``) keeps only the lines that fit whole;
    if not even the first fits, there is no block.
    """
    lines = footnote_lines(citations, answer)
    if not lines:
        return ""
    block = "\n\n" + FOOTNOTE_HEADING
    for line in lines:
        longer = block + _LINE_BREAK + line
        if room is not None and len(longer) > room:
            break
        block = longer
    if block.endswith(FOOTNOTE_HEADING):
        return ""
    return block


__all__ = ["CappedText", "FOOTNOTE_HEADING", "cited_numbers", "footnote_lines", "footnotes"]
