"""Tests of the shared Chinese text helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.text import (
    CLOSERS,
    TERMINATORS,
    ends_sentence,
    han_count,
    normalize_for_match,
    split_clauses,
    split_sentences,
    trim_span,
)

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


# --------------------------------------------------------------------------- split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第一句。第二句！第三句？", ["第一句。", "第二句！", "第三句？"]),
        ("甲；乙;丙!丁?", ["甲；", "乙;", "丙!", "丁?"]),
        ("新步伐……第五届进博会。", ["新步伐……", "第五届进博会。"]),
        ("等一下…好的。", ["等一下…", "好的。"]),
        ("真的吗？！是的。", ["真的吗？！", "是的。"]),
        ("他说：“好。”然后走了。", ["他说：“好。”", "然后走了。"]),
        ("他说“真好…”。后面。", ["他说“真好…”。", "后面。"]),
        ("“好！”“坏！”完。", ["“好！”", "“坏！”", "完。"]),
        ("赞叹：“神奇！精细！逼真！”薛文凯说。", ["赞叹：“神奇！精细！逼真！”", "薛文凯说。"]),
        ("（见下图。）下一句。", ["（见下图。）", "下一句。"]),
        ("『外‘内！’仍在外。』后。", ["『外‘内！’仍在外。』", "后。"]),
        ("全长约5.24公里。网址www.a.cn可用", ["全长约5.24公里。", "网址www.a.cn可用"]),
        ("标题\n正文没有句号", ["标题\n", "正文没有句号"]),
        ("一。\n\n二。", ["一。\n\n", "二。"]),
        ("  前导空白。后", ["  前导空白。", "后"]),
        ("没有结束", ["没有结束"]),
    ],
)
def test_split_sentences_cases(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_split_sentences_empty_and_blank() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n ") == [(0, 3)]


def test_unbalanced_opener_does_not_swallow_boundaries() -> None:
    # Printed text: an extra “ before 神经末梢; the sentences after it must still split.
    text = "群众议事“激活基层治理“神经末梢”。第二句。第三句。"
    assert sentences(text) == ["群众议事“激活基层治理“神经末梢”。", "第二句。", "第三句。"]


def test_quote_left_open_at_line_end_is_ignored() -> None:
    assert sentences("他说：“好。还有。\n下一行。") == ["他说：“好。", "还有。\n", "下一行。"]


def test_deep_quotes_take_linear_time() -> None:
    # A quadratic scan would not finish this in any reasonable time.
    text = "“" * 200_000 + "好。" + "”" * 200_000 + "后。"
    assert [e for _, e in split_sentences(text)] == [len(text) - 2, len(text)]


def test_newline_closes_a_quote() -> None:
    assert sentences("“第一行！\n第二行。”结束。") == ["“第一行！\n", "第二行。”", "结束。"]


def test_real_pages_tile_and_keep_quotes_whole() -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        spans = split_sentences(text)
        assert "".join(text[s:e] for s, e in spans) == text
    text = (SEEDS / "000_79f41e49edf8f691.txt").read_text(encoding="utf-8")
    parts = [p.strip() for p in sentences(text)]
    assert "多种文创产品被一些外国客商赞叹：“神奇！精细！逼真！”" in parts[12]
    assert not any(p.startswith("精细") for p in parts)


_ALPHABET = st.sampled_from(
    list("太原日报记者山西好的一二三ABCab12 .")
    + list("。！？；!?;…，、：")
    + list("“”‘’「」『』（）()《》【】")
    + ["\n", "\n\n"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=80).map("".join))
def test_spans_tile_text_without_loss(text: str) -> None:
    spans = split_sentences(text)
    assert "".join(text[s:e] for s, e in spans) == text
    position = 0
    for start, end in spans:
        assert start == position and end > start
        position = end
    assert position == len(text)
    if text.strip():
        assert all(text[s:e].strip() for s, e in spans)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=80).map("".join))
def test_spans_end_only_at_boundaries(text: str) -> None:
    spans = split_sentences(text)
    for start, end in spans[:-1]:
        core = text[start:end].rstrip()
        trailing = text[start:end][len(core) :]
        stripped = core.rstrip("".join(CLOSERS))
        ended = bool(stripped) and (stripped[-1] in TERMINATORS or stripped[-1] == "…")
        assert ended or "\n" in trailing, (text, text[start:end])
        assert "\n" not in core.strip(), "a sentence never runs over a newline"


# --------------------------------------------------------------------------- other helpers


def test_trim_span() -> None:
    text = "  好。\n下"
    assert trim_span(text, 0, 5) == (2, 4)
    assert text[slice(*trim_span(text, 0, 5))] == "好。"
    assert trim_span("   ", 0, 3) == (3, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("活跃我市零售市场。", True),
        ("他说：“好。”", True),
        ("太原“果篮子”", False),
        ("丰富我市居民的购", False),
        ("表里山河……", True),
        ("分别是：", False),
        ("", False),
        ("”", False),
    ],
)
def test_ends_sentence(text: str, expected: bool) -> None:
    assert ends_sentence(text) is expected


def test_ends_sentence_extra() -> None:
    assert ends_sentence("分别是：", extra="：")


def test_split_clauses_respects_quotes() -> None:
    sentence = "在纪念日到来之际，8月29日，街道举办“讲红色故事，传红色基因”主题活动。"
    assert split_clauses(sentence) == [
        "在纪念日到来之际",
        "8月29日",
        "街道举办“讲红色故事，传红色基因”主题活动",
    ]
    assert split_clauses("，，") == []


def test_normalize_for_match_folds_width_space_punctuation_case() -> None:
    assert normalize_for_match("ＡＢＣ　１２３") == normalize_for_match("abc123") == "abc123"
    assert normalize_for_match("“党建＋引领”，好！") == "党建+引领好"
    assert normalize_for_match("PM2.5 浓度") == normalize_for_match("pm25浓度")
    assert normalize_for_match(" \n\t") == ""


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_normalize_for_match_is_idempotent_and_blank_free(text: str) -> None:
    once = normalize_for_match(text)
    assert normalize_for_match(once) == once
    assert not any(ch.isspace() for ch in once)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="太原日报ABCabc123", max_size=30), st.text(alphabet=" 　，。、“”！？\n", max_size=10))
def test_normalize_for_match_ignores_inserted_punctuation(core: str, noise: str) -> None:
    mid = len(core) // 2
    assert normalize_for_match(core[:mid] + noise + core[mid:]) == normalize_for_match(core)


def test_han_count() -> None:
    assert han_count("太原 Taiyuan 2025年！") == 3
