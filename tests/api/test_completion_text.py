"""The /v1 message text: a cap that streams and cuts alike and never splits a marker; footnotes."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from api.completion_text import FOOTNOTE_HEADING, CappedText, footnotes

ANSWER = "第八届进博会山西展厅面积有435平方米。[1]包含全省26家优质企业&lt;b&gt;。[2][12]"
CITATION = {"n": 1, "title": "进阶攀高向新行", "page_label": "太原日报 2025年11月5日", "quote": "面" * 80}


def whole(text: str, limit: int | None) -> tuple[str, bool]:
    capped = CappedText(limit)
    return capped.feed(text) + capped.flush(), capped.truncated


@given(cuts=st.lists(st.integers(0, len(ANSWER)), max_size=8), limit=st.none() | st.integers(1, 60))
def test_streaming_in_any_pieces_cuts_as_the_whole_text_does(cuts: list[int], limit: int | None) -> None:
    bounds = [0, *sorted(cuts), len(ANSWER)]
    capped = CappedText(limit)
    sent = (
        "".join(capped.feed(ANSWER[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)) + capped.flush()
    )
    assert (sent, capped.truncated) == whole(ANSWER, limit)
    assert ANSWER.startswith(sent) and (limit is None or len(sent) <= limit)
    # Never part of a marker or an entity.
    rest = ANSWER[len(sent) :]
    assert not (re.search(r"\[\d*$", sent) and re.match(r"\d*\]", rest))
    assert not (re.search(r"&[a-z]*$", sent) and re.match(r"[a-z]*;", rest))


def test_a_cap_inside_a_marker_cuts_before_it() -> None:
    cut_at = ANSWER.index("[1]") + 2  # between "[1" and "]"
    assert whole(ANSWER, cut_at) == (ANSWER[: ANSWER.index("[1]")], True)
    assert whole(ANSWER, len(ANSWER)) == (ANSWER, False)


def test_footnotes_shorten_quotes_and_fit_the_room() -> None:
    block = footnotes([CITATION, {**CITATION, "n": 2}])
    lines = block.strip().splitlines()
    assert lines[0].strip() == FOOTNOTE_HEADING and len(lines) == 3
    assert lines[1].strip() == f"[1] 进阶攀高向新行 — 太原日报 2025年11月5日：“{'面' * 59}…”"
    assert footnotes([CITATION, {**CITATION, "n": 2}], room=len(block) - 1).count("[") == 1
    assert footnotes([CITATION], room=10) == "" and footnotes([]) == ""
    # A quote the answer shows whole is not repeated.
    assert footnotes([CITATION], answer=f"答：{CITATION['quote']}。[1]").strip().endswith("2025年11月5日")
