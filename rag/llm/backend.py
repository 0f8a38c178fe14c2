"""The seam between the grounded generator and a language model: a chat backend that streams text."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from rag.errors import ModelError
from rag.llm.prompt import Message


class BackendError(ModelError):
    """A language model that did not answer: unreachable, too slow, an error status, a broken stream."""


@runtime_checkable
class ChatBackend(Protocol):
    """A chat model that streams the assistant's reply to ``messages``."""

    @property
    def name(self) -> str:
        """What model this is (for logs and stats)."""
        ...

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, deadline: float | None = None
    ) -> Iterator[str]:
        """Yield pieces of the reply; raise :class:`BackendError` when the model fails.

        ``max_tokens`` and ``deadline`` (seconds for the whole reply) override the
        backend's defaults for this call.
        """
        ...


def complete(
    backend: ChatBackend,
    messages: Sequence[Message],
    *,
    max_tokens: int | None = None,
    deadline: float | None = None,
) -> str:
    """The whole reply of ``backend`` to ``messages``."""
    return "".join(backend.stream(messages, max_tokens=max_tokens, deadline=deadline))


__all__ = ["BackendError", "ChatBackend", "complete"]
