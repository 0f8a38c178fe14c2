"""The pipeline facade: one object that ingests pages and answers questions.

Readers (search, ask) use whatever index is current; writers (ingest, delete)
build a changed copy, save it atomically and then swap it in, so a query running
during an upload sees the old or the new index, never a half-written one.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from rag.catalog import DEFAULT_PAPER, PageCatalog, PageInfo, add_page_labels, page_label
from rag.chunk import ChunkerSettings
from rag.errors import IndexDamagedError, IndexNotFoundError, InvalidInputError
from rag.generate import REFUSAL_TEXT
from rag.index import Index, IngestReport, manifest_signature, write_lock
from rag.parse import PageMeta, infer_page_date, parse_text, read_pages, split_page_header
from rag.protocols import Embedder, Generator
from rag.retrieve import Retriever, RetrieverMode, RetrieverSettings
from rag.settings import Settings
from rag.types import Answer, Article, Passage, SearchFilters, Turn

log = logging.getLogger(__name__)


class Pipeline:
    """Parse → chunk → embed → store → retrieve → generate, behind a handful of methods.

    The constructor is cheap: the model and the index load on first use (or in
    :meth:`warm_up`).  When no index exists yet, the first use builds one from
    ``settings.seeds_dir``.

    Example:
        >>> pipeline = build_pipeline(Settings())  # doctest: +SKIP
        >>> pipeline.ask("第八届进博会山西展厅面积多大？").text  # doctest: +SKIP
        '…面积435平方米的山西展厅将精彩亮相…[1]'
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        generator: Generator,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.generator = generator
        self.chunker_settings = ChunkerSettings(size=settings.chunk_size, overlap=settings.chunk_overlap)
        self.retriever_settings = RetrieverSettings.from_settings(settings)
        self._index: Index | None = None
        self._load_lock = threading.Lock()
        self._write_lock = threading.Lock()
        #: The manifest's signature when ``_index`` was loaded or saved (see :meth:`index`).
        self._signature: tuple[int, int, int] | None = None
        #: Optional ``(question, history) -> query`` for follow-ups (a language model's rewrite);
        #: None uses the rule-based :func:`rag.conversation.rewrite_followup`.
        self.rewriter: Callable[[str, Sequence[Turn]], str] | None = None
        #: Paper, page number and title of each page file, kept beside the index (page labels).
        self.catalog = PageCatalog.for_folders(settings.index_dir, settings.seeds_dir)
        #: (index, catalog entries) → labels: recomputed when either is replaced.
        self._labels: tuple[Index, dict[str, PageMeta], dict[str, str]] | None = None

    # -- the index -------------------------------------------------------------------

    @property
    def index(self) -> Index:
        """The current index: loaded (or built from the seeds) on first access, reloaded when
        another process (a second worker, a CLI ingest) has saved a newer generation."""
        index = self._index
        if index is None or manifest_signature(self.settings.index_dir) != self._signature:
            with self._load_lock:
                if self._index is None:
                    self._index = self._open_index()
                elif manifest_signature(self.settings.index_dir) != self._signature:
                    self._reload()
                index = self._index
        return index

    def _reload(self) -> None:
        """Swap in the index another process saved (or keep ours if the directory was emptied)."""
        path = self.settings.index_dir
        if not Index.exists(path):
            # Deleted under us: keep answering from memory; the next write saves it again.
            self._signature = None
            return
        self._index = self._load(path)
        log.info("index at %s changed on disk: reloaded (%d articles)", path, len(self._index.articles))

    def _load(self, path: Path) -> Index:
        """Load the index at ``path``, retrying when a writer replaced it while we were reading.

        A writer deletes the previous generation's files once its manifest is in place,
        so a reader that opened the old manifest can find its files gone: that is a
        newer index to read, not damage.
        """
        for attempt in range(5):
            signature = manifest_signature(path)
            try:
                index = Index.load(path, self.embedder, self.chunker_settings)
            except IndexDamagedError:
                if attempt == 4 or manifest_signature(path) == signature:
                    raise
                continue
            self._signature = signature
            return index
        raise AssertionError("unreachable")

    def _open_index(self) -> Index:
        path = self.settings.index_dir
        if Index.exists(path):
            index = self._load(path)
            # Left by a save that was killed or failed (a full disk): removed now, not someday.
            if orphans := Index.remove_orphans(path):
                log.info("removed %d orphan files from %s", len(orphans), path)
            return index
        seeds = self.settings.seeds_dir
        if not seeds.is_dir() or not any(seeds.glob("*.txt")):
            raise IndexNotFoundError(
                f"no index at {path} and no page files (*.txt) in {seeds}: run `rag ingest PATH…`"
            )
        with write_lock(path):
            if Index.exists(path):  # another worker built it while we waited for the lock
                return self._load(path)
            log.info("no index at %s: building it from %s", path, seeds)
            index = Index(self.embedder, self.chunker_settings)
            parsed = read_pages([seeds])
            self.catalog.record(parsed.pages)
            self._sync(index, parsed.articles, show_progress=False)
            index.save(path)
            self._signature = manifest_signature(path)
        return index

    @property
    def index_loaded(self) -> bool:
        """Whether the index is in memory (for readiness probes)."""
        return self._index is not None

    def warm_up(self) -> None:
        """Load the model, the index and the tokenisers now rather than on the first question."""
        from rag.answer_types import person_names
        from rag.bm25 import tokenize

        self.index  # noqa: B018 - the property loads it
        self.embedder.encode_queries(["预热"])
        tokenize("预热")
        person_names("主任王勇表示")  # jieba's tagger loads its model on first use (~1 s)
        load = getattr(getattr(self.generator, "backend", None), "load", None)
        if callable(load):
            # A language model in this process (seconds; minutes when a GGUF is converted the
            # first time).  One that fails to load leaves the answers extractive, not the
            # service down: each question tries again and falls back with a notice.
            try:
                load()
            except Exception as err:  # noqa: BLE001 - any failure of the model is the fallback's case
                log.warning("the language model did not load (%s): answers stay extractive", err)

    @staticmethod
    def _sync(index: Index, articles: Sequence[Article], *, show_progress: bool) -> IngestReport:
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

    def _write(  # type: ignore[no-untyped-def]
        self, change, *, rebuild: bool = False, pages: dict[str, PageMeta] | None = None
    ) -> IngestReport:
        """Apply ``change(index) -> IngestReport`` to a copy of the newest index, save it, swap it in.

        The directory's write lock is held from reading to saving, so writes from other
        processes are neither lost nor interleaved: each starts from the last saved one.
        ``pages`` (what is known about the pages written) goes to the page catalog under
        the same lock, even when no article changed (a corrected page number).
        """
        path = self.settings.index_dir
        with self._write_lock, write_lock(path):
            if pages:
                self.catalog.record(pages)
            if rebuild or not Index.exists(path) and self._index is None:
                draft = Index(self.embedder, self.chunker_settings)
            else:
                draft = self.index.copy()  # reloads first if another process saved since
            report = change(draft)
            if report.changed or rebuild or not Index.exists(path):
                draft.save(path)
            # Not under _load_lock: a reader holding it may be waiting for our file lock.
            # Index first: a reader seeing the new index with the old signature merely reloads.
            self._index = draft
            self._signature = manifest_signature(path)
            return report

    def ingest(
        self, paths: Iterable[Path], *, rebuild: bool = False, show_progress: bool = False
    ) -> IngestReport:
        """Parse page files (or folders of them) and bring the index up to date with them."""
        parsed = read_pages(list(paths))
        return self._write(
            lambda index: self._sync(index, parsed.articles, show_progress=show_progress),
            rebuild=rebuild,
            pages=parsed.pages,
        )

    def ingest_texts(
        self, pages: Sequence[tuple[str, str]], *, date: str | None = None, meta: PageMeta | None = None
    ) -> IngestReport:
        """Ingest pages given as ``(file name, text)`` pairs (uploads); all or nothing.

        ``meta`` (an upload's form fields: paper, page number, page title) describes every
        page given; what it leaves unknown is read from each page's header line.  Without
        ``date`` each page's date is inferred from its text, else today's date is used.
        """
        articles: list[Article] = []
        known: dict[str, PageMeta] = {}
        for name, text in pages:
            header, body = split_page_header(text)
            page = (meta or PageMeta()).merged(header)
            page_date = date or page.date or infer_page_date(text) or dt.date.today().isoformat()
            known[name] = PageMeta(
                date=page_date, note=page.note, paper=page.paper, page=page.page, title=page.title
            )
            articles.extend(parse_text(body, source=name, date=page_date))
        return self._write(lambda index: self._sync(index, articles, show_progress=False), pages=known)

    def delete_article(self, article_id: str) -> IngestReport:
        """Remove one article and its chunks from the index."""

        def change(index: Index) -> IngestReport:
            removed = index.delete(article_id)
            return IngestReport(articles_removed=1, chunks_removed=removed)

        return self._write(change)

    # -- reading ---------------------------------------------------------------------

    def articles(self) -> list[Article]:
        """Every indexed article, in page and reading order."""
        return list(self.index.articles.values())

    def article(self, article_id: str) -> Article:
        """One article by id (raises :class:`~rag.errors.NotFoundError`)."""
        return self.index.article(article_id)

    def page_labels(self) -> dict[str, str]:
        """A reader's name for every page file of the index (:meth:`PageCatalog.labels`)."""
        index, entries = self.index, self.catalog.entries()
        cached = self._labels
        if cached is not None and cached[0] is index and cached[1] is entries:
            return cached[2]
        dates: dict[str, str] = {}
        for article in index.articles.values():
            dates.setdefault(article.source, article.date)
        labels = self.catalog.labels(dates)
        self._labels = (index, entries, labels)
        return labels

    def page_label(self, source: str, date: str) -> str:
        """The label of page file ``source`` (dated ``date``), as :meth:`page_labels` names it."""
        return self.page_labels().get(source) or page_label(self.catalog.meta(source), date)

    def pages(self) -> list[PageInfo]:
        """Every page of the index with its label and article count, newest first."""
        labels = self.page_labels()
        counts: dict[str, int] = {}
        dates: dict[str, str] = {}
        for article in self.index.articles.values():
            counts[article.source] = counts.get(article.source, 0) + 1
            dates.setdefault(article.source, article.date)
        infos = []
        for source in sorted(counts, key=lambda s: (dates[s], labels.get(s, s)), reverse=True):
            meta = self.catalog.meta(source)
            infos.append(
                PageInfo(
                    source=source,
                    page_label=labels[source],
                    date=dates[source],
                    paper=meta.paper or DEFAULT_PAPER,
                    page=meta.page,
                    title=meta.title,
                    articles=counts[source],
                )
            )
        return infos

    def answer_json(self, answer: Answer) -> dict[str, object]:
        """``rag ask --json``: :meth:`Answer.to_dict` with each citation's and passage's ``page_label``."""
        return add_page_labels(answer.to_dict(), self.page_labels())

    def check_question(self, question: str) -> str:
        """Return the stripped question or raise :class:`InvalidInputError` saying what is wrong."""
        if not isinstance(question, str):
            raise InvalidInputError("the question must be a string")
        # Counted as sent, surrounding spaces included: the API's schema declares the limit
        # as a maxLength, which counts every character.
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise InvalidInputError(f"the question has {len(question)} characters; the limit is {limit}")
        question = question.strip()
        if not question:
            raise InvalidInputError("the question is empty")
        return question

    def retriever(self) -> Retriever:
        """A retriever over the current index."""
        return Retriever(self.index, self.retriever_settings)

    def search(
        self,
        query: str,
        *,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        mode: RetrieverMode | None = None,
    ) -> list[Passage]:
        """Ranked passages for ``query``."""
        query = self.check_question(query)
        return self.retriever().run(query, top_k=top_k, filters=filters, mode=mode)

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        history: Sequence[Turn] = (),
        mode: RetrieverMode | None = None,
    ) -> Answer:
        """Answer ``question`` with citations (or a refusal); ``timings`` holds per-stage milliseconds."""
        answer: Answer | None = None
        for item in self.ask_stream(question, top_k=top_k, filters=filters, history=history, mode=mode):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def ask_stream(
        self,
        question: str,
        *,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        history: Sequence[Turn] = (),
        mode: RetrieverMode | None = None,
    ) -> Iterator[str | Answer]:
        """Like :meth:`ask`, but yield answer text as it is produced before the final :class:`Answer`."""
        question = self.check_question(question)
        query = self.standalone_query(question, history)
        if query != question and _follows_refusal(history):
            # 那它有多少家企业参展？ after a refusal: "它" names nothing the pages hold, and
            # answering from an older topic would be a confident wrong answer.
            yield Answer(
                question=question,
                text=REFUSAL_TEXT,
                refused=True,
                generator=self.generator.name,
                query=query,
                analysis={"decision": "the question it follows was refused"},
            )
            return
        t0 = time.perf_counter()
        passages = self.retriever().run(query, top_k=top_k, filters=filters, mode=mode)
        t1 = time.perf_counter()
        # The generator gets the standalone query too: 后来呢？ alone names nothing to quote.
        for item in self.generator.stream(query, passages, history):
            if isinstance(item, Answer):
                t2 = time.perf_counter()
                timings = {
                    "retrieve_ms": round((t1 - t0) * 1000, 2),
                    "generate_ms": round((t2 - t1) * 1000, 2),
                }
                yield Answer(
                    question=question,
                    text=item.text,
                    refused=item.refused,
                    citations=item.citations,
                    passages=item.passages,
                    generator=item.generator,
                    notice=item.notice,
                    timings={**item.timings, **timings},
                    query=query,
                    analysis=item.analysis,
                )
            else:
                yield item

    def standalone_query(self, question: str, history: Sequence[Turn] = ()) -> str:
        """The query to retrieve with: the question itself, or a follow-up made standalone."""
        if not history:
            return question
        if self.rewriter is not None:
            return self.rewriter(question, history)
        from rag.conversation import rewrite_followup

        return rewrite_followup(question, history)

    def stats(self) -> dict[str, object]:
        """Model, dimension and counts of the current index."""
        index = self.index
        return {
            "model": self.embedder.name,
            "dimension": index.dimension,
            "articles": len(index.articles),
            "chunks": len(index),
            "sources": index.sources,
            "generator": self.generator.name,
        }


