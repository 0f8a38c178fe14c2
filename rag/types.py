"""The records that flow between the stages: Article → Chunk → Passage → Citation → Answer.

All of them are frozen dataclasses so that a stage can never mutate what another
stage handed it.  Offsets are character offsets (Python ``str`` indices) into
``Article.body``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

ArticleKind = Literal["news", "brief", "commentary", "photo", "notice", "roundup"]
ARTICLE_KINDS: tuple[ArticleKind, ...] = get_args(ArticleKind)

#: How passages are ranked: dense vectors, BM25 over jieba tokens, or both fused.  Defined
#: here once: the settings, the ``rag`` command, the retriever and the API's schema read it.
RetrieverMode = Literal["hybrid", "dense", "bm25"]
RETRIEVER_MODES: tuple[RetrieverMode, ...] = get_args(RetrieverMode)
#: How hybrid retrieval combines the two rankings: weighted min-max scores or reciprocal ranks.
FusionMethod = Literal["convex", "rrf"]
FUSION_METHODS: tuple[FusionMethod, ...] = get_args(FusionMethod)


@dataclass(frozen=True)
class Article:
    """One article parsed from a newspaper page.

    ``id`` is derived from the article's content (see ``rag.parse.article_id``) so
    re-parsing an unchanged page yields the same ids.
    """

    id: str
    title: str
    body: str
    source: str
    date: str
    kind: ArticleKind
    reporters: tuple[str, ...] = ()
    kicker: str = ""
    subtitle: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        # The fields as they are (strings and a tuple): ``asdict`` deep-copies each one, which
        # made writing the records of 10^5 chunks take seconds.
        return {**vars(self), "reporters": list(self.reporters)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Rebuild an article from :meth:`to_dict` output."""
        return cls(**{**data, "reporters": tuple(data.get("reporters", ()))})


@dataclass(frozen=True)
class Chunk:
    """A slice ``article.body[start:end]`` of one article, the unit that is embedded and retrieved."""

    id: str
    article_id: str
    text: str
    start: int
    end: int
    title: str
    date: str
    source: str

    @property
    def embed_text(self) -> str:
        """The text handed to the embedder: title and date give a bare paragraph its context."""
        return f"{self.title}（{self.date}）\n{self.text}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (its fields are strings and integers: no copy needed)."""
        return dict(vars(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        """Rebuild a chunk from :meth:`to_dict` output."""
        return cls(**data)


@dataclass(frozen=True)
class SearchFilters:
    """Optional restrictions on what retrieval may return (inclusive ISO dates, page file name)."""

    date_from: str | None = None
    date_to: str | None = None
    source: str | None = None

    def accepts(self, chunk: Chunk) -> bool:
        """Whether ``chunk`` passes every filter that is set."""
        if self.date_from and chunk.date < self.date_from:
            return False
        if self.date_to and chunk.date > self.date_to:
            return False
        if self.source and chunk.source != self.source:
            return False
        return True

    @property
    def is_empty(self) -> bool:
        """True when no filter is set."""
        return not (self.date_from or self.date_to or self.source)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and 1-based rank."""

    chunk: Chunk
    score: float
    rank: int

    def to_dict(self) -> dict[str, Any]:
        """The ``passages[]`` shape of ``rag ask --json``."""
        c = self.chunk
        return {
            "rank": self.rank,
            "chunk_id": c.id,
            "article_id": c.article_id,
            "title": c.title,
            "date": c.date,
            "source": c.source,
            "text": c.text,
            "score": round(float(self.score), 6),
        }


@dataclass(frozen=True)
class Citation:
    """What an inline marker ``[n]`` points at: an exact span ``quote == article.body[start:end]``."""

    n: int
    chunk_id: str
    article_id: str
    title: str
    date: str
    source: str
    quote: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        """The ``citations[]`` shape of ``rag ask --json``."""
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """A composed answer: text with ``[n]`` markers, its citations and the passages behind it."""

    question: str
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    generator: str = "extractive"
    notice: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    #: The standalone question actually searched (a follow-up made explicit); "" = ``question``.
    query: str = ""
    #: How the question was read and why it was answered or refused (``rag ask --explain``).
    analysis: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON document printed by ``rag ask --json``."""
        data: dict[str, Any] = {
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "generator": self.generator,
            "query": self.query or self.question,
        }
        if self.analysis is not None:
            data["analysis"] = self.analysis
        if self.notice:
            data["notice"] = self.notice
        return data


@dataclass(frozen=True)
class Turn:
    """One message of a conversation, used to rewrite follow-up questions."""

    role: Literal["user", "assistant"]
    content: str


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
