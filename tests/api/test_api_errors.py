"""The HTTP layer decides the status of each library error; the library knows no HTTP."""

from __future__ import annotations

import rag.errors
from api.errors import LIBRARY_STATUS, status_of
from rag.errors import IndexBusyError, InvalidInputError, NotFoundError, RagError


def test_every_library_error_has_a_status_and_none_carries_one() -> None:
    library = {
        cls
        for cls in vars(rag.errors).values()
        if isinstance(cls, type) and issubclass(cls, RagError) and cls is not RagError
    }
    assert library <= set(LIBRARY_STATUS), library - set(LIBRARY_STATUS)
    assert not any(hasattr(cls, "http_status") for cls in library | {RagError})


def test_status_of_follows_the_nearest_listed_base() -> None:
    class Subtle(NotFoundError):
        pass

    assert status_of(Subtle("x")) == 404
    assert status_of(InvalidInputError("x")) == 422
    assert status_of(IndexBusyError("x")) == 503
    assert status_of(RagError("x")) == 500
