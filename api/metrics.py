"""Prometheus metrics: requests by route and status, latency, and time spent per pipeline stage.

Each app owns its registry, so several apps (tests) never collide on metric names.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.limits import ConcurrencyLimiter

_LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
_STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The app's metrics and their text exposition."""

    def __init__(self, limiter: ConcurrencyLimiter | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rag_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rag_http_request_duration_seconds",
            "Time to the end of the response, by route and method.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.retrieve = Histogram(
            "rag_retrieve_seconds",
            "Time spent retrieving passages per question.",
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.generate = Histogram(
            "rag_generate_seconds",
            "Time spent composing an answer per question.",
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "rag_answers",
            "Answers by outcome (answered or refused).",
            ["outcome"],
            registry=self.registry,
        )
        if limiter is not None:
            active = Gauge("rag_pipeline_active", "Pipeline calls running now.", registry=self.registry)
            active.set_function(lambda: limiter.active)
            waiting = Gauge(
                "rag_pipeline_waiting", "Requests waiting for a pipeline slot.", registry=self.registry
            )
            waiting.set_function(lambda: limiter.waiting)

    def observe_answer(self, timings: Mapping[str, float], refused: bool) -> None:
        """Record the stage timings (milliseconds) and outcome of one answer."""
        if "retrieve_ms" in timings:
            self.retrieve.observe(timings["retrieve_ms"] / 1000)
        if "generate_ms" in timings:
            self.generate.observe(timings["generate_ms"] / 1000)
        self.answers.labels("refused" if refused else "answered").inc()

    def render(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


def _route_label(scope: Scope) -> str:
    """The matched route's template (``/api/articles/{article_id}``), so labels stay few."""
    route = scope.get("route")
    if isinstance(route, Mount):
        return "static"
    path = getattr(route, "path", None)
    # Requests refused before routing (an oversized body) have no route.
    return path if isinstance(path, str) else "unmatched"


class MetricsMiddleware:
    """Counts every HTTP request and times it to the end of its response body."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = _route_label(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)
