"""Conversations for ``POST /api/chat``, in a store every worker shares: bounded in number, length and age.

``rag serve --workers N`` runs several processes, and a follow-up may reach any of them
(or a restarted one), so conversations cannot live in process memory.  Two stores keep
the same semantics:

- :class:`SqliteSessionStore` (default): ``sessions.sqlite3`` in the state folder
  (``RAG_STATE_DIR``, default ``<index_dir>/state``), safe across processes of one host;
- :class:`RedisSessionStore` when ``RAG_REDIS_URL`` is set, for replicas on several hosts.

Both forget a conversation ``ttl_seconds`` after its last use, keep its last
``max_turns`` messages and at most ``max_sessions`` conversations (the least recently
used goes first).  :meth:`SessionStore.history` answers ``None`` for an id the store
does not hold, so the route can say the conversation is gone instead of answering the
follow-up as a fresh question.

A conversation also counts the exchanges it has had, so ``history(id, keep=k)`` can take
back everything after its first ``k`` exchanges (an edited or regenerated question)
even when the oldest messages are no longer held.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import RagError
from rag.feedback import state_dir
from rag.settings import Settings
from rag.sqlite_state import open_shared
from rag.types import Turn

if TYPE_CHECKING:
    from api.limits import ApiLimits

#: File name of the SQLite store inside the state folder.
SQLITE_FILE = "sessions.sqlite3"


class SessionStoreError(RagError):
    """The conversation store cannot be read or written (Redis unreachable, disk full, locked too long)."""

    code = "unavailable"


class TurnsOutOfRangeError(RagError):
    """``keep`` asks for more earlier exchanges than the conversation has had (the client is out of step)."""

    code = "turns_out_of_range"

    def __init__(self, had: int, keep: int) -> None:
        super().__init__(
            f"this conversation has had {had} exchange{'s' if had != 1 else ''}, so turns={keep} cannot be "
            f"kept; send turns between 0 and {had}, or ask again without session_id to start a new one"
        )
        self.had = had
        self.keep = keep


def _kept_messages(count: int, asked: int, keep: int) -> int:
    """How many of the ``count`` messages held (the last of ``asked`` exchanges) precede exchange ``keep``."""
    first = asked - count // 2  # ordinal of the oldest exchange still held
    return 2 * max(0, min(count // 2, keep - first))


class SessionStore(ABC):
    """Conversations by id, shared by every worker of the server.

    A conversation is registered by its first :meth:`append` (when its first answer is
    given); ids from :meth:`new_id` mean nothing to the store until then.

    Args:
        ttl_seconds: a conversation is forgotten this long after its last use.
        max_sessions: most conversations kept; past it the least recently used is dropped.
        max_turns: messages kept per conversation (a question and its answer are two).
        clock: seconds since the epoch; wall-clock time, because it is compared across
            processes and restarts (tests inject a fake one).
    """

    def __init__(
        self,
        ttl_seconds: float = 3600.0,
        max_sessions: int = 2000,
        max_turns: int = 12,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl_seconds <= 0 or max_sessions < 1 or max_turns < 2:
            raise ValueError("ttl_seconds must be > 0, max_sessions ≥ 1 and max_turns ≥ 2")
        self.ttl_seconds = ttl_seconds
        self.max_sessions = max_sessions
        self.max_turns = max_turns
        self._clock = clock

    @staticmethod
    def new_id() -> str:
        """A fresh unguessable session id (22 URL-safe characters)."""
        return secrets.token_urlsafe(16)

    @abstractmethod
    def history(self, session_id: str, keep: int | None = None) -> tuple[Turn, ...] | None:
        """The turns of a live conversation, renewing its TTL; ``None`` when the store does not hold it.

        ``keep``: first forget every exchange after the first ``keep`` (one atomic step), as when
        the reader edits an earlier question or regenerates an answer.  Exchanges are counted
        from the conversation's first, including those no longer held (``max_turns``); a
        ``keep`` above that count raises :class:`TurnsOutOfRangeError` and changes nothing.
        """

    @abstractmethod
    def append(self, session_id: str, question: str, answer: str) -> None:
        """Record one exchange; registers the conversation if it is new."""

    @abstractmethod
    def __len__(self) -> int:
        """How many live conversations the store holds."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (the store is not used afterwards)."""


