"""`rag serve --workers 2` on one index: writes confirmed by one worker are every worker's truth.

A real server with two uvicorn worker processes over a private copy of the seed index
(hashing embedder, so no model loads): uploads and deletes interleaved with questions
from 8 clients, then a restart.  Conversations are shared through SQLite (the default)
or Redis.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import API_KEY, REPO
from test_api_sessions import _free_port, redis_url  # noqa: F401 - redis_url is a fixture

pytestmark = pytest.mark.slow

FIRST = "第八届进博会山西展厅面积多大？"
FOLLOW_UP = "那它有多少家企业参展？"


def _page(n: int) -> str:
    body = f"本报讯 太原市第{n}号民生工程今日竣工，总投资{n + 10}亿元，惠及居民{n * 100 + 7}户。"
    return f"太原民生工程{n}号竣工\n{body}"


@dataclass
class Server:
    """A `rag serve --workers N` process and its URL."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _start(index_dir: Path, workers: int, extra_env: dict[str, str]) -> Server:
    port = _free_port()
    log = index_dir.parent / f"serve-{port}.log"
    env = {
        **os.environ,
        "RAG_INDEX_DIR": str(index_dir),
        "RAG_SEEDS_DIR": str(REPO / "seeds"),
        "RAG_EMBEDDING_MODEL": "hashing:256",
        "RAG_API_KEY": API_KEY,
        **extra_env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--workers", str(workers)]
        + ["--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),  # noqa: SIM115 - the child owns it
        cwd=index_dir.parent,
    )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 300
    ready = 0
    # Each worker warms up on its own: ask until many answers in a row say ready.
    while ready < 10:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "rag serve --workers was not ready in 300 s"
        try:
            ready = ready + 1 if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200 else 0
        except httpx.TransportError:
            ready = 0
        time.sleep(0.05)
    return server


@dataclass
class Ledger:
    """What the server confirmed, and when, to judge every answer against."""

    uploaded: dict[str, float] = field(default_factory=dict)  # page name → confirmed at
    deleted: dict[str, float] = field(default_factory=dict)  # article id → confirmed at
    server_errors: list[str] = field(default_factory=list)
    other_errors: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    answers: int = 0
    follow_ups: list[bool] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, response: httpx.Response, what: str) -> bool:
        if response.status_code >= 500:
            with self.lock:
                self.server_errors.append(f"{what}: {response.status_code} {response.text[:200]}")
            return False
        if response.status_code >= 400:
            with self.lock:
                self.other_errors.append(f"{what}: {response.status_code} {response.text[:200]}")
            return False
        return True


def _writer(url: str, ledger: Ledger, operations: int) -> None:
    """Uploads, each checked visible on every worker at once, and deletes of earlier uploads."""
    headers = {"X-API-Key": API_KEY}
    pages: list[str] = []
    for n in range(operations):
        if n % 5 == 4 and pages:
            name = pages.pop(0)
            listed = httpx.get(f"{url}/api/articles", params={"source": name}, timeout=60)
            assert ledger.check(listed, f"list {name}"), ledger.other_errors
            [article] = listed.json()["articles"]
            response = httpx.delete(f"{url}/api/articles/{article['id']}", headers=headers, timeout=120)
            if ledger.check(response, f"delete {name}"):
                with ledger.lock:
                    ledger.deleted[article["id"]] = time.monotonic()
                    ledger.uploaded.pop(name)
            continue
        name = f"upload-{n:03d}.txt"
        files = {"files": (name, _page(n).encode("utf-8"), "text/plain")}
        response = httpx.post(f"{url}/api/documents", headers=headers, files=files, timeout=120)
        if not ledger.check(response, f"upload {name}"):
            continue
        assert response.json()["articles_added"] == 1, response.text
        with ledger.lock:
            ledger.uploaded[name] = time.monotonic()
        pages.append(name)
        # A 201 means every worker answers from it: new connections land on either worker.
        for _ in range(4):
            seen = httpx.get(f"{url}/api/articles", params={"source": name}, timeout=60)
            assert ledger.check(seen, f"see {name}") and seen.json()["total"] == 1, seen.text


