"""Page files and folders into articles: ``pages.json``, size limits, dates, reprints across pages.

:func:`load_pages` reads a folder (or files) for ``rag ingest``; :func:`parse_page` one
file.  The bytes are read by :func:`rag.parse.readers.read_page` and segmented by
:func:`rag.parse.segment.parse_text`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from rag.errors import DocumentError
from rag.parse.dates import check_iso_date, fallback_date, infer_page_date
from rag.parse.readers import PAGE_SUFFIXES, read_page
from rag.parse.segment import parse_text
from rag.types import Article

log = logging.getLogger(__name__)

#: Largest page file accepted, in bytes.
MAX_PAGE_BYTES = 2 * 1024 * 1024
#: Name of the per-folder file that states page dates.
PAGES_FILE = "pages.json"


#: Longest page title (版名: 要闻, 综合新闻, 区县新闻) read from a page's header line.
PAGE_TITLE_MAX = 12
#: Highest page number accepted (a daily paper has a few dozen pages at most).
PAGE_NUMBER_MAX = 999


@dataclass(frozen=True)
class PageMeta:
    """What is known about one printed page: its paper, date, page number and page title.

    ``pages.json`` states it for a folder of pages, an upload's form fields for an
    uploaded one, or :func:`infer_page_header` reads it from the page's first lines.
    Empty values mean unknown; :func:`rag.catalog.page_label` names the page from it.
    """

    date: str | None = None
    note: str = ""
    #: The newspaper, e.g. 太原日报 ("" = the default paper).
    paper: str = ""
    #: The page number printed as 第N版 (None = not known).
    page: int | None = None
    #: The page's own title (版名), e.g. 要闻.
    title: str = ""

    def merged(self, fallback: PageMeta) -> PageMeta:
        """This meta with every unknown field taken from ``fallback``."""
        return PageMeta(
            date=self.date or fallback.date,
            note=self.note or fallback.note,
            paper=self.paper or fallback.paper,
            page=self.page if self.page is not None else fallback.page,
            title=self.title or fallback.title,
        )

    def to_dict(self) -> dict[str, object]:
        """The ``pages.json`` entry of this page (unknown fields left out)."""
        entry: dict[str, object] = {"date": self.date, "paper": self.paper, "page": self.page}
        entry.update(title=self.title, note=self.note)
        return {key: value for key, value in entry.items() if value not in (None, "")}

    @classmethod
    def from_dict(cls, entry: dict[str, object], where: str) -> PageMeta:
        """Read one ``pages.json`` entry, refusing values of the wrong kind.

        Raises:
            DocumentError: a date that is not ``yyyy-mm-dd``, a page number that is not a
                whole number from 1 to :data:`PAGE_NUMBER_MAX`, a paper or title that is not text.
        """
        page_date = entry.get("date")
        if page_date is not None:
            check_iso_date(page_date, where)  # type: ignore[arg-type]
        number = entry.get("page")
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= PAGE_NUMBER_MAX
        ):
            raise DocumentError(
                f"{where}: page must be a whole number from 1 to {PAGE_NUMBER_MAX}, got {number!r}"
            )
        texts: dict[str, str] = {}
        for key in ("paper", "title", "note"):
            value = entry.get(key)
            if value is not None and not isinstance(value, str):
                raise DocumentError(f"{where}: {key} must be text")
            texts[key] = (value or "").strip()
        return cls(
            date=page_date,  # type: ignore[arg-type]
            note=texts["note"],
            paper=texts["paper"],
            page=number,
            title=texts["title"],
        )


# A header line as printed above a page: "太原日报 2025年11月5日 星期三 第3版 要闻".
_PAPER = re.compile(r"([\u4e00-\u9fff]{2,8}(?:日报|晚报|时报|早报|商报))")
_PAGE_NUMBER = re.compile(
    r"(?:^|(?<=[\s报日]))第\s*([0-9]{1,3}|[一二三四五六七八九十]{1,3})\s*版(?=$|[\s:：·|｜—-])"
)
#: Longest line read as a header line (an article's sentence is longer).
_HEADER_MAX_CHARS = 40
_TITLE_AFTER = re.compile(rf"^[\s:：·|｜—-]*([\u4e00-\u9fff]{{2,{PAGE_TITLE_MAX}}})(?:\s|$)")
_CHINESE_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九十")}
#: How many non-blank lines at the top of a page may hold its header.
_HEADER_LINES = 3


def _chinese_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十"):  # 十二
        return 10 + _CHINESE_DIGITS[text[1]]
    if text.endswith("十"):  # 二十
        return _CHINESE_DIGITS[text[0]] * 10
    if "十" in text:  # 二十三
        tens, units = text.split("十")
        return _CHINESE_DIGITS[tens] * 10 + _CHINESE_DIGITS[units]
    return _CHINESE_DIGITS[text[0]] if len(text) == 1 else 0


def infer_page_header(text: str) -> PageMeta:
    """The paper, page number and page title a page's header line prints, as far as it does.

    Only the first few non-blank, short lines are read, and only a line that names a
    page (第3版, standing apart) counts, so 第3版 quoted in an article is never taken for
    the page's.  The title is the short word printed right after the number (第3版 要闻).
    """
    return split_page_header(text)[0]


def split_page_header(text: str) -> tuple[PageMeta, str]:
    """:func:`infer_page_header` and the text without its header line (which is no article's kicker)."""
    seen = 0
    offset = 0
    for raw in text.splitlines(keepends=True):
        start, offset = offset, offset + len(raw)
        if not raw.strip():
            continue
        seen += 1
        if seen > _HEADER_LINES:
            break
        line = unicodedata.normalize("NFKC", raw.strip()).lstrip("# ")
        found = _PAGE_NUMBER.search(line) if len(line) <= _HEADER_MAX_CHARS else None
        if found is None:
            continue
        number = _chinese_number(found.group(1))
        if not 1 <= number <= PAGE_NUMBER_MAX:
            continue
        paper = _PAPER.search(line[: found.start()])
        title = _TITLE_AFTER.match(line[found.end() :])
        meta = PageMeta(
            paper=paper.group(1) if paper else "",
            page=number,
            title=title.group(1) if title and not title.group(1).startswith("星期") else "",
        )
        return meta, text[:start] + text[offset:]
    return PageMeta(), text


def read_page_meta(directory: Path) -> dict[str, PageMeta]:
    """Read ``pages.json`` of a folder; {} if absent.

    The file maps page file names to ``{"date", "paper", "page", "title", "note"}``,
    every field optional.

    Raises:
        DocumentError: the file is not valid JSON of that shape or holds an invalid value.
    """
    path = Path(directory) / PAGES_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DocumentError(f"{path}: not valid UTF-8 JSON ({err})") from None
    if not isinstance(data, dict):
        raise DocumentError(f"{path}: expected an object mapping page file names to {{date, note}}")
    meta: dict[str, PageMeta] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise DocumentError(f"{path}: entry {name!r} must be an object")
        meta[name] = PageMeta.from_dict(entry, f"{path} [{name}]")
    return meta


def read_page_text(path: Path) -> str:
    """Read a page file as text (any format of :func:`rag.parse.readers.read_page`).

    Raises:
        DocumentError: missing, larger than :data:`MAX_PAGE_BYTES`, of no accepted format, binary or empty.
    """
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_PAGE_BYTES:
            raise DocumentError(f"{name}: page file is too large ({size} bytes; limit {MAX_PAGE_BYTES})")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DocumentError(f"{name}: page file not found") from None
    except IsADirectoryError:
        raise DocumentError(f"{name}: is a folder, not a page file") from None
    return decode_page(raw, name)


def decode_page(raw: bytes, name: str) -> str:
    """The text of a page file's bytes: :func:`rag.parse.readers.read_page` (text encodings, HTML, DOCX, PDF).

    Raises:
        DocumentError: of no accepted format, binary or empty.
    """
    return read_page(raw, name)


def _page_date(path: Path, text: str, meta: PageMeta | None) -> str:
    if meta is not None and meta.date:
        return meta.date
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime).date()
    return infer_page_date(text) or fallback_date(path.name, mtime, "the file date")


