from itertools import pairwise

import pytest

from rag.chunk import ChunkerSettings, SentenceChunker
from rag.types import Article


def _article(body: str, aid: str = "a1") -> Article:
    return Article(id=aid, title="标题", body=body, source="p.txt", date="2025-11-05", kind="news")


BODY = (
    "深秋时节，世界目光再次投向黄浦江畔。11月5日，第八届中国国际进口博览会启幕。"
    "本届进博会以“表里山河·晋览未来”为主题，面积435平方米的山西展厅将精彩亮相。\n"
    "“很有成效，一年比一年好。”提起进博会，薛文凯笑意盈盈。"
    "在去年的第七届进博会山西展厅，展位前客流不断、人声鼎沸！次日下午，多种产品售罄。\n"
    "面对进博会这一世界级经贸盛会，我市积极扬起开放之帆？持续在开放中砥砺前行；助力城市向新而行。"
)


@pytest.mark.parametrize("size", [40, 60, 120, 300])
def test_chunks_are_exact_spans_and_cover_every_sentence(size):
    art = _article(BODY)
    chunks = SentenceChunker(ChunkerSettings(size=size, overlap=1)).run([art])
    assert chunks, "no chunks"
    covered = set()
    for c in chunks:
        assert c.text == art.body[c.start : c.end]
        assert c.article_id == art.id and c.title == art.title and c.date == art.date
        covered.update(range(c.start, c.end))
    visible = {i for i, ch in enumerate(art.body) if not ch.isspace()}
    assert visible <= covered
    # Only an over-long single sentence may exceed the size.
    assert all(len(c.text) <= size or "。" not in c.text[:-1] for c in chunks)


def test_overlap_repeats_the_previous_sentence():
    art = _article(BODY)
    chunks = SentenceChunker(ChunkerSettings(size=120, overlap=1)).run([art])
    assert len(chunks) >= 3
    for prev, nxt in pairwise(chunks):
        assert nxt.start > prev.start
        assert nxt.start < prev.end, "neighbouring chunks should share a sentence"
        shared = art.body[nxt.start : prev.end]
        assert shared.endswith(("。", "！", "？")) and len(shared) < len(prev.text)


def test_no_overlap_tiles_without_repeats():
    chunks = SentenceChunker(ChunkerSettings(size=60, overlap=0)).run([_article(BODY)])
    for prev, nxt in pairwise(chunks):
        assert nxt.start >= prev.end


def test_chunks_never_mix_articles_and_ids_are_stable():
    a, b = _article("第一篇文章的内容。", "a"), _article("第二篇文章的内容。", "b")
    chunks = SentenceChunker().run([a, b])
    assert [c.article_id for c in chunks] == ["a", "b"]
    assert [c.id for c in chunks] == ["a:0", "b:0"]
    assert [c.id for c in SentenceChunker().run([a, b])] == ["a:0", "b:0"]


def test_overlong_sentence_is_cut_at_clause_marks():
    body = "，".join(f"第{i}个区县召开专题会议研究部署有关工作" for i in range(30)) + "。"
    chunks = SentenceChunker(ChunkerSettings(size=100, overlap=0)).run([_article(body)])
    assert len(chunks) > 3
    assert all(len(c.text) <= 100 for c in chunks)
    assert all(c.text.endswith(("，", "。")) for c in chunks)


def test_embed_text_carries_title_and_date():
    chunk = SentenceChunker().run([_article("正文。")])[0]
    assert chunk.embed_text.startswith("标题（2025-11-05）")


def test_bad_settings_fail_fast():
    with pytest.raises(ValueError, match="chunk size"):
        ChunkerSettings(size=5)
    with pytest.raises(ValueError, match="overlap"):
        ChunkerSettings(overlap=-1)
