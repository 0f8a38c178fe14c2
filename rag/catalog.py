"""What a reader is told about each page: 太原日报 2025年11月5日 第3版, never ``000_79f4….txt``.

An article records the page file it came from (``source``) and the page's date.  What
else is known about a page — its paper, page number and page title — is kept per page
file in the index folder's ``pages.json`` (the format of ``seeds/pages.json``), written
when pages are ingested: from the folder's own ``pages.json``, an upload's form fields or
the page's header line.  :class:`PageCatalog` reads it back and names every page:

* :func:`page_label` — ``太原日报 2025年11月5日 第3版 要闻``; the paper defaults to
  :data:`DEFAULT_PAPER`, and a page whose number is unknown is named by its date alone;
* :meth:`PageCatalog.labels` — the labels of every page of an index, two pages that would
  share a label told apart by a number (``…（2）``);
* :func:`add_page_labels` — the ``page_label`` of each citation and passage of an answer's JSON.

The catalog is kept beside the index rather than inside its records because it describes
pages, not articles: an article printed on two pages is one record, and a page re-uploaded
with a corrected page number changes no article.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.parse import PageMeta, read_page_meta

log = logging.getLogger(__name__)

#: The paper a page belongs to when nothing says otherwise.
DEFAULT_PAPER = "太原日报"
#: File of the catalog inside the index folder (the format of ``seeds/pages.json``).
CATALOG_FILE = "pages.json"


def format_date(iso: str) -> str:
    """``2025-11-05`` as a reader writes it: ``2025年11月5日`` (anything else unchanged)."""
    try:
        day = dt.date.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    return f"{day.year}年{day.month}月{day.day}日"


def page_label(meta: PageMeta, date: str) -> str:
    """A reader's name for a page: paper, date, and the page number and title when known.

    ``date`` is the page's date as its articles carry it (``meta.date`` wins when set).

    Example:
        >>> page_label(PageMeta(page=3, title="要闻"), "2025-11-05")
        '太原日报 2025年11月5日 第3版 要闻'
        >>> page_label(PageMeta(), "2023-08-30")
        '太原日报 2023年8月30日'
    """
    parts = [meta.paper or DEFAULT_PAPER, format_date(meta.date or date)]
    if meta.page is not None:
        parts.append(f"第{meta.page}版")
    if meta.title:
        parts.append(meta.title)
    return " ".join(parts)


@dataclass(frozen=True)
class PageInfo:
    """One page of the index as a reader sees it (``GET /api/pages``)."""

    source: str
    page_label: str
    date: str
    paper: str
    page: int | None
    title: str
    articles: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


class PageCatalog:
    """What is known about each page file of one index: ``<index_dir>/pages.json``.

    Pages the file does not describe fall back to ``fallback`` (the seeds folder's
    ``pages.json``, so an index built before the catalog existed still gets its labels).
    Reads are cached and re-read when the file changes, so a page recorded by another
    process (a second worker, a CLI ingest) is named by all.  Writers call :meth:`record`
    while they hold the index's write lock.

    Example:
        >>> import tempfile
        >>> catalog = PageCatalog(Path(tempfile.mkdtemp()))
        >>> catalog.record({"p3.txt": PageMeta(date="2025-11-05", page=3)})
        >>> catalog.labels({"p3.txt": "2025-11-05", "x.txt": "2025-11-05"})["p3.txt"]
        '太原日报 2025年11月5日 第3版'
    """

    def __init__(self, index_dir: Path, fallback: Mapping[str, PageMeta] | None = None) -> None:
        self.path = Path(index_dir) / CATALOG_FILE
        self.fallback = dict(fallback or {})
        self._signature: tuple[int, int] | None = None
        self._entries: dict[str, PageMeta] = {}

    @classmethod
    def for_folders(cls, index_dir: Path, seeds_dir: Path) -> PageCatalog:
        """The catalog of ``index_dir``, falling back to the ``pages.json`` of ``seeds_dir``."""
        try:
            fallback = read_page_meta(seeds_dir) if seeds_dir.is_dir() else {}
        except DocumentError as err:  # a bad seeds file costs labels, not answers
            log.warning("page labels fall back to dates: %s", err)
            fallback = {}
        return cls(index_dir, fallback)

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def entries(self) -> dict[str, PageMeta]:
        """Every page the catalog file describes (re-read when the file changed)."""
        signature = self._stat()
        if signature != self._signature:
            self._entries = self._read() if signature is not None else {}
            self._signature = signature
        return self._entries

    def _read(self) -> dict[str, PageMeta]:
        try:
            return read_page_meta(self.path.parent)
        except DocumentError as err:  # damaged: labels fall back to dates, answers go on
            log.warning("page labels fall back to dates: %s", err)
            return {}

    def meta(self, source: str) -> PageMeta:
        """What is known about page file ``source`` (an empty :class:`PageMeta` if nothing)."""
        return self.entries().get(source) or self.fallback.get(source) or PageMeta()

    def record(self, pages: Mapping[str, PageMeta]) -> None:
        """Add or replace the entries of ``pages`` and write the file atomically.

        A failure to write is logged, not raised: the pages are indexed all the same,
        and named by their dates until they are ingested again.
        """
        if not pages:
            return
        entries = dict(self.entries())
        entries.update(pages)
        data = {name: meta.to_dict() for name, meta in sorted(entries.items())}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{CATALOG_FILE}.", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, ensure_ascii=False, indent=2)
                    fh.write("\n")
                # mkstemp creates 0600; the catalog is shared like the index files (umask).
                mask = os.umask(0)
                os.umask(mask)
                os.chmod(tmp, 0o666 & ~mask)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as err:
            log.warning("%s cannot be written (%s): these pages are named by their dates", self.path, err)
            return
        self._entries, self._signature = entries, self._stat()

    def labels(self, dated_sources: Mapping[str, str]) -> dict[str, str]:
        """The label of every page file of ``dated_sources`` (file name → page date).

        Pages that would share a label (two uploads of one day without page numbers) are
        numbered in file-name order: ``太原日报 2025年11月5日``, ``太原日报 2025年11月5日（2）``.
        """
        dated = sorted(dated_sources.items())
        plain = {source: page_label(self.meta(source), date) for source, date in dated}
        seen: dict[str, int] = {}
        labels: dict[str, str] = {}
        for source, label in plain.items():
            seen[label] = seen.get(label, 0) + 1
            labels[source] = label if seen[label] == 1 else f"{label}（{seen[label]}）"
        return labels


def add_page_labels(data: dict[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """``rag ask --json`` data with a ``page_label`` on each citation and passage.

    A source missing from ``labels`` (a page removed meanwhile) is named by its date.
    """
    for key in ("citations", "passages"):
        items: Iterable[dict[str, Any]] = data.get(key) or []
        for item in items:
            item["page_label"] = labels.get(item["source"]) or page_label(PageMeta(), item["date"])
    return data


__all__ = [
    "CATALOG_FILE",
    "DEFAULT_PAPER",
    "PageCatalog",
    "PageInfo",
    "add_page_labels",
    "format_date",
    "page_label",
]
