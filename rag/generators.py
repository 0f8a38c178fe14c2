"""Choosing the generator (``RAG_GENERATOR=extractive|transformers|openai``) and the query rewriter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from rag.errors import ModelError
from rag.evidence import AnswerabilityModel, Library
from rag.generate import ExtractiveGenerator
from rag.llm.backend import ChatBackend
from rag.llm.generator import GroundedGenerator
from rag.protocols import Generator
from rag.settings import Settings
from rag.types import Turn

#: Longest the model may take to rewrite a follow-up before the rule-based rewrite is used.
REWRITE_DEADLINE = 20.0


def build_backend(settings: Settings) -> ChatBackend:
    """The chat model named by ``settings.generator`` (``transformers`` or ``openai``).

    Raises:
        ModelError: when the settings the backend needs are missing.
    """
    if settings.generator == "transformers":
        from rag.llm.transformers_backend import TransformersBackend

        if not settings.transformers_model:
            raise ModelError("RAG_GENERATOR=transformers needs RAG_TRANSFORMERS_MODEL (a local model folder)")
        return TransformersBackend(
            settings.transformers_model,
            device=settings.generator_device,
            max_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            deadline=settings.llm_deadline,
        )
    if settings.generator == "openai":
        from rag.llm.openai_backend import OpenAIBackend

        if not settings.openai_base_url or not settings.openai_model:
            raise ModelError("RAG_GENERATOR=openai needs RAG_OPENAI_BASE_URL and RAG_OPENAI_MODEL")
        return OpenAIBackend(
            settings.openai_base_url,
            settings.openai_model,
            api_key=settings.openai_api_key,
            timeout=settings.openai_timeout,
            retries=settings.llm_retries,
            backoff=settings.llm_backoff,
            deadline=settings.llm_deadline,
            max_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
        )
    raise ModelError(f"generator {settings.generator!r} has no language model")


def build_generator(
    settings: Settings,
    idf: Callable[[str], float] | None = None,
    library: Callable[[], Library] | None = None,
) -> Generator:
    """Build the generator named by ``settings.generator``.

    ``extractive`` quotes sentences; ``transformers`` and ``openai`` write the answer
    with a language model, check it, and fall back to the extractive answer.
    """
    extractive = ExtractiveGenerator(
        idf,
        library=library,
        answerability=_answerability(settings),
        max_sentences=settings.answer_sentences,
        refusal_threshold=settings.refusal_threshold,
    )
    if settings.generator == "extractive":
        return extractive
    return GroundedGenerator(
        settings.generator, build_backend(settings), extractive, max_context_chars=settings.llm_context_chars
    )


def _answerability(settings: Settings) -> AnswerabilityModel:
    """The calibrated answerability model for the configured embedder, with any threshold override."""
    model = AnswerabilityModel.for_embedder(settings.embedding_model)
    if settings.answerability_threshold is not None:
        model = replace(model, threshold=settings.answerability_threshold)
    return model


def build_query_rewriter(
    settings: Settings, generator: Generator
) -> Callable[[str, Sequence[Turn]], str] | None:
    """The model-based follow-up rewriter sharing ``generator``'s model, or None (rule-based rewrite)."""
    if not settings.llm_rewrite or not isinstance(generator, GroundedGenerator):
        return None
    from rag.llm.rewrite import ModelQueryRewriter

    return ModelQueryRewriter(generator.backend, deadline=min(settings.llm_deadline, REWRITE_DEADLINE))


__all__ = ["build_backend", "build_generator", "build_query_rewriter"]
