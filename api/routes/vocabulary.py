"""``GET /api/vocabulary``: the names a client labels, served from their one definition.

A client (the chat page, a widget) reads the retrievers, article kinds and error codes here
instead of copying them: they are defined once, in :mod:`rag.types` and :mod:`api.errors`.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.errors import error_codes
from rag.types import ARTICLE_KINDS, RETRIEVER_MODES

router = APIRouter(tags=["operations"])


class Vocabulary(BaseModel):
    """The values of the API's enumerations."""

    retrievers: list[str] = Field(description="Values of a search or chat request's `retriever`.")
    article_kinds: list[str] = Field(description="Values of an article's `kind`.")
    error_codes: dict[str, int] = Field(
        description="Every `error.code` the API answers with, and the HTTP status it comes with."
    )


@router.get("/api/vocabulary", response_model=Vocabulary, summary="Names of the API's enumerations")
async def vocabulary() -> Vocabulary:
    """Retrievers, article kinds and error codes, so that clients label them without copying them."""
    return Vocabulary(
        retrievers=list(RETRIEVER_MODES), article_kinds=list(ARTICLE_KINDS), error_codes=error_codes()
    )
