"""The index: articles, chunks, dense vectors and BM25 tokens, saved together as one directory.

Directory layout (``vectorstore/default/`` by default)::

    manifest.json            format version, model, dimension, chunker, stores, counts, file names
    vectors-<gen>.faiss      the dense store (FAISS, flat or HNSW; see rag.store); ids are chunk slots
    lexical-<gen>/           the lexical store (tantivy over the jieba tokens; see rag.lexical)
    chunks-<gen>.jsonl       one chunk a line, with its slot
    articles-<gen>.jsonl     one article a line
    sentences-<gen>.npz      every answerable sentence: article, span, vector (so answers
                             can be ranked by meaning without encoding sentences per question)

The engines behind the two stores come from the :class:`~rag.protocols.Stores` the index
is built with (``RAG_STORE``: FAISS + tantivy files here, or a Milvus collection).

Saving writes a new generation of data files, then replaces ``manifest.json`` in one
``os.replace``: a process killed at any point leaves either the old or the new
manifest, each pointing at complete files, so the index always loads.

Several processes (``rag serve --workers N``, a CLI ingest beside a server) share one
directory: writers hold :func:`write_lock` (an OS file lock on ``.lock``) around
read-modify-save, so generations never collide and no write is lost; readers never
lock and notice a newer generation by the manifest's :func:`manifest_signature`.
Files are created with the process umask (an index built by one user can be served
by another).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from rag.bm25 import tokenize
from rag.chunk import ChunkerSettings, SentenceChunker
from rag.embed import embedder_prompts
from rag.errors import (
    IndexBusyError,
    IndexDamagedError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    NotFoundError,
)
from rag.protocols import DenseStore, Embedder, LexicalStore, Selection, Stores
from rag.text import answer_sentences
from rag.types import Article, Chunk, SearchFilters

#: 3: BM25 by a lexical store (tantivy folder) instead of tokens in the chunks file; stores in the manifest.
FORMAT_VERSION = 3
MANIFEST = "manifest.json"
#: The file writers lock (never written to; its presence means nothing).
LOCK_FILE = ".lock"
#: How long a writer waits for another process's write to finish.
LOCK_WAIT_SECONDS = 600.0
_DATA_FILE = re.compile(
    r"^(?:(?:vectors|chunks|articles|sentences)-(\d{6})\.(?:faiss|jsonl|npz|json)|lexical-(\d{6}))$"
)
_TEMP_FILE = re.compile(r"^\..*\.tmp$")


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread writes files.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
#: Changes whenever ``rag.bm25.tokenize`` would tokenise differently.
TOKENIZER_VERSION = "jieba-search-nfkc-userdict-v2"


@dataclass(frozen=True)
class SentenceTable:
    """The answerable sentences of one article: spans into its body and their vectors."""

    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray  # (len(spans), dimension) float32, L2-normalised


def sentence_embed_text(article: Article, start: int, end: int) -> str:
    """What a sentence is embedded as: the headline gives a bare sentence its subject."""
    return f"{article.title}\n{article.body[start:end]}"


@dataclass(frozen=True)
class IngestReport:
    """What an ingest changed."""

    articles_added: int = 0
    articles_removed: int = 0
    articles_unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether anything was added or removed."""
        return bool(self.articles_added or self.articles_removed)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_atomic(path: Path, write: Any) -> None:
    """Write ``path`` via a temporary file in the same folder, fsync, then rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        # mkstemp makes the file private (0600); an index is data other users may serve.
        os.chmod(tmp, 0o666 & ~_UMASK)
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def write_lock(path: Path | str, timeout: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the index directory's write lock (across processes) for a read-modify-save.

    Raises :class:`IndexWriteError` when the lock file cannot be created (read-only
    folder) and :class:`IndexBusyError` when another writer holds it past ``timeout``.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path / LOCK_FILE), timeout=timeout, mode=0o666 & ~_UMASK)
        lock.acquire()
    except Timeout:
        raise IndexBusyError(
            f"another process has been writing the index at {path} for over {timeout:.0f} s; try again later"
        ) from None
    except OSError as err:
        raise IndexWriteError(_write_failure(path, err)) from None
    try:
        yield
    finally:
        lock.release()


def manifest_signature(path: Path | str) -> tuple[int, int, int] | None:
    """Inode, modification time and size of the manifest: changes whenever a save replaces it."""
    try:
        st = os.stat(Path(path) / MANIFEST)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _write_failure(path: Path, err: OSError) -> str:
    reason = err.strerror or type(err).__name__
    return (
        f"cannot write the index at {path}: {reason} (errno {err.errno}); the index on disk is unchanged. "
        "Check the folder's permissions and free space, or set RAG_INDEX_DIR to a writable folder"
    )


class Index:
    """Articles and their chunks, searchable densely (FAISS) and lexically (BM25).

    The constructor is cheap; the embedder is only called when chunks are added or
    a query is embedded.  Ingest is incremental and page-based: :meth:`sync_source`
    makes the index hold exactly the given articles for one page file, so an
    unchanged page adds nothing and a changed article replaces its chunks.

    Example:
        >>> from rag.embed import HashingEmbedder
        >>> index = Index(HashingEmbedder())
        >>> report = index.sync_source("p.txt", [Article(id="a", title="t", body="太原。", source="p.txt",
        ...                                              date="2025-01-01", kind="brief")])
        >>> report.chunks_added
        1
    """

    def __init__(
        self, embedder: Embedder, chunker: ChunkerSettings | None = None, *, stores: Stores | None = None
    ) -> None:
        from rag.stores import FaissStores

        self.embedder = embedder
        #: Makes and opens the dense and lexical stores (the engine; FAISS + tantivy by default).
        self.stores: Stores = stores or FaissStores()
        self.chunker_settings = chunker or ChunkerSettings()
        self._chunker = SentenceChunker(self.chunker_settings)
        self._articles: dict[str, Article] = {}
        #: The page files that hold each article: the same text printed on two pages (or uploaded
        #: under two names) is indexed once and stays until no page holds it.
        self._holders: dict[str, set[str]] = {}
        self._slots: list[Chunk | None] = []
        self._slot_of: dict[str, int] = {}
        self._by_article: dict[str, list[int]] = {}
        self._vectors: DenseStore | None = None
        #: Made on the first chunk (a tantivy store is a folder: not made for an index that is loaded).
        self._lexical: LexicalStore | None = None
        #: Date and page of every slot as arrays, for filters (rebuilt after a change).
        self._columns: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._sentences: dict[str, SentenceTable] = {}
        self._query_cache: dict[str, np.ndarray] = {}
        self._query_lock = threading.Lock()
        self._generation = 0
        self.created_at = time.strftime("%Y-%m-%dT%H:%M:%S")

    # -- reading ---------------------------------------------------------------------

    @property
    def articles(self) -> Mapping[str, Article]:
        """Articles by id, in ingest order."""
        return self._articles

    def article(self, article_id: str) -> Article:
        """The article with ``article_id`` or :class:`NotFoundError`."""
        try:
            return self._articles[article_id]
        except KeyError:
            raise NotFoundError(f"no article with id {article_id!r}") from None

    def chunks(self) -> list[Chunk]:
        """All live chunks in slot order."""
        return [c for c in self._slots if c is not None]

    def chunk(self, chunk_id: str) -> Chunk:
        """The chunk with ``chunk_id`` or :class:`NotFoundError`."""
        slot = self._slot_of.get(chunk_id)
        if slot is None:
            raise NotFoundError(f"no chunk with id {chunk_id!r}")
        chunk = self._slots[slot]
        assert chunk is not None
        return chunk

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """The chunks of one article, in order."""
        return [c for s in self._by_article.get(article_id, []) if (c := self._slots[s]) is not None]

    @property
    def sources(self) -> list[str]:
        """Page files represented in the index."""
        return sorted({a.source for a in self._articles.values()})

    @property
    def dimension(self) -> int | None:
        """Vector width, known once vectors exist."""
        return self._vectors.dimension if self._vectors is not None else None

    def __len__(self) -> int:
        return len(self._slot_of)

    def manifest(self) -> dict[str, Any]:
        """The self-description written beside the data files."""
        return {
            "format_version": FORMAT_VERSION,
            "model": self.embedder.name,
            "dimension": self.dimension,
            # The prompts the vectors were embedded with (added later: older manifests lack it).
            "prompts": embedder_prompts(self.embedder),
            "chunker": asdict(self.chunker_settings),
            "tokenizer": TOKENIZER_VERSION,
            "store": {
                "engine": self.stores.name,
                "dense": self._vectors.describe() if self._vectors is not None else None,
                "lexical": self._lexical.describe() if self._lexical is not None else None,
            },
            "counts": {"articles": len(self._articles), "chunks": len(self), "sources": len(self.sources)},
            "sources": self.sources,
            "generation": self._generation,
            "created_at": self.created_at,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "files": self._file_names(self._generation),
        }

    # -- searching -------------------------------------------------------------------

    def _selection(self, filters: SearchFilters | None) -> Selection | None:
        """The slots ``filters`` keep, computed over arrays (no Python loop over the chunks)."""
        if filters is None or filters.is_empty:
            return None
        if self._columns is None:
            live = np.array([c is not None for c in self._slots], dtype=bool)
            dates = np.array([c.date if c is not None else "" for c in self._slots], dtype=str)
            sources = np.array([c.source if c is not None else "" for c in self._slots], dtype=object)
            self._columns = (live, dates, sources)
        live, dates, sources = self._columns
        keep = live.copy()
        if filters.date_from:
            keep &= dates >= filters.date_from
        if filters.date_to:
            keep &= dates <= filters.date_to
        if filters.source:
            keep &= sources == filters.source
        return Selection(filters, np.flatnonzero(keep).astype("int64"))

    def dense_search(
        self, query_vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[tuple[Chunk, float]]:
        """Chunks by cosine similarity to ``query_vector`` (already normalised), filtered inside the store."""
        if self._vectors is None or not len(self._vectors):
            return []
        if query_vector.shape[-1] != self._vectors.dimension:
            raise IndexMismatchError(
                f"the query vector has {query_vector.shape[-1]} dimensions but the index holds "
                f"{self._vectors.dimension}: rebuild the index with `rag ingest --rebuild`"
            )
        scores, ids = self._vectors.search(query_vector, k, self._selection(filters))
        return self._hits(scores[0], ids[0], k)

    def _hits(self, scores: np.ndarray, slots: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        hits: list[tuple[Chunk, float]] = []
        for score, slot in zip(scores, slots, strict=True):
            # A slot this generation does not hold (a store ahead of the records) is skipped.
            if 0 <= slot < len(self._slots) and (chunk := self._slots[slot]) is not None:
                hits.append((chunk, float(score)))
            if len(hits) >= k:
                break
        return hits

    def bm25_search(
        self, query_tokens: Sequence[str], k: int, filters: SearchFilters | None = None
    ) -> list[tuple[Chunk, float]]:
        """Chunks by BM25 score of ``query_tokens`` (see :func:`rag.bm25.tokenize`)."""
        if self._lexical is None:
            return []
        scores, slots = self._lexical.search(query_tokens, k, self._selection(filters))
        return self._hits(scores, slots, k)

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token over the chunks (for answer scoring)."""
        if self._lexical is None:
            return float(np.log(1.5))  # the idf of a term no document holds in an empty collection
        return self._lexical.idf(token)

    def document_frequency(self, token: str) -> int:
        """How many chunks hold ``token`` (0: a word the archive never printed)."""
        return self._lexical.document_frequency(token) if self._lexical is not None else 0

    def query_vector(self, text: str) -> np.ndarray:
        """The query embedding of ``text`` (1 × dimension), cached: retrieval and answering share it."""
        vector = self._query_cache.get(text)
        if vector is None:
            vector = self.embedder.encode_queries([text])
            with self._query_lock:
                if len(self._query_cache) >= 256:
                    # Dicts keep insertion order: drop the oldest entry.
                    self._query_cache.pop(next(iter(self._query_cache)), None)
                self._query_cache[text] = vector
        return vector

    def forget_queries(self) -> None:
        """Drop the cached query vectors (benchmarks time a cold question with this)."""
        with self._query_lock:
            self._query_cache.clear()

    def sentences(self, article_id: str) -> SentenceTable | None:
        """The answerable sentences of an article with their vectors (None for an unknown id)."""
        return self._sentences.get(article_id)

    # -- writing ---------------------------------------------------------------------

    def sync_source(
        self, source: str, articles: Sequence[Article], *, show_progress: bool = False
    ) -> IngestReport:
        """Make the index hold exactly ``articles`` for page file ``source``.

        Articles whose id (derived from their content) is already indexed are kept as
        they are; articles of ``source`` that are no longer present are removed.
        """
        started = time.perf_counter()
        wanted = {a.id: a for a in articles}
        stale = [aid for aid in self._articles if source in self.holders(aid) and aid not in wanted]
        removed_articles = 0
        removed_chunks = 0
        for aid in stale:
            remaining = self.holders(aid) - {source}
            if remaining:
                self._rehome(aid, remaining)
            else:
                removed_chunks += self._remove_article(aid)
                removed_articles += 1
        fresh = [a for aid, a in wanted.items() if aid not in self._articles]
        for aid in wanted:
            if aid in self._articles:
                self._holders[aid] = self.holders(aid) | {source}
        added_chunks = self._add_articles(fresh, show_progress=show_progress)
        return IngestReport(
            articles_added=len(fresh),
            articles_removed=removed_articles,
            articles_unchanged=len(wanted) - len(fresh),
            chunks_added=added_chunks,
            chunks_removed=removed_chunks,
            seconds=time.perf_counter() - started,
        )

    def holders(self, article_id: str) -> set[str]:
        """The page files that hold an article (its own ``source`` at least)."""
        return set(self._holders.get(article_id) or {self._articles[article_id].source})

    def _rehome(self, article_id: str, holders: set[str]) -> None:
        """Keep an article another page still holds; its ``source`` becomes one of those pages."""
        self._holders[article_id] = holders
        article = self._articles[article_id]
        if article.source in holders:
            return
        home = min(holders)
        self._columns = None
        self._articles[article_id] = dataclasses.replace(article, source=home)
        for slot in self._by_article.get(article_id, []):
            chunk = self._slots[slot]
            if chunk is not None:
                self._slots[slot] = dataclasses.replace(chunk, source=home)

    def delete(self, article_id: str) -> int:
        """Remove one article and its chunks; returns the number of chunks removed."""
        if article_id not in self._articles:
            raise NotFoundError(f"no article with id {article_id!r}")
        return self._remove_article(article_id)

    def _remove_article(self, article_id: str) -> int:
        slots = self._by_article.pop(article_id, [])
        for slot in slots:
            chunk = self._slots[slot]
            if chunk is not None:
                del self._slot_of[chunk.id]
                self._slots[slot] = None
        if slots and self._vectors is not None:
            self._vectors.remove(np.asarray(slots, dtype="int64"))
        if slots and self._lexical is not None:
            self._lexical.remove(slots)
        self._columns = None
        del self._articles[article_id]
        self._holders.pop(article_id, None)
        self._sentences.pop(article_id, None)
        return len(slots)

    def _add_articles(self, articles: Sequence[Article], *, show_progress: bool) -> int:
        chunks = self._chunker.run(articles)
        if not chunks:
            for article in articles:
                self._articles[article.id] = article
                self._holders[article.id] = {article.source}
            return 0
        spans = {a.id: answer_sentences(a.body) for a in articles}
        sentence_texts = [sentence_embed_text(a, s, e) for a in articles for s, e in spans[a.id]]
        # One call for chunks and sentences: one progress bar, full batches.
        every = self.embedder.encode_documents(
            [c.embed_text for c in chunks] + sentence_texts, show_progress=show_progress
        )
        vectors, sentence_vectors = every[: len(chunks)], every[len(chunks) :]
        row = 0
        for article in articles:
            n = len(spans[article.id])
            self._sentences[article.id] = SentenceTable(
                tuple(spans[article.id]),
                np.ascontiguousarray(sentence_vectors[row : row + n], dtype="float32"),
            )
            row += n
        if self._vectors is None:
            self._vectors = self.stores.new_dense(int(vectors.shape[1]))
        if self._lexical is None:
            self._lexical = self.stores.new_lexical()
        first = len(self._slots)
        slots = list(range(first, first + len(chunks)))
        self._vectors.add(np.asarray(slots, dtype="int64"), vectors)
        self._lexical.add(slots, [tokenize(c.embed_text) for c in chunks], chunks)
        self._columns = None
        for article in articles:
            self._articles[article.id] = article
            self._holders[article.id] = {article.source}
            self._by_article.setdefault(article.id, [])
        for slot, chunk in zip(slots, chunks, strict=True):
            self._slots.append(chunk)
            self._slot_of[chunk.id] = slot
            self._by_article[chunk.article_id].append(slot)
        return len(chunks)

    def copy(self) -> Index:
        """An independent copy: writers change the copy while readers keep using this one."""
        clone = copy.copy(self)
        clone._articles = dict(self._articles)
        clone._holders = {k: set(v) for k, v in self._holders.items()}
        clone._slots = list(self._slots)
        clone._slot_of = dict(self._slot_of)
        clone._by_article = {k: list(v) for k, v in self._by_article.items()}
        clone._vectors = self._vectors.copy() if self._vectors is not None else None
        clone._lexical = self._lexical.copy() if self._lexical is not None else None
        clone._columns = None
        clone._sentences = dict(self._sentences)  # tables are never changed in place
        return clone

    # -- persistence -----------------------------------------------------------------

    @staticmethod
    def _file_names(generation: int) -> dict[str, str]:
        return {
            "vectors": f"vectors-{generation:06d}.faiss",
            "lexical": f"lexical-{generation:06d}",
            "chunks": f"chunks-{generation:06d}.jsonl",
            "articles": f"articles-{generation:06d}.jsonl",
            "sentences": f"sentences-{generation:06d}.npz",
        }

    def save(self, path: Path | str) -> Path:
        """Write the index to directory ``path`` atomically (see the module docstring).

        Callers sharing ``path`` with other processes hold :func:`write_lock` around
        their read-modify-save.  A failed write (read-only folder, full disk) removes
        what it had written and raises :class:`IndexWriteError`; the old index stays.
        """
        path = Path(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise IndexWriteError(_write_failure(path, err)) from None
        self._generation = max(self._generation, _newest_generation(path)) + 1
        files = self._file_names(self._generation)
        try:
            self._write_files(path, files)
        except OSError as err:
            for name in files.values():
                _remove_entry(path / name)
            raise IndexWriteError(_write_failure(path, err)) from None
        self._remove_other_generations(path, set(files.values()))
        return path

    def _write_files(self, path: Path, files: dict[str, str]) -> None:
        def write_articles(tmp: Path) -> None:
            with open(tmp, "w", encoding="utf-8") as fh:
                for article in self._articles.values():
                    row = article.to_dict()
                    holders = self._holders.get(article.id, {article.source})
                    if holders != {article.source}:
                        row["held_by"] = sorted(holders)
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")

        def write_chunks(tmp: Path) -> None:
            with open(tmp, "w", encoding="utf-8") as fh:
                for slot, chunk in enumerate(self._slots):
                    if chunk is not None:
                        row = {"slot": slot, **chunk.to_dict()}
                        fh.write(json.dumps(row, ensure_ascii=False) + "\n")

        def write_vectors(tmp: Path) -> None:
            (self._vectors or self.stores.new_dense(self.dimension or 1)).save(tmp)

        def write_sentences(tmp: Path) -> None:
            ids = [aid for aid in self._articles if aid in self._sentences]
            tables = [self._sentences[aid] for aid in ids]
            width = self.dimension or 1
            with open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    article=np.array(ids, dtype=str),
                    count=np.array([len(t.spans) for t in tables], dtype="int64"),
                    spans=np.array([s for t in tables for s in t.spans], dtype="int64").reshape(-1, 2),
                    vectors=np.concatenate([t.vectors for t in tables]).astype("float32", copy=False)
                    if tables
                    else np.zeros((0, width), dtype="float32"),
                )

        _write_atomic(path / files["articles"], write_articles)
        _write_atomic(path / files["sentences"], write_sentences)
        _write_atomic(path / files["chunks"], write_chunks)
        if self._lexical is None:
            self._lexical = self.stores.new_lexical()
        # A folder (tantivy) or a pointer file (Milvus): the store writes it whole, then renames.
        self._lexical.save(path / files["lexical"])
        _write_atomic(path / files["vectors"], write_vectors)
        _fsync_dir(path)
        manifest = self.manifest()
        _write_atomic(
            path / MANIFEST,
            lambda tmp: tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"),
        )
        _fsync_dir(path)

    @staticmethod
    def _remove_other_generations(path: Path, keep: set[str]) -> list[str]:
        """Delete the data and temporary files not in ``keep``; return the names found."""
        removed = []
        for entry in path.iterdir():
            if entry.name not in keep and (_DATA_FILE.match(entry.name) or _TEMP_FILE.match(entry.name)):
                removed.append(entry.name)
                _remove_entry(entry)
        return removed

    @classmethod
    def remove_orphans(cls, path: Path | str) -> list[str]:
        """Delete data and temporary files the manifest does not name (left by a killed or failed save).

        Skipped (returns ``[]``) when another process is writing, the folder is
        read-only, or the manifest cannot be read: orphans are harmless, deleting a
        file a damaged manifest might still need is not.
        """
        path = Path(path)
        try:
            with write_lock(path, timeout=0):
                manifest = _read_manifest(path)
                keep = set(_manifest_files(path, manifest).values())
                return cls._remove_other_generations(path, keep)
        except (IndexBusyError, IndexWriteError, IndexDamagedError, OSError):
            return []

    @classmethod
    def exists(cls, path: Path | str) -> bool:
        """Whether ``path`` holds a saved index."""
        return (Path(path) / MANIFEST).is_file()

    @classmethod
    def load(
        cls,
        path: Path | str,
        embedder: Embedder,
        chunker: ChunkerSettings | None = None,
        *,
        stores: Stores | None = None,
    ) -> Index:
        """Load a saved index, refusing one built by another model, chunker or format.

        Raises :class:`IndexDamagedError` naming the unreadable file when the manifest
        or a data file is missing, truncated or malformed.
        """
        path = Path(path)
        if not cls.exists(path):
            raise IndexNotFoundError(f"no index at {path}: build one with `rag ingest`")
        manifest = _read_manifest(path)
        chunker = chunker or ChunkerSettings()
        if manifest.get("format_version") == FORMAT_VERSION:
            # Written by this version: a key it always writes that is missing is damage, not a mismatch.
            lacking = [k for k in ("model", "chunker", "tokenizer", "generation") if k not in manifest]
            if lacking:
                raise IndexDamagedError(
                    f"index at {path} is damaged: {MANIFEST} lacks {', '.join(lacking)}: {REPAIR}"
                )
            files = _manifest_files(path, manifest)
        index = cls(embedder, chunker, stores=stores)
        _check_manifest(path, manifest, embedder, chunker, index.stores)
        index._generation = int(manifest.get("generation", 0))
        index.created_at = str(manifest.get("created_at", index.created_at))
        with _reading(path, files["articles"]):
            for row in _read_jsonl(path / files["articles"]):
                holders = row.pop("held_by", None)
                article = Article.from_dict(row)
                index._articles[article.id] = article
                if holders:
                    index._holders[article.id] = set(holders)
        with _reading(path, files["chunks"]):
            for row in _read_jsonl(path / files["chunks"]):
                slot = row.pop("slot")
                chunk = Chunk.from_dict(row)
                if slot >= len(index._slots):
                    index._slots.extend([None] * (slot + 1 - len(index._slots)))
                index._slots[slot] = chunk
                index._slot_of[chunk.id] = slot
                index._by_article.setdefault(chunk.article_id, []).append(slot)
        with _reading(path, files["sentences"]), np.load(path / files["sentences"]) as data:
            offsets = np.concatenate([[0], np.cumsum(data["count"])]).astype(int)
            spans, vectors = data["spans"], data["vectors"]
            for i, aid in enumerate(data["article"].tolist()):
                lo, hi = offsets[i], offsets[i + 1]
                index._sentences[aid] = SentenceTable(
                    tuple((int(a), int(b)) for a, b in spans[lo:hi]), np.ascontiguousarray(vectors[lo:hi])
                )
        if index._slot_of:
            with _reading(path, files["vectors"]):
                index._vectors = index.stores.open_dense(path / files["vectors"])
            with _reading(path, files["lexical"]):
                index._lexical = index.stores.open_lexical(path / files["lexical"])
            for what, store in (("vectors", index._vectors), ("lexical entries", index._lexical)):
                if len(store) != len(index._slot_of):
                    raise IndexDamagedError(
                        f"index at {path} is damaged ({len(store)} {what} for "
                        f"{len(index._slot_of)} chunks): {REPAIR}"
                    )
        return index


