"""Loopback load test of POST /api/chat: C concurrent clients, N requests, bounded in time.

Prints one JSON object: requests, errors (by status), p50/p95/p99/max latency in ms,
throughput, the machine's load average, and (with --serve) how long `rag serve` took to
become ready and the server's CPU time per request.

    .venv/bin/python scripts/load_test.py --url http://127.0.0.1:8000            # a running server
    .venv/bin/python scripts/load_test.py --serve --requests 1000 --clients 8    # start one on a free port
    .venv/bin/python scripts/load_test.py --serve --workers 1,2 --uploads 20     # compare worker counts

The questions are a fixed set over the seed pages; every client cycles through them.  With
``--serve`` each server runs over its own copy of an index built once from the seeds in a
temporary folder (the configured model, ``RAG_EMBEDDING_MODEL``), so ``--uploads`` (pages
uploaded one by one while the questions run) never touch your index.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

QUESTIONS = [
    "第八届进博会山西展厅的面积有多大？",
    "山西展厅有多少家企业参展？",
    "杏花岭区委书记侯森去哪里考察学习？",
    "公民道德宣传日主题活动在哪里举行？",
    "市政协党组召开扩大会议学习了什么？",
    "第四届进博会太原有多少采购商参加？",
    "山西工美产业联盟在进博会上卖了什么？",
    "合肥市有什么值得借鉴的经验？",
    "谁主持了市政协党组扩大会议？",
    "今年的公民道德宣传日是第几个？",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live children (uvicorn's workers), Linux only."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_seconds(int(child)) for child in children)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def _wait_ready(client: httpx.AsyncClient, url: str, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if (await client.get(f"{url}/readyz")).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"server at {url} not ready after {timeout:.0f} s")


_UPLOAD_KEY = "load-test-key"


async def _upload(client: httpx.AsyncClient, url: str, count: int, statuses: Counter[str]) -> None:
    """Upload ``count`` one-article pages, one after another, while the questions run."""
    for n in range(count):
        text = f"负载测试新闻{n}\n本报讯 太原市第{n}号负载测试工程今日开工，总投资{n + 3}亿元。"
        files = {"files": (f"load-{n:03d}.txt", text.encode("utf-8"), "text/plain")}
        try:
            response = await client.post(
                f"{url}/api/documents", files=files, headers={"X-API-Key": _UPLOAD_KEY}, timeout=300
            )
            statuses[str(response.status_code)] += 1
        except httpx.HTTPError as err:
            statuses[type(err).__name__] += 1


async def run(
    url: str, requests: int, clients: int, duration: float, warmup: int, uploads: int = 0
) -> dict[str, object]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        for i in range(warmup):
            await client.post(f"{url}/api/chat", json={"question": QUESTIONS[i % len(QUESTIONS)]})
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        issued = 0
        deadline = time.perf_counter() + duration

        async def worker(offset: int) -> None:
            nonlocal issued
            i = offset
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                question = QUESTIONS[i % len(QUESTIONS)]
                i += 1
                t0 = time.perf_counter()
                try:
                    response = await client.post(f"{url}/api/chat", json={"question": question})
                    status = str(response.status_code)
                    if response.status_code == 200 and "answer" not in response.json():
                        status = "bad_body"
                except httpx.HTTPError as err:
                    status = type(err).__name__
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[status] += 1

        upload_statuses: Counter[str] = Counter()
        started = time.perf_counter()
        client_cpu = time.process_time()
        await asyncio.gather(
            *(worker(c) for c in range(clients)), _upload(client, url, uploads, upload_statuses)
        )
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
    ok = statuses.get("200", 0)
    return {
        "url": url,
        "clients": clients,
        "requests": len(latencies),
        "errors": len(latencies) - ok,
        "statuses": dict(statuses),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 0.95), 1),
        "p99_ms": round(_percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
        "throughput_rps": round(len(latencies) / elapsed, 1) if elapsed else None,
        "seconds": round(elapsed, 2),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / max(len(latencies), 1), 1),
        "stopped_by_deadline": len(latencies) < requests,
        "uploads": dict(upload_statuses),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Base URL of a running server.")
    parser.add_argument("--serve", action="store_true", help="Start `rag serve` on a free loopback port.")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=120.0, help="Stop after this many seconds anyway.")
    parser.add_argument("--warmup", type=int, default=10, help="Requests sent before measuring.")
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument(
        "--workers", default="1", help="With --serve: worker counts to compare, e.g. 1,2 (RAG_WORKERS)."
    )
    parser.add_argument("--uploads", type=int, default=0, help="With --serve: pages uploaded during the run.")
    args = parser.parse_args()

    if not args.serve:
        result = asyncio.run(
            run(args.url.rstrip("/"), args.requests, args.clients, args.duration, args.warmup)
        )
        result["load_average_1m"] = round(os.getloadavg()[0], 2)
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0 if result.get("errors") == 0 else 1
    results = []
    with tempfile.TemporaryDirectory(prefix="load-test-") as scratch:
        built = Path(scratch) / "seed-index"
        subprocess.run(
            [*_rag_command(), "ingest"], env={**os.environ, "RAG_INDEX_DIR": str(built)}, check=True
        )
        for workers in [int(w) for w in args.workers.split(",")]:
            index = Path(scratch) / f"index-{workers}"
            shutil.copytree(built, index)
            results.append(_serve_and_run(args, workers, index))
    report: dict[str, object] = {"runs": results, "load_average_1m": round(os.getloadavg()[0], 2)}
    if len(results) > 1:
        base = results[0]
        report["throughput_ratio_vs_first"] = [
            round(float(r["throughput_rps"]) / float(base["throughput_rps"]), 2)
            for r in results  # type: ignore[arg-type]
        ]
    print(json.dumps(report, ensure_ascii=False, indent=2))
    failed = any(r.get("errors") or set(r.get("uploads", {})) - {"201"} for r in results)  # type: ignore[union-attr]
    return 1 if failed else 0


def _rag_command() -> list[str]:
    rag = Path(sys.executable).with_name("rag")
    return [str(rag)] if rag.exists() else [sys.executable, "-m", "rag.cli"]


def _serve_and_run(args: argparse.Namespace, workers: int, index: Path) -> dict[str, object]:
    """Start `rag serve --workers N` over ``index``, run the load against it, stop it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "RAG_INDEX_DIR": str(index), "RAG_API_KEY": _UPLOAD_KEY}
    server = subprocess.Popen(
        [*_rag_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        + ["--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    result: dict[str, object] = {"workers": workers}
    try:

        async def ready() -> float:
            async with httpx.AsyncClient(timeout=2.0) as client:
                waited = await _wait_ready(client, url, args.ready_timeout)
                # Every worker warms up on its own: wait until a run of probes all say ready.
                for _ in range(20 * workers):
                    while (await client.get(f"{url}/readyz")).status_code != 200:
                        await asyncio.sleep(0.2)
                return waited

        result["ready_s"] = round(asyncio.run(ready()), 2)
        cpu_before = _cpu_seconds(server.pid)
        result.update(
            asyncio.run(run(url, args.requests, args.clients, args.duration, args.warmup, args.uploads))
        )
        # Load-independent: what one request costs the server, whatever else shares the machine.
        used = _cpu_seconds(server.pid) - cpu_before
        result["server_cpu_ms_per_request"] = round(used * 1000 / (args.requests + args.warmup), 1)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return result


if __name__ == "__main__":
    sys.exit(main())
