"""Human-readable renderings of an :class:`~.evaluate.EvalReport`: terminal text, Markdown and HTML.

:func:`render_text` is the terminal summary ``rag eval`` prints (plain Python, no extra
needed).  :func:`write_report` writes ``report.md`` and ``report.html`` into a folder,
with the charts of :mod:`rag.evaluation.charts` as ``charts/*.svg`` files (inlined in the
HTML, which therefore needs no network and runs no script).  Both documents are Jinja
templates in ``templates/`` given the same context (:func:`report_context`): the
summary table, per-type tables, latency, evidence found in no passage, and the questions
that failed, each with what was retrieved, so that a reader sees at a glance what goes
wrong.  Writing reports needs jinja2 and matplotlib, from the ``eval`` extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

    from rag.evaluation.evaluate import EvalReport, QuestionResult, RunResult

#: Summary rows of the tables, with their labels.
SUMMARY_ROWS: tuple[tuple[str, str], ...] = (
    ("hit@1", "hit@1"),
    ("hit@3", "hit@3"),
    ("hit@5", "hit@5"),
    ("hit@10", "hit@10"),
    ("mrr@10", "MRR@10"),
    ("ndcg@10", "nDCG@10"),
    ("answer_accuracy", "answers correct"),
    ("char_f1", "char F1"),
    ("keypoint_recall", "key-point recall (list, summary)"),
    ("answer_first_sentence_gold", "correct answers with gold in the first sentence"),
    ("median_answer_chars", "median answer length (chars, answered)"),
    ("citation_precision", "citation precision (cited passage)"),
    ("citation_precision_quote", "citation precision (quoted sentence)"),
    ("correct_with_supporting_citation", "correct answers with a supporting citation"),
    ("unanswerable_refused", "unanswerable refused"),
    ("near_miss_refused", "near-miss unanswerable refused"),
    ("other_unanswerable_refused", "other unanswerable refused"),
    ("answerable_refused", "answerable wrongly refused"),
    ("failed", "questions failed"),
)
#: Columns of the per-type tables.
TYPE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("questions", "n"),
    ("hit@1", "hit@1"),
    ("hit@5", "hit@5"),
    ("mrr@10", "MRR"),
    ("ndcg@10", "nDCG"),
    ("answer_accuracy", "correct"),
    ("char_f1", "F1"),
    ("keypoint_recall", "key pts"),
    ("answer_first_sentence_gold", "gold 1st sent."),
    ("median_answer_chars", "median chars"),
    ("citation_precision", "cite prec"),
    ("citation_precision_quote", "cite prec (quote)"),
    ("unanswerable_refused", "refused (unans.)"),
    ("near_miss_refused", "refused (near miss)"),
    ("other_unanswerable_refused", "refused (other unans.)"),
    ("answerable_refused", "refused (ans.)"),
)
#: Metrics that are character counts rather than shares (printed with one decimal).
_CHAR_METRICS = frozenset({"median_answer_chars"})
_SNIPPET = 160


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _cell(key: str, value: Any) -> Any:
    """A metric's value as a table shows it: character counts with one decimal, the rest as is."""
    return f"{value:.1f}" if key in _CHAR_METRICS and value is not None else value


# --------------------------------------------------------------------------- plain text


