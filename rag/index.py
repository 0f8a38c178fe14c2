"""The index: articles, chunks, dense vectors and BM25 tokens, saved together as one directory.

Directory layout (``vectorstore/default/`` by default)::

    manifest.json            format version, model, dimension, chunker, counts, file names
    vectors-<gen>.faiss      FAISS IndexIDMap2(IndexFlatIP); ids are chunk slots
    chunks-<gen>.jsonl       one chunk a line, with its slot and BM25 tokens
    articles-<gen>.jsonl     one article a line
    sentences-<gen>.npz      every answerable sentence: article, span, vector (so answers
                             can be ranked by meaning without encoding sentences per question)

Saving writes a new generation of data files, then replaces ``manifest.json`` in one
``os.replace``: a process killed at any point leaves either the old or the new
manifest, each pointing at complete files, so the index always loads.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.bm25 import BM25Index, tokenize
from rag.chunk import ChunkerSettings, SentenceChunker
from rag.errors import IndexMismatchError, IndexNotFoundError, NotFoundError
from rag.protocols import Embedder
from rag.store import FaissVectorStore
from rag.text import answer_sentences
from rag.types import Article, Chunk, SearchFilters

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
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
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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

    def __init__(self, embedder: Embedder, chunker: ChunkerSettings | None = None) -> None:
        self.embedder = embedder
        self.chunker_settings = chunker or ChunkerSettings()
        self._chunker = SentenceChunker(self.chunker_settings)
        self._articles: dict[str, Article] = {}
        self._slots: list[Chunk | None] = []
        self._slot_of: dict[str, int] = {}
        self._by_article: dict[str, list[int]] = {}
        self._vectors: FaissVectorStore | None = None
        self._bm25 = BM25Index()
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
            "chunker": asdict(self.chunker_settings),
            "tokenizer": TOKENIZER_VERSION,
            "counts": {"articles": len(self._articles), "chunks": len(self), "sources": len(self.sources)},
            "sources": self.sources,
            "generation": self._generation,
            "created_at": self.created_at,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "files": self._file_names(self._generation),
        }

    # -- searching -------------------------------------------------------------------

    def _mask(self, filters: SearchFilters | None) -> np.ndarray | None:
        if filters is None or filters.is_empty:
            return None
        return np.array([c is not None and filters.accepts(c) for c in self._slots], dtype=bool)

    def dense_search(
        self, query_vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[tuple[Chunk, float]]:
        """Chunks by cosine similarity to ``query_vector`` (already normalised)."""
        if self._vectors is None or not len(self._vectors):
            return []
        if query_vector.shape[-1] != self._vectors.dimension:
            raise IndexMismatchError(
                f"the query vector has {query_vector.shape[-1]} dimensions but the index holds "
                f"{self._vectors.dimension}: rebuild the index with `rag ingest --rebuild`"
            )
        mask = self._mask(filters)
        # With a filter, search everything: exact search is cheap and a filtered top-k
        # must not come up short because unfiltered hits took the slots.
        depth = len(self._vectors) if mask is not None else k
        scores, ids = self._vectors.search(query_vector, depth)
        hits: list[tuple[Chunk, float]] = []
        for score, slot in zip(scores[0], ids[0], strict=True):
            if slot < 0 or (mask is not None and not mask[slot]):
                continue
            chunk = self._slots[slot]
            if chunk is not None:
                hits.append((chunk, float(score)))
            if len(hits) >= k:
                break
        return hits

    def bm25_search(
        self, query_tokens: Sequence[str], k: int, filters: SearchFilters | None = None
    ) -> list[tuple[Chunk, float]]:
        """Chunks by BM25 score of ``query_tokens`` (see :func:`rag.bm25.tokenize`)."""
        scores, slots = self._bm25.search(query_tokens, k, self._mask(filters))
        return [(c, float(s)) for s, slot in zip(scores, slots, strict=True) if (c := self._slots[slot])]

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token over the chunks (for answer scoring)."""
        return self._bm25.idf(token)

    def document_frequency(self, token: str) -> int:
        """How many chunks hold ``token`` (0: a word the archive never printed)."""
        return self._bm25.document_frequency(token)

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
        stale = [aid for aid, a in self._articles.items() if a.source == source and aid not in wanted]
        removed_chunks = sum(self._remove_article(aid) for aid in stale)
        fresh = [a for aid, a in wanted.items() if aid not in self._articles]
        added_chunks = self._add_articles(fresh, show_progress=show_progress)
        return IngestReport(
            articles_added=len(fresh),
            articles_removed=len(stale),
            articles_unchanged=len(wanted) - len(fresh),
            chunks_added=added_chunks,
            chunks_removed=removed_chunks,
            seconds=time.perf_counter() - started,
        )

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
        self._bm25.remove(slots)
        del self._articles[article_id]
        self._sentences.pop(article_id, None)
        return len(slots)

    def _add_articles(self, articles: Sequence[Article], *, show_progress: bool) -> int:
        chunks = self._chunker.run(articles)
        if not chunks:
            for article in articles:
                self._articles[article.id] = article
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
            self._vectors = FaissVectorStore(int(vectors.shape[1]))
        first = len(self._slots)
        slots = list(range(first, first + len(chunks)))
        self._vectors.add(np.asarray(slots, dtype="int64"), vectors)
        self._bm25.add(slots, [tokenize(c.embed_text) for c in chunks])
        for article in articles:
            self._articles[article.id] = article
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
        clone._slots = list(self._slots)
        clone._slot_of = dict(self._slot_of)
        clone._by_article = {k: list(v) for k, v in self._by_article.items()}
        clone._vectors = self._vectors.copy() if self._vectors is not None else None
        clone._bm25 = copy.deepcopy(self._bm25)
        clone._sentences = dict(self._sentences)  # tables are never changed in place
        return clone

    # -- persistence -----------------------------------------------------------------

    @staticmethod
    def _file_names(generation: int) -> dict[str, str]:
        return {
            "vectors": f"vectors-{generation:06d}.faiss",
            "chunks": f"chunks-{generation:06d}.jsonl",
            "articles": f"articles-{generation:06d}.jsonl",
            "sentences": f"sentences-{generation:06d}.npz",
        }

    def save(self, path: Path | str) -> Path:
        """Write the index to directory ``path`` atomically (see the module docstring)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        previous = _read_manifest(path) if (path / MANIFEST).exists() else None
        self._generation = max(self._generation, (previous or {}).get("generation", 0)) + 1
        files = self._file_names(self._generation)

        def write_articles(tmp: Path) -> None:
            with open(tmp, "w", encoding="utf-8") as fh:
                for article in self._articles.values():
                    fh.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")

        def write_chunks(tmp: Path) -> None:
            with open(tmp, "w", encoding="utf-8") as fh:
                for slot, chunk in enumerate(self._slots):
                    if chunk is not None:
                        row = {"slot": slot, **chunk.to_dict(), "tokens": self._bm25.tokens(slot)}
                        fh.write(json.dumps(row, ensure_ascii=False) + "\n")

        def write_vectors(tmp: Path) -> None:
            (self._vectors or FaissVectorStore(1)).save(tmp)

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
                    vectors=np.concatenate([t.vectors for t in tables]).astype("float32")
                    if tables
                    else np.zeros((0, width), dtype="float32"),
                )

        _write_atomic(path / files["articles"], write_articles)
        _write_atomic(path / files["sentences"], write_sentences)
        _write_atomic(path / files["chunks"], write_chunks)
        _write_atomic(path / files["vectors"], write_vectors)
        _fsync_dir(path)
        manifest = self.manifest()
        _write_atomic(
            path / MANIFEST,
            lambda tmp: tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"),
        )
        _fsync_dir(path)
        self._remove_other_generations(path, set(files.values()))
        return path

    @staticmethod
    def _remove_other_generations(path: Path, keep: set[str]) -> None:
        pattern = re.compile(r"^(vectors|chunks|articles|sentences)-\d{6}\.(faiss|jsonl|npz)$|^\..*\.tmp$")
        for entry in path.iterdir():
            if entry.name not in keep and pattern.match(entry.name):
                with contextlib.suppress(OSError):
                    entry.unlink()

    @classmethod
    def exists(cls, path: Path | str) -> bool:
        """Whether ``path`` holds a saved index."""
        return (Path(path) / MANIFEST).is_file()

    @classmethod
    def load(cls, path: Path | str, embedder: Embedder, chunker: ChunkerSettings | None = None) -> Index:
        """Load a saved index, refusing one built by another model, chunker or format."""
        path = Path(path)
        if not cls.exists(path):
            raise IndexNotFoundError(f"no index at {path}: build one with `rag ingest`")
        manifest = _read_manifest(path)
        chunker = chunker or ChunkerSettings()
        _check_manifest(path, manifest, embedder, chunker)
        index = cls(embedder, chunker)
        index._generation = int(manifest.get("generation", 0))
        index.created_at = manifest.get("created_at", index.created_at)
        files = manifest["files"]
        for article in _read_jsonl(path / files["articles"]):
            index._articles[article["id"]] = Article.from_dict(article)
        positions: list[int] = []
        token_lists: list[list[str]] = []
        for row in _read_jsonl(path / files["chunks"]):
            slot, tokens = row.pop("slot"), row.pop("tokens")
            chunk = Chunk.from_dict(row)
            if slot >= len(index._slots):
                index._slots.extend([None] * (slot + 1 - len(index._slots)))
            index._slots[slot] = chunk
            index._slot_of[chunk.id] = slot
            index._by_article.setdefault(chunk.article_id, []).append(slot)
            positions.append(slot)
            token_lists.append(tokens)
        index._bm25.add(positions, token_lists)
        with np.load(path / files["sentences"]) as data:
            offsets = np.concatenate([[0], np.cumsum(data["count"])]).astype(int)
            spans, vectors = data["spans"], data["vectors"]
            for i, aid in enumerate(data["article"].tolist()):
                lo, hi = offsets[i], offsets[i + 1]
                index._sentences[aid] = SentenceTable(
                    tuple((int(a), int(b)) for a, b in spans[lo:hi]), np.ascontiguousarray(vectors[lo:hi])
                )
        if index._slot_of:
            index._vectors = FaissVectorStore.load(path / files["vectors"])
            if len(index._vectors) != len(index._slot_of):
                raise IndexMismatchError(
                    f"index at {path} is inconsistent ({len(index._vectors)} vectors for "
                    f"{len(index._slot_of)} chunks): rebuild it with `rag ingest --rebuild`"
                )
        return index


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise IndexMismatchError(
            f"cannot read {path / MANIFEST} ({err}): rebuild the index with `rag ingest --rebuild`"
        ) from err


def _read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _check_manifest(
    path: Path, manifest: dict[str, Any], embedder: Embedder, chunker: ChunkerSettings
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
