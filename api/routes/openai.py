"""OpenAI-compatible endpoints, so any OpenAI client or chat UI can talk to the archive.

The answer text keeps its ``[n]`` markers; the citations travel in an extra
``citations`` field of the completion and of the streamed chunk that finishes it, and,
for clients that show only the text, optionally as footnotes appended to the content
(``sources: footnotes`` or ``RAG_V1_SOURCES``; see :mod:`api.completion_text`).
Multi-turn context comes from ``messages`` (no server-side session).

Chat front ends render this text as Markdown, and Markdown passes HTML through, so page
text that looks like markup (an uploaded page may hold ``<img src=x onerror=…>`` as its
words) is escaped on the way out: see :func:`escape_markup`.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.completion_text import CappedText, cited_numbers, footnotes
from api.deps import PipelineDep, StateDep
from api.errors import ApiError, log_failure
from api.routes.common import errors
from api.schemas import (
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessage,
    ModelList,
    UserMessage,
    error_body,
)
from api.streaming import AnswerStream, AnswerStreamResponse, sse, sse_schema
from rag.catalog import add_page_labels
from rag.errors import InvalidInputError, RagError
from rag.types import Answer, Turn

log = logging.getLogger(__name__)
router = APIRouter(tags=["openai"])

#: The one model id this server offers.
MODEL_ID = "taiyuan-rag"

_STREAM_DOC = {
    "description": "A `chat.completion`, or with `stream: true` a server-sent stream of "
    "`chat.completion.chunk` objects (the one with `finish_reason` carries `citations`; with "
    "`stream_options.include_usage` a last chunk without choices carries `usage`) ending with "
    "`data: [DONE]`.",
    "content": {
        "text/event-stream": {
            "schema": sse_schema({"message": ["ChatCompletionChunk", "ErrorResponse", {"const": "[DONE]"}]})
        }
    },
}


def split_messages(messages: Sequence[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the conversation before it.

    Messages after the question (an assistant's prefix, tool output, a system note) are
    not read: the answer is always to the user's last question.
    """
    asked = [i for i, m in enumerate(messages) if m.role == "user"]
    if not asked:  # the request model refuses this already; kept for direct callers
        raise InvalidInputError("no user message: the question is the last message with role 'user'")
    last = asked[-1]
    history = [
        Turn(m.role, m.text())  # type: ignore[arg-type]
        for m in messages[:last]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return messages[last].text(), history


def check_user_lengths(messages: Sequence[ChatMessage], limit: int) -> None:
    """Refuse any user message longer than ``limit`` characters, as the schema declares.

    Every user message was a question, so each is held to the question limit, not only
    the last one (which the pipeline checks again); so is every text part on its own.
    """
    for position, message in enumerate(messages):
        if not isinstance(message, UserMessage):
            continue
        parts = [] if isinstance(message.content, str) else [p.text or "" for p in message.content]
        longest = max([len(message.text()), *map(len, parts)])
        if longest > limit:
            raise InvalidInputError(
                f"messages[{position}]: the question has {longest} characters; the limit is {limit}"
            )


def escape_markup(text: str) -> str:
    """``text`` with ``<`` and ``>`` written as ``&lt;`` and ``&gt;``.

    Escaped rather than stripped: a Markdown front end decodes the entities and shows
    the page's characters exactly as printed, and no HTML tag, comment or autolink
    (``<javascript:…>``) can start without a raw ``<``.  Each character is replaced on
    its own, so streamed pieces can be escaped one by one.  ``&`` is left alone: an
    entity already in the page decodes to text, never to markup.
    """
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _citations(answer: Answer, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    # Page text (quote, title, page name and label) is escaped like the answer;
    # ``start``/``end`` still index the article body as GET /api/articles/{id} serves it.
    data = add_page_labels({"citations": [c.to_dict() for c in answer.citations]}, labels)["citations"]
    for citation in data:
        for key in ("quote", "title", "source", "page_label"):
            citation[key] = escape_markup(citation[key])
    return list(data)


@dataclass
class _Reply:
    """How one completion's content is written: capped at ``max_tokens``, footnotes or not."""

    limit: int | None
    footnotes: bool
    prompt_chars: int
    capped: CappedText = field(init=False)
    #: Every piece of answer text received (escaped, uncapped), to compare with the final answer.
    streamed: str = ""

    def __post_init__(self) -> None:
        self.capped = CappedText(self.limit)

    def piece(self, text: str) -> str:
        """What to send of a streamed piece of answer text (escaped, within the cap)."""
        escaped = escape_markup(text)
        self.streamed += escaped
        return self.capped.feed(escaped)

    def ending(self, answer: Answer, citations: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
        """The rest of the content once the answer is final, and the citations it keeps.

        Text the generator did not stream (a language model's refusal comes whole) is sent
        now.  A model's streamed text that the checks replaced (a fallback, with a notice)
        cannot be taken back from an OpenAI client: the notice and the answer follow it.
        A cut answer keeps the citations whose markers it still shows; footnotes follow
        when asked for, as many lines as fit under the cap.
        """
        final = escape_markup(answer.text)
        if final.startswith(self.streamed):  # what was not streamed (a refusal comes whole)
            rest = self.capped.feed(final[len(self.streamed) :])
        elif answer.notice:  # the checks replaced the model's text: say so, then the answer
            rest = self.capped.feed(f"\n\n（{escape_markup(answer.notice)}）\n\n{final}")
        else:  # the model's text with a marker repaired: close enough to leave
            rest = ""
        rest += self.capped.flush()
        if self.capped.truncated:
            shown = cited_numbers(self.capped.sent)
            citations = [c for c in citations if c["n"] in shown]
        if self.footnotes:
            shown_text = self.capped.sent
            block = footnotes(citations, self.capped.room(), shown_text)
            if block != footnotes(citations, answer=shown_text):
                self.capped.truncated = True
            rest += block
            self.capped.sent += block
        return rest, citations

    @property
    def finish_reason(self) -> str:
        """``length`` when the cap cut the content, else ``stop``."""
        return "length" if self.capped.truncated else "stop"

    def usage(self) -> dict[str, int]:
        """Sizes in characters (there is no language-model tokenizer)."""
        sent = len(self.capped.sent)
        return {
            "prompt_tokens": self.prompt_chars,
            "completion_tokens": sent,
            "total_tokens": self.prompt_chars + sent,
        }


def _chunk(
    completion_id: str, created: int, model: str, delta: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    finish = extra.pop("finish_reason", None)
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


async def _chunks(
    stream: AnswerStream,
    reply: _Reply,
    labels: Callable[[], Awaitable[Mapping[str, str]]],
    meta: tuple[str, int, str],
    finish: Any,
    include_usage: bool,
) -> AsyncIterator[bytes]:
    """OpenAI's stream format: a role chunk, content chunks, a final chunk with citations, ``[DONE]``.

    With ``include_usage`` a last chunk without choices carries ``usage``.
    """
    completion_id, created, model = meta
    yield sse(_chunk(completion_id, created, model, {"role": "assistant", "content": ""}))
    try:
        async for item in stream:
            if isinstance(item, Answer):
                finish(item)
                rest, citations = reply.ending(item, _citations(item, await labels()))
                if rest:
                    yield sse(_chunk(completion_id, created, model, {"content": rest}))
                yield sse(
                    _chunk(
                        completion_id,
                        created,
                        model,
                        {},
                        finish_reason=reply.finish_reason,
                        citations=citations,
                    )
                )
                if include_usage:
                    usage_chunk = _chunk(completion_id, created, model, {}, usage=reply.usage())
                    usage_chunk["choices"] = []
                    yield sse(usage_chunk)
            elif item:
                piece = reply.piece(item)
                if piece:
                    yield sse(_chunk(completion_id, created, model, {"content": piece}))
    except RagError as err:
        yield sse(error_body(err.code, str(err)))
    except Exception as err:
        log_failure(log, "streamed completion failed", err)
        yield sse(error_body("internal_error", "the answer failed half-way; it has been logged"))
    yield sse("[DONE]")


def _limit(body: ChatCompletionRequest) -> int | None:
    """The cap on the content: the smaller of ``max_tokens`` and ``max_completion_tokens``."""
    given = [v for v in (body.max_tokens, body.max_completion_tokens) if v is not None]
    return min(given) if given else None


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    summary="OpenAI-compatible chat completion",
    responses={200: _STREAM_DOC, **errors(400, 413, 422, 429, 503)},
)
async def chat_completions(body: ChatCompletionRequest, state: StateDep, pipeline: PipelineDep) -> Any:
    """Answer the last user message of `messages`, earlier turns resolving follow-ups.

    Page text in the answer, its streamed pieces and the citations' `quote`, `title`,
    `source` and `page_label` has `<` and `>` escaped as `&lt;` and `&gt;`: Markdown front
    ends show them as the page's characters, never as HTML.  (The native `/api/chat`
    sends text verbatim; its page never parses it as markup.)  `max_tokens` caps the
    content in characters (`finish_reason: length` when it cut); `n` must be 1 (400
    `unsupported_n` otherwise); `sources: footnotes` appends the numbered sources.
    """
    if body.n is not None and body.n > 1:
        raise ApiError(
            400,
            "unsupported_n",
            f"n={body.n}: this server returns one choice per request; the limit is n=1 "
            "(ask again for another answer: it is the same, answers are quoted from the pages)",
        )
    check_user_lengths(body.messages, state.settings.max_question_chars)
    question, history = split_messages(body.messages)
    filters = body.filters.to_filters() if body.filters else None
    completion_id = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())
    reply = _Reply(
        limit=_limit(body),
        footnotes=(body.sources or state.settings.v1_sources) == "footnotes",
        prompt_chars=sum(len(m.text()) for m in body.messages),
    )

    def finish(answer: Answer) -> None:
        state.metrics.observe_answer(answer.timings, answer.refused)

    async def labels() -> Mapping[str, str]:
        return await run_in_threadpool(pipeline.page_labels)

    if body.stream:
        stream = await AnswerStream.open(
            state, lambda: pipeline.ask_stream(question, top_k=body.top_k, filters=filters, history=history)
        )
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        chunks = _chunks(stream, reply, labels, (completion_id, created, body.model), finish, include_usage)
        return AnswerStreamResponse(stream, chunks)
    answer = await state.run(pipeline.ask, question, top_k=body.top_k, filters=filters, history=history)
    finish(answer)
    content = reply.piece(answer.text)
    rest, citations = reply.ending(answer, _citations(answer, await labels()))
    content += rest
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": reply.usage(),
        "citations": citations,
    }


@router.get("/v1/models", response_model=ModelList, summary="OpenAI-compatible model list")
async def list_models(state: StateDep) -> ModelList:
    """The one model this server answers with."""
    return ModelList.model_validate(
        {
            "object": "list",
            "data": [
                {"id": MODEL_ID, "object": "model", "created": int(state.started), "owned_by": "taiyuan-rag"}
            ],
        }
    )


__all__ = ["router", "MODEL_ID", "check_user_lengths", "escape_markup", "split_messages"]
