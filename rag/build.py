"""The composition root: every part of the product is built here, once, then handed to :class:`Pipeline`.

The order is the dependency order: the embedder (batching chosen here), the live index over
it, the generator reading term statistics from the live index, the follow-up rewriter
sharing the generator's model.  Nothing is assigned to a part after construction; tests
build pipelines with the same functions and fakes (see ``ARCHITECTURE.md``).
"""

from __future__ import annotations

from collections.abc import Callable

from rag.errors import InvalidInputError
from rag.live_index import LiveIndex
from rag.pipeline import Pipeline
from rag.protocols import Embedder, Generator
from rag.settings import Settings
from rag.stores import build_stores

#: Builds the generator from the settings and the live index it reads term statistics from.
GeneratorFactory = Callable[[Settings, LiveIndex], Generator]


def build_embedder(settings: Settings, *, batch_queries: bool = False) -> Embedder:
    """The configured embedder: a sentence-transformers model, or ``hashing:<dim>`` (the fast test fake).

    ``batch_queries`` wraps it in a :class:`~rag.batching.BatchingEmbedder` (a server, where
    concurrent questions share one forward pass).
    """
    from rag.batching import BatchingEmbedder
    from rag.embed import HashingEmbedder, SentenceTransformerEmbedder

    name = settings.embedding_model
    embedder: Embedder
    if name.startswith("hashing:"):
        try:
            embedder = HashingEmbedder(int(name.split(":", 1)[1]))
        except ValueError:
            raise InvalidInputError(f"RAG_EMBEDDING_MODEL={name!r}: expected hashing:<dimension>") from None
    else:
        embedder = SentenceTransformerEmbedder(
            name,
            cache_dir=settings.cache_dir,
            query_prompt=settings.query_prompt,
            passage_prompt=settings.passage_prompt,
            batch_size=settings.embed_batch_size,
            device=settings.device,
        )
    return BatchingEmbedder(embedder) if batch_queries else embedder


def default_generator(settings: Settings, index: LiveIndex) -> Generator:
    """The generator ``settings.generator`` names, reading term statistics from ``index``."""
    from rag.generators import build_generator

    return build_generator(settings, idf=index.idf, library=index.get)


def build_pipeline(
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    *,
    generator: GeneratorFactory = default_generator,
    batch_queries: bool = False,
) -> Pipeline:
    """The composition root: every part is built here, then the :class:`Pipeline` around them.

    Args:
        settings: the configuration (default: from the environment).
        embedder: replaces the configured embedder (tests inject fakes here).
        generator: builds the generator (tests wrap or replace :func:`default_generator`).
        batch_queries: batch concurrent query embeddings (the HTTP server).
    """
    from rag.batching import BatchingEmbedder
    from rag.generators import build_query_rewriter

    settings = settings or Settings()
    if embedder is None:
        embedder = build_embedder(settings, batch_queries=batch_queries)
    elif batch_queries:
        embedder = BatchingEmbedder(embedder)
    index = LiveIndex(settings, embedder, build_stores(settings))
    answerer = generator(settings, index)
    rewriter = build_query_rewriter(settings, answerer)
    return Pipeline(settings, embedder, answerer, index, rewriter=rewriter)


__all__ = ["GeneratorFactory", "build_embedder", "build_pipeline", "default_generator"]
