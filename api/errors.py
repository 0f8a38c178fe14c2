"""Every error becomes one JSON shape, ``{"error": {"code", "message"}}``, with a fitting status.

Library errors (:class:`~rag.errors.RagError`) keep their ``code`` and get the status
:data:`LIBRARY_STATUS` gives their type (the library knows nothing of HTTP); validation
errors become 422 with a readable message; anything unexpected is logged as one line
(the traceback at debug level) and answered with a bare 500 that leaks no stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.schemas import error_body
from api.sessions import SessionStoreError, TurnsOutOfRangeError
from rag.errors import (
    DocumentError,
    IndexBusyError,
    IndexDamagedError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    InvalidInputError,
    ModelError,
    NotFoundError,
    RagError,
)
from rag.feedback import FeedbackStoreError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "overloaded",
    503: "unavailable",
}


#: The HTTP status of each library error type; a subclass takes its nearest listed base's.
#: 503s are conditions of the server (no index yet, damaged, busy, no model) a retry or an
#: operator can fix; the 4xx are the request's fault.
LIBRARY_STATUS: dict[type[RagError], int] = {
    InvalidInputError: 422,
    DocumentError: 400,
    NotFoundError: 404,
    IndexMismatchError: 409,
    IndexNotFoundError: 503,
    ModelError: 503,
    IndexDamagedError: 503,
    IndexWriteError: 503,
    IndexBusyError: 503,
    SessionStoreError: 503,
    TurnsOutOfRangeError: 409,
    FeedbackStoreError: 503,
}


#: The HTTP layer's own error codes (auth, limits, start-up, conversations) and their statuses.
#: With the library's (:data:`LIBRARY_STATUS`) and the generic ones (``_HTTP_CODES``), every
#: ``error.code`` the API can answer with is listed here once (served by ``GET /api/vocabulary``).
API_ERRORS: dict[str, int] = {
    "unsupported_n": 400,
    "unauthorized": 401,
    "writes_disabled": 403,
    "session_expired": 410,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "overloaded": 429,
    "internal_error": 500,
    "not_ready": 503,
    "unavailable": 503,
}


def error_codes() -> dict[str, int]:
    """Every ``error.code`` the API can answer with and its HTTP status, sorted by code."""
    codes = {code: status for status, code in _HTTP_CODES.items()}
    codes.update({cls.code: status for cls, status in LIBRARY_STATUS.items()})
    codes.update(API_ERRORS)
    return dict(sorted(codes.items()))


def status_of(error: RagError) -> int:
    """The HTTP status ``error`` is answered with (500 for a library error not listed)."""
    for cls in type(error).__mro__:
        if cls in LIBRARY_STATUS:
            return LIBRARY_STATUS[cls]
    return 500


class ApiError(Exception):
    """An error raised by the HTTP layer itself (auth, limits), with its status and code."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error response in the one shape."""
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _location(loc: Sequence[Any]) -> str:
    # ("body", "filters", "date_from") reads better as filters.date_from; a bare "body"
    # (the whole document) as "request body".
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) if parts else "request body"


def describe_validation(errors: Sequence[dict[str, Any]]) -> str:
    """One readable line for pydantic's error list (at most three problems named)."""
    messages: list[str] = []
    for err in errors[:3]:
        kind = err.get("type", "")
        where = _location(err.get("loc", ()))
        if kind == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "")
            messages.append(f"the request body is not valid JSON ({reason})" if reason else "malformed JSON")
        elif kind == "extra_forbidden":
            messages.append(f"unknown field {where!r}")
        elif kind == "missing":
            messages.append(f"{where} is required")
        elif kind in ("model_type", "model_attributes_type", "dict_type") and where == "request body":
            messages.append("the request body must be a JSON object (Content-Type: application/json)")
        else:
            messages.append(f"{where}: {err.get('msg', 'invalid value')}")
    if len(errors) > 3:
        messages.append(f"and {len(errors) - 3} more")
    return "; ".join(messages)


async def _rag_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RagError)
    status = status_of(exc)
    if status >= 500:
        log.warning("%s: %s", exc.code, exc)
    return error_response(status, exc.code, str(exc))


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "invalid_input", describe_validation(exc.errors()))


def _allowed_methods(request: Request) -> list[str]:
    """Methods the API routes (not the file mount) accept on the request's path."""
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        for route in request.app.router.routes:
            if not isinstance(route, Mount) and route.matches(scope)[0] == Match.FULL:
                allowed.append(method)
                break
    return allowed


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = exc.headers
    message = str(exc.detail)
    if status in (404, 405):
        # The chat page is mounted at "/", so GET /api/chat reaches the file server:
        # answer it as what it is, a wrong method on an API route.
        allowed = _allowed_methods(request)
        if allowed and request.method not in allowed:
            status, headers = 405, {"Allow": ", ".join(allowed)}
            message = f"{request.method} is not allowed on {request.url.path}; use {' or '.join(allowed)}"
        elif status == 404:
            message = f"no such endpoint or file: {request.url.path}"
    return error_response(status, _HTTP_CODES.get(status, "http_error"), message, headers)


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` on one line, at most 300 characters (for a log line or an error event)."""
    message = " ".join(str(exc).split())
    if len(message) > 300:
        message = message[:299] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """Log a failed request as one line; its traceback only at debug level."""
    logger.error("%s: %s", what, describe_exception(exc))
    logger.debug("traceback of the failure above (%s)", what, exc_info=exc)


def _internal_error() -> JSONResponse:
    return error_response(
        500, "internal_error", "the server failed to handle the request; it has been logged"
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # One line per failure: a traceback per request buries the log under load.
    log_failure(log, f"unhandled error on {request.method} {request.url.path}", exc)
    return _internal_error()


class UnhandledErrorMiddleware:
    """Answers an error no handler took with the JSON 500, logged as one line.

    Starlette's own last-resort handler (``_unexpected`` above) sends the same response
    but then re-raises the error to the server, which logs its whole traceback (and
    closes the connection): under a stream of bad requests, kilobytes per request.
    This middleware sits inside it and stops the error there.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log_failure(log, f"unhandled error on {scope.get('method')} {scope.get('path')}", exc)
            if not started:  # otherwise the response is cut short: the client sees a broken stream
                await _internal_error()(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the one JSON shape."""
    app.add_exception_handler(RagError, _rag_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    # The innermost middleware (added first): the ones added later see a plain 500 response.
    app.add_middleware(UnhandledErrorMiddleware)
