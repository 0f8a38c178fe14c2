"""Page files and folders into articles: ``pages.json``, size limits, dates, reprints across pages.

:func:`load_pages` reads a folder (or files) for ``rag ingest``; :func:`parse_page` one
file.  The bytes are read by :func:`rag.parse.readers.read_page` and segmented by
:func:`rag.parse.segment.parse_text`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class PageMeta:
    """What ``pages.json`` states about one page file: its date and why."""

    date: str | None = None
    note: str = ""


def read_page_meta(directory: Path) -> dict[str, PageMeta]:
    """Read ``pages.json`` of a folder (``{file name: {"date": ..., "note": ...}}``); {} if absent.

    Raises:
        DocumentError: the file is not valid JSON of that shape or holds an invalid date.
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
        page_date = entry.get("date")
        if page_date is not None:
            check_iso_date(page_date, f"{path} [{name}]")
        meta[name] = PageMeta(date=page_date, note=str(entry.get("note", "")))
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
    text = read_page_text(path)
    if meta is None:
        meta = read_page_meta(path.parent).get(path.name)
    return parse_text(text, source=path.name, date=_page_date(path, text, meta))


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


def load_pages(paths_or_dir: Path | str | Iterable[Path | str]) -> list[Article]:
    """Parse page files: a folder (its page files in name order), a file, or a list of either.

    Each folder's ``pages.json`` supplies the dates.  An article whose id was already
    read from an earlier page is a reprint and is skipped.

    Raises:
        DocumentError: a page cannot be parsed, or a folder holds no page file.
    """
    metas: dict[Path, dict[str, PageMeta]] = {}
    articles: list[Article] = []
    seen: set[str] = set()
    for path in _page_files(paths_or_dir):
        folder_meta = metas.setdefault(path.parent, read_page_meta(path.parent))
        for article in parse_page(path, folder_meta.get(path.name, PageMeta())):
            if article.id in seen:
                log.warning("%s: %r was already read from another page; skipped", path.name, article.title)
                continue
            seen.add(article.id)
            articles.append(article)
    return articles
