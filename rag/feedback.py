"""Readers' verdicts on answers (👍/👎 with an optional comment), kept so that failures become eval questions.

The chat page sends one :class:`Feedback` per click (``POST /api/feedback``); the server
keeps it in the same place as its conversations — a SQLite file in the state folder
(``RAG_STATE_DIR``, default ``<index_dir>/state``), or Redis when ``RAG_REDIS_URL`` is
set — so every worker and replica records into one store.  ``rag feedback export``
turns the store into a QA set in the format of ``eval/qa_dev.jsonl``
(:func:`to_qa_rows`): a 👎 answer becomes a question that needs a gold answer, a 👍 one
a regression question.

Unlike conversations, feedback does not expire; the store keeps the newest
:data:`MAX_FEEDBACK` entries, so a client posting in a loop cannot fill the disk.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rag.errors import RagError
from rag.settings import Settings
from rag.sqlite_state import open_shared

#: Entries kept at most; past it the oldest go first.
MAX_FEEDBACK = 50_000
#: File name of the SQLite store inside the state folder.
FEEDBACK_FILE = "feedback.sqlite3"

Rating = Literal["up", "down"]


class FeedbackStoreError(RagError):
    """The feedback store cannot be read or written (Redis unreachable, disk full, locked too long)."""

    exit_code = 12
    code = "unavailable"


def state_dir(settings: Settings) -> Path:
    """The folder of state shared by the server's workers: ``RAG_STATE_DIR`` or ``<index_dir>/state``."""
    return settings.state_dir or settings.index_dir / "state"


@dataclass(frozen=True)
class Feedback:
    """One reader's verdict on one answer, as the chat page reports it."""

    question: str
    answer: str
    rating: Rating
    comment: str | None = None
    #: The citations the answer carried (the page's copy of ``citations[]``).
    citations: tuple[dict[str, Any], ...] = ()
    #: The standalone question actually searched (a follow-up made explicit).
    query: str | None = None
    session_id: str | None = None
    id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    #: Unix time it was received.
    created: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what the stores keep)."""
        data = asdict(self)
        data["citations"] = list(self.citations)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feedback:
        """Rebuild an entry from :meth:`to_dict` output."""
        return cls(**{**data, "citations": tuple(data.get("citations") or ())})


class FeedbackStore(ABC):
    """Where feedback is kept: :meth:`add` one entry, :meth:`all` of them oldest first."""

    def __init__(self, max_items: int = MAX_FEEDBACK) -> None:
        if max_items < 1:
            raise ValueError("max_items must be ≥ 1")
        self.max_items = max_items

    @abstractmethod
    def add(self, feedback: Feedback) -> str:
        """Keep ``feedback``; returns its id."""

    @abstractmethod
    def all(self) -> list[Feedback]:
        """Every entry kept, oldest first."""

    def close(self) -> None:  # noqa: B027 - most stores hold nothing open
        """Release connections (the store is not used afterwards)."""


class SqliteFeedbackStore(FeedbackStore):
    """Feedback in one SQLite file, shared by the processes of one host.

    A connection is opened per call: feedback is rare, and a short-lived connection is
    never shared by threads nor inherited through fork.

    Example:
        >>> import tempfile
        >>> store = SqliteFeedbackStore(Path(tempfile.mkdtemp()) / "feedback.sqlite3")
        >>> fid = store.add(Feedback(question="山西展厅有多大？", answer="435平方米[1]", rating="up"))
        >>> [f.rating for f in store.all()]
        ['up']
    """

    def __init__(self, path: Path, max_items: int = MAX_FEEDBACK, busy_timeout: float = 10.0) -> None:
        super().__init__(max_items)
        self.path = Path(path)
        self.busy_timeout = busy_timeout

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            schema = (
                "CREATE TABLE IF NOT EXISTS feedback ("
                " seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, data TEXT NOT NULL)",
            )
            with closing(open_shared(self.path, schema, self.busy_timeout)) as conn:
                yield conn
        except (sqlite3.Error, OSError) as err:
            raise FeedbackStoreError(f"the feedback store {self.path} cannot be used: {err}") from err

    def add(self, feedback: Feedback) -> str:
        """Keep ``feedback`` (dropping the oldest past ``max_items``); returns its id."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO feedback (id, data) VALUES (?, ?)",
                (feedback.id, json.dumps(feedback.to_dict(), ensure_ascii=False)),
            )
            conn.execute(
                "DELETE FROM feedback WHERE seq IN"
                " (SELECT seq FROM feedback ORDER BY seq DESC LIMIT -1 OFFSET ?)",
                (self.max_items,),
            )
            conn.execute("COMMIT")
        return feedback.id

    def all(self) -> list[Feedback]:
        """Every entry kept, oldest first."""
        if not self.path.exists():
            return []
        with self._connection() as conn:
            rows = conn.execute("SELECT data FROM feedback ORDER BY seq").fetchall()
        return [Feedback.from_dict(json.loads(data)) for (data,) in rows]


