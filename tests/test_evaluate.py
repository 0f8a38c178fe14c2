import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, replace
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
    first_sentence,
    hit_at,
    keypoint_recall,
    load_qa,
    load_qa_files,
    longest_common_run,
    ndcg_at,
    normalize_answer,
    percentile,
    quote_supports,
    reciprocal_rank,
    score_question,
    select_split,
    split_of,
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


# --------------------------------------------------------------------------- answer-shape metrics


def _cite(n: int, chunk: Chunk, quote: str) -> Citation:
    return Citation(
        n=n,
        chunk_id=chunk.id,
        article_id=chunk.article_id,
        title=chunk.title,
        date=chunk.date,
        source=chunk.source,
        quote=quote,
        start=0,
        end=len(quote),
    )


EXPO = QAItem(
    id="q1",
    question="第八届进博会山西展厅面积有多大？",
    answers=("435平方米",),
    evidence=("面积435平方米的山西展厅将精彩亮相",),
    answerable=True,
    type="numeric",
)
EXPO_CHUNK = _chunk("a:0", "本届进博会以“表里山河·晋览未来”为主题。面积435平方米的山西展厅将精彩亮相。")


def _answer(item: QAItem, text: str, citations=(), refused=False, chunks=(EXPO_CHUNK,)) -> Answer:
    passages = tuple(Passage(c, 1.0 - i / 10, i + 1) for i, c in enumerate(chunks))
    return Answer(
        question=item.question, text=text, refused=refused, citations=tuple(citations), passages=passages
    )


def test_longest_common_run():
    assert longest_common_run("abcdef", "xxcdex") == 3
    assert longest_common_run("", "abc") == 0
    assert longest_common_run("太原市", "晋中市") == 1


def test_quote_supports_by_gold_span_key_point_or_evidence_overlap():
    evidence = ["面积435平方米的山西展厅将精彩亮相"]
    # The gold span, in another spelling.
    assert quote_supports("展厅共四百三十五平方米。", ["435平方米"], [])
    # A key point of a list question.
    assert quote_supports("涵盖文旅、农产品等板块。", ["文旅", "康养"], [])
    # Eight normalised characters shared with the evidence (punctuation and spaces fold away) …
    assert quote_supports("山西展厅，将 精彩亮相！", ["不相干"], evidence)
    # … but seven are not enough,
    assert not quote_supports("山西展厅将精彩。", ["不相干"], evidence)
    # and a quote from elsewhere in the same chunk does not support the answer.
    assert not quote_supports("本届进博会以“表里山河·晋览未来”为主题。", ["435平方米"], evidence)
    # Evidence shorter than eight characters must be quoted whole.
    assert quote_supports("全省26家优质企业参展。", ["不相干"], ["26家优质"])
    assert not quote_supports("全省26家企业参展。", ["不相干"], ["26家优质"])


def test_citation_precision_quote_judges_the_quote_not_the_chunk():
    # Both citations point at the chunk holding the evidence, so the chunk-level precision is
    # 1.0; only the second quote holds the evidence, so the quote-level precision is 0.5.
    citations = [
        _cite(1, EXPO_CHUNK, "本届进博会以“表里山河·晋览未来”为主题。"),
        _cite(2, EXPO_CHUNK, "面积435平方米的山西展厅将精彩亮相。"),
    ]
    answer = _answer(
        EXPO, "本届进博会以“表里山河·晋览未来”为主题。[1]面积435平方米的山西展厅将精彩亮相。[2]", citations
    )
    result = score_question(EXPO, [], answer, EvidenceMatcher([EXPO_CHUNK]))
    assert (result.citations, result.citations_supported, result.citations_supported_quote) == (2, 2, 1)
    summary = summarize([result])
    assert summary["citation_precision"] == 1.0
    assert summary["citation_precision_quote"] == 0.5


def test_citation_precision_quote_skips_refusals_and_unanswerable_questions():
    citation = _cite(1, EXPO_CHUNK, "面积435平方米的山西展厅将精彩亮相。")
    refused = score_question(
        EXPO, [], _answer(EXPO, "资料中没有找到。", [citation], refused=True), EvidenceMatcher()
    )
    unanswerable = QAItem(
        id="u1", question="第九届进博会在哪？", answers=(), evidence=(), answerable=False, type="unanswerable"
    )
    answered = score_question(
        unanswerable, [], _answer(unanswerable, "在上海。[1]", [citation]), EvidenceMatcher()
    )
    assert refused.citations_supported_quote == 1 and answered.citations_supported_quote == 0
    assert summarize([refused, answered])["citation_precision_quote"] is None
    wrong = score_question(
        EXPO, [], _answer(EXPO, "面积很大。[1]", [_cite(1, EXPO_CHUNK, "面积很大。")]), EvidenceMatcher()
    )
    assert summarize([refused, answered, wrong])["citation_precision_quote"] == 0.0


