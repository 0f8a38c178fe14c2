"""Names on a page: reporters in bylines, photographers in credits, authors of commentaries.

A byline is a whole line (or a trailing parenthesis) of names with role words around them:
``(刘志刚)``, ``记者 李静 通讯员 …``, ``(本组稿件由 何宝国 采写)``; a photo credit is
``X 摄`` / ``X Y 摄``; a 本报讯 dispatch names its reporters in brackets right after 本报讯.
:func:`is_person_name` tells a commentary's author line (2–4 Han characters starting with
a common surname) from a heading; the surnames are read once from ``rag/data/surnames.txt``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

#: Range of the common Han characters, for character classes of the patterns.
HAN = "\u4e00-\u9fff"
#: The names listed before 摄 in a photo credit (group 1), without what surrounds the credit.
CREDIT_BODY = rf"((?:[{HAN}·]{{2,8}}[ \u3000]+){{0,3}}[{HAN}·]{{2,8}})\s*摄"
#: Marks a group byline (本组稿件由 X 采写), which signs every article of its group.
GROUP_MARK = "本组"
#: File of ``rag/data`` listing the common surnames, one a line.
SURNAMES_FILE = "surnames.txt"

_NAME_RE = re.compile(rf"[{HAN}]{{2,4}}|[{HAN}]{{1,6}}·[{HAN}]{{1,6}}")
_ROLE_PREFIXES = (
    "本组稿件由",
    "以上由",
    "本报记者",
    "见习记者",
    "特约记者",
    "摄影记者",
    "记者",
    "通讯员",
    "实习生",
)
_ROLE_SUFFIXES = ("编辑整理", "整理", "采写", "撰写", "报道", "供稿")
_CREDIT_LINE_RE = re.compile(r"^\s*" + CREDIT_BODY + r"\s*$")
_DISPATCH_CREDIT_RE = re.compile(r"^本报讯\s*[（(]([^（()）]{2,60})[)）]")
_NOT_A_NAME_SUFFIX = re.compile(r"(?:社区|区|县|市|镇|乡|村|街道|公司|中心|之要)$")


@lru_cache(maxsize=1)
def surnames() -> tuple[frozenset[str], tuple[str, ...]]:
    """The common surnames of ``rag/data/surnames.txt``: (single characters, compound surnames).

    Example:
        >>> single, compound = surnames()
        >>> "王" in single, "欧阳" in compound
        (True, True)
    """
    text = (resources.files("rag") / "data" / SURNAMES_FILE).read_text(encoding="utf-8")
    entries = [line.strip() for line in text.splitlines()]
    entries = [e for e in entries if e and not e.startswith("#")]
    return frozenset(e for e in entries if len(e) == 1), tuple(e for e in entries if len(e) > 1)


def _strip_roles(token: str) -> str:
    changed = True
    while changed and token:
        changed = False
        for prefix in _ROLE_PREFIXES:
            if token.startswith(prefix):
                token, changed = token[len(prefix) :], True
        for suffix in _ROLE_SUFFIXES:
            if token.endswith(suffix):
                token, changed = token[: -len(suffix)], True
    return token


def names_in(text: str) -> tuple[str, ...] | None:
    """Names listed in ``text`` once role words are removed, or None if anything else is there."""
    names: list[str] = []
    for token in re.split(r"[\s\u3000、，,]+", text.strip()):
        token = _strip_roles(token)
        if not token:
            continue
        if not _NAME_RE.fullmatch(token):
            return None
        names.append(token)
    return tuple(names) or None


def byline_names(text: str) -> tuple[str, ...] | None:
    """Reporter names if ``text`` is a whole byline ("(刘志刚)", "记者 李静 通讯员 …"), else None."""
    s = text.strip()
    m = re.fullmatch(r"[（(]\s*(.+?)\s*[)）]", s)
    inner = m.group(1) if m else s
    if not m and not inner.startswith(_ROLE_PREFIXES):
        return None
    return names_in(inner)


def credit_names(text: str) -> tuple[str, ...] | None:
    """Photographer names if ``text`` is a whole credit line ("张昊宇 王娟娟 摄"), else None."""
    m = _CREDIT_LINE_RE.match(text)
    return names_in(m.group(1)) if m else None


def dispatch_reporters(paragraph: str) -> tuple[str, ...]:
    """Reporters named in the brackets of a 本报讯 lead ("本报讯(记者 X 通讯员 Y)…"); () if none."""
    m = _DISPATCH_CREDIT_RE.match(paragraph)
    return (names_in(m.group(1)) or ()) if m else ()


def is_person_name(text: str) -> bool:
    """Whether ``text`` looks like a personal name: 2–4 Han characters starting with a common surname."""
    t = text.strip()
    if not re.fullmatch(rf"[{HAN}]{{2,4}}", t) or _NOT_A_NAME_SUFFIX.search(t):
        return False
    single, compound = surnames()
    return t[0] in single or t.startswith(compound)
