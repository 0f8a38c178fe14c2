"""Resident memory of the whole server (`rag serve`) over a given index, after it has answered questions.

Usage: .venv/bin/python scripts/bench_server_memory.py INDEX_DIR [--questions 30] [--port 8019] [--json]

Starts `rag serve` on INDEX_DIR (e.g. the folder `rag bench scale --chunks 1000000` leaves in the
bench cache), asks the first dev-set questions through /api/chat, then reads the server's
/proc status: VmRSS (resident), RssAnon (its own memory), RssFile (file pages mapped: the model
and the memory-mapped float vectors, which the kernel can drop) and VmHWM (peak). Also reports
the load time (start until /readyz answers: index loaded, model warm) and the median answer time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _status(pid: int) -> dict[str, float]:
    """The memory lines of /proc/PID/status, in MB."""
    wanted = ("VmRSS", "RssAnon", "RssFile", "VmHWM")
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key = line.split(":")[0]
            if key in wanted:
                out[key] = round(int(line.split()[1]) / 1024, 1)
    return out


def _post(url: str, payload: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("index", type=Path)
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--port", type=int, default=8019)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with open(ROOT / "eval" / "qa_dev.jsonl", encoding="utf-8") as fh:
        questions = [json.loads(line)["question"] for line in fh][: args.questions]
    env = {**os.environ, "RAG_INDEX_DIR": str(args.index), "HF_HUB_OFFLINE": "1"}
    rag = str(Path(sys.executable).parent / "rag")
    started = time.perf_counter()
    server = subprocess.Popen(
        [rag, "serve", "--port", str(args.port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        while True:
            if server.poll() is not None:
                sys.exit(f"the server exited with {server.returncode}")
            try:
                urllib.request.urlopen(f"{base}/readyz", timeout=5).read()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        load_seconds = time.perf_counter() - started
        loaded = _status(server.pid)
        timings = []
        for question in questions:
            t = time.perf_counter()
            _post(f"{base}/api/chat", {"question": question})
            timings.append((time.perf_counter() - t) * 1000)
        result = {
            "index": str(args.index),
            "load_seconds": round(load_seconds, 1),
            "after_load_mb": loaded,
            "after_questions_mb": _status(server.pid),
            "questions": len(questions),
            "answer_ms_p50": round(statistics.median(timings), 1),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
