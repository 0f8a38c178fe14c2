"""Back-pressure: a bounded number of pipeline calls at once, a bounded queue, 429 beyond it.

Pipeline calls are CPU-bound and run in worker threads.  Running many more of them at
once than the machine can serve only makes every one slower, and an unbounded queue
grows memory without limit under overload, so requests wait for a slot for at most
``wait_seconds`` in a queue of at most ``max_waiting``; beyond that they get 429.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error_response


def _default_active() -> int:
    # The model's forward passes are serialised (and batched) by rag.embed.BatchingEmbedder, so a slot
    # mostly waits there; more slots mean larger batches (measured on 2 cores with 8
    # clients: 2 slots 31 ms of server CPU per request, 4 slots 21 ms, 8 slots 16 ms).
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(8, 4 * cores)


class ApiLimits(BaseSettings):
    """Bounds of the HTTP layer (server tuning, not product settings); each is ``RAG_API_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="RAG_API_", frozen=True)

    max_active: int = Field(
        default_factory=_default_active, ge=1, description="Pipeline calls running at once."
    )
    max_waiting: int = Field(64, ge=0, description="Requests queued for a slot; beyond, 429.")
    wait_seconds: float = Field(15.0, ge=0, description="Longest wait for a slot; beyond, 429.")
    json_body_bytes: int = Field(256_000, ge=1024, description="Largest JSON request body.")
    max_upload_files: int = Field(20, ge=1, description="Most page files in one upload.")
    session_ttl_seconds: float = Field(
        3600.0, gt=0, description="A conversation is forgotten after this idle time."
    )
    max_sessions: int = Field(
        2000, ge=1, description="Most conversations kept (least recently used dropped)."
    )
    max_session_turns: int = Field(12, ge=2, description="Messages kept per conversation.")


class ConcurrencyLimiter:
    """Admits ``max_active`` callers at once and queues ``max_waiting`` more for ``wait_seconds``.

    Example:
        >>> limiter = ConcurrencyLimiter(max_active=2, max_waiting=8, wait_seconds=5)
        >>> async def handler():  # doctest: +SKIP
        ...     async with limiter.slot():
        ...         ...
    """

    def __init__(self, max_active: int, max_waiting: int, wait_seconds: float) -> None:
        if max_active < 1 or max_waiting < 0 or wait_seconds < 0:
            raise ValueError("max_active must be ≥ 1, max_waiting and wait_seconds ≥ 0")
        self.max_active = max_active
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore = asyncio.Semaphore(max_active)
        self.active = 0
        self.waiting = 0
        self.rejected = 0

    def _bind(self) -> asyncio.Semaphore:
        # An asyncio primitive belongs to one event loop; a test client may run the app
        # on a fresh loop, which starts with a fresh (idle) semaphore.
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._semaphore = asyncio.Semaphore(self.max_active)
            self.active = self.waiting = 0
        return self._semaphore

    def _overloaded(self, why: str) -> ApiError:
        self.rejected += 1
        retry = max(1, round(self.wait_seconds / 3))
        return ApiError(
            429,
            "overloaded",
            f"the server is busy ({why}); retry in a few seconds",
            headers={"Retry-After": str(retry)},
        )

    async def acquire(self) -> None:
        """Wait for a slot, or raise a 429 :class:`ApiError` when the queue is full or the wait too long."""
        semaphore = self._bind()
        if semaphore.locked() and self.waiting >= self.max_waiting:
            raise self._overloaded(f"{self.waiting} requests are already waiting")
        self.waiting += 1
        try:
            await asyncio.wait_for(semaphore.acquire(), timeout=self.wait_seconds)
        except TimeoutError:
            raise self._overloaded(f"no worker was free within {self.wait_seconds:g} s") from None
        finally:
            self.waiting -= 1
        self.active += 1

    def release(self) -> None:
        """Give the slot back."""
        self.active -= 1
        self._semaphore.release()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for the duration of the ``async with`` block."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class BodyLimitMiddleware:
    """Refuses request bodies larger than a limit (per path prefix) with 413, counting chunked bodies too."""

    def __init__(self, app: ASGIApp, default_limit: int, limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = dict(limits or {})

    def limit_for(self, path: str) -> int:
        """The body limit of ``path``."""
        for prefix, limit in self.limits.items():
            if path.startswith(prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = error_response(
                413, "payload_too_large", f"the request body is larger than {limit} bytes"
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the route's body read, where it becomes the JSON 413.
                    raise HTTPException(413, f"the request body is larger than {limit} bytes")
            return message

        await self.app(scope, counting_receive, send)
