"""Probes and metrics: ``/healthz`` (alive), ``/readyz`` (index loaded), ``/metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import StateDep
from api.errors import ApiError
from api.metrics import CONTENT_TYPE
from api.routes.common import errors
from api.schemas import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    """The process is up and serving requests (the index may still be loading)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, summary="Readiness", responses=errors(503))
async def readyz(state: StateDep) -> Readiness:
    """The index and model are loaded: questions are answered without a loading delay."""
    pipeline = state.pipeline
    # Ready once warm-up finished; after a failed warm-up, once a later request loaded the index.
    warmed = state.ready or state.startup_error is not None
    if pipeline is None or not warmed or not pipeline.index_loaded:
        message = state.startup_error or "the index and model are still loading"
        raise ApiError(503, "not_ready", message, headers={"Retry-After": "2"})
    stats = pipeline.stats()
    return Readiness.model_validate(
        {
            "status": "ready",
            "model": stats["model"],
            "generator": stats["generator"],
            "dimension": stats["dimension"],
            "articles": stats["articles"],
            "chunks": stats["chunks"],
            "sources": len(stats["sources"]),  # type: ignore[arg-type]
        }
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format.",
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(state: StateDep) -> Response:
    """Requests by route and status, latency histograms, retrieval and generation time, queue depth."""
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
