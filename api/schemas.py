"""Request and response models of the HTTP API; their descriptions are the OpenAPI documentation.

Native requests are strict: unknown fields and values of the wrong type are refused
with 422.  The OpenAI-compatible request accepts (and ignores) the many optional
fields that OpenAI clients send.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    Strict,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from rag.types import RetrieverMode, SearchFilters

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ARTICLE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
#: The retrievers a request may name: the library's one definition.
RetrieverName = RetrieverMode

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


# The same rules as JSON Schema patterns (ECMA 262 syntax, which Python's re reads alike),
# so that the OpenAPI schema declares what the server refuses.  Lone surrogates cannot be
# written in such a pattern; a JSON generator never produces them, and the descriptions say so.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# What str.strip() removes (str.isspace) apart from the control characters above: a question
# of these alone is blank.  Spelled out because \s differs between regex dialects.
_SPACE = r"\t\n\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: Text without control characters other than tab, LF and CR.
CLEAN_TEXT_PATTERN = f"^[^{_CONTROL}]*$"
#: Clean text that is not blank: at least one character that is neither space nor control.
QUESTION_PATTERN = f"^[^{_CONTROL}]*[^{_CONTROL}{_SPACE}][^{_CONTROL}]*$"
#: Marks a schema node whose ``maxLength`` (strings) or ``maxItems`` (arrays) is a server
#: setting; :func:`declare_limits` writes the configured value in its place.
LIMIT_KEY = "x-limit"


class _Pattern:
    """Adds a ``pattern`` to a string's JSON Schema without validating it (a validator does)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


#: A string that must be valid Unicode without control characters (see :func:`check_text`);
#: checked before length limits, which pydantic cannot apply to text that is not Unicode.
CleanText = Annotated[str, BeforeValidator(check_text), _Pattern(CLEAN_TEXT_PATTERN)]
#: The text of a question or query: clean, not blank, at most ``max_question_chars``
#: characters (the pipeline checks blankness and length; the schema declares both).
QuestionText = Annotated[
    str,
    BeforeValidator(check_text),
    _Pattern(QUESTION_PATTERN),
    # minLength only in the schema: the pipeline refuses a blank question with a clearer message.
    Field(json_schema_extra={"minLength": 1, LIMIT_KEY: "max_question_chars"}),
]


def _whole_number(value: Any) -> Any:
    # JSON Schema's "integer" is a number without a fraction, 5.0 included; strict pydantic
    # would refuse that float, so it becomes the int it stands for.  A bool stays a bool
    # (and is refused).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: A JSON integer: ``5`` or ``5.0``, not ``"5"``, ``5.5`` or ``true``.
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
#: How many passages to retrieve, 1 to 50 (bounds before the validator, so the schema has them).
TopK = Annotated[int, Field(ge=1, le=50), BeforeValidator(_whole_number)]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    # Lax date parsing would take 0 (a Unix time) or "2025-01-01T00:00"; the schema
    # promises a YYYY-MM-DD string, so only that is parsed.
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise PydanticCustomError("date_format", "must be a date written YYYY-MM-DD")


#: A day written ``YYYY-MM-DD`` (a JSON string; nothing else is read as a date).
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date), Strict(False)]


def declare_limits(schema: Any, limits: dict[str, int]) -> None:
    """Write configured limits into an OpenAPI schema, in place.

    Every node marked ``{"x-limit": name}`` gets ``maxItems`` (arrays) or ``maxLength``
    (strings) set to ``limits[name]``, so the published schema states the limits the
    running server enforces.
    """
    if isinstance(schema, dict):
        name = schema.pop(LIMIT_KEY, None)
        if name is not None:
            keyword = "maxItems" if schema.get("type") == "array" else "maxLength"
            schema[keyword] = limits[name]
        for value in schema.values():
            declare_limits(value, limits)
    elif isinstance(schema, list):
        for value in schema:
            declare_limits(value, limits)


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
    """Optional restrictions on the passages retrieval may use.

    A `date_from` after `date_to` is an empty range: no page is in it, so nothing is found
    (a JSON Schema cannot compare two fields, and the schema promises what the server accepts).
    """

    date_from: IsoDate | None = Field(None, description="Only pages dated on or after this day (YYYY-MM-DD).")
    date_to: IsoDate | None = Field(None, description="Only pages dated on or before this day (YYYY-MM-DD).")
    source: CleanText | None = Field(
        None, max_length=255, description="Only this page file, e.g. `000_79f41e49edf8f691.txt`."
    )

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
    page_label: str = Field(
        description="A reader's name for the page, e.g. `太原日报 2025年11月5日 第3版` (the page number when "
        "known); show this, not `source`."
    )
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
    page_label: str = Field(
        description="A reader's name for the page, e.g. `太原日报 2025年11月5日 第3版` (the page number when "
        "known); show this, not `source`."
    )
    text: str = Field(description="The chunk's text.")
    score: float = Field(description="Retrieval score (higher is better; comparable within one response).")


