"""Checks on the hand-written dev QA set ``eval/qa_dev.jsonl`` against the seed pages.

Evidence must be copied from the pages.  The printed pages break some sentences across
columns, which the text extraction renders as a line break plus a blank line in the middle
of a sentence ("…的购" + blank line + "物选择…").  :func:`join_column_breaks` undoes exactly
that, and an evidence string is accepted if it is a substring of the raw page text or of
the joined text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rag.evaluation.qa import QUESTION_TYPES

ROOT = Path(__file__).resolve().parents[1]
QA_PATH = ROOT / "eval" / "qa_dev.jsonl"
SEEDS = ROOT / "seeds"

TYPES = set(QUESTION_TYPES)
REQUIRED_FIELDS = {"id", "question", "answers", "evidence", "answerable", "type", "source"}
OPTIONAL_FIELDS = {"note"}

# The extracted text marks a printed column break with a line break plus a blank line, the
# same as a paragraph break.  A block was cut mid-sentence when its last line is body text
# (long, not a "#" headline, has clause punctuation, no byline or photo credit at its tail)
# that stops without sentence-final punctuation.  On the five seeds this finds exactly the
# 15 real column breaks and no paragraph ends; a closing quote may follow a cut ("果篮子”").
_CLAUSE_PUNCT = re.compile(r"[，,、；;：:]")
_SENTENCE_END = tuple("。！？!?…；;）)")
_CLOSING_QUOTES = "”’」』\"'"
_MIN_BODY_LINE = 20


def _cut_mid_sentence(line: str) -> bool:
    return (
        len(line) >= _MIN_BODY_LINE
        and not line.startswith("#")
        and " " not in line[-8:]
        and bool(_CLAUSE_PUNCT.search(line))
        and not line.rstrip(_CLOSING_QUOTES).endswith(_SENTENCE_END)
    )


def join_column_breaks(text: str) -> str:
    """Remove the line break and blank line that a printed column break put inside a sentence."""
    blocks = text.split("\n\n")
    joined = [blocks[0]]
    for block in blocks[1:]:
        if block and _cut_mid_sentence(joined[-1].rsplit("\n", 1)[-1]):
            joined[-1] += block
        else:
            joined.append(block)
    return "\n\n".join(joined)


def nfkc(text: str) -> str:
    """Normalise full-width forms so that ``４３５`` and ``435`` compare equal."""
    return unicodedata.normalize("NFKC", text)


def _load_pages() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))}


def _load_questions() -> list[dict[str, Any]]:
    lines = QA_PATH.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


PAGES = _load_pages()
JOINED = {name: join_column_breaks(text) for name, text in PAGES.items()}
QUESTIONS = _load_questions()
ANSWERABLE = [q for q in QUESTIONS if q["answerable"]]


def _sources(question: dict[str, Any]) -> list[str]:
    source = question["source"]
    if not source:
        return []
    return [source] if isinstance(source, str) else list(source)


def _in_page(snippet: str, name: str) -> bool:
    return snippet in PAGES[name] or snippet in JOINED[name]


def test_join_column_breaks_joins_only_mid_sentence_breaks() -> None:
    body = "借助该平台，他们持续拓展采购渠道，引进的全球各地好物丰富居民的购"
    text = f"标题，短\n\n{body}\n\n物选择。\n\n他笑着说：“每年都出现售罄，带来更多欢喜和信心。”\n\n再一段"
    joined = join_column_breaks(text)
    assert "丰富居民的购物选择。" in joined
    assert "标题，短\n\n借助" in joined
    assert "信心。”\n\n再一段" in joined


def test_join_column_breaks_leaves_bylines_and_headlines_alone() -> None:
    text = "奋进之路永无终点，太原正与时代同行、与世界共舞。 记者 李静\n\n并州论坛 |"
    assert join_column_breaks(text) == text
    headline = "## 涉及数字经济、高端装备制造等领域，以及更多其他的一些领域\n\n正文"
    assert join_column_breaks(headline) == headline


def test_join_column_breaks_repairs_a_real_seed_break() -> None:
    page = PAGES["000_79f41e49edf8f691.txt"]
    assert "丰富我市居民的购物选择" not in page
    assert "丰富我市居民的购物选择" in JOINED["000_79f41e49edf8f691.txt"]


def test_join_column_breaks_finds_the_fifteen_seed_breaks() -> None:
    removed = sum(len(PAGES[name]) - len(JOINED[name]) for name in PAGES)
    assert removed == 2 * 15


def test_file_is_utf8_jsonl_with_unescaped_chinese() -> None:
    raw = QA_PATH.read_text(encoding="utf-8")
    assert "\\u" not in raw, "write with ensure_ascii=False"
    assert all(line.strip() for line in raw.splitlines()), "no blank lines"


def test_ids_unique_and_well_formed() -> None:
    ids = [q["id"] for q in QUESTIONS]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"q\d{3}", qid) for qid in ids)


def test_size_and_type_coverage() -> None:
    assert len(QUESTIONS) >= 100
    counts = Counter(q["type"] for q in QUESTIONS)
    assert set(counts) == TYPES
    assert all(n >= 3 for n in counts.values()), counts


def test_unanswerable_share_is_about_a_fifth() -> None:
    share = sum(not q["answerable"] for q in QUESTIONS) / len(QUESTIONS)
    assert 0.17 <= share <= 0.30, share


def test_every_page_is_covered() -> None:
    covered = {name for q in QUESTIONS for name in _sources(q)}
    assert covered == set(PAGES)


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q["id"])
def test_fields_and_types(q: dict[str, Any]) -> None:
    assert REQUIRED_FIELDS <= set(q) <= REQUIRED_FIELDS | OPTIONAL_FIELDS
    assert isinstance(q["question"], str) and q["question"].strip()
    assert isinstance(q["answerable"], bool)
    assert q["type"] in TYPES
    assert (q["type"] == "unanswerable") == (not q["answerable"])
    for key in ("answers", "evidence"):
        assert isinstance(q[key], list)
        assert all(isinstance(s, str) and s.strip() == s and s for s in q[key])
    assert all(name in PAGES for name in _sources(q))
    if isinstance(q["source"], list):
        assert q["type"] in {"multi_hop", "temporal"}


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q["id"])
def test_answerable_shape(q: dict[str, Any]) -> None:
    if q["answerable"]:
        assert q["answers"] and q["evidence"] and _sources(q)
    else:
        assert not q["answers"] and not q["evidence"] and not _sources(q)


@pytest.mark.parametrize("q", ANSWERABLE, ids=lambda q: q["id"])
def test_evidence_is_copied_from_the_source_pages(q: dict[str, Any]) -> None:
    for snippet in q["evidence"]:
        assert any(_in_page(snippet, name) for name in _sources(q)), snippet


@pytest.mark.parametrize("q", [q for q in ANSWERABLE if q["type"] != "summary"], ids=lambda q: q["id"])
def test_a_gold_answer_is_supported_by_the_text(q: dict[str, Any]) -> None:
    haystacks = [nfkc(s) for s in q["evidence"]]
    haystacks += [nfkc(JOINED[name]) for name in _sources(q)]
    assert any(nfkc(ans) in hay for ans in q["answers"] for hay in haystacks), q["answers"]


@pytest.mark.parametrize("q", [q for q in QUESTIONS if q["type"] == "paraphrase"], ids=lambda q: q["id"])
def test_paraphrase_shares_no_four_character_run_with_its_page(q: dict[str, Any]) -> None:
    question = nfkc(q["question"])
    pages = [nfkc(PAGES[name]) + "\n" + nfkc(JOINED[name]) for name in _sources(q)]
    runs = {question[i : i + 4] for i in range(len(question) - 3)}
    shared = sorted(run for run in runs if any(run in page for page in pages))
    assert not shared, shared
