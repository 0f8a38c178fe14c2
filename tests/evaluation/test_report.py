import importlib.util
import re
import subprocess
import sys
from dataclasses import replace

import pytest
from click.testing import CliRunner

from rag import cli
from rag.evaluation import EXTRA_MODULES, MissingExtraError, require_extra
from rag.evaluation.evaluate import EvalReport, RunResult, evaluate
from rag.evaluation.report import render_html, render_markdown, render_text, write_report


@pytest.fixture(scope="module")
def report(hashing_pipeline, dev_items) -> EvalReport:
    """A report of two retrievers; the tests that render it need the eval extra."""
    pytest.importorskip("jinja2")
    pytest.importorskip("matplotlib")
    return evaluate(hashing_pipeline, dev_items, ["bm25", "hybrid"])


def test_report_files_show_charts_and_failures(report, tmp_path):
    paths = write_report(report, tmp_path / "rep")
    html = paths["html"].read_text(encoding="utf-8")
    markdown = paths["markdown"].read_text(encoding="utf-8")
    # Four inline charts, and nothing fetched from anywhere (namespace names are not fetched).
    assert html.count("<svg") == 4 and "http" not in re.sub(r'xmlns(:\w+)?="[^"]*"', "", html)
    for run in report.runs:
        assert f"Failed questions — {run.retriever} ({len(run.failures)})" in markdown
        for failure in run.failures:
            assert failure.id in html
    assert (tmp_path / "rep" / "charts" / "hit_curve.svg").read_text(encoding="utf-8").startswith("<svg")
    text = render_text(report)
    assert "hit@5" in text and "bm25" in text and "hybrid" in text


def test_markdown_holds_the_tables_charts_and_each_failure(report):
    from rag.evaluation.charts import CHART_NAMES

    markdown = render_markdown(report, chart_dir="figs")
    assert markdown.startswith("# Evaluation report\n\nQA set ``: ")
    assert "| metric | bm25 | hybrid |\n|---|---|---|\n| hit@1 | " in markdown
    assert [f"![{n}](figs/{n}.svg)" for n in CHART_NAMES] == re.findall(r"!\[.*\]\(.*\)", markdown)
    for run in report.runs:
        assert f"## Per question type — {run.retriever}\n\n| type | n | hit@1 |" in markdown
        for failure in run.failures:
            assert f"### {failure.id} ({failure.type}) {failure.question}\n\n- why: " in markdown
    assert "\n\n\n" not in markdown


def test_html_escapes_what_the_questions_and_pages_say(report):
    run = report.runs[0]
    marked = replace(run.failures[0], question="<script>alert(1)</script> 问？")
    results = tuple(marked if r.id == marked.id else r for r in run.results)
    html = render_html(replace(report, runs=(RunResult(run.retriever, results),)))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; 问？" in html


def test_same_report_same_files(report, tmp_path):
    first = write_report(report, tmp_path / "a")
    second = write_report(report, tmp_path / "b")
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name


@pytest.mark.parametrize("feature", list(EXTRA_MODULES))
def test_a_missing_extra_is_named_in_one_line(monkeypatch, feature):
    missing = EXTRA_MODULES[feature][-1]
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a)
    )
    with pytest.raises(MissingExtraError, match=rf"^{re.escape(feature)} needs the eval extra \({missing} "):
        require_extra(feature)


def test_cli_says_when_the_eval_extra_is_missing(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    gone = {"matplotlib", "snownlp"}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in gone else real(name, *a)
    )
    monkeypatch.setattr(
        cli, "open_pipeline", lambda settings=None, prepare=False: pytest.fail("no index is needed to refuse")
    )
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        '{"id": "u", "question": "问？", "answers": [], "evidence": [], "answerable": false, '
        '"type": "unanswerable"}',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli.main, ["eval", str(qa), "--report", str(tmp_path / "rep")])
    assert result.exit_code == MissingExtraError.exit_code == 11
    assert result.stderr.splitlines() == [
        "error: rag eval --report needs the eval extra (matplotlib not installed): "
        "pip install -e '.[eval]' (scripts/setup.sh installs it)"
    ]
    assert not (tmp_path / "rep").exists()
    for command in (["bench", "ict"], ["bench", "haystack", "--qa", str(qa)]):
        result = CliRunner().invoke(cli.main, command)
        assert result.exit_code == 11 and len(result.stderr.splitlines()) == 1, result.output
        assert "rag bench needs the eval extra (snownlp not installed)" in result.stderr
        # Help needs no extra.
        assert CliRunner().invoke(cli.main, [*command[:2], "--help"]).exit_code == 0


def test_scoring_and_benchmark_code_import_nothing_from_the_extra():
    code = (
        "import sys\n"
        "import rag.cli, rag.evaluation.bench, rag.evaluation.evaluate, rag.evaluation.report\n"
        "print([m for m in ('jinja2', 'matplotlib', 'snownlp') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
