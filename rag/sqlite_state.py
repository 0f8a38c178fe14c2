"""Opening a SQLite file that several worker processes share (conversations, feedback).

Two workers that open a new database at the same moment can both switch it to WAL mode
and create its tables; SQLite then fails one of them with ``disk I/O error`` (seen under
``rag serve --workers 2`` on the first question).  The set-up therefore runs under an OS
file lock beside the database, once per connection; the lock is not held afterwards.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from filelock import FileLock


def open_shared(path: Path, schema: Sequence[str], busy_timeout: float = 10.0) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode with ``schema`` (``CREATE … IF NOT EXISTS``) applied.

    The file is created ``0666`` less the umask (SQLite alone would make it ``0644``), so a
    group of users can share it; SQLite gives its ``-wal`` and ``-shm`` files the same mode.
    Transactions are begun explicitly (``isolation_level=None``). Raises ``sqlite3.Error``
    or ``OSError``; callers translate them into their own errors.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock", timeout=busy_timeout):
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o666))
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL survives a process crash; only a power cut may lose the last writes.
            conn.execute("PRAGMA synchronous = NORMAL")
            for statement in schema:
                conn.execute(statement)
        except BaseException:
            conn.close()
            raise
    return conn


__all__ = ["open_shared"]