def parse_page(path: Path, meta: PageMeta | None = None) -> list[Article]:
    """Parse one page file into articles.

    The date comes from ``meta``, else from the ``pages.json`` beside the file, else from
    :func:`infer_page_date`, else from the file's modification time (with a warning).

    Raises:
        DocumentError: the file cannot be read (see :func:`read_page_text`) or has no article.
    """
    path = Path(path)
    if meta is None:
        meta = read_page_meta(path.parent).get(path.name)
    return _parse_file(path, meta or PageMeta())[0]


def _parse_file(path: Path, meta: PageMeta) -> tuple[list[Article], PageMeta]:
    """The articles of one page file and what is known about the page (``meta``, else its header)."""
    text = read_page_text(path)
    page_date = _page_date(path, text, meta)
    header, body = split_page_header(text)
    known = replace(meta.merged(header), date=page_date)
    return parse_text(body, source=path.name, date=page_date), known


def _page_files(paths_or_dir: Path | str | Iterable[Path | str]) -> list[Path]:
    items = [paths_or_dir] if isinstance(paths_or_dir, (str, Path)) else list(paths_or_dir)
    files: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.suffix.lower() in PAGE_SUFFIXES and p.is_file())
            if not found:
                raise DocumentError(f"{item}: no page files ({', '.join(PAGE_SUFFIXES)}) in the folder")
            files.extend(found)
        else:
            files.append(item)
    return files


@dataclass(frozen=True)
class ParsedPages:
    """Articles read from page files, and what is known about each page (for its label)."""

    articles: list[Article]
    #: Page file name → its paper, date, page number and title (``pages.json``, else its header).
    pages: dict[str, PageMeta]


def read_pages(paths_or_dir: Path | str | Iterable[Path | str]) -> ParsedPages:
    """Parse page files: a folder (its page files in name order), a file, or a list of either.

    Each folder's ``pages.json`` supplies the dates, papers, page numbers and titles; a
    page it does not describe gets them from its header line (:func:`infer_page_header`).
    An article whose id was already read from an earlier page is a reprint and is skipped.

    Raises:
        DocumentError: a page cannot be parsed, or a folder holds no page file.
    """
    metas: dict[Path, dict[str, PageMeta]] = {}
    articles: list[Article] = []
    pages: dict[str, PageMeta] = {}
    seen: set[str] = set()
    for path in _page_files(paths_or_dir):
        folder_meta = metas.setdefault(path.parent, read_page_meta(path.parent))
        parsed, pages[path.name] = _parse_file(path, folder_meta.get(path.name, PageMeta()))
        for article in parsed:
            if article.id in seen:
                log.warning("%s: %r was already read from another page; skipped", path.name, article.title)
                continue
            seen.add(article.id)
            articles.append(article)
    return ParsedPages(articles, pages)


def load_pages(paths_or_dir: Path | str | Iterable[Path | str]) -> list[Article]:
    """The articles of :func:`read_pages` (a folder, a file, or a list of either).

    Raises:
        DocumentError: a page cannot be parsed, or a folder holds no page file.
    """
    return read_pages(paths_or_dir).articles
