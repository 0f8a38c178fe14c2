"""The current index of one directory, shared by every reader and writer of a process.

:class:`LiveIndex` loads the index on first use (or builds it from the seed pages when
none exists), notices when another process (a second server worker, a CLI ingest) saved
a newer generation, and applies writes to a copy that is saved atomically and then
swapped in, so a reader sees the old index or the new one, never a half-written one.
The pipeline and the generator both hold the same :class:`LiveIndex`: the generator
reads term statistics through it (:meth:`LiveIndex.idf`), never through the pipeline.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.catalog import PageCatalog
from rag.chunk import ChunkerSettings
from rag.errors import IndexDamagedError, IndexNotFoundError
from rag.index import Index
from rag.index_files import remove_orphans, write_lock
from rag.index_manifest import manifest_signature
from rag.parse import PageMeta, read_pages
from rag.protocols import Embedder, Stores
from rag.settings import Settings
from rag.types import Article, IngestReport

log = logging.getLogger(__name__)

#: A change applied to a draft copy of the index; says what it changed.
Change = Callable[[Index], IngestReport]


def sync_articles(index: Index, articles: Sequence[Article], *, show_progress: bool) -> IngestReport:
    """Make ``index`` hold exactly ``articles`` for each page file they come from."""
    by_source: dict[str, list[Article]] = {}
    for article in articles:
        by_source.setdefault(article.source, []).append(article)
    totals = IngestReport()
    for source, group in by_source.items():
        r = index.sync_source(source, group, show_progress=show_progress)
        totals = IngestReport(
            articles_added=totals.articles_added + r.articles_added,
            articles_removed=totals.articles_removed + r.articles_removed,
            articles_unchanged=totals.articles_unchanged + r.articles_unchanged,
            chunks_added=totals.chunks_added + r.chunks_added,
            chunks_removed=totals.chunks_removed + r.chunks_removed,
            seconds=totals.seconds + r.seconds,
        )
    return totals


class LiveIndex:
    """The newest saved index of ``settings.index_dir``, loaded lazily and reloaded when it changes.

    Example:
        >>> from rag.embed import HashingEmbedder
        >>> live = LiveIndex(Settings(index_dir="/tmp/none", seeds_dir="seeds"), HashingEmbedder())
        >>> live.loaded
        False
    """

    def __init__(self, settings: Settings, embedder: Embedder, stores: Stores | None = None) -> None:
        from rag.stores import build_stores

        self.path = Path(settings.index_dir)
        #: The engine of the dense and lexical stores (``RAG_STORE``), handed to every index made here.
        self.stores = stores or build_stores(settings)
        self.seeds_dir = Path(settings.seeds_dir)
        self.embedder = embedder
        self.chunker_settings = ChunkerSettings(size=settings.chunk_size, overlap=settings.chunk_overlap)
        #: Paper, page number and title of each page file, kept beside the index (page labels).
        self.catalog = PageCatalog.for_folders(self.path, self.seeds_dir)
        self._index: Index | None = None
        self._load_lock = threading.Lock()
        self._write_lock = threading.Lock()
        #: The manifest's signature when ``_index`` was loaded or saved (see :attr:`current`).
        self._signature: tuple[int, int, int] | None = None

    @property
    def current(self) -> Index:
        """The current index: loaded (or built from the seeds) on first access, reloaded when
        another process (a second worker, a CLI ingest) has saved a newer generation."""
        index = self._index
        if index is None or manifest_signature(self.path) != self._signature:
            with self._load_lock:
                if self._index is None:
                    self._index = self._open()
                elif manifest_signature(self.path) != self._signature:
                    self._reload()
                index = self._index
        assert index is not None
        return index

    def get(self) -> Index:
        """:attr:`current`, as a callable (what the answerer's ``library`` argument takes)."""
        return self.current

    def idf(self, term: str) -> float:
        """Inverse document frequency of ``term`` in the current index (the answerer's term statistics)."""
        return self.current.idf(term)

    @property
    def loaded(self) -> bool:
        """Whether the index is in memory (for readiness probes)."""
        return self._index is not None

    def _reload(self) -> None:
        """Swap in the index another process saved (or keep ours if the directory was emptied)."""
        if not Index.exists(self.path):
            # Deleted under us: keep answering from memory; the next write saves it again.
            self._signature = None
            return
        self._index = self._load()
        log.info("index at %s changed on disk: reloaded (%d articles)", self.path, len(self._index.articles))

    def _load(self) -> Index:
        """Load the saved index, retrying when a writer replaced it while we were reading.

        A writer deletes the previous generation's files once its manifest is in place,
        so a reader that opened the old manifest can find its files gone: that is a
        newer index to read, not damage.
        """
        for attempt in range(5):
            signature = manifest_signature(self.path)
            try:
                index = Index.load(self.path, self.embedder, self.chunker_settings, stores=self.stores)
            except IndexDamagedError:
                if attempt == 4 or manifest_signature(self.path) == signature:
                    raise
                continue
            self._signature = signature
            return index
        raise AssertionError("unreachable")

    def _open(self) -> Index:
        path = self.path
        if Index.exists(path):
            index = self._load()
            # Left by a save that was killed or failed (a full disk): removed now, not someday.
            if orphans := remove_orphans(path):
                log.info("removed %d orphan files from %s", len(orphans), path)
            return index
        seeds = self.seeds_dir
        if not seeds.is_dir() or not any(seeds.glob("*.txt")):
            raise IndexNotFoundError(
                f"no index at {path} and no page files (*.txt) in {seeds}: run `rag ingest PATH…`"
            )
        with write_lock(path):
            if Index.exists(path):  # another worker built it while we waited for the lock
                return self._load()
            log.info("no index at %s: building it from %s", path, seeds)
            index = Index(self.embedder, self.chunker_settings, stores=self.stores)
            parsed = read_pages([seeds])
            self.catalog.record(parsed.pages)
            sync_articles(index, parsed.articles, show_progress=False)
            index.save(path)
            self._signature = manifest_signature(path)
        return index

    def write(
        self, change: Change, *, rebuild: bool = False, pages: dict[str, PageMeta] | None = None
    ) -> IngestReport:
        """Apply ``change`` to a copy of the newest index, save it, swap it in.

        The directory's write lock is held from reading to saving, so writes from other
        processes are neither lost nor interleaved: each starts from the last saved one.
        ``pages`` (what is known about the pages written) goes to the page catalog under
        the same lock, even when no article changed (a corrected page number).
        """
        path = self.path
        with self._write_lock, write_lock(path):
            if pages:
                self.catalog.record(pages)
            if rebuild or not Index.exists(path) and self._index is None:
                draft = Index(self.embedder, self.chunker_settings, stores=self.stores)
            else:
                draft = self.current.copy()  # reloads first if another process saved since
            report = change(draft)
            # ``unsaved``: rows changed without an article added or removed (a page now holding one too).
            if report.changed or draft.unsaved or rebuild or not Index.exists(path):
                draft.save(path)
            # Not under _load_lock: a reader holding it may be waiting for our file lock.
            # Index first: a reader seeing the new index with the old signature merely reloads.
            self._index = draft
            self._signature = manifest_signature(path)
            return report


__all__ = ["Change", "LiveIndex", "sync_articles"]
