"""Lexical store: BM25 by tantivy over the project's jieba tokens (:func:`rag.bm25.tokenize`).

The tokens are joined by spaces and indexed under tantivy's ``whitespace`` tokenizer, so
tantivy never tokenises Chinese itself: the index holds exactly the project's tokens (user
dictionary, NFKC, stopwords).  Chosen over bm25s and the hand-written postings it replaces
on People's Daily paragraphs at 10^5 chunks (``/work/notes/scale-report.md``): 0.2 ms
per query against bm25s's 15 ms, 21 MB resident against 100 MB, and it adds and deletes
documents without a rebuild.

Generations: a saved store is a directory (``lexical-<gen>/``) that is never written
again.  The first change to a store opened from one forks it: the segment files
(immutable in tantivy) are hard-linked into a private working directory, which the
next :meth:`TantivyLexicalStore.save` renames to the new generation's name.  A process
killed mid-save leaves the old generation intact and a working directory the next save
removes (see :mod:`rag.index_files`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tantivy

from rag.protocols import Selection
from rag.types import Chunk

#: tantivy's writer memory budget; its minimum is 15 MB per thread.
_WRITER_HEAP = 32_000_000
_SLOT = "slot"
_TOKENS = "tokens"
#: tantivy's own lock files: never linked into another directory.
_LOCKS = frozenset({".tantivy-writer.lock", ".tantivy-meta.lock"})


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field(_SLOT, stored=False, indexed=True, fast=True)
    # Term frequencies without positions: BM25 needs no more.
    builder.add_text_field(_TOKENS, stored=False, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _link_tree(source: Path, target: Path) -> None:
    """Fill empty folder ``target`` with hard links to ``source``'s files (copies across file systems)."""
    for entry in source.iterdir():
        if entry.name in _LOCKS or not entry.is_file():
            continue
        try:
            os.link(entry, target / entry.name)
        except OSError:
            shutil.copy2(entry, target / entry.name)


