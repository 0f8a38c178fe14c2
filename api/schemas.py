"""Request and response models of the HTTP API; their descriptions are the OpenAPI documentation.

Native requests are strict: unknown fields and values of the wrong type are refused
with 422.  The OpenAI-compatible request accepts (and ignores) the many optional
fields that OpenAI clients send.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rag.types import SearchFilters

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ARTICLE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
RetrieverName = Literal["hybrid", "dense", "bm25"]

# Lone surrogates (JSON's "\ud800" decodes to one, but it is no character and cannot be
# encoded as UTF-8), and control characters other than tab and line breaks: NUL ends
# strings in C code, escape sequences rewrite the terminal that shows the logs.
_UNUSABLE_CHAR = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_text(value: Any) -> Any:
    """Refuse text with a lone surrogate or a control character other than tab, LF and CR (422).

    Values that are not strings pass unchanged (the field's own validation refuses them).
    """
    bad = _UNUSABLE_CHAR.search(value) if isinstance(value, str) else None
    if bad is None:
        return value
    code = ord(bad.group())
    context = {"code": f"{code:04X}", "position": bad.start()}
    if 0xD800 <= code <= 0xDFFF:
        raise PydanticCustomError(
            "invalid_unicode",
            "not valid Unicode: a lone surrogate U+{code} at character {position} (send UTF-8 text)",
            context,
        )
    raise PydanticCustomError(
        "control_character", "control character U+{code} at character {position} is not allowed", context
    )


#: A string that must be valid Unicode without control characters (see :func:`check_text`);
#: checked before length limits, which pydantic cannot apply to text that is not Unicode.
CleanText = Annotated[str, BeforeValidator(check_text)]


class StrictModel(BaseModel):
    """Base of native request models: no unknown fields, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


# -- errors ------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """What went wrong, for programs (``code``) and for people (``message``)."""

    code: str = Field(
        description="Stable machine-readable code, e.g. `invalid_input`, `not_found`, `overloaded`."
    )
    message: str = Field(description="One sentence a person can act on.")


class ErrorResponse(BaseModel):
    """The one shape of every error response (4xx and 5xx)."""

    error: ErrorDetail


# -- shared pieces -------------------------------------------------------------------------


class Filters(StrictModel):
    """Optional restrictions on the passages retrieval may use."""

    date_from: dt.date | None = Field(
        None, strict=False, description="Only pages dated on or after this day (YYYY-MM-DD)."
    )
    date_to: dt.date | None = Field(
        None, strict=False, description="Only pages dated on or before this day (YYYY-MM-DD)."
    )
    source: CleanText | None = Field(
        None, max_length=255, description="Only this page file, e.g. `000_79f41e49edf8f691.txt`."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Filters:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        return self

    def to_filters(self) -> SearchFilters | None:
        """The library's :class:`SearchFilters`, or None when nothing is set."""
        filters = SearchFilters(
            date_from=self.date_from.isoformat() if self.date_from else None,
            date_to=self.date_to.isoformat() if self.date_to else None,
            source=self.source or None,
        )
        return None if filters.is_empty else filters


class CitationOut(BaseModel):
    """What an inline marker `[n]` points at: `quote == article.body[start:end]`."""

    n: int = Field(description="The number in the `[n]` marker of the answer text.")
    chunk_id: str = Field(description="The retrieved chunk the quote comes from.")
    article_id: str = Field(description="The article to open with `GET /api/articles/{id}`.")
    title: str = Field(description="Title of the article.")
    date: str = Field(description="Date of the page (YYYY-MM-DD).")
    source: str = Field(description="Page file the article was parsed from.")
    quote: str = Field(description="The quoted text, verbatim.")
    start: int = Field(description="Start offset of the quote in the article body (characters).")
    end: int = Field(description="End offset (exclusive) of the quote in the article body.")


class PassageOut(BaseModel):
    """A retrieved passage with its rank and fused score."""

    rank: int = Field(description="1-based rank.")
    chunk_id: str = Field(description="Chunk id.")
    article_id: str = Field(description="Article the chunk belongs to.")
    title: str = Field(description="Title of the article.")
    date: str = Field(description="Date of the page (YYYY-MM-DD).")
    source: str = Field(description="Page file.")
    text: str = Field(description="The chunk's text.")
    score: float = Field(description="Retrieval score (higher is better; comparable within one response).")


# -- /api/chat -----------------------------------------------------------------------------


class ChatRequest(StrictModel):
    """A question, optionally continuing a conversation kept by the server."""

    question: CleanText = Field(
        description="The question, in Chinese or English; not blank, at most `max_question_chars` (2,000); "
        "lone surrogates and control characters other than tab and line breaks are refused.",
        examples=["第八届进博会山西展厅的面积有多大？"],
    )
    session_id: str | None = Field(
        None,
        pattern=SESSION_ID_PATTERN,
        description="Continue this conversation (follow-ups such as 后来呢？ are resolved from it). "
        "Omit to start a new one; the response carries the id to send next time.",
    )
    top_k: int | None = Field(None, ge=1, le=50, description="How many passages to retrieve (default 5).")
    filters: Filters | None = Field(None, description="Restrict retrieval by date or page.")
    stream: bool = Field(
        False,
        description='Stream the answer as server-sent events: `delta` events `{"text"}`, then one `done` '
        "event holding the full response (citations included), or an `error` event.",
    )


class ChatResponse(BaseModel):
    """The JSON of `rag ask --json`, plus the session and the stage timings."""

    answer: str = Field(description="Answer text with `[n]` citation markers, or a refusal.")
    refused: bool = Field(description="True when the pages hold no answer (the text then says so).")
    citations: list[CitationOut] = Field(description="What each `[n]` marker points at.")
    passages: list[PassageOut] = Field(description="The passages the answer was composed from.")
    generator: str = Field(description="Which generator wrote the answer (`extractive`, …).")
    notice: str | None = Field(None, description="A remark about the answer (e.g. a fallback), if any.")
    query: str = Field(
        description="The standalone question actually searched: a follow-up as it was understood."
    )
    analysis: dict[str, Any] | None = Field(
        None,
        description="How the question was read (kind, answer type, hard constraints) and why it was "
        "answered or refused (`decision`).",
    )
    session_id: str = Field(description="Conversation id; send it with the next question to ask a follow-up.")
    retrieve_ms: float = Field(description="Time spent retrieving passages (milliseconds).")
    generate_ms: float = Field(description="Time spent composing the answer (milliseconds).")


class ChatDelta(BaseModel):
    """Data of a `delta` server-sent event: the next piece of answer text."""

    text: str = Field(description="Text to append to what has been received so far.")


# -- /api/search ---------------------------------------------------------------------------


class SearchRequest(StrictModel):
    """A search over the indexed passages."""

    query: CleanText = Field(
        description="What to search for; not blank; no lone surrogates or control characters.",
        examples=["山西展厅 面积"],
    )
    top_k: int | None = Field(None, ge=1, le=50, description="How many passages to return (default 5).")
    filters: Filters | None = Field(None, description="Restrict by date or page.")
    retriever: RetrieverName | None = Field(
        None, description="Ranking: `hybrid` (default), `dense` or `bm25`."
    )


class SearchResponse(BaseModel):
    """Ranked passages for a query."""

    query: str = Field(description="The query as searched.")
    passages: list[PassageOut] = Field(description="Best first.")


# -- articles ----------------------------------------------------------------------------


class ArticleOut(BaseModel):
    """One article as parsed from a page."""

    id: str = Field(description="Content-derived id (stable while the article is unchanged).")
    title: str = Field(description="Headline.")
    body: str = Field(description="Full text; citation offsets index into it.")
    source: str = Field(description="Page file the article was parsed from.")
    date: str = Field(description="Date of the page (YYYY-MM-DD).")
    kind: str = Field(description="news, brief, commentary, photo, notice or roundup.")
    reporters: list[str] = Field(description="Reporters, authors and photographers named on the page.")
    kicker: str = Field(description="Line(s) printed above the headline, if any.")
    subtitle: str = Field(description="Line(s) printed below the headline, if any.")


class ArticleList(BaseModel):
    """A page of the article list."""

    total: int = Field(description="Number of articles matching the query (before paging).")
    offset: int = Field(description="Index of the first article returned.")
    limit: int = Field(description="Largest number of articles returned.")
    articles: list[ArticleOut] = Field(description="In page and reading order.")


# -- writes ------------------------------------------------------------------------------


class IndexCounts(BaseModel):
    """Size of the live index after a change."""

    articles: int = Field(description="Articles in the index.")
    chunks: int = Field(description="Chunks in the index.")


class UploadResponse(BaseModel):
    """What an upload changed."""

    files: list[str] = Field(description="The page files ingested (as named in the index).")
    articles_added: int = Field(description="New articles.")
    articles_removed: int = Field(description="Articles of re-uploaded pages that are gone.")
    articles_unchanged: int = Field(description="Articles already indexed as they are.")
    chunks_added: int = Field(description="New chunks.")
    chunks_removed: int = Field(description="Chunks removed.")
    index: IndexCounts = Field(description="The index after the upload.")


class DeleteResponse(BaseModel):
    """What a deletion changed."""

    deleted: str = Field(description="Id of the deleted article.")
    chunks_removed: int = Field(description="Chunks removed with it.")
    index: IndexCounts = Field(description="The index after the deletion.")


# -- health ------------------------------------------------------------------------------


class Health(BaseModel):
    """Liveness: the process answers."""

    status: Literal["ok"] = Field(description="Always `ok`.")


class Readiness(BaseModel):
    """Readiness: the index is loaded and questions can be answered."""

    status: Literal["ready"] = Field(description="Always `ready` (otherwise the response is a 503 error).")
    model: str = Field(description="Embedding model.")
    generator: str = Field(description="Answer generator.")
    dimension: int | None = Field(description="Vector width of the index.")
    articles: int = Field(description="Articles in the index.")
    chunks: int = Field(description="Chunks in the index.")
    sources: int = Field(description="Page files in the index.")


# -- OpenAI-compatible ---------------------------------------------------------------------


class ContentPart(BaseModel):
    """A part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`text` (other parts are ignored).")
    text: str | None = Field(None, description="The text of a `text` part.")


class ChatMessage(BaseModel):
    """One message of an OpenAI chat conversation."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"] = Field(
        description="Author; `user` and `assistant` messages form the conversation, others are ignored."
    )
    content: str | list[ContentPart] | None = Field(
        None,
        description="Text, or a list of content parts; no lone surrogates or control characters "
        "other than tab and line breaks.",
    )

    @field_validator("content")
    @classmethod
    def _clean(cls, content: str | list[ContentPart] | None) -> str | list[ContentPart] | None:
        # Checked here rather than in the union's members, so an error names `content` plainly.
        if isinstance(content, str):
            check_text(content)
        for part in content if isinstance(content, list) else []:
            if part.text:
                check_text(part.text)
        return content

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content or [] if p.type == "text")


