"""The evaluation report's charts, drawn with matplotlib and kept as SVG markup.

:func:`charts` draws, for an :class:`~rag.evaluation.evaluate.EvalReport`, the answers
and hit@5 per question type, the hit@k curve and the latency per stage, one series per
retriever.  Figures are built with :class:`matplotlib.figure.Figure` (no pyplot, so no
global figure state and no GUI backend) and saved as SVG with text kept as text, a
fixed id salt and no metadata, so the same report gives the same files.  The markup
starts at ``<svg`` (no XML prologue), so it can be written to a file or inlined in HTML;
it references nothing outside itself.

Needs matplotlib, from the ``eval`` extra.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.figure import Figure

from rag.evaluation.metrics import HIT_KS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rag.evaluation.evaluate import EvalReport

#: The charts of a report, in the order the report shows them (file stems).
CHART_NAMES: tuple[str, ...] = ("answers_by_type", "hit5_by_type", "hit_curve", "latency")
#: One colour per series (Tableau 10).
PALETTE: tuple[str, ...] = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")
#: How figures are saved: text as <text> elements, ids that do not change between runs.
_SVG_STYLE = {"svg.fonttype": "none", "svg.hashsalt": "rag-evaluation", "font.size": 9.0}
#: Metadata keys matplotlib would otherwise write (a date, its own name and URLs).
_NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}

Series = Mapping[str, Sequence[float | None]]


def _figure(title: str, width: float) -> Figure:
    figure = Figure(figsize=(width, 3.4), layout="constrained")
    figure.suptitle(title, fontweight="bold")
    return figure


def _values(values: Sequence[float | None]) -> list[float]:
    """Missing values as NaN, which matplotlib leaves out."""
    return [math.nan if v is None else v for v in values]


def bar_chart(title: str, categories: Sequence[str], series: Series, *, y_max: float | None = None) -> Figure:
    """A grouped bar chart: one group per category, one bar per series, the legend on the right."""
    figure = _figure(title, width=2.6 + max(len(categories), 1) * (0.25 * len(series) + 0.3))
    axes = figure.subplots()
    width = 0.8 / max(len(series), 1)
    for s, (name, values) in enumerate(series.items()):
        positions = [c + (s - (len(series) - 1) / 2) * width for c in range(len(categories))]
        axes.bar(positions, _values(values), width * 0.95, label=name, color=PALETTE[s % len(PALETTE)])
    axes.set_xticks(range(len(categories)), list(categories), rotation=35, ha="right")
    if y_max is not None:
        axes.set_ylim(0, y_max)
    _finish(axes)
    return figure


def line_chart(title: str, xs: Sequence[float], series: Series, *, x_label: str = "") -> Figure:
    """A line chart with y in 0–1, one line (with markers) per series."""
    figure = _figure(title, width=5.2)
    axes = figure.subplots()
    for s, (name, values) in enumerate(series.items()):
        axes.plot(list(xs), _values(values), marker="o", label=name, color=PALETTE[s % len(PALETTE)])
    axes.set_xticks(list(xs), [f"{x:g}" for x in xs])
    axes.set_xlabel(x_label)
    axes.set_ylim(0, 1.05)  # room for a marker at 1.0
    _finish(axes)
    return figure


def _finish(axes: Axes) -> None:
    axes.grid(axis="y", color="#dddddd")
    axes.set_axisbelow(True)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def to_svg(figure: Figure) -> str:
    """The figure as SVG markup from ``<svg`` on (no XML declaration or DOCTYPE)."""
    buffer = io.StringIO()
    with matplotlib.rc_context(_SVG_STYLE):  # type: ignore[arg-type]  # keys typed as Literal names
        figure.savefig(buffer, format="svg", metadata=_NO_METADATA)
    markup = buffer.getvalue()
    return markup[markup.index("<svg") :]


def charts(report: EvalReport) -> dict[str, str]:
    """The report's charts as ``{file stem: SVG markup}``, in :data:`CHART_NAMES` order."""
    runs = report.runs
    types = list(runs[0].by_type)
    answered = [t for t in types if t != "unanswerable"]

    def per_type(kinds: Sequence[str], metric: str, unanswerable_metric: str = "") -> dict[str, list[Any]]:
        return {
            run.retriever: [
                run.by_type.get(t, {}).get(unanswerable_metric if t == "unanswerable" else metric)
                for t in kinds
            ]
            for run in runs
        }

    stages = sorted({s for run in runs for s in run.latency})
    latency = {
        f"{run.retriever} {q}": [run.latency.get(s, {}).get(q) for s in stages]
        for run in runs
        for q in ("p50", "p95")
    }
    figures = {
        "answers_by_type": bar_chart(
            "Answers correct per type (unanswerable: refused)",
            types,
            per_type(types, "answer_accuracy", "unanswerable_refused"),
            y_max=1.0,
        ),
        "hit5_by_type": bar_chart("hit@5 per type", answered, per_type(answered, "hit@5"), y_max=1.0),
        "hit_curve": line_chart(
            "hit@k",
            list(HIT_KS),
            {r.retriever: [r.summary[f"hit@{k}"] for k in HIT_KS] for r in runs},
            x_label="k",
        ),
        "latency": bar_chart("Latency per stage (ms)", stages, latency),
    }
    return {name: to_svg(figures[name]) for name in CHART_NAMES}
