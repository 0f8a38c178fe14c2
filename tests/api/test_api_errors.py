"""The HTTP layer decides the status of each library error; the library knows no HTTP."""

from __future__ import annotations

import api.app  # noqa: F401 - imports every module whose errors the API can meet
import rag.llm.backend  # noqa: F401 - the language models' errors
from api.errors import LIBRARY_STATUS, status_of
from rag.errors import IndexBusyError, InvalidInputError, NotFoundError, RagError
from rag.evaluation import MissingExtraError


def _subclasses(cls: type[RagError]) -> set[type[RagError]]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(c) for c in found))


def test_every_library_error_has_a_status_and_none_carries_one() -> None:
    # MissingExtraError is the CLI's (the eval extra); the API never runs evaluations.
    errors = {c for c in _subclasses(RagError) if c.__module__.startswith(("rag.", "api."))}
    errors -= {MissingExtraError}
    unlisted = {c for c in errors if not any(base in LIBRARY_STATUS for base in c.__mro__)}
    assert not unlisted and rag.llm.backend.BackendError in errors
    assert not any(hasattr(cls, "http_status") for cls in errors | {RagError})


def test_status_of_follows_the_nearest_listed_base() -> None:
    class Subtle(NotFoundError):
        pass

    assert status_of(Subtle("x")) == 404
    assert status_of(InvalidInputError("x")) == 422
    assert status_of(IndexBusyError("x")) == 503
    assert status_of(RagError("x")) == 500
