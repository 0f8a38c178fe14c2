import pytest

from rag.errors import InvalidInputError
from rag.evaluation.corpus import PD_DATE, build_ict, haystack_paragraphs, strip_tags


def test_strip_tags_keeps_words_and_drops_tags_and_brackets():
    assert strip_tags("１２月/t  ３１日/t  ，/w  [中共/j  中央/n]nt  发表/v") == "１２月３１日，中共中央发表"
    assert strip_tags("") == ""


def test_build_ict_is_deterministic_and_cuts_the_query_out(paragraphs):
    texts = paragraphs(60)
    ict = build_ict(texts, n_paragraphs=40, n_queries=10, seed=7)
    assert ict == build_ict(texts, n_paragraphs=40, n_queries=10, seed=7)
    assert ict != build_ict(texts, n_paragraphs=40, n_queries=10, seed=8)
    assert len(ict.articles) == 40 and len(ict.queries) == 10
    bodies = {a.id: a.body for a in ict.articles}
    for query in ict.queries:
        assert query.text and query.text not in bodies[query.article_id]
        original = texts[int(query.article_id.split("-")[1])]
        assert query.text in original
    assert all(a.date == PD_DATE for a in ict.articles)


def test_build_ict_refuses_impossible_sizes(paragraphs):
    with pytest.raises(InvalidInputError, match="cannot exceed"):
        build_ict(paragraphs(10), n_paragraphs=5, n_queries=6)
    with pytest.raises(InvalidInputError, match="long enough"):
        build_ict(paragraphs(10), n_paragraphs=50, n_queries=5)


def test_haystack_paragraphs_sample_or_take_all(paragraphs):
    texts = paragraphs(30)
    some = haystack_paragraphs(texts, 10, seed=1)
    assert len(some) == 10 and some == haystack_paragraphs(texts, 10, seed=1)
    assert [a.id for a in some] == sorted(a.id for a in some)
    assert len(haystack_paragraphs(texts, 1000)) == 30
    with pytest.raises(InvalidInputError):
        haystack_paragraphs(texts, -1)


def test_corpus_loads_as_plain_paragraphs(corpus):
    assert len(corpus) > 19000
    assert not any("/" in p[:3] and p[:3].count("/") for p in corpus[:50])
    assert corpus[0].startswith("迈向充满希望的新世纪")
