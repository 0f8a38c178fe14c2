"""Core targets of the pipeline on the seed corpus: ingest time, warm retrieval and ask latency, memory.

Usage: .venv/bin/python scripts/bench_core.py [--rounds 5] [--json]
Builds a fresh index in a temporary folder (model conversion cached), then times every dev-set
question through one bare query encoding, retrieval alone and a full ask (each from a cold
query cache), and prints medians, p95 and the ask/encoding ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.build import build_pipeline  # noqa: E402
from rag.settings import Settings  # noqa: E402


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the question set")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with open(ROOT / "eval" / "qa_dev.jsonl", encoding="utf-8") as fh:
        questions = [json.loads(line)["question"] for line in fh]

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "index", seeds_dir=ROOT / "seeds")
        started = time.perf_counter()
        pipeline = build_pipeline(settings)
        pipeline.ingest([settings.seeds_dir], rebuild=True)
        ingest_s = time.perf_counter() - started
        pipeline.warm_up()
        for q in questions[:10]:  # warm caches (jieba, tagger, torch kernels)
            pipeline.ask(q)
        encode_ms: list[float] = []
        retrieve_ms: list[float] = []
        ask_ms: list[float] = []
        index = pipeline.index
        for _ in range(args.rounds):
            for q in questions:
                # Each stage starts cold: retrieval and answering share a query-vector cache,
                # which would otherwise hide the encoding from the second of them.
                t0 = time.perf_counter()
                pipeline.embedder.encode_queries([q])
                t1 = time.perf_counter()
                index.forget_queries()
                pipeline.search(q)
                t2 = time.perf_counter()
                index.forget_queries()
                pipeline.ask(q)
                t3 = time.perf_counter()
                encode_ms.append((t1 - t0) * 1000)
                retrieve_ms.append((t2 - t1) * 1000)
                ask_ms.append((t3 - t2) * 1000)
        stats = pipeline.stats()
        sentences = sum(len(t.spans) for a in index.articles if (t := index.sentences(a)) is not None)
    result = {
        "questions": len(questions) * args.rounds,
        "ingest_from_scratch_s": round(ingest_s, 2),
        "articles": stats["articles"],
        "chunks": stats["chunks"],
        "sentences": sentences,
        "encode_query_ms_p50": round(statistics.median(encode_ms), 2),
        "retrieve_ms_p50": round(statistics.median(retrieve_ms), 2),
        "retrieve_ms_p95": round(_pct(retrieve_ms, 0.95), 2),
        "ask_ms_p50": round(statistics.median(ask_ms), 2),
        "ask_ms_p95": round(_pct(ask_ms, 0.95), 2),
        "ask_over_encode_p50": round(statistics.median(ask_ms) / statistics.median(encode_ms), 2),
        "rss_mb": round(_rss_mb(), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average": os.getloadavg(),
        "targets": {
            "retrieve_ms_p50": 50,
            "ask_ms_p50": 100,
            "ask_over_encode_p50": 2.0,
            "ingest_from_scratch_s": 60,
            "rss_mb": 1536,
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
