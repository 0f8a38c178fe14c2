"""Units into articles: steps 6 to 8 of :mod:`rag.parse`, and :func:`parse_text`.

One walk over the classified units opens, fills and closes articles: a run of heading
lines gives an article its kicker, title, subtitle (and a commentary's author), or stays in
the body as a section heading; bylines close an article; photos and notices are layout
inserts that neither become nor end the current article.  Each finished article gets its
fields, its kind and its content-derived :func:`article_id`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rag.errors import DocumentError
from rag.parse.dates import check_iso_date, fallback_date, infer_page_date
from rag.parse.names import dispatch_reporters, is_person_name
from rag.parse.second_printings import drop_second_printings
from rag.parse.titles import derive_title, notice_fields
from rag.parse.units import Unit, join_column_breaks, mark_roundups, page_units
from rag.text import normalize_for_match
from rag.types import Article, ArticleKind

log = logging.getLogger(__name__)

#: A 本报讯 dispatch with at most this many body characters is a brief.
BRIEF_MAX_CHARS = 400

_COMMENTARY_RE = re.compile(r"论坛|评论|时评|短评|快评|社论|言论|观察|随笔|杂谈|漫谈")
_KICKER_MARK_RE = re.compile(r"(?:[|｜]\s*$)|(?:^\s*【.*】\s*$)")


@dataclass
class _Draft:
    """An article being assembled (internal)."""

    title: str = ""
    kicker: str = ""
    subtitle: str = ""
    paras: list[str] = field(default_factory=list)
    reporters: list[str] = field(default_factory=list)
    kind: ArticleKind | None = None  # photo, notice or roundup when the structure decides
    closed: bool = False
    dispatch: bool = False
    has_author: bool = False


# --------------------------------------------------------------------------- ids


def article_id(title: str, body: str) -> str:
    """Stable id of an article: first 12 hex digits of SHA-1 over the normalised title and body.

    Example:
        >>> article_id("标题", "正文。") == article_id("标 题", "正文")
        True
    """
    key = normalize_for_match(title) + "\n" + normalize_for_match(body)
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


# --------------------------------------------------------------------------- headers


def _clean_kicker(text: str) -> str:
    return text.strip().strip("|｜").strip().strip("【】").strip()


def _join(parts: Iterable[str]) -> str:
    return " | ".join(p for p in parts if p)


def _header(stack: list[Unit], draft: _Draft) -> None:
    """Fill kicker, title, subtitle (and author) of ``draft`` from a run of heading lines."""
    lines = list(stack)
    if len(lines) >= 2 and lines[-1].level == 0 and is_person_name(lines[-1].text):
        author = lines.pop().text.strip()
        draft.reporters.append(author)
        draft.paras.append(author)  # quotable: 作者是谁 cites the printed name
        draft.has_author = True
    candidates = [
        k for k, u in enumerate(lines) if not u.text.startswith("——") and not _KICKER_MARK_RE.search(u.text)
    ] or [len(lines) - 1]
    levels = [lines[k].level for k in candidates if lines[k].level > 0]
    if levels:
        title_at = next(k for k in candidates if lines[k].level == min(levels))
    else:
        title_at = candidates[-1]
    draft.kicker = _join(
        [_clean_kicker(u.text) for u in lines[:title_at]] + ([draft.kicker] if draft.kicker else [])
    )
    draft.title = lines[title_at].text.strip()
    draft.subtitle = " ".join(u.text.strip() for u in lines[title_at + 1 :])


# --------------------------------------------------------------------------- segmentation


def _starts_article(cur: _Draft | None, stack: list[Unit], following: Unit) -> bool:
    if cur is None or cur.closed or cur.kind == "roundup":
        return True
    if following.text.startswith("本报讯") or cur.dispatch or len(stack) >= 2:
        return True
    return any(u.level == 1 or _KICKER_MARK_RE.search(u.text) for u in stack)


def _attach_orphan(drafts: list[_Draft], stack: list[Unit], source: str) -> None:
    target = next((d for d in reversed(drafts) if d.kind not in ("photo", "notice")), None)
    if target is None:
        log.warning("%s: heading %r has no article; ignored", source, stack[0].text)
    elif not target.title:
        _header(stack, target)
    else:
        known = target.kicker.split(" | ")
        target.kicker = _join([k for k in (_clean_kicker(u.text) for u in stack) if k not in known] + known)


def _give_group_byline(drafts: list[_Draft], names: tuple[str, ...]) -> None:
    """A group byline (本组稿件由 X 采写) also signs the earlier unsigned articles of the page."""
    for draft in drafts:
        if not draft.reporters and draft.kind not in ("photo", "notice"):
            draft.reporters.extend(names)


def _segment(units: list[Unit], source: str) -> list[_Draft]:
    """Walk the units once, opening, filling and closing articles (step 6 and 7)."""
    # Photos and notices are layout inserts: they never become nor end the current article.
    drafts: list[_Draft] = []
    cur: _Draft | None = None
    i, n = 0, len(units)
    while i < n:
        unit = units[i]
        if unit.kind == "heading":
            j = i
            while j < n and units[j].kind == "heading":
                j += 1
            stack, following = units[i:j], (units[j] if j < n else None)
            if following is not None and following.kind == "credit":
                drafts.append(
                    _Draft(
                        kind="photo", paras=[" ".join(u.text for u in stack)], reporters=list(following.names)
                    )
                )
                j += 1
            elif following is None or following.kind not in ("body", "entry"):
                _attach_orphan(drafts, stack, source)
            elif following.kind == "entry" or _starts_article(cur, stack, following):
                cur = _Draft(kind="roundup" if following.kind == "entry" else None)
                _header(stack, cur)
                drafts.append(cur)
            elif cur is not None:  # always set here: _starts_article is true without one
                cur.paras.extend(u.text for u in stack)
            i = j
        elif unit.kind == "body" and i + 1 < n and units[i + 1].kind == "credit":
            drafts.append(_Draft(kind="photo", paras=[unit.text], reporters=list(units[i + 1].names)))
            i += 2
        elif unit.kind in ("body", "entry"):
            if cur is None or cur.closed:
                cur = _Draft(kind="roundup" if unit.kind == "entry" else None)
                drafts.append(cur)
            if not cur.paras and unit.text.startswith("本报讯"):
                cur.dispatch = True
                cur.reporters.extend(dispatch_reporters(unit.text))
            cur.paras.append(unit.text)
            i += 1
        elif unit.kind == "notice":
            parts = [unit.text]
            i += 1
            while i < n and units[i].kind == "body" and not units[i].gap:
                parts.append(units[i].text)
                i += 1
            title, body = notice_fields(" ".join(parts))
            drafts.append(_Draft(kind="notice", title=title, paras=[body], closed=True))
        else:  # byline or a credit without a caption before it
            if unit.group:
                _give_group_byline(drafts, unit.names)
            if cur is not None:
                cur.reporters.extend(name for name in unit.names if name not in cur.reporters)
                # The byline stays in the body so that 记者是谁 can be answered with a quote.
                if not unit.group and cur.paras:
                    cur.paras.append(unit.text.strip())
                cur.closed = True
            i += 1
    return drafts


def _kind(draft: _Draft, body: str) -> ArticleKind:
    if draft.kind is not None:
        return draft.kind
    if draft.has_author or _COMMENTARY_RE.search(draft.kicker):
        return "commentary"
    if draft.dispatch and len(body) <= BRIEF_MAX_CHARS:
        return "brief"
    return "news"


def _finish(draft: _Draft, source: str, page_date: str) -> Article | None:
    body = "\n".join(p.strip() for p in draft.paras if p.strip())
    if not body:
        return None
    title = draft.title or derive_title(body)
    return Article(
        id=article_id(title, body),
        title=title,
        body=body,
        source=source,
        date=page_date,
        kind=_kind(draft, body),
        reporters=tuple(dict.fromkeys(draft.reporters)),
        kicker=draft.kicker,
        subtitle=draft.subtitle,
    )


def parse_text(text: str, source: str, date: str | None = None) -> list[Article]:
    """Segment the text of one page into articles named after ``source`` and dated ``date`` (ISO).

    Without ``date`` the page date is inferred (:func:`infer_page_date`), falling back to
    today's date with a warning.

    Raises:
        DocumentError: ``date`` is not an ISO date, or no article can be found.
    """
    if date is None:
        date = infer_page_date(text) or fallback_date(source, dt.date.today(), "today")
    check_iso_date(date, source)
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    units = page_units(text)
    units = join_column_breaks(units)
    units = drop_second_printings(units, source)
    mark_roundups(units)
    articles: list[Article] = []
    seen: set[str] = set()
    for draft in _segment(units, source):
        article = _finish(draft, source, date)
        if article is None:
            continue
        if article.id in seen:
            log.warning("%s: article %r appears twice; kept once", source, article.title)
            continue
        seen.add(article.id)
        articles.append(article)
    if not articles:
        raise DocumentError(f"{source}: no article found in the page")
    return articles
