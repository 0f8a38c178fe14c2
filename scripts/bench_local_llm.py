"""The local generator (RAG_GENERATOR=local) on the seed index, beside the extractive answerer.

Usage:
    .venv/bin/python scripts/bench_local_llm.py [--model qwen2.5-0.5b] [--dev 40] [--near-miss 20]
        [--reconvert] [--temperature 0] [--json out.json]

Needs the model in the cache (``rag model llm --size 0.5b``).  Builds a fresh index of
the seeds in a temporary folder, loads the model (timed: with ``--reconvert`` the
transformers folder is deleted first, so the load includes the one-time conversion),
then asks the first ``--dev`` questions of ``eval/qa_dev.jsonl`` and the first
``--near-miss`` unanswerable ones of ``eval/qa_near_miss.jsonl`` (0: all) through the
pipeline, and scores the local answers and the extractive answers to the same passages
with ``rag.evaluation``: answer correct, character F1, citation precision, refusals; plus
how often the model was called, how often its answer was shown, rejected by the checks
or cut by the deadline, and time to first token and to the full answer (p50/p95).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.build import build_pipeline  # noqa: E402
from rag.evaluation.evaluate import EvidenceMatcher, score_question  # noqa: E402
from rag.evaluation.metrics import summarize  # noqa: E402
from rag.evaluation.qa import QAItem, load_qa  # noqa: E402
from rag.llm.generator import UNAVAILABLE_NOTICE, UNGROUNDED_NOTICE, GroundedGenerator  # noqa: E402
from rag.llm.prompt import Message  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.types import Answer  # noqa: E402

METRICS = (
    "answer_accuracy",
    "char_f1",
    "citation_precision",
    "citation_precision_quote",
    "unanswerable_refused",
    "answerable_refused",
)


class Recorder:
    """Wraps the chat backend: records each call's prompt length, raw reply and timings."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[dict[str, Any]] = []

    @property
    def name(self) -> str:
        return str(self.inner.name)

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, deadline: float | None = None
    ) -> Iterator[str]:
        call: dict[str, Any] = {"prompt_chars": sum(len(m["content"]) for m in messages), "reply": ""}
        self.calls.append(call)
        started = time.perf_counter()
        try:
            for piece in self.inner.stream(messages, max_tokens=max_tokens, deadline=deadline):
                call.setdefault("first_s", time.perf_counter() - started)
                call["reply"] += piece
                yield piece
        except Exception as err:
            call["error"] = str(err)
            raise
        finally:
            call["seconds"] = time.perf_counter() - started


def pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 2)


