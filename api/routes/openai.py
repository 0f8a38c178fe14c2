"""OpenAI-compatible endpoints, so any OpenAI client or chat UI can talk to the archive.

The answer text keeps its ``[n]`` markers; the citations travel in an extra
``citations`` field of the completion and of the last streamed chunk.  Multi-turn
context comes from ``messages`` (no server-side session).

Chat front ends render this text as Markdown, and Markdown passes HTML through, so page
text that looks like markup (an uploaded page may hold ``<img src=x onerror=…>`` as its
words) is escaped on the way out: see :func:`escape_markup`.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.deps import PipelineDep, StateDep
from api.errors import log_failure
from api.routes.common import errors
from api.schemas import (
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessage,
    ModelList,
    UserMessage,
    error_body,
)
from api.streaming import SSE_HEADERS, AnswerStream, sse, sse_schema
from rag.errors import InvalidInputError, RagError
from rag.types import Answer, Citation, Turn

log = logging.getLogger(__name__)
router = APIRouter(tags=["openai"])

#: The one model id this server offers.
MODEL_ID = "taiyuan-rag"

_STREAM_DOC = {
    "description": "A `chat.completion`, or with `stream: true` a server-sent stream of "
    "`chat.completion.chunk` objects (the last one with `finish_reason: stop` and `citations`) "
    "ending with `data: [DONE]`.",
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


def _citations(answer: Answer) -> list[dict[str, Any]]:
    return [_citation(c) for c in answer.citations]


def _citation(citation: Citation) -> dict[str, Any]:
    # Page text (quote, title, page name) is escaped like the answer; ``start``/``end``
    # still index the article body as GET /api/articles/{id} serves it.
    data = citation.to_dict()
    for key in ("quote", "title", "source"):
        data[key] = escape_markup(data[key])
    return data


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
    stream: AnswerStream, completion_id: str, created: int, model: str, finish: Any
) -> AsyncIterator[bytes]:
    """OpenAI's stream format: a role chunk, content chunks, a final chunk with citations, ``[DONE]``."""
    yield sse(_chunk(completion_id, created, model, {"role": "assistant", "content": ""}))
    try:
        async for item in stream:
            if isinstance(item, Answer):
                finish(item)
                yield sse(
                    _chunk(
                        completion_id, created, model, {}, finish_reason="stop", citations=_citations(item)
                    )
                )
            elif item:
                yield sse(_chunk(completion_id, created, model, {"content": escape_markup(item)}))
    except RagError as err:
        yield sse(error_body(err.code, str(err)))
    except Exception as err:
        log_failure(log, "streamed completion failed", err)
        yield sse(error_body("internal_error", "the answer failed half-way; it has been logged"))
    yield sse("[DONE]")


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    summary="OpenAI-compatible chat completion",
    responses={200: _STREAM_DOC, **errors(413, 422, 429, 503)},
)
async def chat_completions(body: ChatCompletionRequest, state: StateDep, pipeline: PipelineDep) -> Any:
    """Answer the last user message of `messages`, earlier turns resolving follow-ups.

    Page text in the answer, its streamed pieces and the citations' `quote`, `title` and
    `source` has `<` and `>` escaped as `&lt;` and `&gt;`: Markdown front ends show them as
    the page's characters, never as HTML.  (The native `/api/chat` sends text verbatim; its
    page never parses it as markup.)
    """
    check_user_lengths(body.messages, state.settings.max_question_chars)
    question, history = split_messages(body.messages)
    filters = body.filters.to_filters() if body.filters else None
    completion_id = f"chatcmpl-{secrets.token_hex(12)}"
    created = int(time.time())
    prompt_chars = sum(len(m.text()) for m in body.messages)

    def finish(answer: Answer) -> None:
        state.metrics.observe_answer(answer.timings, answer.refused)

    if body.stream:
        stream = await AnswerStream.open(
            state, lambda: pipeline.ask_stream(question, top_k=body.top_k, filters=filters, history=history)
        )
        return StreamingResponse(
            _chunks(stream, completion_id, created, body.model, finish),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )
    answer = await state.run(pipeline.ask, question, top_k=body.top_k, filters=filters, history=history)
    finish(answer)
    content = escape_markup(answer.text)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_chars,
            "completion_tokens": len(content),
            "total_tokens": prompt_chars + len(content),
        },
        "citations": _citations(answer),
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
