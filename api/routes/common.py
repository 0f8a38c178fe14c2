"""Pieces shared by the routes: documented error responses and answer → JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.schemas import ErrorResponse
from rag.catalog import add_page_labels
from rag.types import Answer

_DESCRIPTIONS = {
    400: "A request body that cannot be read (not UTF-8, broken multipart); for uploads also a page "
    "file that cannot be used (no accepted format, no text layer, empty, no article); for "
    "`/v1/chat/completions` also `n` above 1 (`unsupported_n`).",
    401: "Missing or wrong API key.",
    403: "Write endpoints are disabled (no RAG_API_KEY configured).",
    404: "No such article.",
    413: "The request body is too large (JSON: `RAG_API_JSON_BODY_BYTES`, default 256,000 bytes; "
    "uploads: `RAG_MAX_UPLOAD_BYTES` per page file).",
    422: "Invalid input: blank or too long question, unknown field, wrong type, malformed JSON.",
    429: "The server is busy; retry after the `Retry-After` seconds.",
    415: "The upload is not `multipart/form-data`.",
    503: "The index is not loaded (yet) or cannot be loaded.",
}
#: Statuses any request with a body can get before its route runs: an unreadable body
#: (400), one over the size limit (413), one that does not match the schema (422).
BODY_STATUSES = (400, 413, 422)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all in the one error shape."""
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in statuses}


def document_body_errors(schema: dict[str, Any]) -> None:
    """Add the :data:`BODY_STATUSES` to every operation of an OpenAPI schema that takes a body.

    They come from the framework and the body-size middleware, not from the routes, so
    they are declared here once rather than by every route.
    """
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            responses = operation.setdefault("responses", {})
            for status in BODY_STATUSES:
                responses.setdefault(
                    str(status),
                    {"description": _DESCRIPTIONS[status], "content": {"application/json": {"schema": ref}}},
                )


def answer_payload(answer: Answer, session_id: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """The :class:`~api.schemas.ChatResponse` JSON: ``rag ask --json`` plus session and timings.

    ``labels`` (page file → a reader's name for it) gives each citation and passage its ``page_label``.
    """
    return {
        **add_page_labels(answer.to_dict(), labels),
        "session_id": session_id,
        "retrieve_ms": float(answer.timings.get("retrieve_ms", 0.0)),
        "generate_ms": float(answer.timings.get("generate_ms", 0.0)),
    }
