"""The date of a page read from its text (step 9 of :mod:`rag.parse`).

:func:`infer_page_date` is used when ``pages.json`` states no date for a page (or for
text given without one); :func:`check_iso_date` checks a date given by a caller.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from rag.errors import DocumentError
from rag.parse.units import MARKDOWN_RE
from rag.text import zh_to_int

log = logging.getLogger(__name__)

_MONTH_DAY_RE = re.compile(r"(\d{1,2})月(\d{1,2})日")
_FUTURE_AFTER = ("起", "至", "前", "开始", "到", "以前", "之前")
_FUTURE_BEFORE = ("定于", "将于", "至", "到", "截至")
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})年")
_YEAR_SKIP_BEFORE = "到至—–-~～"
_YEAR_SKIP_AFTER = ("—", "–", "-", "~", "～", "前", "底前", "以前", "远景", "目标")
_CN_NUMBER = r"([一二三四五六七八九十\d]{1,3})"
#: Recurring events whose ordinal dates a page: (pattern, year of edition 0).
_EVENT_YEARS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(rf"第{_CN_NUMBER}届(?:中国国际)?(?:进口博览会|进博会)"), 2017),
    (re.compile(rf"第{_CN_NUMBER}个[“\"]?公民道德宣传日"), 2002),
)


def _cn_number(s: str) -> int | None:
    return int(s) if s.isdigit() else zh_to_int(s)


def _infer_year(text: str) -> int | None:
    this_year = dt.date.today().year
    years: list[int] = []
    for m in _YEAR_RE.finditer(text):
        before = text[m.start() - 1] if m.start() else ""
        if before and before in _YEAR_SKIP_BEFORE or text.startswith(_YEAR_SKIP_AFTER, m.end()):
            continue  # a range ("2024—2026年") or a target ("到2035年")
        years.append(int(m.group(1)))
    for pattern, base in _EVENT_YEARS:
        for m in pattern.finditer(text):
            ordinal = _cn_number(m.group(1))
            if ordinal:
                years.append(base + ordinal)
    plausible = [y for y in years if y <= this_year]
    return max(plausible) if plausible else None


def _is_forward(text: str, m: re.Match[str]) -> bool:
    """Whether the date at ``m`` looks ahead ("9月1日起", "定于9月1日", "至9月24日")."""
    return text.startswith(_FUTURE_AFTER, m.end()) or text[: m.start()].endswith(_FUTURE_BEFORE)


def _datelines(text: str) -> list[tuple[int, int]]:
    """Month/day at the head of each 本报讯 lead ("本报讯 11月4日", "本报讯(记者 X)太原理工大学11月7日")."""
    found: list[tuple[int, int]] = []
    for line in text.split("\n"):
        line = MARKDOWN_RE.sub(r"\2", line.strip())
        if not line.startswith("本报讯"):
            continue
        lead = re.sub(r"^本报讯\s*(?:[（(][^（()）]*[)）])?\s*", "", line)
        m = _MONTH_DAY_RE.search(lead)
        if m and m.start() < 16 and not _is_forward(lead, m):
            found.append((int(m.group(1)), int(m.group(2))))
    return found


def _latest(year: int, month_days: list[tuple[int, int]]) -> dt.date | None:
    """The latest valid date; when a page spans new year, November/December belong to the year before."""
    months = {m for m, _ in month_days}
    wraps = any(m <= 2 for m in months) and any(m >= 11 for m in months)
    dates: list[dt.date] = []
    for month, day in month_days:
        try:
            dates.append(dt.date(year - 1 if wraps and month >= 11 else year, month, day))
        except ValueError:
            continue
    return max(dates) if dates else None


def infer_page_date(text: str) -> str | None:
    """Infer a page's publication date (ISO) from its text, or None when it cannot.

    Year: the latest plausible year named on the page — explicit years ("2025年",
    "2022年7月26日"; ranges and targets such as "2024—2026年", "到2035年" are skipped) and
    numbered events (第八届进博会 = 2025, 第21个公民道德宣传日 = 2023); years after the
    current one are ignored.  Day: a 本报讯 dispatch reports yesterday's news, so with
    datelines the page is dated the day after the latest dateline; without, it is the
    latest date mentioned that does not look ahead ("9月1日起", "至9月24日").
    """
    year = _infer_year(text)
    if year is None:
        return None
    lines = _datelines(text)
    if lines:
        latest = _latest(year, lines)
        return (latest + dt.timedelta(days=1)).isoformat() if latest else None
    mentions = [
        (int(m.group(1)), int(m.group(2))) for m in _MONTH_DAY_RE.finditer(text) if not _is_forward(text, m)
    ]
    latest = _latest(year, mentions)
    return latest.isoformat() if latest else None


def check_iso_date(value: str, source: str) -> None:
    """Refuse a date that is not ``yyyy-mm-dd``; ``source`` names where it was given.

    Raises:
        DocumentError: ``value`` is not an ISO date.
    """
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise DocumentError(f"{source}: invalid date {value!r} (expected yyyy-mm-dd)") from None


def fallback_date(source: str, day: dt.date, what: str) -> str:
    """``day`` in ISO form, with a warning that ``source`` has no date and ``what`` stands in for it."""
    log.warning("%s: no date given and none inferred from the text; using %s (%s)", source, what, day)
    return day.isoformat()