class TantivyLexicalStore:
    """BM25 over pre-tokenised documents addressed by int64 slots, kept by tantivy on disk.

    Example:
        >>> store = TantivyLexicalStore()
        >>> store.add([0, 1], [["太原", "进博会"], ["图书馆", "自习室"]])
        >>> [int(i) for i in store.search(["进博会"], k=1)[1]]
        [0]
    """

    SCHEMA_VERSION = 1

    def __init__(self, directory: Path | None = None) -> None:
        self._schema = _schema()
        #: The directory searched; ``_frozen`` ones (a saved generation) are never written.
        self._dir: Path
        self._frozen = directory is not None
        if directory is None:
            self._dir = self._workdir(None)
            self._index = tantivy.Index(self._schema, path=str(self._dir))
        else:
            self._dir = Path(directory)
            if not (self._dir / "meta.json").is_file():
                raise FileNotFoundError(f"{self._dir} holds no lexical index")
            self._index = tantivy.Index.open(str(self._dir))
        self._searcher = self._index.searcher()

    # -- working directories ---------------------------------------------------------

    def _workdir(self, beside: Path | None) -> Path:
        """A fresh private folder: beside the index (renamed into it on save) or in the temp folder."""
        if beside is None:
            path = Path(tempfile.mkdtemp(prefix="rag-lexical-"))
        else:
            path = Path(tempfile.mkdtemp(prefix=".lexical-", suffix=".tmp", dir=beside))
        # mkdtemp makes the folder private; an index is data other users may serve.
        os.chmod(path, 0o777 & ~_umask())
        # A working folder nobody saved is deleted with its store (tests build many in memory).
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(path), True)
        return path

    def _writable(self) -> None:
        """Fork a saved (or shared) generation into a working folder before the first change."""
        if not self._frozen:
            return
        work = self._workdir(self._dir.parent if self._dir.name.startswith("lexical-") else None)
        _link_tree(self._dir, work)
        self._dir = work
        self._index = tantivy.Index.open(str(work))
        self._frozen = False

    def _write(self, apply: Any) -> None:
        self._writable()
        writer = self._index.writer(heap_size=_WRITER_HEAP, num_threads=1)
        try:
            apply(writer)
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            with contextlib.suppress(Exception):
                writer.rollback()
            raise
        self._index.reload()
        self._searcher = self._index.searcher()

    # -- the LexicalStore protocol ---------------------------------------------------

    def __len__(self) -> int:
        return int(self._searcher.num_docs)

    def describe(self) -> dict[str, Any]:
        """Engine and schema, for the manifest."""
        return {"engine": "tantivy", "tokenizer": "whitespace", "schema": self.SCHEMA_VERSION}

    def add(
        self, ids: Sequence[int], documents: Sequence[Sequence[str]], chunks: Sequence[Chunk] = ()
    ) -> None:
        """Index tokenised ``documents`` under ``ids`` (committed at once: searchable now; the
        records stay in the index's own files, so ``chunks`` is not read)."""
        if len(ids) != len(documents):
            raise ValueError(f"{len(ids)} ids for {len(documents)} documents")
        if not len(ids):
            return

        def apply(writer: tantivy.IndexWriter) -> None:
            for slot, tokens in zip(ids, documents, strict=True):
                doc = tantivy.Document()
                doc.add_unsigned(_SLOT, int(slot))
                doc.add_text(_TOKENS, " ".join(tokens))
                writer.add_document(doc)

        self._write(apply)

    def remove(self, ids: Sequence[int]) -> None:
        """Delete the documents of ``ids``."""
        slots = [int(i) for i in ids]
        if not slots:
            return

        def apply(writer: tantivy.IndexWriter) -> None:
            writer.delete_documents_by_query(tantivy.Query.term_set_query(self._schema, _SLOT, slots))

        self._write(apply)

    def search(
        self, tokens: Sequence[str], k: int, selection: Selection | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, slots) by BM25 (k1 1.2, b 0.75); a repeated query token counts again."""
        empty = np.zeros(0, dtype="float32"), np.zeros(0, dtype="int64")
        terms = [t for t in tokens if t]
        if not terms or not len(self) or k < 1 or (selection is not None and not len(selection.ids)):
            return empty
        should = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, _TOKENS, t)) for t in terms]
        )
        query = should
        if selection is not None:
            allowed = tantivy.Query.term_set_query(self._schema, _SLOT, [int(i) for i in selection.ids])
            # The filter must not add to the score: a constant-score clause weighted 0.
            query = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, should),
                    (tantivy.Occur.Must, tantivy.Query.boost_query(allowed, 0.0)),
                ]
            )
        hits = self._searcher.search(query, k, count=False).hits
        if not hits:
            return empty
        slots = self._searcher.fast_field_values(_SLOT, [address for _, address in hits])
        return (
            np.asarray([score for score, _ in hits], dtype="float32"),
            np.asarray(slots, dtype="int64"),
        )

    def document_frequency(self, token: str) -> int:
        """How many documents hold ``token`` (deleted ones count until tantivy merges their segment)."""
        if not token:
            return 0
        return int(self._searcher.doc_freq(_TOKENS, token))

    def idf(self, token: str) -> float:
        """Robertson–Spärck Jones idf, as BM25 scores it (never negative)."""
        n = self.document_frequency(token)
        live = max(len(self), n)
        return float(np.log(1.0 + (live - n + 0.5) / (n + 0.5)))

    def copy(self) -> TantivyLexicalStore:
        """A store over the same files; whichever of the two changes first forks them (copy-on-write)."""
        clone = TantivyLexicalStore.__new__(TantivyLexicalStore)
        clone._schema = self._schema
        clone._dir = self._dir
        clone._index = self._index
        clone._searcher = self._searcher
        clone._frozen = True
        # Ours is shared now too: our next change forks as well.
        self._frozen = True
        return clone

    def save(self, target: Path) -> None:
        """Make ``target`` (a folder that must not exist) hold this store; the store then reads it.

        A working folder beside ``target`` is renamed (no copy); otherwise the files are
        hard-linked (or copied) into a temporary folder first, then renamed.
        """
        target = Path(target)
        # tantivy writes meta.json through a private temporary file (0600): an index is data
        # other users may serve, so every file gets the process umask's mode.
        for entry in self._dir.iterdir():
            if entry.is_file() and entry.name not in _LOCKS:
                os.chmod(entry, 0o666 & ~_umask())
        if not self._frozen and self._dir.parent == target.parent:
            os.replace(self._dir, target)
            self._finalizer.detach()
        else:
            work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
            try:
                os.chmod(work, 0o777 & ~_umask())
                _link_tree(self._dir, work)
                _fsync_files(work)
                os.replace(work, target)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        self._dir = target
        self._frozen = True
        self._index = tantivy.Index.open(str(target))
        self._searcher = self._index.searcher()

    @classmethod
    def load(cls, path: Path) -> TantivyLexicalStore:
        """Open a saved generation (read-only until changed)."""
        return cls(path)


def _fsync_files(folder: Path) -> None:
    for entry in folder.iterdir():
        if entry.is_file():
            with open(entry, "rb") as fh:
                os.fsync(fh.fileno())


__all__ = ["TantivyLexicalStore"]
