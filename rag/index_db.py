"""The SQLite file that holds an index's records, shared by every generation that reads it.

Rows are versioned by generation: each carries the generation that ``added`` it and the
one that ``removed`` it (NULL while live), and a reader at generation *g* sees the rows
with ``added <= g`` and ``removed`` NULL or ``> g``.  A writer tags its rows with the
generation after the one it read; the manifest, replaced last, makes them visible.  Rows
a killed or failed writer left (tags past the manifest's generation) are rolled back by
the next writer before it writes (:meth:`RecordsDatabase.roll_back_after`).  Readers
and the writer may be in several processes and threads at once: the file is in WAL mode
(readers never wait for the writer) and every thread has its own connection.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: A row visible at generation ``?`` (bound twice).
VISIBLE = "added <= ? AND (removed IS NULL OR removed > ?)"


def visible(alias: str) -> str:
    """:data:`VISIBLE` for the table named ``alias`` in a join."""
    return f"{alias}.added <= ? AND ({alias}.removed IS NULL OR {alias}.removed > ?)"


#: The versioned tables.
TABLES = ("articles", "holders", "chunks")

SCHEMA = (
    # The generations first: reading them never walks the overflow pages of the sentence vectors.
    """CREATE TABLE IF NOT EXISTS articles (
        rid INTEGER PRIMARY KEY, added INTEGER NOT NULL, removed INTEGER, id TEXT NOT NULL,
        seq INTEGER NOT NULL, source TEXT NOT NULL, data TEXT NOT NULL, width INTEGER NOT NULL,
        spans BLOB NOT NULL, vectors BLOB NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS articles_id ON articles (id)",
    "CREATE INDEX IF NOT EXISTS articles_seq ON articles (seq)",
    """CREATE TABLE IF NOT EXISTS holders (
        article_id TEXT NOT NULL, source TEXT NOT NULL, added INTEGER NOT NULL, removed INTEGER)""",
    "CREATE INDEX IF NOT EXISTS holders_article ON holders (article_id)",
    "CREATE INDEX IF NOT EXISTS holders_source ON holders (source)",
    """CREATE TABLE IF NOT EXISTS chunks (
        rid INTEGER PRIMARY KEY, slot INTEGER NOT NULL, id TEXT NOT NULL, article_id TEXT NOT NULL,
        date TEXT NOT NULL, source TEXT NOT NULL, data TEXT NOT NULL,
        added INTEGER NOT NULL, removed INTEGER)""",
    "CREATE INDEX IF NOT EXISTS chunks_slot ON chunks (slot)",
    "CREATE INDEX IF NOT EXISTS chunks_id ON chunks (id)",
    "CREATE INDEX IF NOT EXISTS chunks_article ON chunks (article_id)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)
#: Indexes that keep a save and a count from scanning the rows (an article row holds its sentence
#: vectors): the roll-back reads ``added`` and ``removed``; counts, the page list and filters are
#: read from the covering indexes.
INDEXES = (
    *(f"CREATE INDEX IF NOT EXISTS {t}_added ON {t} (added, removed)" for t in TABLES),
    *(f"CREATE INDEX IF NOT EXISTS {t}_removed ON {t} (removed)" for t in TABLES),
    "CREATE INDEX IF NOT EXISTS articles_sources ON articles (source, added, removed)",
    "CREATE INDEX IF NOT EXISTS chunks_columns ON chunks (slot, date, source, added, removed)",
)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    # mode=rw: a file deleted under us (a compacted generation) is an error, not a new empty file.
    uri = f"file:{path}?mode={'rwc' if create else 'rw'}"
    conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA synchronous = FULL")  # a commit is on disk before the manifest names it
    return conn


class RecordsDatabase:
    """One records file: a connection per thread, transactions for the writer.

    Example:
        >>> db = RecordsDatabase.temporary()
        >>> db.query("SELECT COUNT(*) FROM chunks")
        [(0,)]
    """

    def __init__(self, path: Path, *, owned_folder: Path | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(self.path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._finalizer = weakref.finalize(self, _close, self._connections, owned_folder)
        self.query("SELECT COUNT(*) FROM meta")  # a file that is not a records database fails here

    @classmethod
    def create(cls, path: Path, *, owned_folder: Path | None = None) -> RecordsDatabase:
        """A new, empty records file at ``path`` (created with the process umask's mode)."""
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o666 & ~_umask()))
        os.chmod(path, 0o666 & ~_umask())
        conn = _connect(path, create=True)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            for statement in (*SCHEMA, *INDEXES):
                conn.execute(statement)
        finally:
            conn.close()
        return cls(path, owned_folder=owned_folder)

    @classmethod
    def temporary(cls) -> RecordsDatabase:
        """A records file in a private temporary folder, deleted with the object (an unsaved index)."""
        folder = Path(tempfile.mkdtemp(prefix="rag-records-"))
        return cls.create(folder / "records.sqlite3", owned_folder=folder)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            with self._guard:
                self._connections.append(conn)
            self._local.conn = conn
        return conn

    def query(self, sql: str, params: tuple[object, ...] | list[object] = ()) -> list[tuple[Any, ...]]:
        """Every row of a read."""
        return self.connection().execute(sql, params).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (committed at the end, rolled back on an exception)."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def roll_back_after(self, generation: int) -> None:
        """Undo what writers past ``generation`` did (a killed save, an abandoned draft)."""
        with self.transaction() as conn:
            for statement in INDEXES:  # (a file written before an index was added gets it here)
                conn.execute(statement)
            for table in TABLES:
                conn.execute(f"DELETE FROM {table} WHERE added > ?", (generation,))  # noqa: S608
                conn.execute(f"UPDATE {table} SET removed = NULL WHERE removed > ?", (generation,))  # noqa: S608

    def garbage(self) -> tuple[int, int]:
        """(removed chunk rows, all chunk rows): how much a compaction would drop."""
        row = self.query("SELECT COUNT(removed), COUNT(*) FROM chunks")[0]
        return int(row[0]), int(row[1])

    def write_copy(self, target: Path, generation: int, next_slot: int) -> None:
        """Write the rows visible at ``generation`` (as generation 0) to a new file ``target``."""
        fresh = RecordsDatabase.create(target)
        conn = fresh.connection()
        try:
            conn.execute("ATTACH DATABASE ? AS src", (f"file:{self.path}?mode=ro",))
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO articles (id, seq, source, data, width, spans, vectors, added) "
                f"SELECT id, seq, source, data, width, spans, vectors, 0 FROM src.articles WHERE {VISIBLE} "
                "ORDER BY seq",
                (generation, generation),
            )
            conn.execute(
                "INSERT INTO holders (article_id, source, added) "
                f"SELECT article_id, source, 0 FROM src.holders WHERE {VISIBLE}",
                (generation, generation),
            )
            conn.execute(
                "INSERT INTO chunks (slot, id, article_id, date, source, data, added) "
                f"SELECT slot, id, article_id, date, source, data, 0 FROM src.chunks WHERE {VISIBLE} "
                "ORDER BY slot",
                (generation, generation),
            )
            conn.execute("INSERT INTO meta (key, value) VALUES ('next_slot', ?)", (next_slot,))
            conn.execute("COMMIT")
            conn.execute("DETACH DATABASE src")
        finally:
            fresh.close()

    def close(self) -> None:
        """Close every thread's connection (the last close folds the WAL into the file)."""
        self._finalizer()


def _close(connections: list[sqlite3.Connection], folder: Path | None) -> None:
    for conn in connections:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
    connections.clear()
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = ["VISIBLE", "RecordsDatabase", "visible"]
