"""Shared SQLite state: workers opening a new database at once all get a working connection."""

import multiprocessing
import os
import stat

from rag.sqlite_state import open_shared

SCHEMA = ("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)",)


def _open_and_write(path: str, start, results) -> None:
    from pathlib import Path

    start.wait()
    try:
        conn = open_shared(Path(path), SCHEMA, busy_timeout=10.0)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", (str(os.getpid()),))
        conn.execute("COMMIT")
        conn.close()
        results.put("ok")
    except Exception as err:  # reported to the parent, which asserts on it
        results.put(repr(err))


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for attempt in range(8):
        path = tmp_path / f"state{attempt}.sqlite3"
        start, results = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_open_and_write, args=(str(path), start, results)) for _ in range(4)]
        for proc in procs:
            proc.start()
        start.set()
        for proc in procs:
            proc.join(60)
        outcomes = [results.get(timeout=5) for _ in procs]
        assert outcomes == ["ok"] * 4, outcomes
        conn = open_shared(path, SCHEMA)
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 4
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()


def test_the_database_file_follows_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        open_shared(tmp_path / "s.sqlite3", SCHEMA).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "s.sqlite3").stat().st_mode) == 0o664
