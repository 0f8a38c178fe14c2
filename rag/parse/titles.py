"""Titles that are not printed: photo captions, headless articles and notices (step 8 of :mod:`rag.parse`).

A photo or headless article is titled by the first informative clause of its first
sentence (dates, "在…之际" and short place phrases skipped; a long clause is cut to its
quoted event name or to :data:`DERIVED_TITLE_MAX` characters); a notice by its issuer
and kind ("太原市公安局通告").
"""

from __future__ import annotations

import re

from rag.parse.units import NOTICE_RE
from rag.text import split_clauses, split_sentences, trim_span

#: Longest derived title for a photo or headless article.
DERIVED_TITLE_MAX = 30

_CIRCUMSTANTIAL_RE = re.compile(
    r"(?:\d{4}年)?\d{1,2}月\d{1,2}日(?:上午|下午|晚上?|早上?|凌晨|中午|傍晚|夜间)?"
    r"|近日|日前|连日来|今年以来|近期|当天|当日|昨日|今天|目前|近年来"
    r"|在.{1,30}(?:之际|期间|之时|时|前夕|当天)"
)
_LOCATIVE_RE = re.compile(r"^.{2,12}(?:内|里|上|中|旁|门口|现场)$")
_EVENT_NAME_RE = re.compile(
    r"[“「『《][^”」』》]+[”」』》][^，,。“]*?"
    r"(?:成果展|展览|展|活动|比赛|大赛|会议|大会|仪式|节|演练|培训|讲座|论坛)"
)


def _is_circumstantial(clause: str) -> bool:
    return bool(_CIRCUMSTANTIAL_RE.fullmatch(clause) or _LOCATIVE_RE.match(clause))


def derive_title(text: str) -> str:
    """A short title for an untitled text (photo caption, headless article): its first informative clause.

    Example:
        >>> derive_title("11月4日，太原市图书馆自习室座无虚席。考生们纷纷走进图书馆。")
        '太原市图书馆自习室座无虚席'
    """
    spans = split_sentences(text)
    if not spans:
        return ""
    start, end = trim_span(text, *spans[0])
    clauses = split_clauses(text[start:end]) or [text[start:end].strip()]
    informative = [c for c in clauses if not _is_circumstantial(c)]
    title = informative[0] if informative else clauses[0]
    if len(title) > DERIVED_TITLE_MAX:
        event = _EVENT_NAME_RE.search(title)
        title = event.group(0) if event else title[: DERIVED_TITLE_MAX - 1] + "…"
    return title


def notice_fields(text: str) -> tuple[str, str]:
    """Title and body of a notice ("通告 … 特此通告 <issuer> <date>")."""
    m = NOTICE_RE.match(text)
    word = m.group(1) if m else "通告"
    rest = text[m.end() :] if m else text
    issuer = re.search(r"特此(?:通告|公告|声明)\s*(\S+?)\s*(?:\d{4}年\d{1,2}月\d{1,2}日)?\s*$", rest)
    title = f"{issuer.group(1)}{word}" if issuer else word
    body = re.sub(
        r"(?<=[。！？])\s+|\s+(?=特此)|(?<=特此通告)\s+|\s+(?=\d{4}年\d{1,2}月\d{1,2}日\s*$)", "\n", rest
    )
    return title, body.strip()
