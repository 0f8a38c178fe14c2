import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from rag.errors import InvalidInputError
from rag.evaluation.qa import (
    QAItem,
    check_thresholds,
    load_qa,
    load_qa_files,
    select_split,
    split_of,
)

ROOT = Path(__file__).resolve().parents[2]
ITEM = QAItem("q1", "面积？", ("435平方米",), ("435平方米",), answerable=True, type="numeric")

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


def test_check_thresholds_reports_each_failing_metric():
    thresholds = {
        "metrics": {"hit@5": {"min": 0.9}, "answerable_refused": {"max": 0.1}, "mrr@10": {"min": 0.5}}
    }
    failures = check_thresholds({"hit@5": 0.85, "answerable_refused": 0.2, "mrr@10": 0.7}, thresholds)
    assert len(failures) == 2
    assert any("hit@5" in f and "below" in f for f in failures)
    assert any("answerable_refused" in f and "above" in f for f in failures)
    assert check_thresholds({"hit@5": 0.95, "answerable_refused": 0.0, "mrr@10": 0.7}, thresholds) == []


# --------------------------------------------------------------------------- the calibrate/report split


def test_split_of_is_stable_and_balanced():
    ids = [f"q{i:03d}" for i in range(1, 200)]
    halves = [split_of(i) for i in ids]
    assert set(halves) == {"calibrate", "report"}
    assert 0.4 <= halves.count("calibrate") / len(ids) <= 0.6
    # Fixed by SHA-256 of the id, not by Python's salted hash(): the same in every process.
    assert halves[:6] == [split_of(i) for i in ids[:6]]
    assert [split_of("q001"), split_of("q002")] == ["calibrate", "report"]
    code = (
        "from rag.evaluation.qa import split_of; "
        "print(','.join(split_of(f'q{i:03d}') for i in range(1, 200)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert other.stdout.strip().split(",") == halves


def test_select_split_partitions_the_items():
    items = [replace(ITEM, id=f"q{i:03d}") for i in range(1, 41)]
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
