import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import cli
from rag.embed import HashingEmbedder
from rag.errors import InvalidInputError
from rag.evaluate import (
    EvidenceMatcher,
    QAItem,
    char_f1,
    check_thresholds,
    contains_answer,
    evaluate,
    hit_at,
    keypoint_recall,
    load_qa,
    ndcg_at,
    normalize_answer,
    percentile,
    reciprocal_rank,
    score_question,
    summarize,
)
from rag.generate import ExtractiveGenerator
from rag.pipeline import Pipeline
from rag.report import render_text, write_report
from rag.settings import Settings
from rag.types import Answer, Chunk, Citation, Passage

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    "variant", ["435平方米", "435㎡", "四百三十五平方米", "４３５平方米", "435 平米", "435m2"]
)
def test_area_spellings_normalise_alike(variant):
    assert normalize_answer(variant) == "435平方米"


def test_chinese_numerals_become_arabic():
    assert normalize_answer("四百三十五") == "435"
    assert normalize_answer("二〇二五年") == "2025年"
    assert normalize_answer("两千三百八十一名") == "2381名"
    assert normalize_answer("第八届") == "第8届"
    assert normalize_answer("十一月") == "11月"
    assert normalize_answer("一万二千") == "12000"


def test_words_made_of_unit_characters_are_left_alone():
    # 万柏林区 is a district and 千余 "over a thousand": no digit, so no number.
    assert normalize_answer("万柏林区") == "万柏林区"
    assert normalize_answer("千余公里") == "千余公里"


def test_scaled_numbers_percent_and_separators():
    assert normalize_answer("5111.5万元") == normalize_answer("51,115,000元") == "51115000元"
    assert normalize_answer("五千一百一十一点五万元") == "51115000元"
    assert normalize_answer("百分之七十") == normalize_answer("70％") == "70%"
    assert normalize_answer("57.9%") == "57.9%"


def test_widths_spaces_punctuation_and_citation_markers_fold():
    assert normalize_answer("“表里山河·晋览未来”[1]") == normalize_answer("表里山河 晋览未来")
    assert normalize_answer("ＰＭ２.５") == "pm2.5"


def test_contains_answer_matches_equivalent_spans_only():
    assert contains_answer("面积四百三十五平方米的山西展厅[1]", ["435㎡"])
    assert contains_answer("七成产品售出", ["70%", "七成"])
    assert not contains_answer("面积4350平方米", ["435平方米"])
    # The decimal point is kept: 57.9% is not 579.
    assert not contains_answer("增长57.9%", ["579"])
    assert not contains_answer("任何回答", [])


def test_char_f1_hand_cases():
    assert char_f1("太原", "太原") == 1.0
    assert char_f1("太原", "晋中") == 0.0
    assert char_f1("太原市", "太原") == pytest.approx(0.8)  # P 2/3, R 1
    # Equal after normalisation, so a perfect score despite different spelling.
    assert char_f1("四百三十五平方米", "435㎡") == 1.0
    assert char_f1("", "太原") == 0.0


def test_keypoint_recall_counts_covered_points():
    answer = "会议要求抓好空气质量调度和扬尘治理。"
    assert keypoint_recall(answer, ["空气质量", "扬尘", "机动车"]) == pytest.approx(2 / 3)
    assert keypoint_recall(answer, []) == 0.0


# --------------------------------------------------------------------------- ranking metrics


def test_hit_at_k():
    ranking = [False, False, True, False]
    assert [hit_at(ranking, k) for k in (1, 2, 3, 10)] == [0.0, 0.0, 1.0, 1.0]
    assert hit_at([], 5) == 0.0


def test_reciprocal_rank_respects_depth():
    assert reciprocal_rank([False, True]) == 0.5
    assert reciprocal_rank([False] * 10 + [True], k=10) == 0.0
    assert reciprocal_rank([False] * 10 + [True], k=11) == pytest.approx(1 / 11)


def test_ndcg_hand_computed():
    ranking = [False, True, False, True]
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert ndcg_at(ranking, 10, total_relevant=2) == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    # A third relevant passage that was not retrieved lowers the score.
    ideal3 = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranking, 10, total_relevant=3) == pytest.approx(dcg / ideal3)
    assert ndcg_at([True, False], 10, total_relevant=1) == 1.0
    assert ndcg_at([False, False], 10, total_relevant=0) == 0.0


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 95) == 10
    assert percentile([], 50) is None


# --------------------------------------------------------------------------- the QA file


def _write(tmp_path: Path, rows: list) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows))
    return path


