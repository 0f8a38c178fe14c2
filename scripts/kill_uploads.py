"""SIGKILL uploads to a (large) saved index at random moments and check it still loads whole.

    .venv/bin/python scripts/kill_uploads.py INDEX_DIR [--rounds 8] [--seed 0]

INDEX_DIR is changed (use a copy: e.g. of the index ``rag bench scale --chunks 100000``
leaves in the bench folder). Each round a child process loads the index, uploads a page of
three articles and removes one, and is killed at a random moment of its save (a first,
unkilled round times the save); the index is then loaded here and must hold either the
old or the new contents, whole (counts, a lexical and a dense search), and is saved once
(the cleanup a server does on opening). Every third round compacts (a new base file of
every vector, the longest write). The tests do the same on 3,000 chunks
(``tests/test_index_kill.py``); this is the check at the size of a city daily's year.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from rag.evaluation.scale import _NamedHashing
from rag.index import Index

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import rag.store
    from rag.evaluation.scale import _NamedHashing
    from rag.index import Index
    from rag.types import Article

    path, round_, fold = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "fold"
    model, width = sys.argv[4], int(sys.argv[5])
    if fold:
        rag.store.SEGMENT_LIMIT = 0
    index = Index.load(path, _NamedHashing(model, width))
    draft = index.copy()
    body = "太原市第{}次上传的第{}篇稿件，内容用于检验中断。"
    page = [Article(id=f"kill-{round_}-{i}", title=f"上传{round_}-{i}", body=body.format(round_, i) * 8,
                    source=f"kill-{round_}.txt", date="2026-12-05", kind="brief") for i in range(3)]
    draft.sync_source(f"kill-{round_}.txt", page)
    draft.delete(next(iter(draft.articles)))
    print(f"SAVING {len(draft.articles)} {len(draft)}", flush=True)
    started = time.perf_counter()
    draft.save(path)
    print(f"SAVED {time.perf_counter() - started:.3f}", flush=True)
    """
)


def _child(path: Path, round_: int, fold: bool, model: str, width: int) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-c",
        CHILD,
        str(path),
        str(round_),
        "fold" if fold else "segment",
        model,
        str(width),
    ]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    manifest = json.loads((args.index / "manifest.json").read_text())
    model, width = manifest["model"], int(manifest["dimension"])
    embedder = _NamedHashing(model, width)
    rng = random.Random(args.seed)
    run = f"{time.time_ns():x}"  # page names no earlier run used
    durations = {}
    for fold in (False, True):  # unkilled rounds: how long each kind of save takes
        proc = _child(args.index, f"{run}-timing-{fold}", fold, model, width)
        out, _ = proc.communicate(timeout=1800)
        durations[fold] = float(out.split("SAVED")[1])
    first = Index.load(args.index, embedder)
    counts = (len(first.articles), len(first))
    del first
    print(
        f"index: {counts[0]} articles, {counts[1]} chunks; "
        f"save {durations[False]:.2f} s, compacting {durations[True]:.2f} s"
    )
    for round_ in range(args.rounds):
        fold = round_ % 3 == 2
        generation = json.loads((args.index / "manifest.json").read_text())["generation"]
        proc = _child(args.index, f"{run}-{round_}", fold, model, width)
        assert proc.stdout is not None
        said = proc.stdout.readline().split()
        assert said[0] == "SAVING", said
        after = (int(said[1]), int(said[2]))
        delay = rng.uniform(0, 1.2 * durations[fold])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        started = time.perf_counter()
        loaded = Index.load(args.index, embedder)
        load_seconds = time.perf_counter() - started
        saved = json.loads((args.index / "manifest.json").read_text())["generation"] != generation
        if saved:
            counts = after
        assert (len(loaded.articles), len(loaded)) == counts, ((len(loaded.articles), len(loaded)), counts)
        hits = loaded.bm25_search(["太原"], 5)
        assert len(hits) == 5 and all(loaded.article(c.article_id) for c, _ in hits)
        vector = loaded.embedder.encode_queries(["太原"])
        assert len(loaded.dense_search(vector, 10)) == 10
        loaded.save(args.index)
        kind = "compacting" if fold else "segment"
        print(
            f"round {round_}: {kind} save killed after {delay * 1000:.0f} ms -> "
            f"{'new' if saved else 'old'} index, whole ({counts[0]} articles, {counts[1]} chunks; "
            f"loaded in {load_seconds:.2f} s)"
        )
    print("every kill left a loadable index holding the old or the new contents")


if __name__ == "__main__":
    main()
