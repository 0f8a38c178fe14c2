"""Lines of a page into classified units (steps 1, 2, 3 and 5 of :mod:`rag.parse`).

Every non-blank line is a unit, with a trailing byline or photo credit cut off into a
unit of its own; each unit is a byline, credit, notice, heading or body.
:func:`join_column_breaks` glues a paragraph cut by a printed column to its continuation
and :func:`mark_roundups` turns runs of (place-name line, paragraph) pairs into the
entries of a round-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.parse.names import CREDIT_BODY, GROUP_MARK, HAN, byline_names, credit_names, names_in
from rag.text import PAIRS, ends_sentence

#: Longest line that can still be a heading.
HEADING_MAX_CHARS = 40
#: How many (place, paragraph) pairs in a row make a round-up.
ROUNDUP_MIN_ENTRIES = 3
#: A notice (通告 …); group 1 is the kind of notice.
NOTICE_RE = re.compile(r"^(通告|公告|启事|声明)(?:\s+|[:：])")
#: A Markdown heading line; group 1 is its ``#`` marks, group 2 its text.
MARKDOWN_RE = re.compile(r"^(#{1,6})\s*(.*)$")

_SENTENCE_END_LOOKBEHIND = r"(?<=[。！？!?…”’」』）)])"
_TRAILING_PAREN_RE = re.compile(_SENTENCE_END_LOOKBEHIND + r"\s*([（(][^（()）]{2,40}[)）])\s*$")
_TRAILING_ROLE_RE = re.compile(
    _SENTENCE_END_LOOKBEHIND + r"\s*((?:本报记者|记者|通讯员)[^。！？!?，,“”]{2,60})$"
)
_TRAILING_CREDIT_RE = re.compile(_SENTENCE_END_LOOKBEHIND + r"\s*" + CREDIT_BODY + r"\s*$")
_PLACE_RE = re.compile(rf"^[{HAN}]{{1,8}}(?:区|县|市|镇|乡|街道|旗)$")


@dataclass
class Unit:
    """One line of a page after classification (internal to :mod:`rag.parse`)."""

    kind: str  # body | heading | byline | credit | notice | entry
    text: str
    level: int = 0  # Markdown heading level, 0 for plain text
    gap: bool = True  # a blank line precedes it
    names: tuple[str, ...] = ()
    group: bool = False  # a group byline (本组稿件由 …)


def _is_heading(text: str) -> bool:
    """A short line that does not read as a sentence: a headline, kicker or section heading."""
    t = text.strip()
    if not t or len(t) > HEADING_MAX_CHARS or t.startswith("本报讯"):
        return False
    if t.startswith("——"):
        return True
    if any(c in t for c in "。；;"):
        return False
    if sum(t.count(c) for c in "，,") > 1 or t[-1] in "，,、：:":
        return False
    if any(c in t[:-1] for c in "！？!?"):
        return False
    if any(t.count(opener) > t.count(closer) for opener, closer in PAIRS.items()):
        return False  # a quote or title left open ("…出台《关于新时代推动中") is a cut paragraph
    # A headline may end with ！ or ？; a quoted exclamation is speech, not a headline.
    return not (t[-1] in "！？!?" and (len(t) > 20 or t[0] in PAIRS))


def _split_trailer(line: str) -> tuple[str, Unit | None]:
    """Cut a trailing byline or photo credit off a body line."""
    m = _TRAILING_CREDIT_RE.search(line)
    if m and (names := names_in(m.group(1))):
        return line[: m.start()].rstrip(), Unit("credit", m.group(0).strip(), names=names)
    for pattern in (_TRAILING_PAREN_RE, _TRAILING_ROLE_RE):
        m = pattern.search(line)
        if m and (names := byline_names(m.group(1))):
            group = GROUP_MARK in m.group(1)
            return line[: m.start()].rstrip(), Unit("byline", m.group(1), names=names, group=group)
    return line, None


def _classify(line: str, gap: bool) -> list[Unit]:
    md = MARKDOWN_RE.match(line)
    if md:
        text = md.group(2).strip()
        return [Unit("heading", text, level=len(md.group(1)), gap=gap)] if text else []
    if names := credit_names(line):
        return [Unit("credit", line, gap=gap, names=names)]
    if names := byline_names(line):
        return [Unit("byline", line, gap=gap, names=names, group=GROUP_MARK in line)]
    if NOTICE_RE.match(line):
        return [Unit("notice", line, gap=gap)]
    if _is_heading(line):
        return [Unit("heading", line, gap=gap)]
    body, trailer = _split_trailer(line)
    units = [Unit("body", body, gap=gap)] if body else []
    return units + ([trailer] if trailer else [])


def page_units(text: str) -> list[Unit]:
    """Lines into classified units; plain heading lines printed without a blank between are merged."""
    units: list[Unit] = []
    gap = True
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            gap = True
            continue
        for unit in _classify(line, gap):
            prev = units[-1] if units else None
            if (
                prev is not None
                and not unit.gap
                and unit.kind == prev.kind == "heading"
                and unit.level == prev.level == 0
            ):
                prev.text = f"{prev.text} {unit.text}"
            else:
                units.append(unit)
        gap = False
    return units


def join_column_breaks(units: list[Unit]) -> list[Unit]:
    """Glue a paragraph cut by a printed column to its continuation."""
    out: list[Unit] = []
    pieces: list[list[str]] = []  # text of each output unit, joined once at the end
    for unit in units:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind == unit.kind == "body"
            and not ends_sentence(pieces[-1][-1], extra="：:")
            and not unit.text.startswith("本报讯")
        ):
            pieces[-1].append(unit.text)
        else:
            out.append(unit)
            pieces.append([unit.text])
    for unit, parts in zip(out, pieces, strict=True):
        unit.text = "".join(parts)
    return out


def mark_roundups(units: list[Unit]) -> None:
    """Turn runs of (place-name line, paragraph) pairs into round-up entries."""
    i = 0
    while i < len(units):
        pairs: list[int] = []
        j = i
        while (
            j + 1 < len(units)
            and units[j].kind == "heading"
            and _PLACE_RE.match(units[j].text)
            and units[j + 1].kind == "body"
        ):
            pairs.append(j)
            j += 2
            while j < len(units) and units[j].kind == "body":
                j += 1
        if len(pairs) >= ROUNDUP_MIN_ENTRIES:
            for k in pairs:
                units[k].kind = "entry"
            i = j
        else:
            i += 1