GOOD = {
    "id": "q1",
    "question": "面积多大？",
    "answers": ["435平方米"],
    "evidence": ["面积435平方米"],
    "answerable": True,
    "type": "numeric",
}


def test_load_qa_reads_the_dev_set():
    items = load_qa(ROOT / "eval" / "qa_dev.jsonl")
    assert len(items) == len({i.id for i in items}) > 100
    assert all(bool(i.answers) == i.answerable for i in items)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{not json", "not valid JSON"),
        ({**GOOD, "type": "trivia"}, "type must be one of"),
        ({**GOOD, "answerable": False}, "must have empty answers"),
        ({**GOOD, "evidence": []}, "needs answers and evidence"),
        ({k: v for k, v in GOOD.items() if k != "question"}, "missing field"),
    ],
)
def test_load_qa_names_the_bad_line(tmp_path, row, message):
    path = _write(tmp_path, [GOOD | {"id": "q0"}, row])
    with pytest.raises(InvalidInputError, match=message) as err:
        load_qa(path)
    assert ":2:" in str(err.value)


def test_load_qa_rejects_duplicate_ids(tmp_path):
    with pytest.raises(InvalidInputError, match="duplicate id"):
        load_qa(_write(tmp_path, [GOOD, GOOD]))


# --------------------------------------------------------------------------- scoring one question


def _chunk(cid: str, text: str, title: str = "标题", date: str = "2025-11-05") -> Chunk:
    return Chunk(
        id=cid,
        article_id=cid.split(":")[0],
        text=text,
        start=0,
        end=len(text),
        title=title,
        date=date,
        source="p.txt",
    )


def test_evidence_matches_across_a_column_break():
    chunk = _chunk("a:0", "引进的全球各地好物丰富我市居民的购\n物选择。")
    matcher = EvidenceMatcher([chunk, _chunk("b:0", "无关内容。")])
    assert matcher.supports(chunk, ["丰富我市居民的购物选择"])
    assert matcher.count(["丰富我市居民的购物选择"]) == 1
    assert matcher.count(["不存在的句子"]) == 0


def test_score_question_measures_retrieval_answer_and_citations():
    item = QAItem(
        id="q1",
        question="面积多大？",
        answers=("435平方米",),
        evidence=("面积435平方米的山西展厅",),
        answerable=True,
        type="numeric",
    )
    good = _chunk("a:0", "面积435平方米的山西展厅将精彩亮相。")
    other = _chunk("b:0", "太原市图书馆自习室座无虚席。")
    matcher = EvidenceMatcher([good, other])
    passages = [Passage(other, 0.9, 1), Passage(good, 0.8, 2)]
    citation = Citation(
        n=1,
        chunk_id="a:0",
        article_id="a",
        title="标题",
        date="2025-11-05",
        source="p.txt",
        quote="面积435平方米的山西展厅将精彩亮相。",
        start=0,
        end=18,
    )
    answer = Answer(
        question=item.question,
        text="面积四百三十五平方米的山西展厅将精彩亮相。[1]",
        refused=False,
        citations=(citation,),
        passages=tuple(passages),
    )
    result = score_question(item, passages, answer, matcher, {"ask_total_ms": 3.0})
    assert result.relevance == [False, True]
    assert result.first_relevant_rank == 2
    assert result.correct and not result.failed
    assert (result.citations, result.citations_supported) == (1, 1)
    summary = summarize([result])
    assert summary["hit@1"] == 0.0 and summary["hit@3"] == 1.0
    assert summary["mrr@10"] == 0.5
    assert summary["citation_precision"] == 1.0
    assert summary["correct_with_supporting_citation"] == 1.0
    assert summary["unanswerable_refused"] is None


def test_refusals_are_scored_both_ways():
    unanswerable = QAItem(
        id="u", question="第九届进博会在哪？", answers=(), evidence=(), answerable=False, type="unanswerable"
    )
    answerable = QAItem(
        id="a",
        question="面积？",
        answers=("435平方米",),
        evidence=("435平方米",),
        answerable=True,
        type="numeric",
    )
    refusal = Answer(question="", text="资料中没有找到。", refused=True)
    matcher = EvidenceMatcher([])
    results = [
        score_question(unanswerable, [], refusal, matcher),
        score_question(answerable, [], refusal, matcher),
    ]
    summary = summarize(results)
    assert summary["unanswerable_refused"] == 1.0
    assert summary["answerable_refused"] == 1.0
    assert summary["answer_accuracy"] == 0.0
    assert [r.failed for r in results] == [False, True]


