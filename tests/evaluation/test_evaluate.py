import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import cli
from rag.errors import InvalidInputError
from rag.evaluation.evaluate import EvidenceMatcher, evaluate, score_question
from rag.evaluation.metrics import summarize
from rag.evaluation.qa import QAItem, split_of
from rag.types import Answer, Chunk, Citation, Passage

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, rows: list) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    return path


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
    item = replace(EXPO, question="面积多大？", evidence=("面积435平方米的山西展厅",))
    good = _chunk("a:0", "面积435平方米的山西展厅将精彩亮相。")
    other = _chunk("b:0", "太原市图书馆自习室座无虚席。")
    matcher = EvidenceMatcher([good, other])
    passages = [Passage(other, 0.9, 1), Passage(good, 0.8, 2)]
    citation = _cite(1, good, "面积435平方米的山西展厅将精彩亮相。")
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
    answerable = replace(EXPO, id="a", question="面积？", evidence=("435平方米",))
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


# --------------------------------------------------------------------------- end to end, no model


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


def test_cli_eval_json_and_thresholds(hashing_pipeline, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "open_pipeline", lambda settings=None, prepare=False: hashing_pipeline)
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
    """A citation ``[n]`` of ``chunk`` quoting ``quote`` (offsets are not scored)."""
    page = {key: getattr(chunk, key) for key in ("article_id", "title", "date", "source")}
    return Citation(n=n, chunk_id=chunk.id, quote=quote, start=0, end=len(quote), **page)


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
    monkeypatch.setattr(cli, "open_pipeline", lambda settings=None, prepare=False: hashing_pipeline)
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