#: What every damage message ends with: the command that repairs it.
REPAIR = "rebuild it with `rag ingest --rebuild [PAGES…]` (default: the seeds folder; re-add uploaded pages)"


@contextlib.contextmanager
def _reading(path: Path, name: str) -> Iterator[None]:
    """Turn any failure to read data file ``name`` into one :class:`IndexDamagedError` line."""
    try:
        yield
    except FileNotFoundError:
        raise IndexDamagedError(f"index at {path} is damaged: {name} is missing: {REPAIR}") from None
    except IndexDamagedError:
        raise
    except Exception as err:  # noqa: BLE001 - json, numpy, zip and faiss each raise their own kinds
        detail = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise IndexDamagedError(
            f"index at {path} is damaged: {name} is truncated or corrupt ({detail}): {REPAIR}"
        ) from None


def _remove_entry(entry: Path) -> None:
    """Delete a data file or folder (a lexical generation), whichever it is; absent is fine."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            entry.unlink()


def _newest_generation(path: Path) -> int:
    """The highest generation the manifest or any data file in ``path`` names (0 if none).

    Read from the files as well as the manifest, so a damaged manifest or a killed
    save never leads to a generation number that is already on disk.
    """
    newest = 0
    with contextlib.suppress(OSError):
        for entry in path.iterdir():
            if match := _DATA_FILE.match(entry.name):
                newest = max(newest, int(match.group(1) or match.group(2)))
    with contextlib.suppress(IndexDamagedError, IndexNotFoundError, OSError, TypeError, ValueError):
        newest = max(newest, int(_read_manifest(path).get("generation", 0)))
    return newest


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexNotFoundError(f"no index at {path}: build one with `rag ingest`") from None
    except (OSError, ValueError) as err:
        raise IndexDamagedError(
            f"index at {path} is damaged: cannot read {MANIFEST} ({err}): {REPAIR}"
        ) from err
    if not isinstance(manifest, dict):
        raise IndexDamagedError(
            f"index at {path} is damaged: {MANIFEST} holds a {type(manifest).__name__}, "
            f"not an object: {REPAIR}"
        )
    return manifest


def _manifest_files(path: Path, manifest: dict[str, Any]) -> dict[str, str]:
    """The manifest's data file names, checked to be the four this version writes."""
    files = manifest.get("files")
    kinds = ("articles", "chunks", "vectors", "lexical", "sentences")
    if not isinstance(files, dict) or not all(
        isinstance(files.get(k), str) and _DATA_FILE.match(files[k]) for k in kinds
    ):
        raise IndexDamagedError(
            f"index at {path} is damaged: {MANIFEST} does not name its data files "
            f"({', '.join(kinds)}): {REPAIR}"
        )
    return {k: files[k] for k in kinds}