def outcome(answer: Answer) -> str:
    """How the final answer came about."""
    if answer.generator != "extractive":
        return "model refused" if answer.refused else "model answer"
    if not answer.notice:
        return "refused before the model" if answer.refused else "extractive (model not called)"
    unavailable = UNAVAILABLE_NOTICE.split("（")[0]
    ungrounded = UNGROUNDED_NOTICE.split("（")[0]
    if answer.notice.startswith(unavailable):
        return "fallback: deadline or failure"
    if answer.notice.startswith(ungrounded):
        return "fallback: rejected by the checks"
    return "fallback: other"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="qwen2.5-0.5b", help="RAG_LOCAL_MODEL")
    parser.add_argument("--dev", type=int, default=40, help="first N questions of qa_dev.jsonl (0: all)")
    parser.add_argument("--near-miss", type=int, default=20, help="first N of qa_near_miss.jsonl (0: all)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0: greedy (reproducible)")
    parser.add_argument("--deadline", type=float, default=None, help="RAG_LLM_DEADLINE (default: settings)")
    parser.add_argument("--reconvert", action="store_true", help="time the one-time GGUF conversion too")
    parser.add_argument(
        "--index-dir", type=Path, help="an existing index (default: a fresh one of the seeds)"
    )
    parser.add_argument("--json", type=Path, help="write every question's result here")
    args = parser.parse_args()

    dev = load_qa(ROOT / "eval" / "qa_dev.jsonl")
    near = [i for i in load_qa(ROOT / "eval" / "qa_near_miss.jsonl") if not i.answerable]
    items: list[QAItem] = (dev[: args.dev] if args.dev else dev) + (
        near[: args.near_miss] if args.near_miss else near
    )
    with tempfile.TemporaryDirectory() as tmp:
        overrides: dict[str, Any] = {
            "generator": "local",
            "local_model": args.model,
            "temperature": args.temperature,
            "index_dir": args.index_dir or Path(tmp) / "index",
            "seeds_dir": ROOT / "seeds",
        }
        if args.deadline:
            overrides["llm_deadline"] = args.deadline
        settings = Settings(**overrides)
        pipeline = build_pipeline(settings)
        generator = pipeline.generator
        assert isinstance(generator, GroundedGenerator)
        backend = generator.backend
        if args.reconvert:
            import shutil

            from rag.llm.local_backend import CONVERSION_MARKER

            converted = backend._converted_folder(backend.path)  # type: ignore[attr-defined]
            if (converted / CONVERSION_MARKER).exists():
                shutil.rmtree(converted)
        started = time.perf_counter()
        backend.load()  # type: ignore[attr-defined]
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        pipeline.warm_up()  # the index (built from the seeds when new), the embedder, the tagger
        index_s = time.perf_counter() - started
        print(
            f"{backend.name} ({backend.runtime}): loaded in {load_s:.1f} s; index ready in {index_s:.1f} s",  # type: ignore[attr-defined]
            file=sys.stderr,
        )
        recorder = Recorder(backend)
        generator.backend = recorder  # type: ignore[assignment]
        matcher = EvidenceMatcher(pipeline.index.chunks())

        rows: list[dict[str, Any]] = []
        local_results, extractive_results = [], []
        for n, item in enumerate(items, start=1):
            calls_before = len(recorder.calls)
            started = time.perf_counter()
            first: float | None = None
            answer: Answer | None = None
            for piece in pipeline.ask_stream(item.question):
                if isinstance(piece, Answer):
                    answer = piece
                elif first is None:
                    first = time.perf_counter() - started
            total = time.perf_counter() - started
            assert answer is not None
            extractive = generator.fallback.generate(answer.query or item.question, answer.passages)
            local_results.append(score_question(item, answer.passages, answer, matcher))
            extractive_results.append(score_question(item, answer.passages, extractive, matcher))
            call = recorder.calls[-1] if len(recorder.calls) > calls_before else None
            row = {
                "id": item.id,
                "answerable": item.answerable,
                "question": item.question,
                "gold": list(item.answers),
                "outcome": outcome(answer),
                "answer": answer.text,
                "correct": local_results[-1].correct,
                "extractive": extractive.text,
                "extractive_correct": extractive_results[-1].correct,
                "notice": answer.notice,
                "model_called": call is not None,
                "model_reply": call["reply"] if call else None,
                "prompt_chars": call["prompt_chars"] if call else None,
                "first_token_s": round(first, 2) if first is not None and call else None,
                "answer_s": round(total, 2),
            }
            rows.append(row)
            mark = "ok " if row["correct"] or (not item.answerable and answer.refused) else "BAD"
            print(
                f"[{n}/{len(items)}] {mark} {item.id} {row['outcome']:<32} {total:5.1f} s  "
                f"{answer.text[:50]!r}",
                file=sys.stderr,
            )

    called = [r for r in rows if r["model_called"]]
    outcomes: dict[str, int] = {}
    for r in rows:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    local_summary, extractive_summary = summarize(local_results), summarize(extractive_results)
    report = {
        "model": args.model,
        "runtime": backend.runtime,  # type: ignore[attr-defined]
        "load_s": round(load_s, 1),
        "reconverted": args.reconvert,
        "questions": len(rows),
        "answerable": sum(r["answerable"] for r in rows),
        "temperature": args.temperature,
        "deadline_s": settings.llm_deadline,
        "local": {k: local_summary.get(k) for k in METRICS},
        "extractive": {k: extractive_summary.get(k) for k in METRICS},
        "outcomes": outcomes,
        "model_calls": len(called),
        "model_answers_rejected": round(
            sum(r["outcome"] == "fallback: rejected by the checks" for r in called) / len(called), 3
        )
        if called
        else None,
        "prompt_chars_p50": pct([r["prompt_chars"] for r in called], 0.5),
        "first_token_s": {
            "p50": pct([r["first_token_s"] for r in called if r["first_token_s"] is not None], 0.5),
            "p95": pct([r["first_token_s"] for r in called if r["first_token_s"] is not None], 0.95),
        },
        "answer_s_model_called": {
            "p50": pct([r["answer_s"] for r in called], 0.5),
            "p95": pct([r["answer_s"] for r in called], 0.95),
            "mean": round(statistics.fmean([r["answer_s"] for r in called]), 2) if called else None,
        },
        "answer_s_all": {"p50": pct([r["answer_s"] for r in rows], 0.5)},
    }
    if args.json:
        args.json.write_text(
            json.dumps({**report, "rows": rows}, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
