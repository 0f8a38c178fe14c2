"""Choosing the generator from settings (``RAG_GENERATOR``)."""

from __future__ import annotations

from collections.abc import Callable

from rag.errors import ModelError
from rag.generate import ExtractiveGenerator
from rag.protocols import Generator
from rag.settings import Settings


def build_generator(settings: Settings, idf: Callable[[str], float] | None = None) -> Generator:
    """Build the generator named by ``settings.generator``."""
    extractive = ExtractiveGenerator(
        idf, max_sentences=settings.answer_sentences, refusal_threshold=settings.refusal_threshold
    )
    if settings.generator == "extractive":
        return extractive
    raise ModelError(f"generator {settings.generator!r} is not available in this build")
