"""Test helpers for the language-model generators: seed passages and a scripted OpenAI-compatible server.

The server listens on 127.0.0.1 (an ephemeral port) and answers each
``POST /v1/chat/completions`` with the next scripted behaviour: a streamed reply, an
error status, a slow or broken stream, malformed data, or a reply computed from the
request (an "obedient" model that follows any instruction it finds in the prompt).
Every request body and its headers are recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rag.types import Article, Chunk, Passage

#: The seed pages of the repository.
SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def passage_of(article: Article, rank: int, start: int = 0, end: int | None = None) -> Passage:
    """A passage holding ``article.body[start:end]`` as its chunk."""
    end = len(article.body) if end is None else end
    chunk = Chunk(
        id=f"{article.id}:{start}",
        article_id=article.id,
        text=article.body[start:end],
        start=start,
        end=end,
        title=article.title,
        date=article.date,
        source=article.source,
    )
    return Passage(chunk=chunk, score=1.0 / rank, rank=rank)


# -- the scripted server ---------------------------------------------------------------


@dataclass
class Behaviour:
    """What the server does with one request."""

    status: int = 200
    pieces: tuple[str, ...] = ()
    delay: float = 0.0  # before the status line
    piece_delay: float = 0.0  # between pieces
    done: bool = True  # send "data: [DONE]"
    finish: bool = True  # send a finish_reason in the last event
    raw: str | None = None  # a body sent as is (text/event-stream)
    json_body: Any = None  # a non-streaming JSON body
    headers: dict[str, str] = field(default_factory=dict)
    truncate: bool = False  # announce a longer body than is sent, then close


Script = Behaviour | Callable[[dict[str, Any]], Behaviour]


class ScriptedLLM:
    """An OpenAI-compatible chat server on loopback that plays scripted behaviours in order."""

    def __init__(self) -> None:
        self.script: list[Script] = []
        self.default: Script | None = None
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path != "/v1/chat/completions":
                    self._send(Behaviour(status=404, raw='{"error": {"message": "no such route"}}'))
                    return
                script = server.script.pop(0) if server.script else server.default
                if script is None:
                    self._send(Behaviour(status=500, raw='{"error": "no script left"}'))
                    return
                self._send(script(body) if callable(script) else script)

            def _send(self, b: Behaviour) -> None:
                if b.delay and server.stopping.wait(b.delay):
                    return
                self.close_connection = True
                if b.json_body is not None or (b.status != 200 and b.raw is not None):
                    payload = json.dumps(b.json_body).encode() if b.json_body is not None else b.raw.encode()
                    self.send_response(b.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in b.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if b.status != 200:
                    payload = json.dumps({"error": {"message": f"scripted {b.status}"}}).encode()
                    self.send_response(b.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in b.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                if b.truncate:
                    self.send_header("Content-Length", "100000")
                else:
                    self.send_header("Connection", "close")
                self.end_headers()
                for chunk in self._events(b):
                    if b.piece_delay and server.stopping.wait(b.piece_delay):
                        return
                    try:
                        self.wfile.write(chunk.encode())
                        self.wfile.flush()
                    except OSError:
                        return

            @staticmethod
            def _events(b: Behaviour) -> Iterator[str]:
                if b.raw is not None:
                    yield b.raw
                    return
                for i, piece in enumerate(b.pieces):
                    last = i == len(b.pieces) - 1
                    choice: dict[str, Any] = {"index": 0, "delta": {"content": piece}}
                    if last and b.finish:
                        choice["finish_reason"] = "stop"
                    yield f"data: {json.dumps({'choices': [choice]}, ensure_ascii=False)}\n\n"
                if b.done:
                    yield "data: [DONE]\n\n"

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        """The API root to configure (``…/v1``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ScriptedLLM:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; slow behaviours still sleeping return at once."""
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def play(self, *script: Script) -> ScriptedLLM:
        """Queue behaviours for the next requests."""
        self.script.extend(script)
        return self

    @staticmethod
    def say(text: str, *, size: int = 4, **kwargs: Any) -> Behaviour:
        """A streamed reply of ``text`` in pieces of ``size`` characters."""
        pieces = tuple(text[i : i + size] for i in range(0, len(text), size)) or ("",)
        return Behaviour(pieces=pieces, **kwargs)

    def prompt(self, i: int = -1) -> str:
        """All message contents of request ``i``, joined."""
        return "\n".join(m["content"] for m in self.requests[i]["messages"])
