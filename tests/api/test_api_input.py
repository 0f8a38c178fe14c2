"""One bad request fails only itself.

Text that is not valid Unicode is refused at the edge; a query that breaks the model fails
alone, not the queries batched with it; each failure is one log line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import LiveServer, make_app, make_pipeline
from fastapi.testclient import TestClient
from test_api_chat import assert_error

from rag.embed import HashingEmbedder

# Request bodies with TEXT where the text goes, one per field that carries text to the pipeline.
ENDPOINTS: list[tuple[str, str]] = [
    ("/api/chat", '{"question": "TEXT"}'),
    ("/api/chat", '{"question": "进博会", "filters": {"source": "TEXT"}}'),
    ("/api/search", '{"query": "TEXT"}'),
    ("/v1/chat/completions", '{"model": "m", "messages": [{"role": "user", "content": "TEXT"}]}'),
    (
        "/v1/chat/completions",
        '{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "TEXT"}]}]}',
    ),
    ("/v1/chat/completions", '{"model": "TEXT", "messages": [{"role": "user", "content": "hi"}]}'),
]
# JSON escapes, exactly as a client sends them.
BAD_TEXT = {
    "lone high surrogate": ("\\ud800", "lone surrogate U+D800"),
    "lone low surrogate": ("山西\\udc00展厅", "lone surrogate U+DC00 at character 2"),
    "NUL": ("进博会\\u0000", "control character U+0000"),
    "escape": ("\\u001b[31m红色", "control character U+001B"),
    "C1 control": ("\\u009b", "control character U+009B"),
}


def post_json(client: TestClient | httpx.Client, path: str, body: str | bytes) -> httpx.Response:
    return client.post(path, content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize(("path", "body"), ENDPOINTS)
@pytest.mark.parametrize("case", sorted(BAD_TEXT))
def test_unusable_text_is_a_422_on_every_endpoint(
    client: TestClient, path: str, body: str, case: str
) -> None:
    text, needle = BAD_TEXT[case]
    response = post_json(client, path, body.replace("TEXT", text))
    message = assert_error(response, 422, "invalid_input")
    assert needle in message
    message.encode("utf-8")  # the error itself is valid UTF-8 (no echo of the bad character)


@pytest.mark.parametrize("path", ["/api/chat", "/api/search", "/v1/chat/completions"])
def test_the_lone_surrogate_of_the_report_is_refused_with_4xx(client: TestClient, path: str) -> None:
    bodies = {
        "/api/chat": '{"question": "\\ud800"}',
        "/api/search": '{"query": "\\ud800"}',
        "/v1/chat/completions": '{"model": "m", "messages": [{"role": "user", "content": "\\ud800"}]}',
    }
    assert_error(post_json(client, path, bodies[path]), 422, "invalid_input")
    for stream in ("true", "false"):
        if path != "/api/search":
            streamed = bodies[path][:-1] + f', "stream": {stream}}}'
            assert_error(post_json(client, path, streamed), 422, "invalid_input")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"question": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8 (CESU-8 style)
        b'{"question": "\xff\xfe\xfa"}',  # bytes that are not UTF-8 at all
        b'{"question": "\xc3"}',  # a truncated UTF-8 sequence
    ],
)
def test_invalid_utf8_bodies_are_4xx(client: TestClient, raw: bytes) -> None:
    response = post_json(client, "/api/chat", raw)
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)


def test_tabs_and_line_breaks_are_still_welcome(client: TestClient) -> None:
    response = client.post("/api/chat", json={"question": "第八届进博会\t山西展厅\r\n面积有多大？"})
    assert response.status_code == 200, response.text


# -- a poisoned query among others ------------------------------------------------------------

MARKER = "毒丸"


class PoisonedEmbedder(HashingEmbedder):
    """The hashing embedder (same name as the seed index's) that takes a while and breaks on MARKER."""

    def __init__(self) -> None:
        super().__init__(256)
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            self.calls.append(list(texts))
        time.sleep(0.03)  # like a model: requests arriving meanwhile queue up into one batch
        if any(MARKER in t for t in texts):
            raise RuntimeError(f"tokenizer crashed on a batch of {len(texts)} texts\n" + "x" * 30_000)
        return super().encode_queries(texts)


def test_a_poisoned_query_fails_only_its_own_request(
    index_dir: Path, live_factory: Callable[..., LiveServer], caplog: pytest.LogCaptureFixture
) -> None:
    inner = PoisonedEmbedder()
    live = live_factory(make_pipeline(index_dir, embedder=inner, batch_queries=True))
    normal: list[int] = []
    poisoned: list[httpx.Response] = []
    lock = threading.Lock()

    def client(n: int, bad: bool) -> None:
        with httpx.Client(base_url=live.url, timeout=30) as http:
            for i in range(6):
                if bad:
                    response = http.post("/api/chat", json={"question": f"{MARKER}{n}-{i} 进博会"})
                elif i % 2:
                    response = http.post("/api/search", json={"query": f"山西展厅 面积 {n} {i}"})
                else:
                    response = http.post(
                        "/api/chat", json={"question": f"第八届进博会山西展厅面积有多大？{n}{i}"}
                    )
                with lock:
                    (poisoned.append(response) if bad else normal.append(response.status_code))

    caplog.set_level(logging.INFO)
    caplog.clear()
    threads = [threading.Thread(target=client, args=(n, n < 2)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert normal == [200] * 48
    assert len(poisoned) == 12
    for response in poisoned:
        message = assert_error(response, 500, "internal_error")
        assert "Traceback" not in message and "tokenizer" not in message
    # The poisoned queries really were batched with normal ones, and isolated afterwards.
    mixed = [call for call in inner.calls if len(call) > 1 and any(MARKER in t for t in call)]
    assert mixed, "no batch mixed a poisoned query with others; the test proves nothing"
    # Each failure is one log line, without a traceback (and without the 30 KB message).
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("api")]
    assert len(failures) == 12
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in failures)
    assert all(len(r.getMessage()) < 500 for r in failures)
    assert not [r for r in caplog.records if r.exc_info and r.levelno > logging.DEBUG]


def test_a_failure_logs_its_traceback_at_debug_level_only(
    index_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:

    pipeline = make_pipeline(index_dir, embedder=PoisonedEmbedder())
    with TestClient(make_app(pipeline), raise_server_exceptions=False) as client:
        caplog.set_level(logging.DEBUG, logger="api")
        caplog.clear()
        assert_error(client.post("/api/chat", json={"question": f"{MARKER} 进博会"}), 500, "internal_error")
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(errors) == 1 and errors[0].exc_info is None
    assert "RuntimeError: tokenizer crashed" in errors[0].getMessage()
    assert len(tracebacks) == 1 and tracebacks[0].levelno == logging.DEBUG
