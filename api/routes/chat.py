"""Native question answering: ``POST /api/chat`` (JSON or server-sent events) and ``POST /api/search``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import PipelineDep, StateDep
from api.errors import ApiError, log_failure
from api.routes.common import answer_payload, errors
from api.schemas import (
    ChatRequest,
    ChatResponse,
    ErrorResponse,
    PassageOut,
    SearchRequest,
    SearchResponse,
    error_body,
)
from api.sessions import TurnsOutOfRangeError
from api.streaming import AnswerStream, AnswerStreamResponse, sse, sse_schema
from rag.catalog import add_page_labels
from rag.errors import RagError
from rag.types import Answer

log = logging.getLogger(__name__)
router = APIRouter(tags=["chat"])

_STREAM_DOC = {
    "description": 'The answer as JSON, or with `"stream": true` as server-sent events: `delta` events '
    '`{"text": "…"}`, then one `done` event holding this same JSON; a failure after the stream '
    "started arrives as an `error` event holding the error shape.",
    "content": {
        "text/event-stream": {
            "schema": sse_schema(
                {"delta": ["ChatDelta"], "done": ["ChatResponse"], "error": ["ErrorResponse"]}
            )
        }
    },
}

#: HTTP status of a follow-up whose conversation the store does not hold (410 Gone: the
#: id may have been valid once; expired, evicted and never-issued ids are not told apart).
SESSION_EXPIRED_STATUS = 410
_SESSION_EXPIRED_DOC = {
    "model": ErrorResponse,
    "description": "`session_expired`: the conversation named by `session_id` is unknown to the server "
    "(expired after an hour of inactivity, evicted, or never issued); ask again without `session_id` "
    "to start a new one.",
}
_TURNS_DOC = {
    "model": ErrorResponse,
    "description": "`turns_out_of_range`: `turns` is larger than the number of exchanges the conversation "
    "has had (or is above 0 without `session_id`); nothing was forgotten.",
}


async def _events(stream: AnswerStream, finish: Any) -> AsyncIterator[bytes]:
    """Encode a streamed answer as ``delta`` events and a final ``done`` (or ``error``) event."""
    try:
        async for item in stream:
            if isinstance(item, Answer):
                yield sse(await finish(item), event="done")
            else:
                yield sse({"text": item}, event="delta")
    except RagError as err:
        yield sse(error_body(err.code, str(err)), event="error")
    except Exception as err:
        log_failure(log, "streamed answer failed", err)
        yield sse(
            error_body("internal_error", "the answer failed half-way; it has been logged"), event="error"
        )


@router.post(
    "/api/chat",
    response_model=ChatResponse,
    summary="Answer a question with citations",
    responses={
        200: _STREAM_DOC,
        409: _TURNS_DOC,
        SESSION_EXPIRED_STATUS: _SESSION_EXPIRED_DOC,
        **errors(413, 422, 429, 503),
    },
)
async def chat(body: ChatRequest, state: StateDep, pipeline: PipelineDep) -> Any:
    """Answer `question` from the pages, quoting them with `[n]` citations (or refuse).

    A follow-up (那它的面积有多大？ 后来呢？) is resolved from the conversation named by
    `session_id`; conversations live on the server for an hour of inactivity.  A
    `session_id` the server does not hold gets a 410 `session_expired` error rather than
    an answer that ignores the conversation.  `turns` takes back the end of the
    conversation first (an edited or regenerated question), in the same step as the read.
    """
    # A question the pipeline refuses (blank, too long) is refused before its session is
    # looked up: a malformed request gets its 422 even when its session has expired.
    pipeline.check_question(body.question)
    # The store is shared by the workers (SQLite or Redis): its calls block, so they run in
    # a thread rather than on the event loop.
    if body.session_id is None:
        if body.turns:  # a new conversation has had no exchanges
            raise TurnsOutOfRangeError(0, body.turns)
        session_id, history = state.sessions.new_id(), ()
    else:
        session_id = body.session_id
        found = await run_in_threadpool(state.sessions.history, session_id, body.turns)
        if found is None:
            raise ApiError(
                SESSION_EXPIRED_STATUS,
                "session_expired",
                "this conversation has expired or is unknown to the server; "
                "start a new conversation by asking again without session_id",
            )
        history = found
    filters = body.filters.to_filters() if body.filters else None
    question = body.question

    async def finish(answer: Answer) -> dict[str, Any]:
        # Registers a new conversation with its first answer, so its id is known from then on.
        await run_in_threadpool(state.sessions.append, session_id, question.strip(), answer.text)
        state.metrics.observe_answer(answer.timings, answer.refused)
        return answer_payload(answer, session_id, await run_in_threadpool(pipeline.page_labels))

    if body.stream:
        stream = await AnswerStream.open(
            state, lambda: pipeline.ask_stream(question, top_k=body.top_k, filters=filters, history=history)
        )
        return AnswerStreamResponse(stream, _events(stream, finish))
    answer = await state.run(pipeline.ask, question, top_k=body.top_k, filters=filters, history=history)
    return await finish(answer)


@router.post(
    "/api/search",
    response_model=SearchResponse,
    summary="Ranked passages for a query",
    responses=errors(413, 422, 429, 503),
)
async def search(body: SearchRequest, state: StateDep, pipeline: PipelineDep) -> SearchResponse:
    """The passages retrieval ranks highest for `query`, with their scores (no answer is composed)."""
    passages = await state.run(
        pipeline.search,
        body.query,
        top_k=body.top_k,
        filters=body.filters.to_filters() if body.filters else None,
        mode=body.retriever,
    )
    labels = await run_in_threadpool(pipeline.page_labels)
    found = add_page_labels({"passages": [p.to_dict() for p in passages]}, labels)["passages"]
    return SearchResponse(query=body.query.strip(), passages=[PassageOut(**p) for p in found])