def render_text(report: EvalReport) -> str:
    """A compact terminal summary: the summary table side by side, per-type accuracy, latency."""
    runs = report.runs
    names = [r.retriever for r in runs]
    summaries = [r.summary for r in runs]
    width = max(len(label) for _, label in SUMMARY_ROWS) + 2
    lines = [
        f"{report.qa_file}: {summaries[0]['questions']} questions, {summaries[0]['answerable']} answerable"
    ]
    lines.append("".ljust(width) + "".join(n.rjust(10) for n in names))
    for key, label in SUMMARY_ROWS:
        lines.append(label.ljust(width) + "".join(_fmt(_cell(key, s.get(key))).rjust(10) for s in summaries))
    lines.append("")
    lines.append("per type (hit@5 / correct; unanswerable: refused)")
    for qtype in runs[0].by_type:
        cells = []
        for run in runs:
            row = run.by_type.get(qtype, {})
            if qtype == "unanswerable":
                cells.append(f"{_fmt(row.get('unanswerable_refused'))}".rjust(16))
            else:
                cells.append(f"{_fmt(row.get('hit@5'))} / {_fmt(row.get('answer_accuracy'))}".rjust(16))
        count = runs[0].by_type[qtype]["questions"]
        lines.append(f"  {qtype:<13}{count:>4}" + "".join(cells))
    lines.append("")
    lines.append("latency ms (p50 / p95)")
    for run in runs:
        stages = ", ".join(f"{s} {_ms(v['p50'])}/{_ms(v['p95'])}" for s, v in run.latency.items())
        lines.append(f"  {run.retriever}: {stages}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- Markdown and HTML


def _snippet(text: str, n: int = _SNIPPET) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[:n] + "…"


def _md_cell(value: Any) -> str:
    return _fmt(value).replace("|", "\\|").replace("\n", " ")


def failure_reason(r: QuestionResult) -> str:
    """Why a question counts as failed, in a few words."""
    if not r.answerable:
        return "answered an unanswerable question" + (
            f" (near miss of {r.near_miss_of})" if r.near_miss_of else ""
        )
    if r.refused:
        return "refused" + (
            " (evidence was retrieved)" if r.first_relevant_rank else " (no evidence retrieved)"
        )
    if r.first_relevant_rank is None:
        return "wrong answer; no evidence in the top 10"
    return f"wrong answer; evidence at rank {r.first_relevant_rank}"


def run_table(runs: Sequence[RunResult]) -> list[list[Any]]:
    """Summary rows (label, value per run), as the reports show them."""
    return [[label, *[_cell(key, r.summary.get(key)) for r in runs]] for key, label in SUMMARY_ROWS]


def report_context(report: EvalReport) -> dict[str, Any]:
    """What the templates are given: the report, and its tables as (header, rows)."""
    runs = report.runs
    return {
        "report": report,
        "ctx": report.context,
        "first": runs[0].summary,
        "summary": (["metric", *[r.retriever for r in runs]], run_table(runs)),
        "by_type": [
            (
                run.retriever,
                ["type", *[label for _, label in TYPE_COLUMNS]],
                [
                    [t, *[_cell(key, row.get(key)) for key, _ in TYPE_COLUMNS]]
                    for t, row in run.by_type.items()
                ],
            )
            for run in runs
        ],
        "latency": (
            ["retriever", "stage", "p50", "p95", "mean"],
            [
                [run.retriever, s, v["p50"], v["p95"], v["mean"]]
                for run in runs
                for s, v in run.latency.items()
            ],
        ),
        "missing": report.context.get("evidence_not_in_index") or [],
        "failures": [(run.retriever, run.failures) for run in runs],
    }


def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rag.evaluation", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(fmt=_fmt, md_cell=_md_cell, snippet=_snippet, why=failure_reason)
    return env


def render_markdown(report: EvalReport, chart_dir: str = "charts") -> str:
    """The report as Markdown; charts are referenced as ``{chart_dir}/<name>.svg``."""
    from rag.evaluation.charts import CHART_NAMES

    template = _environment().get_template("report.md.j2")
    return template.render(report_context(report), chart_dir=chart_dir, chart_names=CHART_NAMES)


def render_html(report: EvalReport, svgs: Sequence[str] | None = None) -> str:
    """The report as one self-contained HTML page (inline SVG charts, no scripts).

    ``svgs`` are the charts' markup when already drawn (default: draw them).
    """
    import markupsafe

    from rag.evaluation.charts import charts

    svgs = list(charts(report).values()) if svgs is None else svgs
    template = _environment().get_template("report.html.j2")
    return template.render(report_context(report), charts=[markupsafe.Markup(svg) for svg in svgs])


def write_report(report: EvalReport, directory: Path | str) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``charts/*.svg`` into ``directory``; return the paths."""
    from rag.evaluation.charts import charts

    directory = Path(directory)
    chart_dir = directory / "charts"
    chart_dir.mkdir(parents=True, exist_ok=True)
    drawn = charts(report)
    written: dict[str, Path] = {}
    for name, svg in drawn.items():
        written[name] = chart_dir / f"{name}.svg"
        written[name].write_text(svg, encoding="utf-8")
    written["markdown"] = directory / "report.md"
    written["markdown"].write_text(render_markdown(report), encoding="utf-8")
    written["html"] = directory / "report.html"
    written["html"].write_text(render_html(report, list(drawn.values())), encoding="utf-8")
    return written
