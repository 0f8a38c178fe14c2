"""Fit the extractive answerer's answerability model on the calibration half of the QA sets.

The answerer refuses unless its best sentence reaches a threshold on

    coverage + dense_weight · max(0, dense − dense_floor)
             − missing_weight · missing − unseen_weight · unseen − unseen_name_weight · unseen_names
             − apart_weight · apart

(see ``rag.evidence_score.AnswerabilityModel``).  This script computes, once, every candidate
sentence's features for every question of the ``calibrate`` half (``rag.evaluation.qa.split_of``)
and whether the answer composed from it holds a gold span; then it searches a grid of
weights and thresholds for the best trade-off: the most questions handled right
(answerable answered correctly, unanswerable refused) with at most ``--max-wrong-refusals``
answerable questions refused.  It prints the chosen model and its figures on both halves.

    .venv/bin/python eval/calibrate.py eval/qa_dev.jsonl eval/qa_near_miss.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from rag.build import build_pipeline
from rag.evaluation.metrics import contains_answer
from rag.evaluation.qa import load_qa, split_of
from rag.evidence import gather
from rag.evidence_score import AnswerabilityModel
from rag.settings import Settings


@dataclass(frozen=True)
class Row:
    """Features of one candidate sentence and whether answering from it is right."""

    coverage: float
    dense: float
    missing: float
    unseen: float
    unseen_names: float
    apart: float
    bonus: float
    good: bool


@dataclass(frozen=True)
class Question:
    """One question: its half, whether the pages answer it, its candidates."""

    id: str
    half: str
    answerable: bool
    rows: tuple[Row, ...]


GRID = {
    "dense_weight": (0.0, 1.0, 2.0, 4.0, 6.0),
    "dense_floor": (0.75, 0.80, 0.85),
    "missing_weight": (0.0, 0.5, 1.0, 2.0, 4.0),
    "unseen_weight": (0.0, 0.25, 0.5, 1.0, 2.0),
    "unseen_name_weight": (0.0, 1.0, 4.0),
    "apart_weight": (0.0, 0.25, 0.5, 1.0),
}


def collect(files: list[str]) -> list[Question]:
    """Candidate features for every question (the model's weights are applied later)."""
    pipeline = build_pipeline(Settings())
    pipeline.warm_up()
    generator = pipeline.generator
    index = pipeline.index
    neutral = AnswerabilityModel()
    questions = []
    for item in (i for f in files for i in load_qa(f)):
        analysis = generator.analyze(item.question)
        if analysis.kind in ("report", "byline"):
            continue  # answered from article metadata, not by the threshold
        passages = pipeline.search(item.question)
        candidates, _ = gather(analysis, passages, index, neutral)
        rows = []
        for cand in candidates:
            good = False
            if item.answerable:
                text, _ = generator.compose(analysis, [cand], index)
                good = contains_answer(text, item.answers)
            rows.append(
                Row(
                    cand.coverage,
                    cand.dense,
                    cand.missing,
                    cand.unseen,
                    cand.unseen_names,
                    cand.apart,
                    cand.bonus,
                    good,
                )
            )
        questions.append(Question(item.id, split_of(item.id), item.answerable, tuple(rows)))
    return questions


def top(question: Question, model: AnswerabilityModel) -> tuple[float, bool]:
    """The best candidate's score under ``model`` and whether it answers right."""
    best: tuple[float, bool] = (float("-inf"), False)
    for row in question.rows:
        score = model.score(row.coverage, row.dense, row.missing, row.unseen, row.unseen_names, row.apart)
        score += row.bonus
        if score > best[0]:
            best = (score, row.good)
    return best


def figures(questions: list[Question], model: AnswerabilityModel) -> dict[str, float]:
    """Answerable correct / wrongly refused and unanswerable refused under ``model``."""
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    correct = refused = 0
    for q in answerable:
        score, good = top(q, model)
        if score < model.threshold:
            refused += 1
        elif good:
            correct += 1
    unrefused = sum(1 for q in unanswerable if top(q, model)[0] >= model.threshold)
    return {
        "answerable": len(answerable),
        "correct": round(correct / max(len(answerable), 1), 4),
        "answerable_refused": round(refused / max(len(answerable), 1), 4),
        "unanswerable": len(unanswerable),
        "unanswerable_refused": round(1 - unrefused / max(len(unanswerable), 1), 4),
    }


def search(
    questions: list[Question], max_wrong: float, grid: dict[str, tuple[float, ...]] = GRID
) -> AnswerabilityModel:
    """The grid point and threshold with the most questions handled right, refusals capped."""
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    # Questions without any candidate are refused whatever the weights: the cap is on top of them.
    empty = sum(1 for q in answerable if not q.rows)
    cap = empty + max_wrong * len(answerable)
    best_model, best_value = AnswerabilityModel(), float("-inf")
    for values in itertools.product(*grid.values()):
        model = AnswerabilityModel(**dict(zip(grid, values, strict=True)))
        a_tops = [top(q, model) for q in answerable]
        u_tops = [top(q, model)[0] for q in unanswerable]
        for threshold in sorted({round(s, 3) for s, _ in a_tops if s > float("-inf")} | {-9.0}):
            refused = sum(1 for s, _ in a_tops if s < threshold)
            if refused > cap:
                break
            correct = sum(1 for s, g in a_tops if s >= threshold and g)
            rejected = sum(1 for s in u_tops if s < threshold)
            # Balanced: each half of the set counts the same, whatever its size.
            value = correct / len(answerable) + rejected / max(len(unanswerable), 1)
            if value > best_value:
                best_model, best_value = replace(model, threshold=threshold), value
    return best_model


def main(argv: list[str] | None = None) -> int:
    """Command line: ``calibrate.py QA_FILE… [--max-wrong-refusals 0.04] [--json OUT]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--max-wrong-refusals", type=float, default=0.04)
    parser.add_argument("--json", type=Path, help="write the chosen model and figures here")
    parser.add_argument(
        "--lexical",
        action="store_true",
        help="no dense similarity, for vectors that mean nothing (RAG_EMBEDDING_MODEL=hashing:256)",
    )
    args = parser.parse_args(argv)
    questions = collect(args.files)
    calibrate = [q for q in questions if q.half == "calibrate"]
    report = [q for q in questions if q.half == "report"]
    grid = {**GRID, "dense_weight": (0.0,)} if args.lexical else GRID
    model = search(calibrate, args.max_wrong_refusals, grid)
    shipped = AnswerabilityModel.for_embedder(Settings().embedding_model)
    result = {
        "embedding_model": Settings().embedding_model,
        "model": asdict(model),
        "calibrate": figures(calibrate, model),
        "report": figures(report, model),
        "shipped_default": asdict(shipped),
        "report_with_shipped_default": figures(report, shipped),
    }
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