# -- /api/chat -----------------------------------------------------------------------------


class ChatRequest(StrictModel):
    """A question, optionally continuing a conversation kept by the server."""

    question: QuestionText = Field(
        description="The question, in Chinese or English; not blank, at most `max_question_chars` "
        "characters (`RAG_MAX_QUESTION_CHARS`, default 2,000, counted with surrounding spaces); "
        "lone surrogates and control characters other than tab and line breaks are refused.",
        examples=["第八届进博会山西展厅的面积有多大？"],
    )
    session_id: str | None = Field(
        None,
        pattern=SESSION_ID_PATTERN,
        description="Continue this conversation (follow-ups such as 后来呢？ are resolved from it). "
        "Omit to start a new one; the response carries the id to send next time.",
    )
    turns: int | None = Field(
        None,
        ge=0,
        description="Take back the end of the conversation before answering: keep only its first `turns` "
        "exchanges (a question and its answer are one), counted from its first question, and forget "
        "the rest. Send it when the reader edits an earlier question and asks again (the number of "
        "answered questions before the edited one) or asks for the newest answer again; `0` keeps none "
        "but the same `session_id`. Omit it to continue after the last exchange. A number above the "
        "exchanges the conversation has had is a 409 `turns_out_of_range` (nothing is forgotten); "
        "above `0` it needs `session_id`.",
        examples=[1],
    )
    top_k: TopK | None = Field(None, description="How many passages to retrieve (default 5).")
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

    query: QuestionText = Field(
        description="What to search for; not blank, at most `max_question_chars` characters; no lone "
        "surrogates or control characters other than tab and line breaks.",
        examples=["山西展厅 面积"],
    )
    top_k: TopK | None = Field(None, description="How many passages to return (default 5).")
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
    page_label: str = Field(
        description="A reader's name for the page, e.g. `太原日报 2025年11月5日 第3版` (the page number when "
        "known); show this, not `source`."
    )
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


class PageOut(BaseModel):
    """One page of the index as a reader sees it."""

    source: str = Field(description="Page file (the value of the `source` filter).")
    page_label: str = Field(description="A reader's name for the page, e.g. `太原日报 2025年11月5日 第3版`.")
    date: str = Field(description="Date of the page (YYYY-MM-DD).")
    paper: str = Field(description="The newspaper, e.g. 太原日报.")
    page: int | None = Field(description="Page number (第N版), when known.")
    title: str = Field(description="The page's own title (版名), or empty.")
    articles: int = Field(description="Articles indexed from the page.")


class PageList(BaseModel):
    """Every page of the index, newest first (the options of a page filter)."""

    pages: list[PageOut] = Field(description="Newest first.")


# -- feedback ----------------------------------------------------------------------------

#: Longest answer a feedback report may carry (a long summary fits; a flood does not).
FEEDBACK_ANSWER_MAX = 20_000
#: Longest comment of a feedback report.
FEEDBACK_COMMENT_MAX = 2_000
#: Most citations a feedback report may carry.
FEEDBACK_CITATIONS_MAX = 50


