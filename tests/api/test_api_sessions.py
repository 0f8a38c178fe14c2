"""Conversations shared by workers (api/sessions.py): SQLite and Redis stores, /api/chat across apps.

The Redis tests start their own ``redis-server`` on a free loopback port in a temporary
folder (``bash scripts/install-redis.sh`` installs Debian's package).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import make_app, make_pipeline, wait_ready
from fastapi.testclient import TestClient
from session_worker import APPENDS, WORKERS, append_many
from test_api_chat import AREA_Q, assert_error, sse_events

from api.errors import status_of
from api.limits import ApiLimits
from api.sessions import (
    SQLITE_FILE,
    RedisSessionStore,
    SessionStore,
    SessionStoreError,
    SqliteSessionStore,
    TurnsOutOfRangeError,
    open_session_store,
)
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Turn

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on a free port (no persistence), stopped after the module."""
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.skip("redis-server is not installed (run `sudo bash scripts/install-redis.sh`)")
    folder = tmp_path_factory.mktemp("redis")
    for _attempt in range(5):
        port = _free_port()
        process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
            + ["--save", "", "--appendonly", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()
        if process.poll() is None and time.monotonic() < deadline:
            break
        process.kill()  # the port was taken in between, or it hung: try another
        process.wait()
    else:
        raise RuntimeError("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


StoreFactory = Callable[..., SessionStore]


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Build stores of one kind over one shared place (a SQLite file, or a Redis key prefix)."""
    made: list[SessionStore] = []
    if request.param == "sqlite":
        path = tmp_path / "state" / SQLITE_FILE

        def build(**bounds: Any) -> SessionStore:
            return SqliteSessionStore(path, **bounds)
    else:
        url = request.getfixturevalue("redis_url")
        prefix = f"test-{uuid.uuid4().hex}:"

        def build(**bounds: Any) -> SessionStore:
            return RedisSessionStore(url, prefix=prefix, **bounds)

    def make(**bounds: Any) -> SessionStore:
        store = build(**bounds)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


# -- semantics, the same for both stores -------------------------------------------


def test_a_conversation_is_registered_by_its_first_answer(make_store: StoreFactory) -> None:
    store = make_store()
    session = store.new_id()
    assert store.history(session) is None, "an issued id means nothing until an answer is recorded"
    store.append(session, "山西展厅有多大？", "435平方米[1]")
    store.append(session, "其中太原有几家？", "7家[1]")
    turns = store.history(session)
    assert turns is not None
    assert [(t.role, t.content) for t in turns] == [
        ("user", "山西展厅有多大？"),
        ("assistant", "435平方米[1]"),
        ("user", "其中太原有几家？"),
        ("assistant", "7家[1]"),
    ]
    assert store.history("never-issued") is None and store.history(store.new_id()) is None
    assert len(store) == 1


def test_a_conversation_expires_ttl_seconds_after_its_last_use(make_store: StoreFactory) -> None:
    clock = Clock()
    store = make_store(ttl_seconds=10, clock=clock)
    start = clock.now
    store.append("read", "q1", "a1")
    store.append("idle", "q1", "a1")
    clock.now = start + 9
    assert store.history("read") is not None  # reading is a use: it renews the TTL
    clock.now = start + 15
    assert store.history("idle") is None
    assert store.history("read") is not None
    store.append("read", "q2", "a2")  # so is answering
    clock.now = start + 24.9
    turns = store.history("read")
    assert turns is not None and [t.content for t in turns] == ["q1", "a1", "q2", "a2"]
    clock.now = start + 35
    assert store.history("read") is None and len(store) == 0
    # An expired id is not revived by reading it; a new answer starts it afresh.
    store.append("read", "q3", "a3")
    turns = store.history("read")
    assert turns is not None and [t.content for t in turns] == ["q3", "a3"]


def test_only_the_last_max_turns_messages_are_kept(make_store: StoreFactory) -> None:
    store = make_store(max_turns=4)
    for i in range(5):
        store.append("s", f"q{i}", f"a{i}")
    turns = store.history("s")
    assert turns is not None
    assert [(t.role, t.content) for t in turns] == [
        ("user", "q3"),
        ("assistant", "a3"),
        ("user", "q4"),
        ("assistant", "a4"),
    ]


def test_the_least_recently_used_conversation_is_evicted(make_store: StoreFactory) -> None:
    clock = Clock()
    store = make_store(max_sessions=3, clock=clock)
    for name in ("s0", "s1", "s2"):
        clock.now += 1
        store.append(name, "q", "a")
    clock.now += 1
    assert store.history("s0") is not None  # s0 used again: s1 is now the least recent
    clock.now += 1
    store.append("s3", "q", "a")
    assert len(store) == 3
    assert store.history("s1") is None
    assert all(store.history(name) is not None for name in ("s0", "s2", "s3"))
    for i in range(10):
        clock.now += 1
        store.append(f"more{i}", "q", "a")
    assert len(store) == 3
    assert [store.history(f"more{i}") is not None for i in range(10)] == [False] * 7 + [True] * 3


def test_two_store_objects_on_one_place_see_each_others_writes(make_store: StoreFactory) -> None:
    # As two workers (or a worker before and after a restart) would.
    first, second = make_store(), make_store()
    first.append("s", "q1", "a1")
    turns = second.history("s")
    assert turns is not None and [t.content for t in turns] == ["q1", "a1"]
    second.append("s", "q2", "a2")
    turns = first.history("s")
    assert turns is not None and [t.content for t in turns] == ["q1", "a1", "q2", "a2"]
    first.close()
    third = make_store()
    assert third.history("s") is not None and len(third) == 1


def test_bounds_are_checked() -> None:
    for bounds in ({"ttl_seconds": 0}, {"max_sessions": 0}, {"max_turns": 1}):
        with pytest.raises(ValueError):
            SqliteSessionStore(Path("unused.sqlite3"), **bounds)


def test_session_ids_are_fresh() -> None:
    ids = {SessionStore.new_id() for _ in range(100)}
    assert len(ids) == 100 and all(
        len(i) >= 16 and i.replace("-", "").replace("_", "").isalnum() for i in ids
    )


# -- several processes at once ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_processes_appending_at_once_lose_nothing(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        where, prefix = str(tmp_path / "state" / SQLITE_FILE), ""
        store: SessionStore = SqliteSessionStore(Path(where))
    else:
        where, prefix = request.getfixturevalue("redis_url"), f"test-{uuid.uuid4().hex}:"
        store = RedisSessionStore(where, prefix=prefix)
    # spawn, not fork: the test process runs threads (servers, thread pools) a fork would copy mid-lock.
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    processes = [
        context.Process(target=append_many, args=(kind, where, prefix, worker, start))
        for worker in range(WORKERS)
    ]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    shared = store.history("shared")
    assert shared is not None and len(shared) == 2 * WORKERS * APPENDS
    for worker in range(WORKERS):
        # Every exchange is there, each answer right after its question, in each worker's order.
        mine = [t.content for t in shared if t.content.startswith(f"w{worker}-")]
        assert mine == [f"w{worker}-{kind_}{i}" for i in range(APPENDS) for kind_ in ("q", "a")]
        own = store.history(f"own-{worker}")
        assert own is not None and [t.content for t in own] == [
            x for i in range(APPENDS) for x in (f"q{i}", f"a{i}")
        ]
    pairs = [(shared[i].content, shared[i + 1].content) for i in range(0, len(shared), 2)]
    assert all(q.replace("-q", "-a") == a for q, a in pairs)
    assert len(store) == WORKERS + 1
    store.close()


# -- what each store does underneath ------------------------------------------------------


def test_sqlite_store_is_one_wal_file_created_with_the_process_umask(tmp_path: Path) -> None:
    path = tmp_path / "state" / SQLITE_FILE
    store = SqliteSessionStore(path)
    assert not path.exists(), "nothing is created before the first use"
    old = os.umask(0o002)
    try:
        store.append("s", "q", "a")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_sqlite_store_that_cannot_be_created_is_a_clear_503(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the folder should be")
    store = SqliteSessionStore(tmp_path / "state" / SQLITE_FILE)
    with pytest.raises(SessionStoreError, match="conversation store") as caught:
        store.append("s", "q", "a")
    assert status_of(caught.value) == 503 and caught.value.code == "unavailable"


def test_redis_keeps_a_trimmed_list_with_a_ttl_per_conversation(redis_url: str) -> None:
    prefix = f"test-{uuid.uuid4().hex}:"
    store = RedisSessionStore(redis_url, ttl_seconds=30, max_turns=4, prefix=prefix)
    for i in range(3):
        store.append("s", f"q{i}", f"a{i}")
    key = f"{prefix}turns:s"
    assert store.client.llen(key) == 4 and store.client.get(f"{prefix}asked:s") == "3"
    assert 0 < store.client.pttl(key) <= 30_000 and 0 < store.client.pttl(f"{prefix}asked:s") <= 30_000
    # Redis itself forgets an idle conversation (its real clock, not the caller's).
    quick = RedisSessionStore(redis_url, ttl_seconds=0.2, prefix=prefix)
    quick.append("brief", "q", "a")
    assert quick.client.exists(f"{prefix}turns:brief") == 1
    time.sleep(0.4)
    assert quick.client.exists(f"{prefix}turns:brief", f"{prefix}asked:brief") == 0
    assert quick.history("brief") is None
    # An evicted conversation leaves no count behind either.
    one = RedisSessionStore(redis_url, max_sessions=1, prefix=f"test-{uuid.uuid4().hex}:")
    one.append("first", "q", "a")
    one.append("second", "q", "a")
    assert one.client.exists(f"{one.prefix}turns:first", f"{one.prefix}asked:first") == 0
    assert one.client.get(f"{one.prefix}asked:second") == "1"
    one.close()
    store.close()
    quick.close()


def test_unreachable_redis_is_a_clear_503() -> None:
    store = RedisSessionStore(f"redis://:secret@127.0.0.1:{_free_port()}/0", timeout=1)
    with pytest.raises(SessionStoreError, match="Redis at 127.0.0.1") as caught:
        store.history("s")
    assert status_of(caught.value) == 503 and "secret" not in str(caught.value)


def test_the_settings_pick_the_store(tmp_path: Path) -> None:
    limits = ApiLimits(session_ttl_seconds=60, max_sessions=7, max_session_turns=4)
    default = open_session_store(Settings(index_dir=tmp_path / "index"), limits)
    assert isinstance(default, SqliteSessionStore)
    assert default.path == tmp_path / "index" / "state" / SQLITE_FILE
    assert (default.ttl_seconds, default.max_sessions, default.max_turns) == (60, 7, 4)
    moved = open_session_store(
        Settings(index_dir=tmp_path / "index", state_dir=tmp_path / "elsewhere"), limits
    )
    assert isinstance(moved, SqliteSessionStore) and moved.path == tmp_path / "elsewhere" / SQLITE_FILE
    remote = open_session_store(Settings(redis_url="redis://127.0.0.1:1/0"), limits)
    assert isinstance(remote, RedisSessionStore) and remote.max_sessions == 7
    assert not (tmp_path / "index").exists(), "choosing a store creates nothing"


# -- /api/chat across app instances ---------------------------------------------------------

FIRST_Q = "杏花岭区委书记侯森去哪里考察学习？"
FOLLOW_UP = "他有什么感受？"


def _about_hou_sen(answer: dict[str, Any]) -> bool:
    return not answer["refused"] and all(
        "侯森" in c["title"] or "侯森" in c["quote"] or "合肥" in c["quote"] for c in answer["citations"]
    )


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_follow_up_is_resolved_by_another_app_instance(
    index_dir: Path, backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "redis":
        monkeypatch.setenv("RAG_REDIS_URL", request.getfixturevalue("redis_url"))
    # Two pipelines over one index folder, as two workers (or one worker before and after a restart).
    with TestClient(make_app(make_pipeline(index_dir))) as first:
        wait_ready(first)
        session = first.post("/api/chat", json={"question": FIRST_Q}).json()["session_id"]
    with TestClient(make_app(make_pipeline(index_dir))) as second:
        wait_ready(second)
        followup = second.post("/api/chat", json={"question": FOLLOW_UP, "session_id": session}).json()
        assert followup["session_id"] == session and _about_hou_sen(followup), followup
        streamed = second.post(
            "/api/chat", json={"question": FOLLOW_UP, "session_id": session, "stream": True}
        )
        done = sse_events(streamed.text)[-1]
        assert done[0] == "done" and _about_hou_sen(done[1])
    state = index_dir / "state" / SQLITE_FILE
    assert state.exists() == (backend == "sqlite")


def test_an_unknown_session_is_session_expired_not_a_fresh_answer(
    client: TestClient, pipeline: Pipeline
) -> None:
    for body in (
        {"question": FOLLOW_UP, "session_id": "never-issued"},
        {"question": AREA_Q, "session_id": SessionStore.new_id(), "stream": True},
    ):
        message = assert_error(client.post("/api/chat", json=body), 410, "session_expired")
        assert "new conversation" in message and "without session_id" in message
    # After the store is wiped (or the conversation expired) the id is refused the same way.
    session = client.post("/api/chat", json={"question": FIRST_Q}).json()["session_id"]
    assert client.post("/api/chat", json={"question": FOLLOW_UP, "session_id": session}).status_code == 200
    store = client.app.state.api.sessions  # type: ignore[attr-defined]
    assert isinstance(store, SqliteSessionStore)
    with sqlite3.connect(store.path) as conn:
        conn.execute("DELETE FROM sessions")
    assert_error(
        client.post("/api/chat", json={"question": FOLLOW_UP, "session_id": session}), 410, "session_expired"
    )
    # The documented status of the route.
    responses = client.get("/openapi.json").json()["paths"]["/api/chat"]["post"]["responses"]
    assert "session_expired" in responses["410"]["description"]


def _contents(turns: tuple[Turn, ...] | None) -> list[str] | None:
    return None if turns is None else [t.content for t in turns]


def test_keep_takes_back_the_exchanges_after_the_first_ones(make_store: StoreFactory) -> None:
    store = make_store(max_turns=4)
    session = store.new_id()
    for n in range(4):
        store.append(session, f"q{n}", f"a{n}")
    # Four exchanges had, the last two held. Too many to keep: refused, and nothing changes.
    with pytest.raises(TurnsOutOfRangeError, match="has had 4 exchanges") as caught:
        store.history(session, keep=5)
    assert caught.value.had == 4 and status_of(caught.value) == 409
    assert _contents(store.history(session, keep=4)) == ["q2", "a2", "q3", "a3"]
    # Counted from the conversation's first exchange, not from the first one still held.
    assert _contents(store.history(session, keep=3)) == ["q2", "a2"]
    assert _contents(store.history(session)) == ["q2", "a2"], "forgotten in the store, not only in the reply"
    store.append(session, "q3b", "a3b")
    assert _contents(store.history(session)) == ["q2", "a2", "q3b", "a3b"]
    # Back to before every held exchange: none left, but the conversation and its count stay.
    assert _contents(store.history(session, keep=1)) == []
    store.append(session, "q1b", "a1b")
    assert _contents(store.history(session)) == ["q1b", "a1b"]
    with pytest.raises(TurnsOutOfRangeError, match="has had 2 exchanges"):
        store.history(session, keep=3)
    assert _contents(store.history(session, keep=0)) == [] and _contents(store.history(session)) == []
    assert len(store) == 1 and store.history(store.new_id(), keep=0) is None
    store.append(session, "q0c", "a0c")
    with pytest.raises(TurnsOutOfRangeError, match="has had 1 exchange,"):
        store.history(session, keep=2)


def test_conversations_stored_before_the_count_was_kept_still_work(tmp_path: Path, redis_url: str) -> None:
    # Rows written by the previous version: a bare list of messages, no count (assumed untrimmed).
    old = [
        json.dumps({"role": r, "content": f"{r}{n}"}, ensure_ascii=False)
        for n in range(2)
        for r in ("q", "a")
    ]
    sqlite_store = SqliteSessionStore(tmp_path / SQLITE_FILE)
    sqlite_store.append("s", "x", "y")  # creates the table
    with sqlite3.connect(sqlite_store.path) as conn:
        conn.execute("UPDATE sessions SET turns = ? WHERE id = 's'", (f"[{', '.join(old)}]",))
    prefix = f"test-{uuid.uuid4().hex}:"
    redis_store = RedisSessionStore(redis_url, prefix=prefix)
    redis_store.client.rpush(f"{prefix}turns:s", *old)
    redis_store.client.zadd(f"{prefix}index", {"s": time.time()})
    for store in (sqlite_store, redis_store):
        assert _contents(store.history("s")) == ["q0", "a0", "q1", "a1"]
        assert _contents(store.history("s", keep=1)) == ["q0", "a0"]
        store.append("s", "q1b", "a1b")
        assert _contents(store.history("s")) == ["q0", "a0", "q1b", "a1b"]
        with pytest.raises(TurnsOutOfRangeError):
            store.history("s", keep=3)
        store.close()


def _ask(client: TestClient, question: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/chat", json={"question": question, **fields})
    assert response.status_code == 200, response.text
    if fields.get("stream"):
        name, done = sse_events(response.text)[-1]
        assert name == "done", done
        return dict(done)
    return dict(response.json())


def test_a_follow_up_after_an_edit_is_read_against_the_edited_question(client: TestClient) -> None:
    def conversation(edit: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        session = _ask(client, FIRST_Q)["session_id"]
        _ask(client, AREA_Q, session_id=session)
        # The reader edits question 2 (about 进博会) into a follow-up of question 1 (about 侯森).
        edited = _ask(client, FOLLOW_UP, session_id=session, **edit)
        after = _ask(client, "后来呢？", session_id=session, stream=True)
        assert edited["session_id"] == after["session_id"] == session
        return edited, after

    edited, after = conversation({"turns": 1, "stream": True})
    # `query` is the standalone question searched: both are read against 侯森, not the question taken back.
    for answer in (edited, after):
        assert "侯森" in answer["query"] and "进博会" not in answer["query"], answer["query"]
    assert _about_hou_sen(edited), edited
    # Without `turns` the old question stays in the conversation, and the follow-ups are read against it.
    kept_old = conversation({})
    assert all("进博会" in answer["query"] and "侯森" not in answer["query"] for answer in kept_old)


def test_turns_out_of_range_is_a_clear_409_that_forgets_nothing(client: TestClient) -> None:
    session = _ask(client, FIRST_Q)["session_id"]
    for body in ({"session_id": session, "turns": 2}, {"session_id": session, "turns": 2, "stream": True}):
        message = assert_error(
            client.post("/api/chat", json={"question": FOLLOW_UP, **body}), 409, "turns_out_of_range"
        )
        assert "has had 1 exchange" in message and "turns=2" in message
    message = assert_error(
        client.post("/api/chat", json={"question": FOLLOW_UP, "turns": 1}), 409, "turns_out_of_range"
    )
    assert "has had 0 exchanges" in message
    assert_error(
        client.post("/api/chat", json={"question": FOLLOW_UP, "session_id": session, "turns": -1}),
        422,
        "invalid_input",
    )
    # Nothing was forgotten: the follow-up still has its subject. turns=0 keeps the session, not its turns.
    assert "侯森" in _ask(client, FOLLOW_UP, session_id=session)["query"]
    fresh = _ask(client, FOLLOW_UP, session_id=session, turns=0)
    assert fresh["session_id"] == session and "侯森" not in fresh["query"]
    assert_error(
        client.post("/api/chat", json={"question": FOLLOW_UP, "turns": 0, "session_id": "never-issued"}),
        410,
        "session_expired",
    )
    responses = client.get("/openapi.json").json()["paths"]["/api/chat"]["post"]["responses"]
    assert "turns_out_of_range" in responses["409"]["description"]
    assert client.get("/api/vocabulary").json()["error_codes"]["turns_out_of_range"] == 409
