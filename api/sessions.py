"""Server-side conversations for ``POST /api/chat``: bounded in number, length and age."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.types import Turn


@dataclass
class _Session:
    turns: list[Turn] = field(default_factory=list)
    touched: float = 0.0


class SessionStore:
    """Conversations by id: least recently used evicted past ``max_sessions``, expired after ``ttl_seconds``.

    Each conversation keeps its last ``max_turns`` turns, so memory is bounded by
    ``max_sessions × max_turns`` messages whatever the clients do.

    Example:
        >>> store = SessionStore(ttl_seconds=60, max_sessions=10, max_turns=4)
        >>> store.append("abc", "山西展厅有多大？", "435平方米[1]")
        >>> [t.role for t in store.history("abc")]
        ['user', 'assistant']
    """

    def __init__(
        self,
        ttl_seconds: float = 3600.0,
        max_sessions: int = 2000,
        max_turns: int = 12,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds <= 0 or max_sessions < 1 or max_turns < 2:
            raise ValueError("ttl_seconds must be > 0, max_sessions ≥ 1 and max_turns ≥ 2")
        self.ttl_seconds = ttl_seconds
        self.max_sessions = max_sessions
        self.max_turns = max_turns
        self._clock = clock
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._sessions)

    @staticmethod
    def new_id() -> str:
        """A fresh unguessable session id."""
        return secrets.token_urlsafe(16)

    def history(self, session_id: str) -> tuple[Turn, ...]:
        """The turns of a live conversation (empty for an unknown or expired id)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            session = self._sessions.get(session_id)
            if session is None:
                return ()
            return tuple(session.turns)

    def append(self, session_id: str, question: str, answer: str) -> None:
        """Record one exchange; starts the conversation if needed."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            session = self._sessions.pop(session_id, None) or _Session()
            session.turns.extend((Turn("user", question), Turn("assistant", answer)))
            del session.turns[: -self.max_turns]
            session.touched = now
            self._sessions[session_id] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)

    def _expire(self, now: float) -> None:
        # Sessions are kept in order of last use, so expired ones are at the front.
        while self._sessions:
            oldest_id, oldest = next(iter(self._sessions.items()))
            if now - oldest.touched <= self.ttl_seconds:
                break
            del self._sessions[oldest_id]
