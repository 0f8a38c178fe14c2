import numpy as np

from rag.embed import HashingEmbedder
from rag.evaluation.cache import CachingEmbedder, cached_index
from rag.evaluation.corpus import haystack_paragraphs
from rag.index import Index
from rag.settings import Settings


class CountingEmbedder(HashingEmbedder):
    """The hashing fake, counting how many texts it really embeds."""

    def __init__(self) -> None:
        super().__init__(64)
        self.embedded = 0

    def encode_documents(self, texts, *, show_progress=False):
        self.embedded += len(texts)
        return super().encode_documents(texts)

    def encode_queries(self, texts):
        self.embedded += len(texts)
        return super().encode_queries(texts)


def test_caching_embedder_embeds_each_text_once(tmp_path):
    inner = CountingEmbedder()
    cache = CachingEmbedder(inner, tmp_path)
    first = cache.encode_documents(["太原", "晋中", "太原"])
    assert inner.embedded == 2
    again = CachingEmbedder(inner, tmp_path).encode_documents(["晋中", "太原"])
    assert inner.embedded == 2
    np.testing.assert_allclose(again, first[[1, 0]])
    np.testing.assert_allclose(first, inner.encode_documents(["太原", "晋中", "太原"]))
    # Queries and documents are cached apart (models prompt them differently).
    inner.embedded = 0
    cache.encode_queries(["太原"])
    assert inner.embedded == 1
    assert cache.name == inner.name
    assert cache.encode_documents([]).shape == (0, 64)


def test_cached_index_is_built_once_per_model_chunking_and_articles(tmp_path, paragraphs):
    settings = Settings(cache_dir=tmp_path, _env_file=None)
    articles = haystack_paragraphs(paragraphs(12), 12)
    inner = CountingEmbedder()
    cache = CachingEmbedder(inner, tmp_path)
    path, _ = cached_index(settings, cache, "pd", articles)
    assert Index.exists(path) and path.parent == tmp_path / "bench" and path.name.startswith("index-pd-")
    embedded = inner.embedded
    assert cached_index(settings, cache, "pd", articles)[0] == path and inner.embedded == embedded
    # Other articles or another chunk size: another index.
    assert cached_index(settings, cache, "pd", articles[:-1])[0] != path
    smaller = settings.model_copy(update={"chunk_size": 120})
    assert cached_index(smaller, cache, "pd", articles)[0] != path


def test_a_cached_index_of_another_index_format_is_rebuilt_not_refused(tmp_path, paragraphs, monkeypatch):
    import rag.evaluation.cache as cache_module

    settings = Settings(cache_dir=tmp_path, _env_file=None)
    articles = haystack_paragraphs(paragraphs(12), 12)
    cache = CachingEmbedder(CountingEmbedder(), tmp_path)
    path, _ = cached_index(settings, cache, "pd", articles)
    monkeypatch.setattr(cache_module, "FORMAT_VERSION", cache_module.FORMAT_VERSION + 1)
    assert cached_index(settings, cache, "pd", articles)[0] != path