def _reader(url: str, ledger: Ledger, questions: list[str], seed: int) -> None:
    """Questions (fresh connections, so both workers answer) and conversations across workers."""
    rng = random.Random(seed)
    for i, question in enumerate(questions):
        sent = time.monotonic()
        if i % 10 == 0:
            first = httpx.post(f"{url}/api/chat", json={"question": FIRST}, timeout=120)
            if not ledger.check(first, "first question"):
                continue
            follow = httpx.post(
                f"{url}/api/chat",
                json={"question": FOLLOW_UP, "session_id": first.json()["session_id"]},
                timeout=120,
            )
            if ledger.check(follow, "follow-up"):
                with ledger.lock:
                    ledger.follow_ups.append("山西展厅" in follow.json()["query"])
            continue
        body: dict[str, Any] = {"question": question, "top_k": rng.choice([3, 5])}
        response = httpx.post(f"{url}/api/chat", json=body, timeout=120)
        if not ledger.check(response, question):
            continue
        with ledger.lock:
            ledger.answers += 1
            for citation in response.json()["citations"]:
                removed = ledger.deleted.get(citation["article_id"])
                if removed is not None and removed < sent:
                    ledger.stale.append(
                        f"{question} cited {citation['article_id']}, deleted before it was asked"
                    )


def _questions(count: int) -> list[str]:
    dev = [json.loads(line)["question"] for line in (REPO / "eval" / "qa_dev.jsonl").open(encoding="utf-8")]
    uploads = [f"太原市第{n}号民生工程总投资多少亿元？" for n in range(50)]
    rng = random.Random(7)
    return [rng.choice(dev if i % 2 else uploads) for i in range(count)]


@pytest.fixture(params=["sqlite", "redis"])
def sessions_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "redis":
        return {"RAG_REDIS_URL": request.getfixturevalue("redis_url")}
    return {}


@pytest.fixture
def served(
    seed_index: Path, tmp_path: Path, sessions_env: dict[str, str]
) -> Iterator[tuple[Path, dict[str, str]]]:
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)
    yield index_dir, sessions_env


def test_two_workers_lose_no_write_answer_from_current_articles_and_share_conversations(served) -> None:
    index_dir, env = served
    server = _start(index_dir, 2, env)
    ledger = Ledger()
    try:
        questions = _questions(500)
        threads = [threading.Thread(target=_writer, args=(server.url, ledger, 50))] + [
            threading.Thread(target=_reader, args=(server.url, ledger, questions[i::8], i)) for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=900)
        assert not any(t.is_alive() for t in threads), "the load did not finish in 15 minutes"
    finally:
        server.stop()
    first_log = server.log
    assert ledger.server_errors == [], ledger.server_errors[:5]
    assert ledger.other_errors == [], ledger.other_errors[:5]
    assert ledger.stale == [], ledger.stale[:5]
    assert ledger.answers >= 440 and len(ledger.uploaded) == 30 and len(ledger.deleted) == 10
    assert ledger.follow_ups and all(ledger.follow_ups), ledger.follow_ups

    # After a restart (one worker this time) every confirmed write is there, and nothing deleted.
    server = _start(index_dir, 1, env)
    try:
        listed = httpx.get(f"{server.url}/api/articles", params={"limit": 1000}, timeout=60).json()
    finally:
        server.stop()
    sources = {a["source"] for a in listed["articles"]}
    ids = {a["id"] for a in listed["articles"]}
    assert set(ledger.uploaded) <= sources and not set(ledger.deleted) & ids
    assert listed["total"] == 44 + 30
    assert "Traceback" not in first_log.read_text() + server.log.read_text()
