"""The pipeline facade: one object that ingests pages and answers questions.

Readers (search, ask) use whatever index is current; writers (ingest, delete)
build a changed copy, save it atomically and then swap it in, so a query running
during an upload sees the old or the new index, never a half-written one.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from rag.bridge import answer_bridge, split_bridge
from rag.catalog import DEFAULT_PAPER, PageCatalog, PageInfo, add_page_labels, page_label
from rag.compound import answer_compound, split_compound
from rag.constrained import DEPTH, constrained_top
from rag.embed import prepare_embedder
from rag.errors import InvalidInputError
from rag.generate import REFUSAL_TEXT
from rag.index import Index
from rag.live_index import LiveIndex, sync_articles
from rag.parse import PageMeta, infer_page_date, parse_text, read_pages, split_page_header
from rag.protocols import Embedder, Generator
from rag.retrieve import MAX_TOP_K, Retriever, RetrieverSettings
from rag.settings import Settings
from rag.types import Answer, Article, IngestReport, Passage, RetrieverMode, SearchFilters, Turn

log = logging.getLogger(__name__)

#: Makes a follow-up question standalone from the conversation: ``(question, history) -> query``.
Rewriter = Callable[[str, Sequence[Turn]], str]


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
        index: LiveIndex | None = None,
        *,
        rewriter: Rewriter | None = None,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._generator = generator
        self._live = index or LiveIndex(settings, embedder)
        self._rewriter = rewriter
        self._retriever_settings = RetrieverSettings.from_settings(settings)
        #: (index, catalog entries) → labels: recomputed when either is replaced.
        self._labels: tuple[Index, dict[str, PageMeta], dict[str, str]] | None = None

    # The parts are fixed at construction (read-only): build another pipeline to change one.

    @property
    def settings(self) -> Settings:
        """The configuration the parts were built from."""
        return self._settings

    @property
    def embedder(self) -> Embedder:
        """The embedder of queries and passages (the index's own)."""
        return self._embedder

    @property
    def generator(self) -> Generator:
        """The answerer."""
        return self._generator

    @property
    def live(self) -> LiveIndex:
        """The index every reader and writer shares (the generator reads term statistics from it)."""
        return self._live

    @property
    def catalog(self) -> PageCatalog:
        """Paper, page number and title of each page file, kept beside the index (page labels)."""
        return self._live.catalog

    @property
    def rewriter(self) -> Rewriter | None:
        """``(question, history) -> query`` for follow-ups (a language model's rewrite); None uses
        the rule-based :func:`rag.conversation.rewrite_followup`."""
        return self._rewriter

    @property
    def retriever_settings(self) -> RetrieverSettings:
        """How passages are retrieved (mode, depth, fusion)."""
        return self._retriever_settings

    # -- the index -------------------------------------------------------------------

    @property
    def index(self) -> Index:
        """The current index (see :attr:`rag.live_index.LiveIndex.current`)."""
        return self.live.current

    @property
    def index_loaded(self) -> bool:
        """Whether the index is in memory (for readiness probes)."""
        return self.live.loaded

    def warm_up(self) -> None:
        """Load the model, the index and the tokenisers now rather than on the first question."""
        from rag.answer_types import person_names
        from rag.bm25 import tokenize

        prepare_embedder(self.embedder)  # converts the bundled model the first time (set-up, not a query)
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

    def ingest(
        self, paths: Iterable[Path], *, rebuild: bool = False, show_progress: bool = False
    ) -> IngestReport:
        """Parse page files (or folders of them) and bring the index up to date with them."""
        parsed = read_pages(list(paths))
        return self.live.write(
            lambda index: sync_articles(index, parsed.articles, show_progress=show_progress),
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
        return self.live.write(lambda index: sync_articles(index, articles, show_progress=False), pages=known)

    def delete_article(self, article_id: str) -> IngestReport:
        """Remove one article and its chunks from the index."""

        def change(index: Index) -> IngestReport:
            removed = index.delete(article_id)
            return IngestReport(articles_removed=1, chunks_removed=removed)

        return self.live.write(change)

    # -- reading ---------------------------------------------------------------------

    def articles(self) -> list[Article]:
        """Every indexed article, in page and reading order."""
        return list(self.index.articles.values())

    def article_page(self, source: str | None, offset: int, limit: int) -> tuple[int, list[Article]]:
        """How many articles there are (of page file ``source`` only, when given) and ``limit`` of them
        from ``offset``, in page and reading order."""
        return self.index.articles.page(source, offset, limit)

    def article(self, article_id: str) -> Article:
        """One article by id (raises :class:`~rag.errors.NotFoundError`)."""
        return self.index.article(article_id)

    def page_labels(self) -> dict[str, str]:
        """A reader's name for every page file of the index (:meth:`PageCatalog.labels`)."""
        index, entries = self.index, self.catalog.entries()
        cached = self._labels
        if cached is not None and cached[0] is index and cached[1] is entries:
            return cached[2]
        labels = self.catalog.labels({source: date for source, (date, _) in index.pages().items()})
        self._labels = (index, entries, labels)
        return labels

    def page_label(self, source: str, date: str) -> str:
        """The label of page file ``source`` (dated ``date``), as :meth:`page_labels` names it."""
        return self.page_labels().get(source) or page_label(self.catalog.meta(source), date)

    def pages(self) -> list[PageInfo]:
        """Every page of the index with its label and article count, newest first."""
        labels, pages = self.page_labels(), self.index.pages()
        infos = []
        for source in sorted(pages, key=lambda s: (pages[s][0], labels.get(s, s)), reverse=True):
            meta = self.catalog.meta(source)
            infos.append(
                PageInfo(
                    source=source,
                    page_label=labels[source],
                    date=pages[source][0],
                    paper=meta.paper or DEFAULT_PAPER,
                    page=meta.page,
                    title=meta.title,
                    articles=pages[source][1],
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
        bridge = split_bridge(query)
        parts = split_compound(query)
        if bridge is not None or len(parts) > 1:
            t0 = time.perf_counter()
            retriever = self.retriever()

            def search(part: str, k: int | None = top_k) -> list[Passage]:
                return retriever.run(part, top_k=k, filters=filters, mode=mode)

            def generate(part: str, passages: Sequence[Passage]) -> Answer:
                return self.generator.generate(part, passages, history)

            if bridge is not None:
                # 报道…的记者，还报道了…: the second half is answered from that reporter's articles.
                k = top_k or retriever.settings.top_k
                answer = answer_bridge(question, bridge, search, generate, self.index.article, k)
            else:
                answer = answer_compound(question, parts, search, generate)
            total = round((time.perf_counter() - t0) * 1000, 2)
            yield replace(answer, query=query, timings={"retrieve_ms": 0.0, "generate_ms": total})
            return
        t0 = time.perf_counter()
        retriever = self.retriever()
        k = top_k or retriever.settings.top_k
        # A top_k out of range goes to the retriever as asked, which says what is wrong with it.
        deep_k = min(MAX_TOP_K, k * DEPTH) if 1 <= k <= MAX_TOP_K else k
        deep = retriever.run(query, top_k=deep_k, filters=filters, mode=mode)
        passages = constrained_top(query, deep, self.index.article, k)
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


_BUILDERS = frozenset({"GeneratorFactory", "build_embedder", "build_pipeline", "default_generator"})


def __getattr__(name: str) -> object:
    """The builders moved to :mod:`rag.build`; ``from rag.pipeline import build_pipeline`` still works."""
    if name in _BUILDERS:
        from rag import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Pipeline", "RetrieverSettings", "Rewriter"]
