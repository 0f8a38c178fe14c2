"""Checks on the near-miss set ``eval/qa_near_miss.jsonl`` and on the script that writes it.

Each row varies one answerable dev question in one hard constraint so that the seed pages
no longer answer it.  The script ``eval/make_near_miss.py`` holds the hand-written table
and the seed check; these tests load it with importlib, re-run the check on every variant,
show that the check does reject variants a page answers, and rebuild the file byte for byte.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from rag.evaluation.qa import load_qa

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "eval" / "make_near_miss.py"
NEAR_MISS_PATH = ROOT / "eval" / "qa_near_miss.jsonl"
DEV_PATH = ROOT / "eval" / "qa_dev.jsonl"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_near_miss", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


nm = _load_script()
CORPUS = nm.load_corpus()
DEV = nm.load_dev()
ROWS = [json.loads(line) for line in NEAR_MISS_PATH.read_text(encoding="utf-8").splitlines()]


def test_file_loads_with_the_product_loader_and_keeps_the_near_miss_fields() -> None:
    items = load_qa(NEAR_MISS_PATH)
    assert len(items) == len(ROWS) >= 150
    for item, row in zip(items, ROWS, strict=True):
        assert item.id == row["id"]
        assert not item.answerable and item.type == "unanswerable"
        assert not item.answers and not item.evidence
        assert item.near_miss_of == row["near_miss_of"]
        assert item.changed == row["changed"]


def test_dev_rows_load_with_empty_near_miss_fields() -> None:
    items = load_qa(DEV_PATH)
    assert all(item.near_miss_of == "" and item.changed == "" for item in items)


def test_ids_are_unique_and_numbered_in_file_order() -> None:
    assert [row["id"] for row in ROWS] == [f"n{i:03d}" for i in range(1, len(ROWS) + 1)]


def test_row_format() -> None:
    fields = ["id", "question", "answers", "evidence", "answerable", "type", "source"]
    fields += ["near_miss_of", "changed", "note"]
    raw = NEAR_MISS_PATH.read_text(encoding="utf-8")
    assert "\\u" not in raw, "write with ensure_ascii=False"
    for row in ROWS:
        assert list(row) == fields
        assert row["answers"] == [] and row["evidence"] == [] and row["source"] is None
        assert row["answerable"] is False and row["type"] == "unanswerable"
        assert row["note"].strip()
        assert row["question"].endswith("？") and "?" not in row["question"]


def test_each_row_is_a_near_miss_of_an_answerable_dev_question() -> None:
    for row in ROWS:
        source = DEV.get(row["near_miss_of"])
        assert source is not None and source["answerable"] is True, row
        assert row["question"] != source["question"]


def test_kinds_and_spread() -> None:
    counts = Counter(row["changed"] for row in ROWS)
    assert set(counts) == set(nm.CHANGED_KINDS), counts
    assert all(n >= 5 for n in counts.values()), counts
    assert len({row["near_miss_of"] for row in ROWS}) >= 60


def test_questions_are_distinct_and_not_in_the_dev_set() -> None:
    questions = [row["question"] for row in ROWS]
    assert len(set(questions)) == len(questions)
    assert not set(questions) & {q["question"] for q in DEV.values()}


def test_rows_match_the_table_in_order() -> None:
    assert len(ROWS) == len(nm.VARIANTS)
    for row, variant in zip(ROWS, nm.VARIANTS, strict=True):
        source_question = DEV[variant.source]["question"]
        assert (row["near_miss_of"], row["changed"], row["note"]) == (
            variant.source,
            variant.changed,
            variant.note,
        )
        # Exactly one span of the source question was replaced.
        assert source_question.count(variant.old) == 1
        assert row["question"] == source_question.replace(variant.old, variant.new)


@pytest.mark.parametrize("variant", nm.VARIANTS, ids=lambda v: f"{v.source}-{v.changed}-{v.new}")
def test_no_seed_article_answers_the_variant(variant) -> None:
    assert nm.check_variant(variant, CORPUS, DEV) == []


# Variants that a page does answer (or could): the check must reject each of them.
BAD = [
    # The 2021 page reports the 4th 进博会 and, in the 综改示范区 item, a 推介会 and its 主题.
    ("q010", "edition", "第六届", "第四届", "第4届"),
    ("q037", "edition", "2025年最近一届", "第四届", "第4届"),
    # The 2025 article speaks of the 7th edition next to the hall and its area.
    ("q002", "edition", "第八届", "第七届", "第7届"),
    # The page mentions 王煜尘's earlier 36th expedition.
    ("q071", "edition", "第38次", "第36次", "第36次"),
    # The 2023 page's "今年上半年" is 2023 (the page's own year).
    ("q043", "year", "今年上半年", "2023年上半年", "year 2023"),
    # 去年 on the 2025 page is 2024, the 7th edition, next to 展厅 and 主题.
    ("q001", "year", "第八届进博会上", "2024年进博会上", "year 2024"),
    # The epidemic notice is dated 7月28日.
    ("q124", "date", "7月27日", "7月28日", "date 7月28日"),
    # Inside printed ranges: 9月20日…持续至9月24日, 9月1日至15日.
    ("q092", "date", "今年", "9月22日的", "date 9月22日"),
    ("q054", "date", "2023年", "9月10日的", "date 9月10日"),
    # The same 意见 names 大同 (国家区域重点城市) next to 太原.
    ("q112", "place", "太原", "大同", "大同"),
    # 李静 is a reporter on two pages.
    ("q039", "person", "侯森", "李静", "李静"),
    # 美特好 is in the same article as the 售罄 products.
    ("q038", "organisation", "山西工美产业联盟", "美特好集团", "美特好集团"),
    # 数百平方米 (the 2022 hall) could be 600.
    ("q001", "figure", "第八届进博会上，山西展厅", "面积600平方米的山西展厅", "数百平方米"),
]


@pytest.mark.parametrize("source, kind, old, new, why", BAD, ids=[f"{b[0]}-{b[3]}" for b in BAD])
def test_the_check_rejects_a_variant_a_page_answers(source, kind, old, new, why) -> None:
    problems = nm.check_variant(nm.Variant(source, kind, old, new, "test"), CORPUS, DEV)
    assert problems, f"{source} {old}→{new} should be rejected"
    assert any(why in p for p in problems), problems


def test_the_check_rejects_malformed_variants() -> None:
    assert nm.check_variant(nm.Variant("q160", "year", "第八届", "第九届", "t"), CORPUS, DEV)  # unanswerable
    assert nm.check_variant(nm.Variant("q002", "edition", "第七届", "第九届", "t"), CORPUS, DEV)  # old absent
    assert nm.check_variant(nm.Variant("q002", "colour", "第八届", "第九届", "t"), CORPUS, DEV)
    assert nm.check_variant(nm.Variant("q002", "year", "第八届", "第九届", "t"), CORPUS, DEV)  # no year
    assert nm.check_variant(nm.Variant("q002", "metric", "面积", "高度", "t"), CORPUS, DEV)  # no probes


def test_failing_variants_stop_the_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = nm.Variant("q071", "edition", "第38次", "第36次", "t")
    monkeypatch.setattr(nm, "VARIANTS", (*nm.VARIANTS, bad))
    out = tmp_path / "nm.jsonl"
    assert nm.main(["--out", str(out)]) == 1
    assert not out.exists()


def test_articles_cover_each_page_in_order() -> None:
    pages = sorted({a.page for a in CORPUS.articles})
    assert pages == sorted(nm.ARTICLE_STARTS)
    for page in pages:
        indexes = [a.index for a in CORPUS.articles if a.page == page]
        assert indexes == list(range(len(nm.ARTICLE_STARTS[page]) + 1))
    district_items = [a.title for a in CORPUS.articles if a.page.startswith("002") and a.index >= 4]
    assert district_items[:3] == ["小店区", "尖草坪区", "古交市"]


def test_an_ambiguous_article_marker_is_an_error() -> None:
    with pytest.raises(ValueError, match="matches 2 lines"):
        nm.split_articles("x.txt", "甲\n小店区\n乙\n小店区\n", 2021, ("小店区",))


def test_years_dates_and_numbers() -> None:
    expo_2025 = CORPUS.articles[0]
    assert {2022, 2023, 2024, 2025} <= nm.years_in(expo_2025)
    assert 2026 not in nm.years_in(expo_2025) and 2021 not in nm.years_in(expo_2025)
    assert nm.editions_in(expo_2025, "届") >= {5, 6, 7, 8}
    notice = next(a for a in CORPUS.articles if a.title.startswith("## 应对天气快速升温"))
    assert {(7, 29), (7, 30), (7, 31)} <= nm.dates_in(notice)
    assert nm.cn_small(38) == "三十八" and nm.cn_value("三十八") == 38 and nm.cn_value("二〇二一") == 2021
    assert nm.mentions(nm.fold("增速达到57.9%"), "9") is False
    assert nm.mentions(nm.fold("第三十九次"), "第39次") is True


def test_rebuild_reproduces_the_committed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "qa_near_miss.jsonl"
    assert nm.main(["--out", str(out)]) == 0
    assert out.read_bytes() == NEAR_MISS_PATH.read_bytes()
    printed = capsys.readouterr().out
    for kind in nm.CHANGED_KINDS:
        assert re.search(rf"^\s+{kind}\s+\d+$", printed, re.MULTILINE), printed
