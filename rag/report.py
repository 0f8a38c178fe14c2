"""Human-readable renderings of an :class:`~rag.evaluate.EvalReport`: terminal text, Markdown, HTML.

:func:`write_report` writes ``report.md`` and ``report.html`` (plus the charts as SVG
files for the Markdown) into a folder.  Charts are plain SVG drawn here, so reports
need no plotting library, no network and no JavaScript: metrics per question type,
the hit@k curve and latency per stage.  Below the charts come the questions that
failed, each with what was retrieved, so that a reader sees at a glance what goes wrong.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.evaluate import HIT_KS, EvalReport, QuestionResult, RunResult

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
_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")
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


# --------------------------------------------------------------------------- SVG charts


def _svg_frame(title: str, width: int, height: int, body: list[str]) -> str:
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
            f'<rect width="{width}" height="{height}" fill="white"/>',
            f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">'
            f"{html.escape(title)}</text>",
            *body,
            "</svg>",
        ]
    )


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    out = []
    for i, name in enumerate(names):
        colour = _PALETTE[i % len(_PALETTE)]
        out.append(f'<rect x="{x}" y="{y + i * 14}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14}" y="{y + i * 14 + 9}">{html.escape(name)}</text>')
    return out


def _y_axis(left: float, top: float, plot_h: float, plot_w: float, y_max: float, unit: str) -> list[str]:
    out = []
    for i in range(5):
        value = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        label = f"{value:.2f}" if y_max <= 1 else f"{value:.0f}"
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{label}{unit}</text>')
    return out


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    y_max: float | None = None,
    unit: str = "",
) -> str:
    """A grouped bar chart as an SVG string: one group per category, one bar per series."""
    values = [v for vs in series.values() for v in vs if v is not None]
    top_value = y_max if y_max is not None else max(values, default=1.0) * 1.1 or 1.0
    left, top, bottom, legend_w = 48, 28, 70, 110
    group_w = max(36, 14 * len(series) + 12)
    plot_w = group_w * max(len(categories), 1)
    plot_h = 200
    width, height = left + plot_w + legend_w, top + plot_h + bottom
    body = _y_axis(left, top, plot_h, plot_w, top_value, unit)
    bar_w = (group_w - 12) / max(len(series), 1)
    for c, category in enumerate(categories):
        x0 = left + c * group_w + 6
        for s, (name, vals) in enumerate(series.items()):
            value = vals[c]
            if value is None:
                continue
            h = plot_h * min(value / top_value, 1.0)
            x = x0 + s * bar_w
            body.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                f'fill="{_PALETTE[s % len(_PALETTE)]}"><title>{html.escape(name)} {html.escape(category)}: '
                f"{value:.3f}</title></rect>"
            )
        cx = left + c * group_w + group_w / 2
        body.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 12}" text-anchor="end" '
            f'transform="rotate(-35 {cx:.1f} {top + plot_h + 12})">{html.escape(category)}</text>'
        )
    body += _legend(list(series), left + plot_w + 12, top)
    return _svg_frame(title, width, height, body)


def line_chart(
    title: str, xs: Sequence[float], series: Mapping[str, Sequence[float | None]], *, x_label: str = ""
) -> str:
    """A line chart (y in 0–1) as an SVG string, one line per series."""
    left, top, bottom, legend_w, plot_w, plot_h = 48, 28, 40, 110, 320, 200
    width, height = left + plot_w + legend_w, top + plot_h + bottom
    body = _y_axis(left, top, plot_h, plot_w, 1.0, "")
    lo, hi = min(xs), max(xs)

    def px(x: float) -> float:
        return left + (plot_w * (x - lo) / (hi - lo) if hi > lo else plot_w / 2)

    for x in xs:
        body.append(f'<text x="{px(x):.1f}" y="{top + plot_h + 14}" text-anchor="middle">{x:g}</text>')
    body.append(
        f'<text x="{left + plot_w / 2}" y="{top + plot_h + 30}" text-anchor="middle">'
        f"{html.escape(x_label)}</text>"
    )
    for s, (_name, vals) in enumerate(series.items()):
        colour = _PALETTE[s % len(_PALETTE)]
        points = [(px(x), top + plot_h * (1 - v)) for x, v in zip(xs, vals, strict=True) if v is not None]
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>'
        )
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points]
    body += _legend(list(series), left + plot_w + 12, top)
    return _svg_frame(title, width, height, body)


def charts(report: EvalReport) -> dict[str, str]:
    """The report's charts as ``{file stem: SVG}``."""
    runs = report.runs
    types = list(runs[0].by_type)

    def per_type(metric: str, unanswerable_metric: str | None = None) -> dict[str, list[float | None]]:
        out = {}
        for run in runs:
            row = []
            for t in types:
                key = unanswerable_metric if t == "unanswerable" and unanswerable_metric else metric
                row.append(run.by_type.get(t, {}).get(key))
            out[run.retriever] = row
        return out

    stages = sorted({s for run in runs for s in run.latency})
    latency_series: dict[str, list[float | None]] = {}
    for run in runs:
        for q in ("p50", "p95"):
            latency_series[f"{run.retriever} {q}"] = [run.latency.get(s, {}).get(q) for s in stages]
    return {
        "answers_by_type": bar_chart(
            "Answers correct per type (unanswerable: refused)",
            types,
            per_type("answer_accuracy", "unanswerable_refused"),
            y_max=1.0,
        ),
        "hit5_by_type": bar_chart(
            "hit@5 per type",
            [t for t in types if t != "unanswerable"],
            _drop_unanswerable(per_type("hit@5"), types),
            y_max=1.0,
        ),
        "hit_curve": line_chart(
            "hit@k",
            list(HIT_KS),
            {r.retriever: [r.summary[f"hit@{k}"] for k in HIT_KS] for r in runs},
            x_label="k",
        ),
        "latency": bar_chart("Latency per stage (ms)", stages, latency_series, unit=""),
    }