def _read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _check_manifest(
    path: Path, manifest: dict[str, Any], embedder: Embedder, chunker: ChunkerSettings, stores: Stores
) -> None:
    """Raise :class:`IndexMismatchError` naming what differs and how to fix it."""
    fix = "rebuild it with `rag ingest --rebuild` (or point RAG_INDEX_DIR elsewhere)"
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {path} has format {manifest.get('format_version')}, this version reads "
            f"{FORMAT_VERSION}: {fix}"
        )
    if manifest.get("model") != embedder.name:
        raise IndexMismatchError(
            f"index at {path} was built with model {manifest.get('model')!r} but the configured model is "
            f"{embedder.name!r}: {fix}, or set RAG_EMBEDDING_MODEL={manifest.get('model')}"
        )
    built = manifest.get("chunker", {})
    if built != asdict(chunker):
        raise IndexMismatchError(
            f"index at {path} was built with chunker {built} but the settings say {asdict(chunker)}: {fix}"
        )
    if manifest.get("tokenizer") != TOKENIZER_VERSION:
        raise IndexMismatchError(
            f"index at {path} was tokenised with {manifest.get('tokenizer')!r}, this version uses "
            f"{TOKENIZER_VERSION!r}: {fix}"
        )
    engine = (manifest.get("store") or {}).get("engine")
    if engine != stores.name:
        raise IndexMismatchError(
            f"index at {path} was built for the {engine!r} store but RAG_STORE is {stores.name!r}: {fix}, "
            f"or set RAG_STORE={engine}"
        )
