"""OpenAI-compatible endpoints, so any OpenAI client or chat UI can talk to the archive.

The answer text keeps its ``[n]`` markers; the citations travel in an extra
``citations`` field of the completion and of the last streamed chunk.  Multi-turn
context comes from ``messages`` (no server-side session).
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
from api.schemas import ChatCompletion, ChatCompletionRequest, ChatMessage, ModelList, error_body
from api.streaming import SSE_HEADERS, AnswerStream, sse, sse_schema
from rag.errors import InvalidInputError, RagError
from rag.types import Answer, Turn

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
    """The question (the last message, a user's) and the conversation before it."""
    last = messages[-1]
    if last.role != "user":
        raise InvalidInputError(f"the last message must be the user's question, not a {last.role!r} message")
    history = [
        Turn(m.role, m.text())  # type: ignore[arg-type]
        for m in messages[:-1]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return last.text(), history


def _citations(answer: Answer) -> list[dict[str, Any]]:
    return [c.to_dict() for c in answer.citations]


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
                yield sse(_chunk(completion_id, created, model, {"content": item}))
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
    """Answer the last user message of `messages`, earlier turns resolving follow-ups."""
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
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_chars,
            "completion_tokens": len(answer.text),
            "total_tokens": prompt_chars + len(answer.text),
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


__all__ = ["router", "MODEL_ID", "split_messages"]