def _drop_unanswerable(
    series: dict[str, list[float | None]], types: list[str]
) -> dict[str, list[float | None]]:
    keep = [i for i, t in enumerate(types) if t != "unanswerable"]
    return {name: [vals[i] for i in keep] for name, vals in series.items()}


# --------------------------------------------------------------------------- Markdown


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return out


def _md_cell(value: Any) -> str:
    return _fmt(value).replace("|", "\\|").replace("\n", " ")


def _snippet(text: str, n: int = _SNIPPET) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[:n] + "…"


def _failure_reason(r: QuestionResult) -> str:
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


def render_markdown(report: EvalReport, chart_dir: str = "charts") -> str:
    """The report as Markdown; charts are referenced as ``{chart_dir}/<name>.svg``."""
    runs = report.runs
    ctx = report.context
    lines = [
        "# Evaluation report",
        "",
        f"QA set `{report.qa_file}`: {runs[0].summary['questions']} questions "
        f"({runs[0].summary['answerable']} answerable). Model `{ctx.get('model', '?')}`, generator "
        f"`{ctx.get('generator', '?')}`, index of {ctx.get('articles', '?')} articles / "
        f"{ctx.get('chunks', '?')} chunks, top_k {ctx.get('top_k', '?')}.",
        "",
        "## Summary",
        "",
    ]
    lines += _md_table(
        ["metric", *[r.retriever for r in runs]],
        [[label, *[_cell(key, r.summary.get(key)) for r in runs]] for key, label in SUMMARY_ROWS],
    )
    lines += ["", "## Charts", ""]
    lines += [f"![{name}]({chart_dir}/{name}.svg)" for name in charts(report)]
    for run in runs:
        lines += ["", f"## Per question type — {run.retriever}", ""]
        lines += _md_table(
            ["type", *[label for _, label in TYPE_COLUMNS]],
            [[t, *[_cell(key, row.get(key)) for key, _ in TYPE_COLUMNS]] for t, row in run.by_type.items()],
        )
    lines += ["", "## Latency (ms)", ""]
    lines += _md_table(
        ["retriever", "stage", "p50", "p95", "mean"],
        [[run.retriever, s, v["p50"], v["p95"], v["mean"]] for run in runs for s, v in run.latency.items()],
    )
    missing = ctx.get("evidence_not_in_index") or []
    if missing:
        lines += ["", "## Evidence found in no passage", ""]
        lines += [
            "These evidence strings are in no indexed passage (e.g. bylines, which the parser keeps out "
            "of article bodies), so no ranking can score them as relevant:",
            "",
        ]
        lines += [f"- {m['id']}: `{m['evidence']}`" for m in missing]
    for run in runs:
        failures = run.failures
        lines += ["", f"## Failed questions — {run.retriever} ({len(failures)})", ""]
        for r in failures:
            lines += [
                f"### {r.id} ({r.type}) {r.question}",
                "",
                f"- why: {_failure_reason(r)}",
                f"- gold: {' / '.join(r.answers) or '(unanswerable)'}",
                f"- evidence: {' / '.join(r.evidence) or '–'}",
                f"- answer: {_snippet(r.answer, 300)}",
                "- retrieved:",
            ]
            lines += [
                f"  {p.rank}. {'✅' if p.relevant else '▫️'} 《{p.title}》 {p.date} — {_snippet(p.text)}"
                for p in r.retrieved[:5]
            ]
            lines.append("")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}
