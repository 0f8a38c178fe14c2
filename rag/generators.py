"""Choosing the generator (``RAG_GENERATOR=extractive|transformers|openai|local``) and the query rewriter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from rag.errors import ModelError
from rag.evidence import Library
from rag.evidence_score import AnswerabilityModel
from rag.generate import ExtractiveGenerator
from rag.llm.backend import ChatBackend
from rag.llm.generator import GroundedGenerator
from rag.protocols import Generator
from rag.settings import Settings
from rag.types import Turn

#: Longest the model may take to rewrite a follow-up before the rule-based rewrite is used.
REWRITE_DEADLINE = 20.0
#: Evidence sentences the local generator's prompt holds (``RAG_LLM_PROMPT_SENTENCES`` unset).
LOCAL_PROMPT_SENTENCES = 3


def build_backend(settings: Settings) -> ChatBackend:
    """The chat model named by ``settings.generator`` (``transformers``, ``openai`` or ``local``).

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
    if settings.generator == "local":
        from rag.llm.local_backend import LocalBackend

        return LocalBackend(
            settings.local_model,
            cache_dir=settings.cache_dir,
            runtime=settings.local_runtime,
            threads=settings.local_threads,
            context_tokens=settings.local_context_tokens,
            max_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            deadline=settings.llm_deadline,
            device=settings.generator_device,
        )
    raise ModelError(f"generator {settings.generator!r} has no language model")


def build_generator(
    settings: Settings,
    idf: Callable[[str], float] | None = None,
    library: Callable[[], Library] | None = None,
) -> Generator:
    """Build the generator named by ``settings.generator``.

    ``extractive`` quotes sentences; ``transformers``, ``openai`` and ``local`` write the
    answer with a language model, check it, and fall back to the extractive answer.
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
    sentences = settings.llm_prompt_sentences
    if sentences is None:
        # Reading the prompt dominates on a CPU: the local model gets the evidence sentences only.
        sentences = LOCAL_PROMPT_SENTENCES if settings.generator == "local" else 0
    return GroundedGenerator(
        settings.generator,
        build_backend(settings),
        extractive,
        max_context_chars=settings.llm_context_chars,
        prompt_sentences=sentences,
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
