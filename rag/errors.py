"""Library errors.  The CLI maps them to exit codes and the API to JSON HTTP errors.

Each error has an exit code (the ``rag`` command's, listed in the README) and a ``code``: its
stable machine name, for programs that read errors.  The library knows nothing of HTTP: the
status each error is answered with is decided in :mod:`api.errors`.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class of every error the library raises on purpose; ``str(err)`` is one clear line."""

    exit_code: int = 1
    #: The error's stable machine name (the API's JSON ``error.code``).
    code: str = "rag_error"


class InvalidInputError(RagError, ValueError):
    """A question, filter or parameter that cannot be used (empty, too long, malformed)."""

    exit_code = 2
    code = "invalid_input"


class DocumentError(RagError):
    """A page file that cannot be read (missing, not UTF-8, too large, no articles)."""

    exit_code = 3
    code = "bad_document"


class IndexNotFoundError(RagError):
    """No index exists where one was expected and none can be built."""

    exit_code = 4
    code = "index_not_found"


class IndexMismatchError(RagError):
    """A saved index was built with another model, dimension or format than configured."""

    exit_code = 5
    code = "index_mismatch"


class NotFoundError(RagError, KeyError):
    """An article or chunk id that the index does not hold."""

    exit_code = 6
    code = "not_found"

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "not found"


class ModelError(RagError):
    """A model that cannot be loaded or converted."""

    exit_code = 7
    code = "model_error"


class IndexDamagedError(RagError):
    """A saved index whose manifest or data files cannot be read (truncated, missing, not JSON)."""

    exit_code = 8
    code = "index_damaged"


class IndexWriteError(RagError):
    """The index folder cannot be written (read-only, full disk, no permission); the old index stays."""

    exit_code = 9
    code = "index_unwritable"


class IndexBusyError(RagError):
    """Another process held the index's write lock for longer than the wait allowed."""

    exit_code = 10
    code = "index_busy"