def _follows_refusal(history: Sequence[Turn]) -> bool:
    """Whether the last answer in ``history`` was a refusal."""
    last = next((t for t in reversed(history) if t.role == "assistant"), None)
    return last is not None and REFUSAL_TEXT in last.content


def build_embedder(settings: Settings) -> Embedder:
    """The configured embedder: a sentence-transformers model, or ``hashing:<dim>`` (the fast test fake)."""
    from rag.embed import HashingEmbedder, SentenceTransformerEmbedder

    name = settings.embedding_model
    if name.startswith("hashing:"):
        try:
            return HashingEmbedder(int(name.split(":", 1)[1]))
        except ValueError:
            raise InvalidInputError(f"RAG_EMBEDDING_MODEL={name!r}: expected hashing:<dimension>") from None
    return SentenceTransformerEmbedder(
        name,
        cache_dir=settings.cache_dir,
        query_prompt=settings.query_prompt,
        passage_prompt=settings.passage_prompt,
        batch_size=settings.embed_batch_size,
        device=settings.device,
    )


def build_pipeline(settings: Settings | None = None, embedder: Embedder | None = None) -> Pipeline:
    """The composition root: build the real embedder and generator from one :class:`Settings`.

    ``embedder`` replaces the configured one (tests inject fakes here).
    """
    from rag.generators import build_generator, build_query_rewriter

    settings = settings or Settings()
    pipeline = Pipeline(settings, embedder or build_embedder(settings), generator=None)  # type: ignore[arg-type]
    pipeline.generator = build_generator(
        settings, idf=lambda term: pipeline.index.idf(term), library=lambda: pipeline.index
    )
    pipeline.rewriter = build_query_rewriter(settings, pipeline.generator)
    return pipeline


__all__ = ["Pipeline", "build_embedder", "build_pipeline", "RetrieverSettings"]
