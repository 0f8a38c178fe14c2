"""Readers' 👍/👎 kept in the state store and exported as QA-set questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import main
from rag.errors import InvalidInputError
from rag.evaluation.qa import load_qa
from rag.feedback import FEEDBACK_FILE, Feedback, SqliteFeedbackStore, to_qa_rows

CITATION = {
    "n": 1,
    "article_id": "eba29c33cbb5",
    "title": "进阶攀高向新行",
    "source": "000_79f41e49edf8f691.txt",
    "page_label": "太原日报 2025年11月5日",
    "quote": "面积435平方米的山西展厅将精彩亮相",
}


def test_the_sqlite_store_keeps_entries_in_order_and_drops_the_oldest(tmp_path: Path) -> None:
    store = SqliteFeedbackStore(tmp_path / "state" / FEEDBACK_FILE, max_items=3)
    assert store.all() == []  # nothing created by reading
    ids = [store.add(Feedback(question=f"问题{i}？", answer="答", rating="up")) for i in range(5)]
    kept = store.all()
    assert [f.id for f in kept] == ids[2:] and [f.question for f in kept] == ["问题2？", "问题3？", "问题4？"]
    # Another process (a second worker, the CLI) reads the same file.
    assert [f.id for f in SqliteFeedbackStore(store.path).all()] == ids[2:]


def test_export_rows_are_qa_rows(tmp_path: Path) -> None:
    items = [
        # 👍 then 👎 on the same answer: the last verdict counts.
        Feedback(question="山西展厅多大？", answer="435平方米。[1]", rating="up", citations=(CITATION,)),
        Feedback(question="山西展厅多大？", answer="435平方米。[1]", rating="down", comment="不对"),
        Feedback(question="那它有多少家企业？", query="第八届进博会山西展厅有多少家企业？",
                 answer="26家。[1]", rating="up", citations=(CITATION,)),
        Feedback(question="太原今年的GDP是多少？", answer="资料中没有找到。", rating="up"),
    ]  # fmt: skip
    rows = to_qa_rows(items)
    assert [r["question"] for r in rows] == [
        "山西展厅多大？",
        "第八届进博会山西展厅有多少家企业？",  # the standalone query, not the bare follow-up
        "太原今年的GDP是多少？",
    ]
    down, approved, refusal = rows
    assert down["needs_gold"] is True and down["answers"] == [] and down["feedback"]["comment"] == "不对"
    assert approved["answers"] == ["26家。"] and approved["evidence"] == [CITATION["quote"]]
    assert approved["source"] == CITATION["source"] and approved["feedback"]["asked"] == "那它有多少家企业？"
    assert refusal["answerable"] is False and refusal["type"] == "unanswerable" and refusal["source"] is None
    # The rows a person need not complete are valid QA rows; a 👎 row is refused until completed.
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[1:]), encoding="utf-8")
    assert [q.answerable for q in load_qa(path)] == [True, False]
    path.write_text(json.dumps(down, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="needs a gold answer"):
        load_qa(path)


def test_rag_feedback_export(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = SqliteFeedbackStore(state / FEEDBACK_FILE)
    store.add(
        Feedback(question="山西展厅多大？", answer="435平方米。[1]", rating="down", citations=(CITATION,))
    )
    env = {"RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_STATE_DIR": str(state), "RAG_REDIS_URL": ""}
    out = tmp_path / "reported.jsonl"
    result = CliRunner().invoke(main, ["feedback", "export", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert row["needs_gold"] and row["question"] == "山西展厅多大？" and row["id"].startswith("fb-")
    assert "1 question (1 need a gold answer)" in result.output
    printed = CliRunner().invoke(main, ["feedback", "export"], env=env)
    assert json.loads(printed.stdout.splitlines()[0]) == row