class RedisFeedbackStore(FeedbackStore):
    """Feedback in Redis (a list of JSON entries, trimmed to ``max_items``), for replicas on several hosts."""

    def __init__(
        self, url: str, max_items: int = MAX_FEEDBACK, prefix: str = "rag:feedback:", timeout: float = 5.0
    ) -> None:
        import redis  # only needed when Redis is configured

        super().__init__(max_items)
        self.key = f"{prefix}items"
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        self.client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )
        self._where = url.rsplit("@", 1)[-1]  # no password in messages

    @contextmanager
    def _unavailable(self) -> Iterator[None]:
        try:
            yield
        except self._errors as err:
            raise FeedbackStoreError(
                f"the feedback store (Redis at {self._where}) cannot be used: {err}"
            ) from err

    def add(self, feedback: Feedback) -> str:
        """Keep ``feedback`` (dropping the oldest past ``max_items``); returns its id."""
        with self._unavailable():
            pipe = self.client.pipeline(transaction=True)  # MULTI/EXEC: push and trim at once
            pipe.rpush(self.key, json.dumps(feedback.to_dict(), ensure_ascii=False))
            pipe.ltrim(self.key, -self.max_items, -1)
            pipe.execute()
        return feedback.id

    def all(self) -> list[Feedback]:
        """Every entry kept, oldest first."""
        with self._unavailable():
            items = self.client.lrange(self.key, 0, -1)
        return [Feedback.from_dict(json.loads(item)) for item in items]

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def open_feedback_store(settings: Settings) -> FeedbackStore:
    """Redis when ``RAG_REDIS_URL`` is set, else ``feedback.sqlite3`` in the state folder.

    Nothing is opened yet: the file and the connection are made on first use.
    """
    if settings.redis_url:
        return RedisFeedbackStore(settings.redis_url)
    return SqliteFeedbackStore(state_dir(settings) / FEEDBACK_FILE)


# -- export as a QA set -----------------------------------------------------------------

_MARKER = re.compile(r"\[\d+\]")


def _latest_verdicts(items: Iterable[Feedback]) -> list[Feedback]:
    """One entry per question and answer: a reader who clicked 👍 then 👎 meant 👎."""
    latest: dict[tuple[str, str], Feedback] = {}
    for item in items:
        key = ((item.query or item.question).strip(), item.answer.strip())
        latest.pop(key, None)  # re-inserted: the order is that of the last verdict
        latest[key] = item
    return list(latest.values())


def _sources(citations: Iterable[dict[str, Any]]) -> str | list[str] | None:
    names = list(dict.fromkeys(str(c["source"]) for c in citations if c.get("source")))
    if not names:
        return None
    return names[0] if len(names) == 1 else names


def to_qa_rows(items: Iterable[Feedback]) -> list[dict[str, Any]]:
    """Feedback as QA-set rows (``eval/qa_dev.jsonl``'s fields), one per question and answer.

    * 👎 — ``needs_gold: true``, empty ``answers`` and ``evidence``: someone reads the
      pages and writes the gold answer and its evidence (or marks the question
      ``unanswerable``) before ``rag eval`` accepts the row.
    * 👍 on a refusal — a complete ``unanswerable`` row.
    * 👍 on an answer — the answer as given (markers removed) is the gold answer and the
      quotes it cited are the evidence: a regression question; ``type`` is a guess
      (``factoid``) to correct.

    ``question`` is the standalone query when the page sent one (后来呢？ alone asks
    nothing); the reader's words, the answer, the rating and the comment are kept under
    ``feedback``.
    """
    rows = []
    for item in _latest_verdicts(items):
        citations = [c for c in item.citations if isinstance(c, dict)]
        refused = not citations
        row: dict[str, Any] = {
            "id": f"fb-{item.id}",
            "question": (item.query or item.question).strip(),
            "answers": [],
            "evidence": [],
            "answerable": True,
            "type": "factoid",
            "source": _sources(citations),
        }
        if item.rating == "down":
            row["needs_gold"] = True
            row["note"] = "用户反馈：回答有误，需要补充标准答案和证据（或改为 unanswerable）。"
        elif refused:
            row.update(answerable=False, type="unanswerable", source=None)
        else:
            gold = _MARKER.sub("", item.answer).strip()
            evidence = list(dict.fromkeys(str(c["quote"]) for c in citations if c.get("quote")))
            row.update(answers=[gold] if gold else [], evidence=evidence)
            row["note"] = "用户认可的回答；请把 answers 缩短为关键片段，并核对 type。"
            if not (gold and evidence):  # nothing to check an answer against: a person must say
                row["needs_gold"] = True
        row["feedback"] = {
            "rating": item.rating,
            "comment": item.comment,
            "asked": item.question,
            "answer": item.answer,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(item.created)),
        }
        rows.append(row)
    return rows


__all__ = [
    "FEEDBACK_FILE",
    "MAX_FEEDBACK",
    "Feedback",
    "FeedbackStore",
    "FeedbackStoreError",
    "RedisFeedbackStore",
    "SqliteFeedbackStore",
    "open_feedback_store",
    "state_dir",
    "to_qa_rows",
]
