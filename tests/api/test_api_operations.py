"""Probes, metrics, start-up, CORS and the concurrency limiter (sessions: test_api_sessions.py)."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

import pytest
from conftest import make_app, make_pipeline, wait_ready
from fastapi.testclient import TestClient
from test_api_chat import assert_error

from api.errors import ApiError
from api.limits import ApiLimits, ConcurrencyLimiter
from rag.pipeline import Pipeline


def test_healthz_and_readyz(client: TestClient, pipeline: Pipeline) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    stats = pipeline.stats()
    assert ready["status"] == "ready"
    assert (ready["articles"], ready["chunks"], ready["model"]) == (
        stats["articles"],
        stats["chunks"],
        "hashing-256",
    )


def test_not_ready_while_loading_then_ready(pipeline: Pipeline) -> None:
    release = threading.Event()
    warm_up = pipeline.warm_up

    def slow_warm_up() -> None:
        release.wait(10)
        warm_up()

    pipeline.warm_up = slow_warm_up  # type: ignore[method-assign]
    with TestClient(make_app(pipeline)) as client:
        assert client.get("/healthz").status_code == 200
        assert_error(client.get("/readyz"), 503, "not_ready")
        release.set()
        assert wait_ready(client)["chunks"] > 0


def test_without_index_or_seeds_the_reason_is_reported(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path / "index", seeds_dir=tmp_path / "no-seeds")
    with TestClient(make_app(pipeline)) as client:
        for _ in range(200):
            response = client.get("/readyz")
            if "no index" in response.json()["error"]["message"]:
                break
            threading.Event().wait(0.01)
        message = assert_error(response, 503, "not_ready")
        assert "rag ingest" in message
        assert_error(client.post("/api/chat", json={"question": "进博会"}), 503, "index_not_found")
        assert client.get("/healthz").status_code == 200


def test_an_empty_index_folder_is_built_from_the_seeds(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path / "fresh")
    with TestClient(make_app(pipeline)) as client:
        assert wait_ready(client)["articles"] > 10
    assert (tmp_path / "fresh" / "manifest.json").is_file()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the Prometheus text format (0 if absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
            if got == wanted:
                return float(m.group(3))
    return 0.0


def test_metrics_count_requests_and_stage_times(client: TestClient) -> None:
    for _ in range(3):
        client.post("/api/chat", json={"question": "进博会山西展厅"})
    client.post("/api/chat", json={"question": ""})
    client.get("/api/articles/000000000000")
    text = client.get("/metrics").text
    chat = {"route": "/api/chat", "method": "POST"}
    assert metric(text, "rag_http_requests_total", **chat, status="200") == 3
    assert metric(text, "rag_http_requests_total", **chat, status="422") == 1
    route = "/api/articles/{article_id}"
    assert metric(text, "rag_http_requests_total", route=route, method="GET", status="404") == 1
    assert metric(text, "rag_http_request_duration_seconds_count", **chat) == 4
    assert metric(text, "rag_retrieve_seconds_count") == 3
    assert metric(text, "rag_generate_seconds_count") == 3
    assert metric(text, "rag_retrieve_seconds_sum") > 0
    assert 'le="0.1"' in text


def test_cors_is_off_by_default_and_configurable(pipeline: Pipeline) -> None:
    origin = {"Origin": "https://example.org"}
    with TestClient(make_app(pipeline)) as client:
        assert "access-control-allow-origin" not in client.get("/healthz", headers=origin).headers
    with TestClient(make_app(pipeline, cors_origins=["https://example.org"])) as client:
        response = client.options("/api/chat", headers={**origin, "Access-Control-Request-Method": "POST"})
        assert response.headers["access-control-allow-origin"] == "https://example.org"
        other = client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_chat_page_and_docs_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    for path in (
        "/api/chat",
        "/api/search",
        "/api/articles",
        "/api/articles/{article_id}",
        "/api/documents",
        "/v1/chat/completions",
        "/v1/models",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in schema["paths"], path
    for name, model in schema["components"]["schemas"].items():
        assert model.get("description"), f"{name} has no description"
        for field, spec in model.get("properties", {}).items():
            assert spec.get("description") or "$ref" in spec or name.startswith(("Body_", "HTTP")), (
                name,
                field,
            )


# -- the limiter ---------------------------------------------------------------------


def test_limiter_queues_then_refuses() -> None:
    async def scenario() -> list[str]:
        limiter = ConcurrencyLimiter(max_active=1, max_waiting=1, wait_seconds=0.2)
        outcomes: list[str] = []
        await limiter.acquire()  # the one slot is busy

        async def attempt(name: str) -> None:
            try:
                async with limiter.slot():
                    outcomes.append(f"{name} ran")
            except ApiError as err:
                assert err.status == 429 and err.headers and "Retry-After" in err.headers
                outcomes.append(f"{name} refused")

        waiter = asyncio.create_task(attempt("waiter"))
        await asyncio.sleep(0.01)
        await attempt("third")  # the queue (1) is full: refused at once
        limiter.release()  # the waiter gets the slot
        await waiter
        await limiter.acquire()
        await attempt("late")  # waits 0.2 s, then gives up
        limiter.release()
        assert limiter.active == 0 and limiter.waiting == 0
        return outcomes

    assert asyncio.run(scenario()) == ["third refused", "waiter ran", "late refused"]


@pytest.mark.parametrize("bad", [(0, 1, 1.0), (1, -1, 1.0), (1, 1, -1.0)])
def test_limiter_rejects_nonsense(bad: tuple[int, int, float]) -> None:
    with pytest.raises(ValueError):
        ConcurrencyLimiter(*bad)


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_API_MAX_ACTIVE", "3")
    monkeypatch.setenv("RAG_API_SESSION_TTL_SECONDS", "60")
    limits = ApiLimits()
    assert (limits.max_active, limits.session_ttl_seconds, limits.max_waiting) == (3, 60.0, 64)
    monkeypatch.setenv("RAG_API_MAX_ACTIVE", "0")
    with pytest.raises(ValueError):
        ApiLimits()


@pytest.mark.parametrize(
    "path",
    ["/../pyproject.toml", "/..%2f..%2fpyproject.toml", "/%2e%2e/%2e%2e/rag/settings.py", "/static/../../x"],
)
def test_no_path_leaves_the_static_folder(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "ruff" not in response.text and "BaseSettings" not in response.text
    assert_error(response, 404, "not_found")
