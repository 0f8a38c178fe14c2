"""Readers' verdicts on answers: ``POST /api/feedback`` (stored by :mod:`rag.feedback`)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import StateDep
from api.routes.common import errors
from api.schemas import FeedbackRequest, FeedbackResponse
from rag.errors import InvalidInputError
from rag.feedback import Feedback

router = APIRouter(tags=["chat"])


@router.post(
    "/api/feedback",
    status_code=201,
    response_model=FeedbackResponse,
    summary="Report whether an answer was right",
    responses=errors(413, 422, 503),
)
async def post_feedback(body: FeedbackRequest, state: StateDep) -> FeedbackResponse:
    """Keep a reader's 👍 (`up`) or 👎 (`down`) on one answer, with an optional comment.

    Stored where the conversations are (SQLite in the state folder, or Redis); `rag feedback
    export` turns the reports into QA-set questions, so wrong answers become eval cases.
    """
    # What the schema declares of a question (a setting's length, not blank) is checked here,
    # as the pipeline checks it for /api/chat.
    limit = state.settings.max_question_chars
    if len(body.question) > limit:
        raise InvalidInputError(f"the question has {len(body.question)} characters; the limit is {limit}")
    if not body.question.strip():
        raise InvalidInputError("the question is empty")
    feedback = Feedback(
        question=body.question.strip(),
        answer=body.answer,
        rating=body.rating,
        comment=(body.comment or "").strip() or None,
        citations=tuple(body.citations or ()),
        query=(body.query or "").strip() or None,
        session_id=body.session_id,
    )
    # SQLite and Redis calls block: off the event loop.
    return FeedbackResponse(id=await run_in_threadpool(state.feedback.add, feedback))
