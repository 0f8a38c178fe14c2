"""The files ``rag eval`` reads: QA sets (JSON Lines, see ``eval/README.md``) and threshold files.

* :func:`load_qa` reads a QA set, :func:`load_qa_files` several at once (ids unique
  across them), each line checked and any error naming the file and line;
* :func:`split_of` puts each question in one of two fixed halves (``calibrate`` to tune
  on, ``report`` to report on), :func:`select_split` keeps one;
* :func:`load_thresholds` and :func:`check_thresholds` are the CI gate: recorded
  minimums (or maximums) that a run's summary must meet.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rag.errors import InvalidInputError

#: Question types of the QA format, in the order reports list them.
QUESTION_TYPES: tuple[str, ...] = (
    "factoid",
    "numeric",
    "date",
    "paraphrase",
    "multi_hop",
    "temporal",
    "list",
    "summary",
    "unanswerable",
)
#: Types whose ``answers`` are key points to cover rather than alternative spellings.
KEYPOINT_TYPES: frozenset[str] = frozenset({"summary", "list"})
#: The two halves of a QA set (see :func:`split_of`); ``all`` selects both.
SPLITS: tuple[str, ...] = ("calibrate", "report")

# --------------------------------------------------------------------------- the QA set


@dataclass(frozen=True)
class QAItem:
    """One question of a QA set."""

    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    answerable: bool
    type: str
    note: str = ""
    #: For a near-miss unanswerable question: the id of the answerable question it varies.
    near_miss_of: str = ""
    #: For a near miss: the kind of constraint that was changed (year, edition, place, ...).
    changed: str = ""


def load_qa(path: Path | str) -> list[QAItem]:
    """Read a QA set (JSON Lines); raise :class:`InvalidInputError` naming the first bad line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise InvalidInputError(f"cannot read QA file {path}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"QA file {path} is not UTF-8") from None
    items: list[QAItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise InvalidInputError(f"{where}: not valid JSON ({err.msg})") from None
        item = _qa_item(row, where)
        if item.id in seen:
            raise InvalidInputError(f"{where}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise InvalidInputError(f"QA file {path} holds no questions")
    return items


def _qa_item(row: Any, where: str) -> QAItem:
    if not isinstance(row, dict):
        raise InvalidInputError(f"{where}: expected a JSON object")
    if row.get("needs_gold"):
        # Exported by `rag feedback export` from a 👎: nobody has said yet what is right.
        raise InvalidInputError(
            f"{where}: needs a gold answer (reported by a reader): write answers and evidence, "
            "or make it unanswerable, then remove needs_gold"
        )
    missing = [k for k in ("id", "question", "answers", "evidence", "answerable", "type") if k not in row]
    if missing:
        raise InvalidInputError(f"{where}: missing field(s) {', '.join(missing)}")
    if row["type"] not in QUESTION_TYPES:
        raise InvalidInputError(
            f"{where}: type must be one of {', '.join(QUESTION_TYPES)}, got {row['type']!r}"
        )
    for key in ("answers", "evidence"):
        if not isinstance(row[key], list) or not all(isinstance(s, str) for s in row[key]):
            raise InvalidInputError(f"{where}: {key} must be a list of strings")
    if not isinstance(row["question"], str) or not row["question"].strip():
        raise InvalidInputError(f"{where}: question must be a non-empty string")
    if not isinstance(row["answerable"], bool):
        raise InvalidInputError(f"{where}: answerable must be true or false")
    if row["answerable"] and not (row["answers"] and row["evidence"]):
        raise InvalidInputError(f"{where}: an answerable question needs answers and evidence")
    if not row["answerable"] and (row["answers"] or row["evidence"]):
        raise InvalidInputError(f"{where}: an unanswerable question must have empty answers and evidence")
    return QAItem(
        id=str(row["id"]),
        question=row["question"].strip(),
        answers=tuple(row["answers"]),
        evidence=tuple(row["evidence"]),
        answerable=row["answerable"],
        type=row["type"],
        note=str(row.get("note") or ""),
        near_miss_of=str(row.get("near_miss_of") or ""),
        changed=str(row.get("changed") or ""),
    )


def load_qa_files(paths: Iterable[Path | str]) -> list[QAItem]:
    """Read several QA sets as one, in order; ids must be unique across all of them.

    Raises :class:`InvalidInputError` naming a duplicate id and the two files that hold it.
    """
    items: list[QAItem] = []
    origin: dict[str, Path] = {}
    for path in map(Path, paths):
        for item in load_qa(path):
            if item.id in origin:
                raise InvalidInputError(f"duplicate id {item.id!r}: in {origin[item.id]} and in {path}")
            origin[item.id] = path
            items.append(item)
    if not items:
        raise InvalidInputError("no QA file given")
    return items


def split_of(item_id: str) -> Literal["calibrate", "report"]:
    """The half of a QA set that question ``item_id`` belongs to, fixed by a hash of the id.

    SHA-256 of the UTF-8 id (not :func:`hash`, which changes between processes), so a
    question stays in its half across runs, machines and file orders: tune thresholds
    on ``calibrate``, report figures on ``report``.

    Example:
        >>> split_of("q001"), split_of("q002")
        ('calibrate', 'report')
    """
    return "calibrate" if hashlib.sha256(item_id.encode("utf-8")).digest()[-1] % 2 == 0 else "report"


def select_split(items: Iterable[QAItem], split: str) -> list[QAItem]:
    """The items of one half (``calibrate`` or ``report``, see :func:`split_of`), or all for ``all``."""
    if split == "all":
        return list(items)
    if split not in SPLITS:
        raise InvalidInputError(f"split must be one of all, {', '.join(SPLITS)}, got {split!r}")
    return [item for item in items if split_of(item.id) == split]


# --------------------------------------------------------------------------- thresholds


def check_thresholds(summary: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
    """Compare a run's summary with recorded thresholds; return one line per metric that fails.

    ``thresholds["metrics"]`` maps a metric name to ``{"min": x}`` or ``{"max": x}``
    (other keys, such as the measured figure, are notes for people).
    """
    failures: list[str] = []
    for name, rule in thresholds.get("metrics", {}).items():
        value = summary.get(name)
        if value is None:
            failures.append(f"{name}: not measured")
            continue
        if "min" in rule and value < rule["min"]:
            failures.append(f"{name} = {value:.4f} is below the minimum {rule['min']}")
        if "max" in rule and value > rule["max"]:
            failures.append(f"{name} = {value:.4f} is above the maximum {rule['max']}")
    return failures


def load_thresholds(path: Path | str) -> dict[str, Any]:
    """Read a thresholds file (see ``eval/thresholds.json``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InvalidInputError(f"cannot read thresholds file {path}: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise InvalidInputError(f"thresholds file {path} must be an object with a 'metrics' object")
    return data