class FeedbackRequest(StrictModel):
    """A reader's verdict on one answer: 👍 (`up`) or 👎 (`down`), with an optional comment."""

    session_id: str | None = Field(
        None, pattern=SESSION_ID_PATTERN, description="The conversation the answer belongs to, if any."
    )
    question: QuestionText = Field(description="The question as the reader asked it.")
    answer: CleanText = Field(max_length=FEEDBACK_ANSWER_MAX, description="The answer text as shown.")
    rating: Literal["up", "down"] = Field(description="`up`: right and useful; `down`: wrong or unhelpful.")
    comment: CleanText | None = Field(
        None, max_length=FEEDBACK_COMMENT_MAX, description="What was wrong (or right), in the reader's words."
    )
    citations: list[dict[str, Any]] | None = Field(
        None, max_length=FEEDBACK_CITATIONS_MAX, description="The answer's `citations` as received."
    )
    query: CleanText | None = Field(
        None,
        max_length=4_000,
        description="The standalone question that was searched (the response's `query`), if known.",
    )


class FeedbackResponse(BaseModel):
    """The stored report."""

    id: str = Field(description="Id of the stored feedback.")


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


#: Text whose control characters a validator refuses (so that its error names the field
#: plainly); the annotation only puts the rule in the schema.
_CheckedText = Annotated[str, _Pattern(CLEAN_TEXT_PATTERN)]


class ContentPart(BaseModel):
    """A part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str = Field(description="`text` (other parts are ignored).")
    text: _CheckedText | None = Field(None, description="The text of a `text` part.")


class UserContentPart(ContentPart):
    """A part of a user message's content; the text parts joined are the question."""

    text: Annotated[_CheckedText, Field(json_schema_extra={LIMIT_KEY: "max_question_chars"})] | None = Field(
        None, description="The text of a `text` part; at most `max_question_chars` characters."
    )


# A text part with some text that is not blank: the schema's way of saying "the parts hold a question".
_NON_BLANK_TEXT_PART = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "text"}, "text": {"type": "string", "pattern": QUESTION_PATTERN}},
}


def _check_content(content: str | list[Any] | None) -> None:
    # Checked here rather than in the union's members, so an error names `content` plainly.
    if isinstance(content, str):
        check_text(content)
    for part in content if isinstance(content, list) else []:
        if part.text:
            check_text(part.text)


class _Message(BaseModel):
    """What every chat message has: a role and content, text or parts."""

    model_config = ConfigDict(extra="allow", strict=True)

    role: str
    content: str | list[Any] | None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content or [] if p.type == "text")


class UserMessage(_Message):
    """A user's message: a question (the last one) or an earlier question of the conversation."""

    role: Literal["user"] = Field(description="`user`.")
    content: (
        Annotated[
            _CheckedText,
            _Pattern(QUESTION_PATTERN),
            Field(json_schema_extra={"minLength": 1, LIMIT_KEY: "max_question_chars"}),
        ]
        | Annotated[list[UserContentPart], Field(json_schema_extra={"contains": _NON_BLANK_TEXT_PART})]
    ) = Field(
        description="The question: text, or content parts whose text parts are joined; not blank, "
        "at most `max_question_chars` characters; no lone surrogates or control characters other "
        "than tab and line breaks."
    )

    @field_validator("content")
    @classmethod
    def _usable(cls, content: str | list[UserContentPart]) -> str | list[UserContentPart]:
        _check_content(content)
        text = (
            content
            if isinstance(content, str)
            else "".join(p.text or "" for p in content if p.type == "text")
        )
        if not text.strip():
            raise PydanticCustomError("empty_question", "the user message is empty")
        return content


class OtherMessage(_Message):
    """A message by anyone but the user: assistant answers are read as context, the others ignored."""

    role: Literal["system", "developer", "assistant", "tool", "function"] = Field(
        description="Author; `assistant` messages are the earlier answers, the others are ignored."
    )
    content: _CheckedText | list[ContentPart] | None = Field(
        None,
        description="Text, or a list of content parts; no lone surrogates or control characters "
        "other than tab and line breaks.",
    )

    @field_validator("content")
    @classmethod
    def _clean(cls, content: str | list[ContentPart] | None) -> str | list[ContentPart] | None:
        _check_content(content)
        return content


#: One message of an OpenAI chat conversation, told apart by its role.
ChatMessage = Annotated[UserMessage | OtherMessage, Field(discriminator="role")]


#: How sources reach a client of ``/v1/chat/completions``: appended as footnotes, or only in ``citations``.
SourcesMode = Literal["footnotes", "none"]


class StreamOptions(BaseModel):
    """OpenAI's `stream_options`."""

    model_config = ConfigDict(extra="allow", strict=True)

    include_usage: bool | None = Field(None, description="Send a last chunk with `usage` and no choices.")


