"""Streaming an answer: the blocking ``Pipeline.ask_stream`` driven from worker threads.

:func:`open_answer_stream` does the first step eagerly, so a bad question or a busy
server is still answered with a plain HTTP error before any event is sent; the rest
is pulled piece by piece while a limiter slot is held.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from api.deps import ApiState
from rag.types import Answer

#: Headers that keep proxies from buffering an event stream.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

_DONE = object()


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event; ``data`` is JSON-encoded unless it is already a string."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


class AnswerStream:
    """Async iterator over the pieces (``str``) and final :class:`Answer` of one streamed answer.

    It owns a limiter slot from :meth:`open` until it is exhausted, fails or is dropped.
    """

    def __init__(self, state: ApiState, iterator: Iterator[str | Answer], first: object) -> None:
        self._state = state
        self._iterator = iterator
        self._pending = first
        self._released = False

    @classmethod
    async def open(cls, state: ApiState, start: Callable[[], Iterator[str | Answer]]) -> AnswerStream:
        """Take a slot and run the stream up to its first piece; errors raise here, before any response."""
        await state.limiter.acquire()
        try:
            iterator = start()
            first = await run_in_threadpool(next, iterator, _DONE)
        except BaseException:
            state.limiter.release()
            raise
        return cls(state, iterator, first)

    def __aiter__(self) -> AnswerStream:
        return self

    async def __anext__(self) -> str | Answer:
        if self._released:
            raise StopAsyncIteration
        try:
            item = self._pending
            self._pending = None
            if item is None:
                item = await run_in_threadpool(next, self._iterator, _DONE)
        except BaseException:
            self.close()
            raise
        if item is _DONE:
            self.close()
            raise StopAsyncIteration
        assert isinstance(item, (str, Answer))
        return item

    def close(self) -> None:
        """Give the slot back (idempotent)."""
        if not self._released:
            self._released = True
            self._state.limiter.release()

    def __del__(self) -> None:
        # A response that never started iterating (client gone) must not keep the slot.
        self.close()


class AnswerStreamResponse(StreamingResponse):
    """An event stream that gives its answer's limiter slot back however the response ends.

    Starlette stops iterating a body whose client hung up but leaves the suspended
    generator to the garbage collector, which may keep the slot for seconds; here the
    slot is released, and the generator closed, as soon as the response is over.
    """

    def __init__(self, stream: AnswerStream, events: AsyncIterator[bytes]) -> None:
        super().__init__(events, media_type="text/event-stream", headers=SSE_HEADERS)
        self._stream = stream
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the events; whatever happens, release the slot and close the event generator."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._stream.close()
            aclose = getattr(self._events, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except RuntimeError:  # still running in a cancelled task: it closes itself
                    pass


def _json_data(model: str) -> dict[str, Any]:
    return {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": {"$ref": f"#/components/schemas/{model}"},
    }


def sse_schema(events: dict[str, list[str | dict[str, Any]]]) -> dict[str, Any]:
    """OpenAPI schema of one server-sent event: its ``event`` name and what its ``data`` may hold.

    ``events`` maps an event name to the component models (or literal schemas) its data
    is one of.
    """
    variants = []
    for name, payloads in events.items():
        data = [_json_data(p) if isinstance(p, str) else p for p in payloads]
        variants.append(
            {
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": {"const": name},
                    "data": data[0] if len(data) == 1 else {"anyOf": data},
                },
            }
        )
    return variants[0] if len(variants) == 1 else {"oneOf": variants}