def test_first_sentence_drops_markers_and_stops_at_the_first_end_mark():
    assert first_sentence("山西展厅将亮相！[1]面积435平方米。[2]") == "山西展厅将亮相！"
    assert first_sentence("面积435平方米[1]") == "面积435平方米"
    assert first_sentence("  有多大？答：435平方米。") == "有多大？"


def test_median_answer_chars_and_gold_in_the_first_sentence():
    matcher = EvidenceMatcher([EXPO_CHUNK])
    cite = [_cite(1, EXPO_CHUNK, "面积435平方米的山西展厅将精彩亮相。")]
    first = score_question(EXPO, [], _answer(EXPO, "面积435平方米。[1]", cite), matcher)  # 9 chars
    late = score_question(
        EXPO, [], _answer(EXPO, "山西展厅将亮相。[1]面积435平方米。[2]", cite), matcher
    )  # 17
    wrong = score_question(EXPO, [], _answer(EXPO, "面积很大。[1]", cite), matcher)  # 5 chars
    refused = score_question(EXPO, [], _answer(EXPO, "资料中没有找到相关内容。", refused=True), matcher)
    assert [r.answer_chars for r in (first, late, wrong, refused)] == [9, 17, 5, None]
    assert [r.first_sentence_gold for r in (first, late, wrong, refused)] == [True, False, False, False]
    summary = summarize([first, late, wrong, refused])
    # Median of 9, 17 and 5 (the refusal does not count); gold first in one of two correct answers.
    assert summary["median_answer_chars"] == 9.0
    assert summary["answer_first_sentence_gold"] == 0.5
    assert summarize([first, late])["median_answer_chars"] == 13.0
    assert summarize([refused])["median_answer_chars"] is None
    assert summarize([wrong])["answer_first_sentence_gold"] is None


@dataclass(frozen=True)
class _NearMissItem(QAItem):
    """A QA item with ``near_miss_of`` whether or not :class:`QAItem` has the field yet."""

    near_miss_of: str = ""


