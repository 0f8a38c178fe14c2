"""The index: articles, chunks, dense vectors and BM25 tokens, searched and changed together.

:class:`Index` holds the records (articles, their chunks at numbered slots, every
answerable sentence with its vector) and two stores keyed by slot, the dense store and
the lexical store, and keeps them in step.  The engines behind the stores come from the
:class:`~rag.protocols.Stores` the index is built with (``RAG_STORE``: FAISS + tantivy
files, or a Milvus collection).

The records are :class:`rag.index_records.Records`, a view of one generation of a SQLite
file (read when asked for, not held in memory).  An index is one directory:
:mod:`rag.index_manifest` describes and checks its files, :mod:`rag.index_files` writes what
changed atomically (under the write lock several processes share).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rag.bm25 import tokenize
from rag.chunk import ChunkerSettings, SentenceChunker
from rag.embed import embedder_prompts
from rag.errors import (
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    NotFoundError,
)
from rag.index_files import (
    Generation,
    read_generation,
    remove_entry,
    remove_other_generations,
    write_failure,
    write_generation,
)
from rag.index_manifest import (
    FORMAT_VERSION,
    MANIFEST,
    TOKENIZER_VERSION,
    check_manifest,
    file_set,
    loadable_files,
    newest_generation,
    read_manifest,
)
from rag.index_records import Records, SentenceTable, sentence_embed_text, sentence_tables
from rag.index_rows import ArticleView
from rag.protocols import DenseStore, Embedder, LexicalStore, Stores
from rag.text import answer_sentences
from rag.types import Article, Chunk, IngestReport, SearchFilters


class Index:
    """Articles and their chunks, searchable densely (FAISS) and lexically (BM25).

    The constructor is cheap; the embedder is only called when chunks are added or a query
    is embedded.  Ingest is incremental and page-based: :meth:`sync_source` makes the index hold
    exactly the given articles of one page file (an unchanged page adds nothing).

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
        self._records = Records()
        self._vectors: DenseStore | None = None
        #: Made on the first chunk (a tantivy store is a folder: not made for an index that is loaded).
        self._lexical: LexicalStore | None = None
        self._query_cache: dict[str, np.ndarray] = {}
        self._query_lock, self._generation = threading.Lock(), 0
        #: The data files the manifest of ``_generation`` names (empty until saved or loaded).
        self._files: dict[str, Any] = {}
        self.created_at = time.strftime("%Y-%m-%dT%H:%M:%S")

    # -- reading ---------------------------------------------------------------------

    @property
    def articles(self) -> ArticleView:
        """Articles by id, in ingest order."""
        return self._records.articles

    def article(self, article_id: str) -> Article:
        """The article with ``article_id`` or :class:`NotFoundError`."""
        return self._records.article(article_id)

    def chunks(self) -> list[Chunk]:
        """All live chunks in slot order."""
        return self._records.chunks()

    def chunk(self, chunk_id: str) -> Chunk:
        """The chunk with ``chunk_id`` or :class:`NotFoundError`."""
        return self._records.chunk(chunk_id)

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """The chunks of one article, in order."""
        return self._records.chunks_of(article_id)

    def holders(self, article_id: str) -> set[str]:
        """The page files that hold an article (its own ``source`` at least)."""
        return self._records.holders(article_id)

    def sentences(self, article_id: str) -> SentenceTable | None:
        """The answerable sentences of an article with their vectors (None for an unknown id)."""
        return self._records.sentences(article_id)

    @property
    def sources(self) -> list[str]:
        """Page files represented in the index."""
        return self._records.sources

    def held_by(self, source: str) -> list[str]:
        """The ids of the articles page file ``source`` holds, in ingest order."""
        return self._records.held_by(source)

    def pages(self) -> dict[str, tuple[str, int]]:
        """Each page file's date (its first article's) and article count, without reading the articles."""
        return self._records.page_dates()

    @property
    def dimension(self) -> int | None:
        """Vector width, known once vectors exist."""
        return self._vectors.dimension if self._vectors is not None else None

    def __len__(self) -> int:
        return len(self._records)

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
            "counts": {"articles": len(self.articles), "chunks": len(self), "sources": len(self.sources)},
            "sources": self.sources,
            "generation": self._generation,
            "created_at": self.created_at,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "files": self._files,
        }

    # -- searching -------------------------------------------------------------------

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
        scores, ids = self._vectors.search(query_vector, k, self._records.selection(filters))
        return self._records.hits(scores[0], ids[0], k)

    def bm25_search(
        self, query_tokens: Sequence[str], k: int, filters: SearchFilters | None = None
    ) -> list[tuple[Chunk, float]]:
        """Chunks by BM25 score of ``query_tokens`` (see :func:`rag.bm25.tokenize`)."""
        if self._lexical is None:
            return []
        scores, slots = self._lexical.search(query_tokens, k, self._records.selection(filters))
        return self._records.hits(scores, slots, k)

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
                if len(self._query_cache) >= 256:  # dicts keep insertion order: drop the oldest entry
                    self._query_cache.pop(next(iter(self._query_cache)), None)
                self._query_cache[text] = vector
        return vector

    def forget_queries(self) -> None:
        """Drop the cached query vectors (benchmarks time a cold question with this)."""
        with self._query_lock:
            self._query_cache.clear()

    # -- writing ---------------------------------------------------------------------

    def sync_source(
        self, source: str, articles: Sequence[Article], *, show_progress: bool = False
    ) -> IngestReport:
        """Make the index hold exactly ``articles`` for page file ``source``.

        Articles whose id (derived from their content) is already indexed are kept as
        they are; articles of ``source`` that are no longer present are removed.
        """
        started = time.perf_counter()
        records = self._records
        wanted = {a.id: a for a in articles}
        stale = [aid for aid in records.held_by(source) if aid not in wanted]
        removed_articles = 0
        removed_chunks = 0
        for aid in stale:
            remaining = records.holders(aid) - {source}
            if remaining:
                records.rehome(aid, remaining)
            else:
                removed_chunks += self._remove_article(aid)
                removed_articles += 1
        fresh = [a for aid, a in wanted.items() if aid not in records.articles]
        fresh_ids = {a.id for a in fresh}
        for aid in wanted:
            if aid not in fresh_ids:
                records.hold(aid, source)
        added_chunks = self._add_articles(fresh, show_progress=show_progress)
        return IngestReport(
            articles_added=len(fresh),
            articles_removed=removed_articles,
            articles_unchanged=len(wanted) - len(fresh),
            chunks_added=added_chunks,
            chunks_removed=removed_chunks,
            seconds=time.perf_counter() - started,
        )

    def delete(self, article_id: str) -> int:
        """Remove one article and its chunks; returns the number of chunks removed."""
        if article_id not in self._records.articles:
            raise NotFoundError(f"no article with id {article_id!r}")
        return self._remove_article(article_id)

    def _remove_article(self, article_id: str) -> int:
        slots = self._records.remove(article_id)
        if slots and self._vectors is not None:
            self._vectors.remove(np.asarray(slots, dtype="int64"))
        if slots and self._lexical is not None:
            self._lexical.remove(slots)
        return len(slots)

    def _add_articles(self, articles: Sequence[Article], *, show_progress: bool) -> int:
        chunks = self._chunker.run(articles)
        if not chunks:
            self._records.place(articles, [])
            return 0
        spans = {a.id: answer_sentences(a.body) for a in articles}
        sentence_texts = [sentence_embed_text(a, s, e) for a in articles for s, e in spans[a.id]]
        # One call for chunks and sentences: one progress bar, full batches.
        every = self.embedder.encode_documents(
            [c.embed_text for c in chunks] + sentence_texts, show_progress=show_progress
        )
        vectors, sentence_vectors = every[: len(chunks)], every[len(chunks) :]
        tables = sentence_tables(articles, spans, sentence_vectors)
        if self._vectors is None:
            self._vectors = self.stores.new_dense(int(vectors.shape[1]))
        if self._lexical is None:
            self._lexical = self.stores.new_lexical()
        # Records first: a store ahead of the records is harmless (its extra slots are skipped).
        slots = self._records.place(articles, chunks, tables)
        self._vectors.add(np.asarray(slots, dtype="int64"), vectors)
        self._lexical.add(slots, [tokenize(c.embed_text) for c in chunks], chunks)
        return len(chunks)

    @property
    def unsaved(self) -> bool:
        """Whether records changed since the last save or load (a page holding one more article too)."""
        return self._records.unsaved

    def copy(self) -> Index:
        """An independent copy for a writer (cheap: records file, dense base and tantivy segments shared)."""
        clone = copy.copy(self)
        clone._records = self._records.copy()
        clone._vectors = self._vectors.copy() if self._vectors is not None else None
        clone._lexical = self._lexical.copy() if self._lexical is not None else None
        return clone

    # -- persistence (the files: rag.index_manifest and rag.index_files) ---------------

    def save(self, path: Path | str) -> Path:
        """Write the index to directory ``path`` atomically (see :mod:`rag.index_files`).

        Callers sharing ``path`` with other processes hold :func:`~rag.index_files.write_lock`
        around their read-modify-save.  A failed write (read-only folder, full disk) removes
        what it had written and raises :class:`IndexWriteError`; the old index stays.
        """
        path = Path(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise IndexWriteError(write_failure(path, err)) from None
        generation = max(self._generation, newest_generation(path)) + 1
        if self._records.database.path.parent == path:
            # Rows this index tagged in the file there must be visible at the new generation.
            generation = max(generation, self._records.view)
        written: list[str] = []

        def manifest(files: dict[str, Any]) -> dict[str, Any]:
            self._generation, self._files = generation, files
            return self.manifest()

        try:
            if self._lexical is None:  # (not ``or``: an empty store is falsy)
                self._lexical = self.stores.new_lexical()
            contents = Generation(self._records, self._vectors, self._lexical)
            write_generation(path, generation, contents, self.stores, manifest, written)
        except OSError as err:
            for name in written:
                remove_entry(path / name)
            raise IndexWriteError(write_failure(path, err)) from None
        remove_other_generations(path, file_set(self._files))
        return path

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
        manifest = read_manifest(path)
        chunker = chunker or ChunkerSettings()
        files = loadable_files(path, manifest)
        index = cls(embedder, chunker, stores=stores)
        check_manifest(path, manifest, embedder, chunker, index.stores)
        assert files is not None  # check_manifest refused any other format
        index._generation = int(manifest.get("generation", 0))
        index._files = files
        index.created_at = str(manifest.get("created_at", index.created_at))
        generation = read_generation(path, files, index._generation, index.stores)
        index._records, index._vectors, index._lexical = (
            generation.records,
            generation.dense,
            generation.lexical,
        )
        return index