def test_check_thresholds_reports_each_failing_metric():
    thresholds = {
        "metrics": {"hit@5": {"min": 0.9}, "answerable_refused": {"max": 0.1}, "mrr@10": {"min": 0.5}}
    }
    failures = check_thresholds({"hit@5": 0.85, "answerable_refused": 0.2, "mrr@10": 0.7}, thresholds)
    assert len(failures) == 2
    assert any("hit@5" in f and "below" in f for f in failures)
    assert any("answerable_refused" in f and "above" in f for f in failures)
    assert check_thresholds({"hit@5": 0.95, "answerable_refused": 0.0, "mrr@10": 0.7}, thresholds) == []


# --------------------------------------------------------------------------- end to end, no model


@pytest.fixture(scope="module")
def hashing_pipeline(tmp_path_factory) -> Pipeline:
    settings = Settings(index_dir=tmp_path_factory.mktemp("idx"), seeds_dir=ROOT / "seeds", _env_file=None)
    pipeline = Pipeline(settings, HashingEmbedder(256), generator=None)  # type: ignore[arg-type]
    pipeline.generator = ExtractiveGenerator(lambda t: pipeline.index.idf(t))
    return pipeline


@pytest.fixture(scope="module")
def dev_items() -> list[QAItem]:
    items = load_qa(ROOT / "eval" / "qa_dev.jsonl")
    # A few of every type keeps the test fast.
    by_type: dict[str, list[QAItem]] = {}
    for item in items:
        by_type.setdefault(item.type, []).append(item)
    return [i for group in by_type.values() for i in group[:3]]


def test_evaluate_compares_retrievers_on_one_index(hashing_pipeline, dev_items):
    seen: list[tuple[int, str]] = []
    report = evaluate(
        hashing_pipeline,
        dev_items,
        ["bm25", "dense"],
        qa_file="dev",
        progress=lambda done, total, mode: seen.append((done, mode)),
    )
    assert [r.retriever for r in report.runs] == ["bm25", "dense"]
    assert len(seen) == 2 * len(dev_items)
    for run in report.runs:
        summary = run.summary
        assert summary["questions"] == len(dev_items)
        assert summary["hit@1"] <= summary["hit@3"] <= summary["hit@5"] <= summary["hit@10"]
        assert set(run.by_type) == {i.type for i in dev_items}
        assert {"search_top10_ms", "ask_total_ms"} <= set(run.latency)
        assert run.latency["ask_total_ms"]["p50"] <= run.latency["ask_total_ms"]["p95"]
    # BM25 finds literal evidence for questions copied from the page far more often than chance.
    assert report.run("bm25").summary["hit@10"] > 0.5
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert data["runs"][0]["questions"][0]["id"] == dev_items[0].id


def test_evaluate_rejects_unknown_retrievers(hashing_pipeline, dev_items):
    with pytest.raises(InvalidInputError, match="unknown retriever"):
        evaluate(hashing_pipeline, dev_items, ["bm25", "sparse"])


def test_report_files_show_charts_and_failures(hashing_pipeline, dev_items, tmp_path):
    report = evaluate(hashing_pipeline, dev_items, ["bm25", "hybrid"])
    paths = write_report(report, tmp_path / "rep")
    html = paths["html"].read_text(encoding="utf-8")
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert html.count("<svg") == 4 and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for run in report.runs:
        assert f"Failed questions — {run.retriever} ({len(run.failures)})" in markdown
        for failure in run.failures:
            assert failure.id in html
    assert (tmp_path / "rep" / "charts" / "hit_curve.svg").read_text(encoding="utf-8").startswith("<svg")
    text = render_text(report)
    assert "hit@5" in text and "bm25" in text and "hybrid" in text


def test_cli_eval_json_and_thresholds(hashing_pipeline, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "_pipeline", lambda settings=None: hashing_pipeline)
    qa = _write(
        tmp_path,
        [
            {
                "id": "q1",
                "question": "第八届进博会山西展厅面积有多大？",
                "answers": ["435平方米"],
                "evidence": ["面积435平方米的山西展厅将精彩亮相"],
                "answerable": True,
                "type": "numeric",
            }
        ],
    )
    result = CliRunner().invoke(cli.main, ["eval", str(qa), "--json", "--compare", "bm25,hybrid"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["retriever"] for r in data["runs"]] == ["bm25", "hybrid"]
    assert data["runs"][0]["summary"]["hit@10"] == 1.0
    strict = tmp_path / "t.json"
    strict.write_text(json.dumps({"metrics": {"hit@1": {"min": 1.01}}}))
    result = CliRunner().invoke(cli.main, ["eval", str(qa), "--thresholds", str(strict)])
    assert result.exit_code == 1
    assert "threshold failed: hit@1" in result.stderr
