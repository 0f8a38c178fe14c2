"""Schemathesis over every operation of the OpenAPI schema with every check (`st run --checks all`).

The server runs in this process (uvicorn on loopback, over a private copy of the seed
index, with an API key); schemathesis runs in a process of its own, as an outside client
runs it: the examples, coverage, fuzzing and stateful phases, valid and invalid data, and
every check — no 5xx, every status and body as documented, schema-valid requests
accepted and schema-invalid ones refused.  ``schemathesis.toml`` beside this file names
the two refusals of schema-valid requests that a JSON Schema cannot express.

A process of its own also ends a flake of the earlier in-process run: Python 3.11's
``linecache.checkcache()`` lists the cached file names and then reads ``cache[name]``, so
it raises ``KeyError`` when another thread drops an entry in between — and the app's
threads (formatting a traceback) and Hypothesis (clearing ``"<string>"``, reading lambda
sources) both touch that cache.  (Two threads, one popping entries and one calling
``checkcache()``, raise it within a second on 3.11.)

The seed is fixed, so the run is the same every time; ``RAG_FUZZ_SEED=<n>`` (or
``random``) explores other inputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from conftest import API_KEY, LiveServer

from api.app import create_app
from rag.pipeline import Pipeline

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = "20260611"
OPERATIONS = [
    f"{method.upper()} {path}"
    for path, item in create_app(static_dir=None).openapi()["paths"].items()
    for method in item
]


def _seed() -> list[str]:
    seed = os.environ.get("RAG_FUZZ_SEED", SEED)
    return [] if seed == "random" else ["--seed", seed]


def test_every_operation_passes_every_check(
    pipeline: Pipeline, live_factory: Callable[..., LiveServer], tmp_path: Path
) -> None:
    live = live_factory(pipeline)
    junit = tmp_path / "junit.xml"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{live.url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"X-API-Key: {API_KEY}",
        "--max-examples",
        "30",
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
        *_seed(),
    ]
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-30_000:]
    # Every operation was exercised, and none failed a check.
    cases = ET.parse(junit).getroot().iter("testcase")
    tested = {case.get("name") for case in cases}
    assert set(OPERATIONS) <= tested, (sorted(set(OPERATIONS) - tested), output[-5000:])
    assert not [case for case in ET.parse(junit).getroot().iter("testcase") if len(case)], output[-30_000:]
    print(f"schemathesis --checks all over {len(OPERATIONS)} operations: {time.monotonic() - started:.1f} s")
