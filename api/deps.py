"""What routes get through dependencies: the app's state, the pipeline, the API-key check."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError
from api.limits import ApiLimits, ConcurrencyLimiter
from api.metrics import Metrics
from api.sessions import SessionStore
from api.settings import ServerSettings
from rag.feedback import FeedbackStore
from rag.pipeline import Pipeline
from rag.settings import Settings

T = TypeVar("T")


@dataclass
class ApiState:
    """Everything the routes share, created once per app (no module globals)."""

    settings: Settings
    server: ServerSettings
    limits: ApiLimits
    limiter: ConcurrencyLimiter
    sessions: SessionStore
    metrics: Metrics
    #: Readers' 👍/👎 on answers (``POST /api/feedback``), in the sessions' SQLite folder or Redis.
    feedback: FeedbackStore
    pipeline: Pipeline | None = None
    #: Set once the index and the model are loaded.
    ready: bool = False
    #: Why the pipeline could not load at start-up, if it could not.
    startup_error: str | None = None
    started: float = field(default_factory=time.time)

    async def run(self, func: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run a blocking pipeline call in a worker thread, holding one of the limited slots."""
        async with self.limiter.slot():
            return await run_in_threadpool(func, *args, **kwargs)


def get_state(request: Request) -> ApiState:
    """The app's :class:`ApiState`."""
    state: ApiState = request.app.state.api
    return state


def get_pipeline(request: Request) -> Pipeline:
    """The pipeline, or 503 while the server is still starting."""
    state = get_state(request)
    if state.pipeline is None:
        message = state.startup_error or "the server is still starting; retry in a moment"
        raise ApiError(503, "unavailable", message, headers={"Retry-After": "2"})
    return state.pipeline


StateDep = Annotated[ApiState, Depends(get_state)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The server's RAG_API_KEY.")
_bearer = HTTPBearer(auto_error=False, description="The server's RAG_API_KEY as a bearer token.")


def require_api_key(
    request: Request,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> None:
    """Admit only requests carrying the server's API key; with no key configured, refuse all writes."""
    expected = get_state(request).server.api_key
    if not expected:
        raise ApiError(
            403,
            "writes_disabled",
            "write endpoints are disabled: the server has no API key (set RAG_API_KEY)",
        )
    given = api_key or (bearer.credentials if bearer else None)
    if not given:
        raise ApiError(
            401,
            "unauthorized",
            "an API key is required: send it as X-API-Key or Authorization: Bearer",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Constant-time comparison, so response timing does not reveal how much of a guess was right.
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise ApiError(401, "unauthorized", "wrong API key", headers={"WWW-Authenticate": "Bearer"})