def test_refusals_of_near_misses_and_other_unanswerables_are_split():
    def unanswerable(qid: str, near_miss_of: str = "") -> QAItem:
        return _NearMissItem(
            id=qid,
            question="问？",
            answers=(),
            evidence=(),
            answerable=False,
            type="unanswerable",
            near_miss_of=near_miss_of,
        )

    refusal = Answer(question="", text="资料中没有找到。", refused=True)
    answered = Answer(question="", text="在上海。", refused=False)
    matcher = EvidenceMatcher()
    results = [
        score_question(unanswerable("u1", "q1"), [], refusal, matcher),
        score_question(unanswerable("u2", "q2"), [], answered, matcher),
        score_question(unanswerable("u3", "q2"), [], answered, matcher),
        score_question(unanswerable("u4"), [], refusal, matcher),
        score_question(EXPO, [], refusal, matcher),
    ]
    assert [r.near_miss_of for r in results] == ["q1", "q2", "q2", "", ""]
    summary = summarize(results)
    assert summary["unanswerable_refused"] == 0.5
    assert summary["near_miss_refused"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["other_unanswerable_refused"] == 1.0
    assert summary["answerable_refused"] == 1.0
    assert summarize(results[3:])["near_miss_refused"] is None
    # Without the field (an older QA item) a row is an "other" unanswerable question.
    plain = QAItem(id="u5", question="问？", answers=(), evidence=(), answerable=False, type="unanswerable")
    assert score_question(plain, [], refusal, matcher).near_miss_of == ""
    assert replace(results[0], near_miss_of="").to_dict()["near_miss_of"] == ""


# --------------------------------------------------------------------------- the calibrate/report split


def test_split_of_is_stable_and_balanced():
    ids = [f"q{i:03d}" for i in range(1, 200)]
    halves = [split_of(i) for i in ids]
    assert set(halves) == {"calibrate", "report"}
    assert 0.4 <= halves.count("calibrate") / len(ids) <= 0.6
    # Fixed by SHA-256 of the id, not by Python's salted hash(): the same in every process.
    assert halves[:6] == [split_of(i) for i in ids[:6]]
    assert [split_of("q001"), split_of("q002")] == ["calibrate", "report"]
    code = "from rag.evaluate import split_of; print(','.join(split_of(f'q{i:03d}') for i in range(1, 200)))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert other.stdout.strip().split(",") == halves


def test_select_split_partitions_the_items():
    items = [replace(EXPO, id=f"q{i:03d}") for i in range(1, 41)]
    calibrate, report = select_split(items, "calibrate"), select_split(items, "report")
    assert calibrate and report
    assert sorted(i.id for i in calibrate + report) == [i.id for i in items]
    assert select_split(items, "all") == items
    with pytest.raises(InvalidInputError, match="split must be one of"):
        select_split(items, "test")


def test_load_qa_files_joins_files_and_rejects_ids_repeated_across_them(tmp_path):
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one.write_text(json.dumps(GOOD | {"id": "q1"}) + "\n" + json.dumps(GOOD | {"id": "q2"}))
    two.write_text(json.dumps(GOOD | {"id": "n1"}))
    assert [i.id for i in load_qa_files([one, two])] == ["q1", "q2", "n1"]
    two.write_text(json.dumps(GOOD | {"id": "n1"}) + "\n" + json.dumps(GOOD | {"id": "q2"}))
    with pytest.raises(InvalidInputError, match="duplicate id 'q2'") as err:
        load_qa_files([one, two])
    assert str(one) in str(err.value) and str(two) in str(err.value)


def _qa_rows(prefix: str, count: int) -> list[dict]:
    return [
        {
            "id": f"{prefix}{i:03d}",
            "question": "第八届进博会山西展厅面积有多大？",
            "answers": ["435平方米"],
            "evidence": ["面积435平方米的山西展厅将精彩亮相"],
            "answerable": True,
            "type": "numeric",
        }
        for i in range(1, count + 1)
    ]


def test_cli_eval_takes_several_files_and_a_split(hashing_pipeline, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "_pipeline", lambda settings=None: hashing_pipeline)
    dev, near = tmp_path / "dev.jsonl", tmp_path / "near.jsonl"
    dev.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in _qa_rows("q", 6)), encoding="utf-8")
    near_rows = [
        {
            "id": f"n{i:03d}",
            "question": "第九届进博会山西展厅面积有多大？",
            "answers": [],
            "evidence": [],
            "answerable": False,
            "type": "unanswerable",
            "near_miss_of": "q001",
        }
        for i in range(1, 5)
    ]
    near.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in near_rows), encoding="utf-8")
    ids = [f"q{i:03d}" for i in range(1, 7)] + [f"n{i:03d}" for i in range(1, 5)]

    result = CliRunner().invoke(cli.main, ["eval", str(dev), str(near), "--json", "--compare", "bm25"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [q["id"] for q in data["runs"][0]["questions"]] == ids
    assert data["context"]["split"] == "all" and data["context"]["qa_files"] == [str(dev), str(near)]
    summary = data["runs"][0]["summary"]
    for key in ("citation_precision_quote", "median_answer_chars", "answer_first_sentence_gold"):
        assert key in summary and key in data["runs"][0]["by_type"]["numeric"]
    for key in ("near_miss_refused", "other_unanswerable_refused"):
        assert key in summary and key in data["runs"][0]["by_type"]["unanswerable"]

    result = CliRunner().invoke(cli.main, ["eval", str(dev), str(near), "--json", "--split", "report"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [q["id"] for q in data["runs"][0]["questions"]] == [i for i in ids if split_of(i) == "report"]
    assert "(split report)" in data["qa_file"]

    result = CliRunner().invoke(cli.main, ["eval", str(dev), str(near), "--report", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "citation precision (quoted sentence)" in markdown and "near-miss unanswerable refused" in markdown
    assert "median chars" in markdown and "citation precision (quoted sentence)" in result.stdout

    result = CliRunner().invoke(cli.main, ["eval", str(dev), str(dev)])
    assert result.exit_code == 2 and "duplicate id 'q001'" in result.stderr


def test_cli_eval_duplicate_ids_across_files_is_a_one_line_error(tmp_path):
    # A real process, as a user runs it; the files are read before any index is built.
    one, two = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    one.write_text(json.dumps(_qa_rows("q", 2)[0], ensure_ascii=False), encoding="utf-8")
    two.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in _qa_rows("q", 2)[::-1]), encoding="utf-8"
    )
    env = {**os.environ, "RAG_EMBEDDING_MODEL": "hashing:64", "RAG_INDEX_DIR": str(tmp_path / "index")}
    proc = subprocess.run(
        [sys.executable, "-m", "rag.cli", "eval", str(one), str(two), "--split", "report"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"error: duplicate id 'q001': in {one} and in {two}"
    assert not (tmp_path / "index").exists()
