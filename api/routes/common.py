"""Pieces shared by the routes: documented error responses and answer → JSON."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorResponse
from rag.types import Answer

_DESCRIPTIONS = {
    400: "A page file that cannot be used (no accepted format, no text layer, empty, no article) "
    "or a malformed upload.",
    401: "Missing or wrong API key.",
    403: "Write endpoints are disabled (no RAG_API_KEY configured).",
    404: "No such article.",
    413: "The request body is too large.",
    422: "Invalid input: blank or too long question, unknown field, wrong type, malformed JSON.",
    429: "The server is busy; retry after the `Retry-After` seconds.",
    503: "The index is not loaded (yet) or cannot be loaded.",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all in the one error shape."""
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in statuses}


def answer_payload(answer: Answer, session_id: str) -> dict[str, Any]:
    """The :class:`~api.schemas.ChatResponse` JSON: ``rag ask --json`` plus session and timings."""
    return {
        **answer.to_dict(),
        "session_id": session_id,
        "retrieve_ms": float(answer.timings.get("retrieve_ms", 0.0)),
        "generate_ms": float(answer.timings.get("generate_ms", 0.0)),
    }
