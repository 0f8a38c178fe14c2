"""Fixtures for the API tests: a fast pipeline over the seed pages and an app around it.

The pipeline uses the hashing embedder and the extractive generator, so no model is
loaded; the seed index is built once per session and copied for every test, so a
test that uploads or deletes never affects another.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.limits import ApiLimits
from api.settings import ServerSettings
from rag.build import GeneratorFactory, build_pipeline, default_generator
from rag.embed import HashingEmbedder
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.conftest import STORE_ENGINES

REPO = Path(__file__).resolve().parents[2]
API_KEY = "test-key-0123456789"


def _store_of(index_dir: Path) -> str | None:
    """The store engine the manifest in ``index_dir`` names (None: no index, or a damaged one)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        engine = (
            json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
            .get("store", {})
            .get("engine")
        )
        return engine if isinstance(engine, str) else None
    return None


def make_pipeline(
    index_dir: Path,
    embedder: Any = None,
    *,
    generator: GeneratorFactory = default_generator,
    batch_queries: bool = False,
    **overrides: Any,
) -> Pipeline:
    """A pipeline over the seeds with the hashing embedder (or ``embedder``) and the extractive generator,
    built by the same builder as the server's (``generator`` and ``batch_queries`` as there).

    The store engine is the one the index in ``index_dir`` was built with (faiss for a new one)
    unless ``store`` is given, so a test reopening its index needs not know which engine it runs on.
    """
    if "store" not in overrides and (engine := _store_of(index_dir)):
        overrides["store"] = engine
    settings = Settings(
        **{"seeds_dir": REPO / "seeds", "index_dir": index_dir, "embedding_model": "hashing:256", **overrides}
    )
    return build_pipeline(
        settings, embedder or HashingEmbedder(256), generator=generator, batch_queries=batch_queries
    )


def server_settings(**changes: Any) -> ServerSettings:
    """The test server's settings: the test API key (unless ``changes`` say otherwise), no ``.env``."""
    return ServerSettings(**{"api_key": API_KEY, **changes}, _env_file=None)


def make_app(pipeline: Pipeline, **server: Any) -> Any:
    """``create_app`` around ``pipeline`` with :func:`server_settings` changed by ``server``."""
    return create_app(pipeline=pipeline, server=server_settings(**server))


#: ``pytestmark = EVERY_STORE`` runs every test of a module over each store engine (the
#: pipeline, index and app fixtures follow :func:`store`).
EVERY_STORE = pytest.mark.parametrize("store", STORE_ENGINES, indirect=True)


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    """The store engine (``RAG_STORE``) of :func:`pipeline`: faiss, or each engine in turn in a
    module marked with :data:`EVERY_STORE` (milvus runs on milvus-lite)."""
    return str(getattr(request, "param", "faiss"))


@pytest.fixture(scope="session")
def seed_indexes(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``build(store)``: an index of the five seed pages on that engine, built once per engine."""
    built: dict[str, Path] = {}

    def build(store: str) -> Path:
        if store not in built:
            index_dir = tmp_path_factory.mktemp(f"seed-index-{store}") / "index"
            make_pipeline(index_dir, store=store).warm_up()
            built[store] = index_dir
        return built[store]

    return build


@pytest.fixture(scope="session")
def seed_index(seed_indexes: Callable[[str], Path]) -> Path:
    """An index of the five seed pages (FAISS), built once."""
    return seed_indexes("faiss")


@pytest.fixture
def index_dir(seed_indexes: Callable[[str], Path], store: str, tmp_path: Path) -> Path:
    """A private copy of the seed index of :func:`store` (a Milvus one holds its milvus-lite file)."""
    target = tmp_path / "index"
    shutil.copytree(seed_indexes(store), target)
    return target


@pytest.fixture
def pipeline(index_dir: Path) -> Pipeline:
    """A pipeline over a private copy of the seed index."""
    return make_pipeline(index_dir)


def wait_ready(client: TestClient | httpx.Client, timeout: float = 30.0) -> dict[str, Any]:
    """Poll /readyz until it answers 200; returns its JSON."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/readyz")
        if response.status_code == 200:
            return dict(response.json())
        if time.monotonic() > deadline:
            raise AssertionError(f"not ready after {timeout} s: {response.json()}")
        time.sleep(0.02)


@pytest.fixture
def client(pipeline: Pipeline) -> Iterator[TestClient]:
    """A test client of an app around ``pipeline`` with the test API key (started, ready)."""
    with TestClient(make_app(pipeline)) as test_client:
        wait_ready(test_client)
        yield test_client


@dataclass
class LiveServer:
    """The app served by uvicorn on a free loopback port, in a thread."""

    url: str
    app: Any
    server: Any = field(repr=False)
    thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for it."""
        self.server.should_exit = True
        self.thread.join(timeout=15)


def serve(app: Any) -> LiveServer:
    """Run ``app`` with uvicorn on 127.0.0.1 in a daemon thread; returns once it is ready."""
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    live = LiveServer(url=f"http://127.0.0.1:{port}", app=app, server=server, thread=thread)
    with httpx.Client(base_url=live.url, timeout=10) as http:
        wait_ready(http)
    return live


@pytest.fixture
def live_factory() -> Iterator[Callable[..., LiveServer]]:
    """Start live servers of ``create_app(pipeline=…, server=…, limits=…)``, all stopped after the test.

    ``server`` defaults to :func:`server_settings`."""
    started: list[LiveServer] = []

    def start(
        pipeline: Pipeline, limits: ApiLimits | None = None, server: ServerSettings | None = None
    ) -> LiveServer:
        live = serve(create_app(pipeline=pipeline, server=server or server_settings(), limits=limits))
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()
