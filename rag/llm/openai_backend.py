"""A chat backend for any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, hosted APIs).

It speaks ``POST {base_url}/chat/completions`` with ``stream: true`` over ``httpx`` and
reads the server-sent events itself, so the ``openai`` package is not needed at run
time.  Failures are bounded:

* each request waits at most ``timeout`` seconds to connect or for the next bytes;
* 429 and 5xx answers and failed connections are retried ``retries`` times with
  exponential back-off (``backoff``, doubled each time; a ``Retry-After`` header is
  honoured up to the time left), but only before any text has been streamed;
* the whole reply, retries included, must arrive within ``deadline`` seconds;
* anything else — a 4xx, malformed events, a stream that stops before ``[DONE]`` — is
  a :class:`~rag.llm.backend.BackendError` straight away.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from rag.llm.backend import BackendError
from rag.llm.prompt import Message

#: Longest back-off slept between two attempts, whatever ``Retry-After`` asks.
MAX_BACKOFF = 10.0


class _Retryable(Exception):
    """A failed attempt worth repeating (429, 5xx, no connection), with the server's suggested delay."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None  # absent, or an HTTP date: use our own back-off


def _error_message(response: httpx.Response) -> str:
    """The server's one-line explanation of an error status."""
    try:
        body: Any = response.json()
        message = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(message, dict):
            message = message.get("message", message)
        text = str(message)
    except ValueError:
        text = response.text
    return " ".join(text.split())[:200]


def parse_sse(lines: Iterator[str], *, until: float | None = None) -> Iterator[str]:
    """The text pieces (``choices[0].delta.content``) of an OpenAI chat-completions event stream.

    Raises :class:`BackendError` for an error event, malformed data, a stream that ends
    without ``[DONE]`` or a finish reason, or (when ``until`` is a ``time.monotonic()``
    value) a stream still running at that time.

    Example:
        >>> lines = ['data: {"choices":[{"delta":{"content":"你好"}}]}', "", "data: [DONE]"]
        >>> list(parse_sse(iter(lines)))
        ['你好']
    """
    finished = False
    for line in lines:
        if until is not None and time.monotonic() > until:
            raise BackendError("the model took too long to answer")
        if not line.startswith("data:"):
            continue  # blank separators, ": keep-alive" comments, event:/id: fields
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError as err:
            raise BackendError("the model server sent malformed stream data") from err
        if not isinstance(event, dict):
            raise BackendError("the model server sent malformed stream data")
        if event.get("error"):
            error = event["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise BackendError(f"the model server reported an error: {message}")
        for choice in event.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if content:
                yield content
            if choice.get("finish_reason"):
                finished = True
    if not finished:
        raise BackendError("the model's stream ended before the answer was complete")


class OpenAIBackend:
    """Streams chat completions from an OpenAI-compatible server.

    Args:
        base_url: the API root, e.g. ``http://llm:11434/v1`` (Ollama) or ``http://vllm:8000/v1``.
        model: the model name the server knows (``qwen2.5:7b-instruct``, ``Qwen/Qwen2.5-7B-Instruct``).
        api_key: sent as ``Authorization: Bearer …`` when set.
        timeout: seconds to connect, or to wait for the next bytes of a reply.
        retries: further attempts after a 429, a 5xx or a failed connection.
        backoff: seconds before the first retry; doubled for each further one.
        deadline: seconds the whole reply may take, retries included.
        max_tokens: longest reply, in tokens.
        temperature: sampling temperature.
        sleep: how to wait between attempts (tests pass a recorder).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.5,
        deadline: float = 120.0,
        max_tokens: int = 512,
        temperature: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.deadline = deadline
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._sleep = sleep
        headers = {"Accept": "text/event-stream"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers)

    @property
    def name(self) -> str:
        """``openai:<model>``."""
        return f"openai:{self.model}"

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, deadline: float | None = None
    ) -> Iterator[str]:
        """Yield the reply's pieces; retry before the first piece; raise :class:`BackendError` on failure."""
        payload = {
            "model": self.model,
            "messages": list(messages),
            "stream": True,
            "max_tokens": max_tokens or self.max_tokens,
            "temperature": self.temperature,
        }
        until = time.monotonic() + (deadline or self.deadline)
        attempt = 0
        while True:
            started = False
            try:
                for piece in self._attempt(payload, until):
                    started = True
                    yield piece
                return
            except _Retryable as err:
                reason, retry_after = str(err), err.retry_after
            except httpx.TimeoutException as err:
                if started:
                    raise BackendError("the model stopped sending its answer (timed out)") from err
                reason, retry_after = f"no answer within {self.timeout:g} s", None
            except httpx.TransportError as err:
                if started:
                    raise BackendError("the model's stream broke off") from err
                reason, retry_after = f"cannot reach the model server ({type(err).__name__})", None
            attempt += 1
            left = until - time.monotonic()
            delay = min(max(self.backoff * 2 ** (attempt - 1), retry_after or 0.0), MAX_BACKOFF)
            if attempt > self.retries or delay >= left:
                raise BackendError(reason)
            self._sleep(delay)

    def _attempt(self, payload: dict[str, Any], until: float) -> Iterator[str]:
        left = until - time.monotonic()
        if left <= 0:
            raise BackendError("the model took too long to answer")
        timeout = httpx.Timeout(min(self.timeout, left))
        with self._client.stream("POST", "chat/completions", json=payload, timeout=timeout) as response:
            status = response.status_code
            if status == 429 or status >= 500:
                response.read()
                raise _Retryable(f"the model server answered {status}", _retry_after(response))
            if status >= 400:
                response.read()
                raise BackendError(f"the model server answered {status}: {_error_message(response)}")
            if response.headers.get("content-type", "").startswith("application/json"):
                # A server that ignores "stream": the whole reply in one document.
                response.read()
                yield from self._whole(response)
                return
            yield from parse_sse(response.iter_lines(), until=until)

    @staticmethod
    def _whole(response: httpx.Response) -> Iterator[str]:
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise BackendError("the model server sent a malformed reply") from err
        if content:
            yield str(content)


__all__ = ["OpenAIBackend", "parse_sse", "MAX_BACKOFF"]