class ChatCompletionRequest(BaseModel):
    """OpenAI `chat.completions` request; the last message must be the user's question.

    Sampling options (temperature, max_tokens, …) are accepted and ignored: answers are
    quoted from the pages.  `top_k` and `filters` are extensions (pass them with the
    client's `extra_body`).
    """

    model_config = ConfigDict(extra="allow")

    model: CleanText = Field(
        description="Model id from `GET /v1/models` (any id is accepted).", max_length=200
    )
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation, oldest first.")
    stream: bool | None = Field(
        False, description="Stream `chat.completion.chunk` events ending with `[DONE]`."
    )
    n: int | None = Field(None, ge=1, le=1, description="Only 1 choice is supported.")
    temperature: float | None = Field(None, description="Ignored.")
    max_tokens: int | None = Field(None, description="Ignored.")
    user: str | None = Field(None, description="Ignored.")
    top_k: int | None = Field(None, ge=1, le=50, description="Extension: passages to retrieve.")
    filters: Filters | None = Field(None, description="Extension: restrict retrieval by date or page.")


class CompletionMessage(BaseModel):
    """The assistant's reply."""

    role: Literal["assistant"] = Field(description="Always `assistant`.")
    content: str = Field(description="Answer text with `[n]` citation markers.")


class CompletionChoice(BaseModel):
    """The one choice of a completion."""

    index: int = Field(description="Always 0.")
    message: CompletionMessage = Field(description="The answer.")
    finish_reason: Literal["stop"] = Field(description="Always `stop`.")


