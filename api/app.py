"""The FastAPI application: a thin HTTP layer over :class:`rag.pipeline.Pipeline`.

:func:`create_app` is the only entry point.  The pipeline is injected (tests) or
built from the settings when the app starts (``rag serve``); either way it is then
warmed up in a worker thread, so ``/healthz`` answers at once and ``/readyz`` turns
ready when the index and the model are loaded.  If no index exists it is built from
the seeds folder first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.deps import ApiState
from api.errors import install_error_handlers
from api.limits import ApiLimits, BodyLimitMiddleware, ConcurrencyLimiter
from api.metrics import Metrics, MetricsMiddleware
from api.routes import articles, chat, feedback, health, openai, vocabulary
from api.routes.common import document_body_errors
from api.schemas import ChatCompletionChunk, ChatDelta, ErrorResponse, declare_limits
from api.security import SecurityHeadersMiddleware
from api.sessions import open_session_store
from api.settings import ServerSettings
from rag.errors import RagError
from rag.feedback import open_feedback_store
from rag.pipeline import Pipeline
from rag.settings import Settings

log = logging.getLogger(__name__)

#: The chat page (owned by the page's own module), served at ``/``.
STATIC_DIR = Path(__file__).parent / "static"

_DESCRIPTION = """\
Cited question answering over Taiyuan Daily (太原日报) pages.

* `POST /api/chat` answers with `[n]` markers and their citations (exact quotes with offsets);
  `session_id` continues a conversation, `"stream": true` streams server-sent events.
* `POST /v1/chat/completions` and `GET /v1/models` speak OpenAI's protocol (citations in an extra field).
* `POST /api/documents` and `DELETE /api/articles/{id}` need the server's API key (`X-API-Key` or
  `Authorization: Bearer`); without `RAG_API_KEY` they are refused.

Every error has the shape `{"error": {"code": "...", "message": "..."}}`.
"""


async def _warm_up(state: ApiState) -> None:
    """Build the pipeline if needed, then load the index (or build it from the seeds) and the model."""
    try:
        if state.pipeline is None:
            from rag.build import build_pipeline

            # Concurrent questions share the embedding model's forward passes.
            state.pipeline = await run_in_threadpool(build_pipeline, state.settings, batch_queries=True)
        await run_in_threadpool(state.pipeline.warm_up)
    except RagError as err:
        state.startup_error = f"the index could not be loaded: {err}"
        log.error("%s", state.startup_error)
        return
    except Exception as err:  # noqa: BLE001 - reported by /readyz, never crash the server
        state.startup_error = f"start-up failed: {type(err).__name__}: {err}"
        log.exception("start-up failed")
        return
    state.startup_error = None
    state.ready = True
    log.info("ready: %s", state.pipeline.stats())


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ApiState = app.state.api
    task = asyncio.create_task(_warm_up(state))
    try:
        yield
    finally:
        if not task.done():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema plus the models that only travel inside server-sent events."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ChatDelta, ChatCompletionChunk, ErrorResponse):
        extra = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in extra.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components.setdefault(model.__name__, extra)
    # The published schema states the limits this server enforces (they are settings).
    state: ApiState = app.state.api
    declare_limits(
        schema,
        {
            "max_question_chars": state.settings.max_question_chars,
            "max_upload_files": state.limits.max_upload_files,
        },
    )
    document_body_errors(schema)
    app.openapi_schema = schema
    return schema


def create_app(
    settings: Settings | None = None,
    pipeline: Pipeline | None = None,
    *,
    server: ServerSettings | None = None,
    limits: ApiLimits | None = None,
    static_dir: Path | None = STATIC_DIR,
) -> FastAPI:
    """Build the app.

    Args:
        settings: configuration (default: from the environment, ``RAG_*``).
        pipeline: an already-built pipeline (tests); otherwise one is built from
            ``settings`` with :func:`rag.build.build_pipeline` at start-up.
        server: the server's own settings: API key, CORS, framing, upload size
            (default: from the environment, ``RAG_*``).
        limits: concurrency, queue, body-size and session bounds.
        static_dir: folder served at ``/`` (the chat page); None serves nothing.
    """
    settings = settings or (pipeline.settings if pipeline is not None else Settings())
    server = server or ServerSettings()
    limits = limits or ApiLimits()
    limiter = ConcurrencyLimiter(limits.max_active, limits.max_waiting, limits.wait_seconds)
    state = ApiState(
        settings=settings,
        server=server,
        limits=limits,
        limiter=limiter,
        sessions=open_session_store(settings, limits),
        metrics=Metrics(limiter),
        feedback=open_feedback_store(settings),
        pipeline=pipeline,
    )
    app = FastAPI(
        title="太原日报问答 API",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=_lifespan,
        openapi_tags=[
            {"name": "chat", "description": "Questions and search."},
            {"name": "articles", "description": "The parsed articles, uploads and deletions."},
            {"name": "openai", "description": "OpenAI-compatible endpoints."},
            {"name": "operations", "description": "Probes and metrics."},
        ],
    )
    app.state.api = state
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    install_error_handlers(app)
    for module in (chat, feedback, articles, openai, health, vocabulary):
        app.include_router(module.router)

    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=limits.json_body_bytes,
        limits={"/api/documents": articles.upload_body_limit(server.max_upload_bytes)},
    )
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    if server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=server.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            # Any request header: the official OpenAI SDKs in a browser send their own
            # (x-stainless-os, x-stainless-retry-count, …) besides Authorization and
            # Content-Type, and a preflight refusing one fails the call.  Nothing is lost:
            # no credentials mode (an API key is a header, never a cookie).
            allow_headers=["*"],
            # A 429 or 503 says when to retry; a script on another origin may read it.
            expose_headers=["Retry-After"],
            max_age=600,
        )
    # Outermost, so that every response gets the headers: errors, 413s and CORS preflights too.
    app.add_middleware(
        SecurityHeadersMiddleware,
        frame_ancestors=server.frame_ancestors,
        docs_paths=[p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p],
    )
    if static_dir is not None and static_dir.is_dir():
        # Mounted last: every API route above takes precedence over a file of the same path.
        app.mount("/", StaticFiles(directory=static_dir, html=True), name="static")
    return app