.charts{display:flex;flex-wrap:wrap;gap:1em}
.fail{border-left:4px solid #e15759;padding:.2em .8em;margin:.6em 0}
.rel{color:#2a7d2a;font-weight:bold}.meta{color:#666;font-size:90%}ol{margin:.3em 0}
"""


def _html_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_failure(r: QuestionResult) -> str:
    items = "".join(
        f"<li><span class='{'rel' if p.relevant else ''}'>{'✔ ' if p.relevant else ''}"
        f"《{html.escape(p.title)}》"
        f"</span> <span class='meta'>{html.escape(p.date)} {html.escape(p.chunk_id)}</span><br>"
        f"{html.escape(_snippet(p.text))}</li>"
        for p in r.retrieved[:5]
    )
    return (
        f"<div class='fail'><b>{html.escape(r.id)}</b> <span class='meta'>{html.escape(r.type)}</span> "
        f"{html.escape(r.question)}<br><b>why:</b> {html.escape(_failure_reason(r))}<br>"
        f"<b>gold:</b> {html.escape(' / '.join(r.answers) or '(unanswerable)')}<br>"
        f"<b>evidence:</b> {html.escape(' / '.join(r.evidence) or '–')}<br>"
        f"<b>answer:</b> {html.escape(_snippet(r.answer, 300))}"
        f"<details><summary>retrieved</summary><ol>{items}</ol></details></div>"
    )


def render_html(report: EvalReport) -> str:
    """The report as one self-contained HTML page (inline SVG charts, no scripts)."""
    runs = report.runs
    ctx = report.context
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Evaluation report</title>",
        f"<style>{_CSS}</style></head><body><h1>Evaluation report</h1>",
        f"<p>QA set <code>{html.escape(report.qa_file)}</code>: {runs[0].summary['questions']} questions "
        f"({runs[0].summary['answerable']} answerable). Model "
        f"<code>{html.escape(str(ctx.get('model', '?')))}</code>, generator "
        f"<code>{html.escape(str(ctx.get('generator', '?')))}</code>, index of {ctx.get('articles', '?')} "
        f"articles / {ctx.get('chunks', '?')} chunks, top_k {ctx.get('top_k', '?')}.</p>",
        "<h2>Summary</h2>",
        _html_table(
            ["metric", *[r.retriever for r in runs]],
            [[label, *[_cell(key, r.summary.get(key)) for r in runs]] for key, label in SUMMARY_ROWS],
        ),
        "<h2>Charts</h2><div class='charts'>",
        *charts(report).values(),
        "</div>",
    ]
    for run in runs:
        parts.append(f"<h2>Per question type — {html.escape(run.retriever)}</h2>")
        parts.append(
            _html_table(
                ["type", *[label for _, label in TYPE_COLUMNS]],
                [
                    [t, *[_cell(key, row.get(key)) for key, _ in TYPE_COLUMNS]]
                    for t, row in run.by_type.items()
                ],
            )
        )
    parts.append("<h2>Latency (ms)</h2>")
    parts.append(
        _html_table(
            ["retriever", "stage", "p50", "p95", "mean"],
            [
                [run.retriever, s, v["p50"], v["p95"], v["mean"]]
                for run in runs
                for s, v in run.latency.items()
            ],
        )
    )
    missing = ctx.get("evidence_not_in_index") or []
    if missing:
        parts.append("<h2>Evidence found in no passage</h2><ul>")
        parts += [
            f"<li>{html.escape(m['id'])}: <code>{html.escape(m['evidence'])}</code></li>" for m in missing
        ]
        parts.append("</ul>")
    for run in runs:
        parts.append(f"<h2>Failed questions — {html.escape(run.retriever)} ({len(run.failures)})</h2>")
        parts += [_html_failure(r) for r in run.failures]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: EvalReport, directory: Path | str) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``charts/*.svg`` into ``directory``; return the paths."""
    directory = Path(directory)
    chart_dir = directory / "charts"
    chart_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, svg in charts(report).items():
        path = chart_dir / f"{name}.svg"
        path.write_text(svg, encoding="utf-8")
        written[name] = path
    written["markdown"] = directory / "report.md"
    written["markdown"].write_text(render_markdown(report), encoding="utf-8")
    written["html"] = directory / "report.html"
    written["html"].write_text(render_html(report), encoding="utf-8")
    return written


def run_table(runs: Sequence[RunResult]) -> list[list[Any]]:
    """Summary rows (label, value per run) for other renderers, e.g. the benchmarks."""
    return [[label, *[_cell(key, r.summary.get(key)) for r in runs]] for key, label in SUMMARY_ROWS]
