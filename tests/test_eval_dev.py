"""The CI gate: ``rag eval`` on the dev and near-miss sets (real model) must meet ``eval/thresholds.json``.

A change that makes retrieval, answers, citations or refusals worse than the recorded
minimums fails the build.  When a change makes them better, re-measure and raise the
thresholds (see ``eval/EXPERIMENTS.md``).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.evaluation.qa import check_thresholds, load_thresholds

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = ROOT / "eval" / "thresholds.json"
# Settings that change what is measured; the gate measures the shipped defaults.
_KEEP = {"RAG_CACHE_DIR", "RAG_DEVICE"}


def test_thresholds_file_records_what_was_measured():
    thresholds = load_thresholds(THRESHOLDS)
    assert thresholds["metrics"], "no metric is gated"
    for name, rule in thresholds["metrics"].items():
        assert {"min", "max"} & set(rule), name
        assert "measured" in rule, f"{name}: record the measured figure next to its threshold"
        if "min" in rule:
            assert rule["min"] <= rule["measured"], name
        if "max" in rule:
            assert rule["max"] >= rule["measured"], name


@pytest.mark.slow
def test_dev_set_meets_the_recorded_thresholds(tmp_path, real_seed_index):
    index = real_seed_index(tmp_path / "index")  # the seeds as `rag ingest` indexes them
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") or k in _KEEP}
    env |= {"RAG_INDEX_DIR": str(index), "RAG_SEEDS_DIR": str(ROOT / "seeds")}
    # Run from an empty folder so that no .env file changes the settings either.
    qa_files = [str(ROOT / "eval" / "qa_dev.jsonl"), str(ROOT / "eval" / "qa_near_miss.jsonl")]
    command = [sys.executable, "-m", "rag.cli", "eval", *qa_files, "--json"]
    command += ["--thresholds", str(THRESHOLDS)]
    proc = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=3600, check=False
    )
    assert proc.stdout, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)["runs"][0]["summary"]
    failures = check_thresholds(summary, load_thresholds(THRESHOLDS))
    assert not failures, "\n".join(failures)
    assert proc.returncode == 0, proc.stderr[-2000:]