class SqliteSessionStore(SessionStore):
    """Conversations in one SQLite file, shared by the processes of one host.

    Each call is one ``BEGIN IMMEDIATE`` transaction, so concurrent appends from several
    workers are serialised by SQLite's lock and none is lost; WAL mode lets readers go on
    while one writes.  The file is created on first use, with the process umask.

    Example:
        >>> import tempfile
        >>> store = SqliteSessionStore(Path(tempfile.mkdtemp()) / "sessions.sqlite3", ttl_seconds=60)
        >>> store.append("abc", "山西展厅有多大？", "435平方米[1]")
        >>> [t.role for t in store.history("abc")]
        ['user', 'assistant']
        >>> store.history("unknown") is None
        True
    """

    def __init__(
        self,
        path: Path,
        ttl_seconds: float = 3600.0,
        max_sessions: int = 2000,
        max_turns: int = 12,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = 10.0,
    ) -> None:
        super().__init__(ttl_seconds, max_sessions, max_turns, clock)
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._guard = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        # One connection per thread (a connection must not be shared by threads running at
        # once), and per process: one inherited through fork is the parent's, never reused.
        pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == pid:
            return conn
        conn = open_shared(
            self.path,
            (
                "CREATE TABLE IF NOT EXISTS sessions ("
                " id TEXT PRIMARY KEY, turns TEXT NOT NULL, touched REAL NOT NULL, used INTEGER NOT NULL)",
                "CREATE INDEX IF NOT EXISTS sessions_touched ON sessions (touched)",
                "CREATE INDEX IF NOT EXISTS sessions_used ON sessions (used)",
            ),
            self.busy_timeout,
        )
        self._local.conn, self._local.pid = conn, pid
        with self._guard:
            self._connections.append((pid, conn))
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connect()
            # IMMEDIATE takes the write lock at once: a read-modify-write by two workers
            # cannot interleave (a deferred transaction would fail to upgrade instead).
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException as err:
            # Never leave the thread's connection inside a transaction (it would hold the lock).
            if conn is not None and conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error | OSError):
                raise SessionStoreError(f"the conversation store {self.path} cannot be used: {err}") from err
            raise

    @staticmethod
    def _touch(conn: sqlite3.Connection, session_id: str, turns: str, now: float) -> None:
        # `used` orders conversations by last use even when the clock does not move between
        # two uses (a coarse or injected clock), so eviction is exactly least-recently-used.
        conn.execute(
            "INSERT INTO sessions (id, turns, touched, used)"
            " VALUES (?, ?, ?, (SELECT COALESCE(MAX(used), 0) + 1 FROM sessions))"
            " ON CONFLICT (id) DO UPDATE SET turns = excluded.turns, touched = excluded.touched,"
            " used = excluded.used",
            (session_id, turns, now),
        )

    @staticmethod
    def _load(raw: str) -> tuple[int, list[dict[str, str]]]:
        """``(exchanges had, messages held)`` of a stored row."""
        data = json.loads(raw)
        if isinstance(data, list):  # written before the count was kept: nothing was trimmed, presumably
            return len(data) // 2, data
        return int(data["asked"]), data["messages"]

    @staticmethod
    def _dump(asked: int, messages: list[dict[str, str]]) -> str:
        return json.dumps({"asked": asked, "messages": messages}, ensure_ascii=False)

    def history(self, session_id: str, keep: int | None = None) -> tuple[Turn, ...] | None:
        """The turns of a live conversation, renewing its TTL; ``None`` when the store does not hold it."""
        with self._transaction() as conn:
            now = self._clock()
            conn.execute("DELETE FROM sessions WHERE touched < ?", (now - self.ttl_seconds,))
            row = conn.execute("SELECT turns FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                return None
            asked, turns = self._load(row[0])
            if keep is not None:
                if keep > asked:
                    raise TurnsOutOfRangeError(asked, keep)  # rolled back: nothing changes
                turns, asked = turns[: _kept_messages(len(turns), asked, keep)], keep
            self._touch(conn, session_id, self._dump(asked, turns), now)
        return tuple(Turn(t["role"], t["content"]) for t in turns)

    def append(self, session_id: str, question: str, answer: str) -> None:
        """Record one exchange; registers the conversation if it is new."""
        with self._transaction() as conn:
            now = self._clock()
            conn.execute("DELETE FROM sessions WHERE touched < ?", (now - self.ttl_seconds,))
            row = conn.execute("SELECT turns FROM sessions WHERE id = ?", (session_id,)).fetchone()
            asked, turns = self._load(row[0]) if row else (0, [])
            turns += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            self._touch(conn, session_id, self._dump(asked + 1, turns[-self.max_turns :]), now)
            conn.execute(
                "DELETE FROM sessions WHERE id IN"
                " (SELECT id FROM sessions ORDER BY used DESC LIMIT -1 OFFSET ?)",
                (self.max_sessions,),
            )

    def __len__(self) -> int:
        with self._transaction() as conn:
            since = self._clock() - self.ttl_seconds
            (count,) = conn.execute("SELECT COUNT(*) FROM sessions WHERE touched >= ?", (since,)).fetchone()
        return int(count)

    def close(self) -> None:
        """Close every connection this process opened."""
        with self._guard:
            connections, self._connections = self._connections, []
        for pid, conn in connections:
            if pid == os.getpid():  # one inherited through fork belongs to the parent
                conn.close()
        self._local = threading.local()


# Atomic on the Redis server, so two workers appending or evicting at once cannot lose a
# message or drop one conversation too many.  KEYS: the conversation's list, the index of
# last uses (a sorted set: id → time), the count of exchanges it has had (a string).  Times
# come from the caller's clock, so expiry is decided the same way as by the SQLite store;
# PEXPIRE also lets Redis free the memory.
_SWEEP = """
local function sweep(index, prefix, now, ttl, max_sessions)
    local stale = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. (now - ttl))
    for _, id in ipairs(stale) do redis.call('DEL', prefix .. 'turns:' .. id, prefix .. 'asked:' .. id) end
    redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. (now - ttl))
    local excess = redis.call('ZCARD', index) - max_sessions
    if excess > 0 then
        local popped = redis.call('ZPOPMIN', index, excess)
        for i = 1, #popped, 2 do
            redis.call('DEL', prefix .. 'turns:' .. popped[i], prefix .. 'asked:' .. popped[i])
        end
    end
end
"""

# ARGV: id, now, ttl seconds, ttl milliseconds, key prefix, [max_turns, max_sessions, question, answer]
_APPEND = (
    _SWEEP
    + """
local key, index, asked_key = KEYS[1], KEYS[2], KEYS[3]
local id, now, ttl, ttl_ms, prefix = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
sweep(index, prefix, now, ttl, math.huge)
if not redis.call('ZSCORE', index, id) then redis.call('DEL', key, asked_key) end
-- A conversation stored before the count was kept: nothing was trimmed, presumably.
local asked = tonumber(redis.call('GET', asked_key)) or math.floor(redis.call('LLEN', key) / 2)
redis.call('RPUSH', key, ARGV[8], ARGV[9])
redis.call('LTRIM', key, -tonumber(ARGV[6]), -1)
redis.call('SET', asked_key, asked + 1, 'PX', ttl_ms)
redis.call('PEXPIRE', key, ttl_ms)
redis.call('ZADD', index, now, id)
sweep(index, prefix, now, ttl, tonumber(ARGV[7]))
return 1
"""
)

_HISTORY = (
    _SWEEP
    + """
local key, index, asked_key = KEYS[1], KEYS[2], KEYS[3]
local id, now, ttl, ttl_ms, prefix = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
sweep(index, prefix, now, ttl, math.huge)
if not redis.call('ZSCORE', index, id) then return false end
local held = redis.call('LLEN', key)
local asked = tonumber(redis.call('GET', asked_key))
if not asked then
    if held == 0 then
        redis.call('ZREM', index, id)
        return false
    end
    asked = math.floor(held / 2)  -- stored before the count was kept
end
local keep = tonumber(ARGV[6])
if keep >= 0 then
    -- Too many: the number the conversation has had, and nothing changes.
    if keep > asked then return asked end
    -- Forget the exchanges after the first `keep` (an edited or regenerated question),
    -- counted from the first even when the oldest are no longer held.
    local kept = 2 * math.max(0, math.min(math.floor(held / 2), keep - (asked - math.floor(held / 2))))
    if kept == 0 then redis.call('DEL', key) else redis.call('LTRIM', key, 0, kept - 1) end
    redis.call('SET', asked_key, keep)
end
redis.call('PEXPIRE', key, ttl_ms)
redis.call('PEXPIRE', asked_key, ttl_ms)
redis.call('ZADD', index, now, id)
return redis.call('LRANGE', key, 0, -1)
"""
)


class RedisSessionStore(SessionStore):
    """Conversations in Redis, shared by every worker and replica that reaches it.

    Each conversation is a list ``<prefix>turns:<id>`` of JSON messages, trimmed with
    LTRIM to ``max_turns``, and a count ``<prefix>asked:<id>`` of its exchanges, both
    given a TTL with PEXPIRE on every use; a sorted set
    ``<prefix>index`` of last uses bounds their number.  Every call is one Lua script,
    atomic on the server.

    Example:
        >>> store = RedisSessionStore("redis://127.0.0.1:6379/0", ttl_seconds=3600)  # doctest: +SKIP
        >>> store.append("abc", "山西展厅有多大？", "435平方米[1]")  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        ttl_seconds: float = 3600.0,
        max_sessions: int = 2000,
        max_turns: int = 12,
        clock: Callable[[], float] = time.time,
        prefix: str = "rag:sessions:",
        timeout: float = 5.0,
    ) -> None:
        import redis  # the dependency is only needed when Redis is configured

        super().__init__(ttl_seconds, max_sessions, max_turns, clock)
        self.prefix = prefix
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        # The client connects lazily and its pool is thread-safe and fork-aware.
        self.client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )
        self._append = self.client.register_script(_APPEND)
        self._history = self.client.register_script(_HISTORY)
        self._where = url.rsplit("@", 1)[-1]  # no password in messages

    def _call(self, script: Any, session_id: str, *extra: object) -> Any:
        keys = [f"{self.prefix}turns:{session_id}", f"{self.prefix}index", f"{self.prefix}asked:{session_id}"]
        ttl_ms = max(1, round(self.ttl_seconds * 1000))
        args = [
            session_id,
            repr(self._clock()),
            repr(self.ttl_seconds),
            ttl_ms,
            self.prefix,
            *extra,
        ]
        with self._unavailable():
            return script(keys=keys, args=args)

    @contextmanager
    def _unavailable(self) -> Iterator[None]:
        # A Redis outage is a 503 with one line, not a traceback and a bare 500.
        try:
            yield
        except self._errors as err:
            raise SessionStoreError(
                f"the conversation store (Redis at {self._where}) cannot be used: {err}"
            ) from err

    def history(self, session_id: str, keep: int | None = None) -> tuple[Turn, ...] | None:
        """The turns of a live conversation, renewing its TTL; ``None`` when the store does not hold it."""
        turns = self._call(self._history, session_id, -1 if keep is None else keep)
        if turns is None:
            return None
        if isinstance(turns, int):  # the script's answer to a `keep` above the count
            raise TurnsOutOfRangeError(turns, keep if keep is not None else -1)
        return tuple(Turn(t["role"], t["content"]) for t in map(json.loads, turns))

    def append(self, session_id: str, question: str, answer: str) -> None:
        """Record one exchange; registers the conversation if it is new."""
        messages = [
            json.dumps({"role": role, "content": text}, ensure_ascii=False)
            for role, text in (("user", question), ("assistant", answer))
        ]
        self._call(self._append, session_id, self.max_turns, self.max_sessions, *messages)

    def __len__(self) -> int:
        with self._unavailable():
            return int(self.client.zcount(f"{self.prefix}index", self._clock() - self.ttl_seconds, "+inf"))

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def open_session_store(settings: Settings, limits: ApiLimits) -> SessionStore:
    """The store the settings ask for: Redis when ``RAG_REDIS_URL`` is set, else SQLite in the state folder.

    Nothing is opened yet: the SQLite file and the Redis connection are made on first use.
    """
    ttl, most, turns = limits.session_ttl_seconds, limits.max_sessions, limits.max_session_turns
    if settings.redis_url:
        return RedisSessionStore(settings.redis_url, ttl, most, turns)
    return SqliteSessionStore(state_dir(settings) / SQLITE_FILE, ttl, most, turns)