class Usage(BaseModel):
    """Sizes of the exchange, counted in characters (there is no language-model tokenizer)."""

    prompt_tokens: int = Field(description="Characters of the messages.")
    completion_tokens: int = Field(description="Characters of the answer.")
    total_tokens: int = Field(description="Sum of both.")


class ChatCompletion(BaseModel):
    """OpenAI `chat.completion` object with an extra `citations` field."""

    id: str = Field(description="Completion id.")
    object: Literal["chat.completion"] = Field(description="Object type.")
    created: int = Field(description="Unix time.")
    model: str = Field(description="The model id requested.")
    choices: list[CompletionChoice] = Field(description="One choice.")
    usage: Usage = Field(description="Sizes in characters.")
    citations: list[CitationOut] = Field(
        description="Extension: what each `[n]` marker in the text points at."
    )


class ChunkDelta(BaseModel):
    """Incremental message content of a streamed chunk."""

    role: Literal["assistant"] | None = Field(None, description="Set on the first chunk.")
    content: str | None = Field(None, description="Next piece of answer text.")


class ChunkChoice(BaseModel):
    """The one choice of a streamed chunk."""

    index: int = Field(description="Always 0.")
    delta: ChunkDelta = Field(description="What to append.")
    finish_reason: Literal["stop"] | None = Field(None, description="`stop` on the last chunk.")


class ChatCompletionChunk(BaseModel):
    """One `data:` event of a streamed completion; the last one carries `citations`."""

    id: str = Field(description="Completion id (the same for every chunk).")
    object: Literal["chat.completion.chunk"] = Field(description="Object type.")
    created: int = Field(description="Unix time.")
    model: str = Field(description="The model id requested.")
    choices: list[ChunkChoice] = Field(description="One choice.")
    citations: list[CitationOut] | None = Field(None, description="Extension: on the last chunk only.")


class ModelCard(BaseModel):
    """A model that `POST /v1/chat/completions` accepts."""

    id: str = Field(description="Model id.")
    object: Literal["model"] = Field(description="Object type.")
    created: int = Field(description="Unix time the server started.")
    owned_by: str = Field(description="Owner.")


class ModelList(BaseModel):
    """OpenAI `GET /v1/models` response."""

    object: Literal["list"] = Field(description="Object type.")
    data: list[ModelCard] = Field(description="The models.")


def error_body(code: str, message: str) -> dict[str, Any]:
    """The JSON of :class:`ErrorResponse`."""
    return {"error": {"code": code, "message": message}}
