"""A worker process of the concurrency test in test_api_sessions.py (a module of its own: light to spawn)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.sessions import RedisSessionStore, SessionStore, SqliteSessionStore

WORKERS, APPENDS = 4, 60


def append_many(kind: str, where: str, prefix: str, worker: int, start: Any) -> None:
    """APPENDS exchanges to the conversation all workers share, and as many to one of this worker's own."""
    store: SessionStore
    bounds = {"max_turns": 2 * WORKERS * APPENDS, "max_sessions": 100}
    if kind == "sqlite":
        store = SqliteSessionStore(Path(where), **bounds)
    else:
        store = RedisSessionStore(where, prefix=prefix, **bounds)
    start.wait(timeout=60)  # a barrier: all workers begin together, so their appends really interleave
    for i in range(APPENDS):
        store.append("shared", f"w{worker}-q{i}", f"w{worker}-a{i}")
        store.append(f"own-{worker}", f"q{i}", f"a{i}")
    store.close()