class ChatCompletionRequest(BaseModel):
    """OpenAI `chat.completions` request; the last `user` message is the question.

    Earlier `user` and `assistant` messages are the conversation that resolves a follow-up;
    messages after the question (an assistant's prefix, tool output) are not read.
    Sampling options (temperature, top_p, …) are accepted and ignored: answers are
    quoted from the pages; `max_tokens` caps the content.  `top_k`, `filters` and
    `sources` are extensions (pass them with the client's `extra_body`).  Fields have
    their JSON types (no `"5"` for 5).
    """

    model_config = ConfigDict(extra="allow", strict=True)

    model: CleanText = Field(
        description="Model id from `GET /v1/models` (any id is accepted).", max_length=200
    )
    messages: list[ChatMessage] = Field(
        min_length=1,
        description="The conversation, oldest first; at least one `user` message.",
        json_schema_extra={
            "contains": {"type": "object", "required": ["role"], "properties": {"role": {"const": "user"}}}
        },
    )
    stream: bool | None = Field(
        False, description="Stream `chat.completion.chunk` events ending with `[DONE]`."
    )
    n: Annotated[int, Field(ge=1), BeforeValidator(_whole_number)] | None = Field(
        None, description="Choices to return; only 1 is supported (more is a 400 `unsupported_n`)."
    )
    temperature: float | None = Field(None, description="Ignored.")
    max_tokens: Annotated[int, Field(ge=1), BeforeValidator(_whole_number)] | None = Field(
        None,
        description="Caps the message content, counted in characters (no language-model tokenizer): a "
        "longer answer is cut (never inside a `[n]` marker) with `finish_reason: length`.",
    )
    max_completion_tokens: Annotated[int, Field(ge=1), BeforeValidator(_whole_number)] | None = Field(
        None, description="The same as `max_tokens` (the smaller of the two applies)."
    )
    stream_options: StreamOptions | None = Field(
        None, description="With `stream: true`: `include_usage` adds a last chunk holding `usage`."
    )
    user: str | None = Field(None, description="Ignored.")
    top_k: TopK | None = Field(None, description="Extension: passages to retrieve.")
    filters: Filters | None = Field(None, description="Extension: restrict retrieval by date or page.")
    sources: SourcesMode | None = Field(
        None,
        description="Extension: `footnotes` appends the numbered sources to the content "
        "(`[1] 标题 — 太原日报 2025年11月5日：“quote”`) for clients that only show the text; `none` "
        "leaves them in `citations` only. Default: the server's `RAG_V1_SOURCES`.",
    )

    @field_validator("messages")
    @classmethod
    def _has_question(cls, messages: list[UserMessage | OtherMessage]) -> list[UserMessage | OtherMessage]:
        if not any(m.role == "user" for m in messages):
            raise PydanticCustomError(
                "no_question", "no user message: the question is the last message with role 'user'"
            )
        return messages


class CompletionMessage(BaseModel):
    """The assistant's reply."""

    role: Literal["assistant"] = Field(description="Always `assistant`.")
    content: str = Field(description="Answer text with `[n]` citation markers.")


class CompletionChoice(BaseModel):
    """The one choice of a completion."""

    index: int = Field(description="Always 0.")
    message: CompletionMessage = Field(description="The answer.")
    finish_reason: Literal["stop", "length"] = Field(
        description="`stop`, or `length` when `max_tokens` cut the content."
    )


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
    finish_reason: Literal["stop", "length"] | None = Field(
        None, description="`stop` (or `length` when `max_tokens` cut the content) on the last chunk."
    )


class ChatCompletionChunk(BaseModel):
    """One `data:` event of a streamed completion; the last one carries `citations`."""

    id: str = Field(description="Completion id (the same for every chunk).")
    object: Literal["chat.completion.chunk"] = Field(description="Object type.")
    created: int = Field(description="Unix time.")
    model: str = Field(description="The model id requested.")
    choices: list[ChunkChoice] = Field(description="One choice (none in the usage chunk).")
    citations: list[CitationOut] | None = Field(
        None, description="Extension: on the chunk with `finish_reason` only."
    )
    usage: Usage | None = Field(
        None, description="With `stream_options.include_usage`: on the last chunk, whose `choices` is empty."
    )


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
