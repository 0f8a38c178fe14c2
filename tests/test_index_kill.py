"""SIGKILL at any moment of an upload, on an index large enough to be HNSW with segments and compactions."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rag.embed import HashingEmbedder
from rag.index import Index
from rag.stores import FaissStores
from rag.types import Article

SENTENCE = "太原市第{n}次科技创新大会今日召开，{k}家企业参展，展厅面积{m}平方米。"


def _articles(first: int, count: int, source: str) -> list[Article]:
    return [
        Article(
            id=f"k{n}",
            title=f"新闻{n}",
            body="".join(SENTENCE.format(n=n, k=k, m=n * 7 + k) for k in range(12)),
            source=source,
            date=f"2025-{n % 12 + 1:02d}-01",
            kind="brief",
        )
        for n in range(first, first + count)
    ]


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import rag.store
    from rag.embed import HashingEmbedder
    from rag.index import Index
    from rag.stores import FaissStores
    from tests.test_index_kill import _articles

    path, round_, fold = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "fold"
    if fold:
        rag.store.SEGMENT_LIMIT = 0  # this save compacts: a new base file of every vector
    index = Index.load(path, HashingEmbedder(64), stores=FaissStores(approximate_from=1000))
    draft = index.copy()
    draft.sync_source(f"up{round_}.txt", _articles(10_000 + 3 * round_, 3, f"up{round_}.txt"))
    draft.delete(f"k{round_}")
    print("SAVING", flush=True)
    draft.save(path)
    print("SAVED", flush=True)
    """
)


@pytest.mark.slow
def test_an_upload_killed_at_any_moment_leaves_the_old_or_the_new_index(tmp_path):
    path = tmp_path / "idx"
    stores = FaissStores(approximate_from=1000)
    index = Index(HashingEmbedder(64), stores=stores)
    for page in range(30):
        index.sync_source(f"p{page}.txt", _articles(page * 50, 50, f"p{page}.txt"))
    index.save(path)
    assert index.manifest()["store"]["dense"]["index"] == "hnsw-sq8" and len(index) >= 3000
    articles, chunks = len(index.articles), len(index)
    rng = random.Random(7)
    outcomes = []
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    for round_ in range(8):
        fold = "fold" if round_ % 3 == 2 else "segment"
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(round_), fold],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "SAVING"
            time.sleep(rng.uniform(0, 0.25 if fold == "fold" else 0.04))
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=60)
        loaded = Index.load(path, HashingEmbedder(64), stores=stores)
        saved = f"up{round_}.txt" in loaded.sources
        outcomes.append(saved)
        if saved:  # killed after the manifest was replaced: the new index, whole
            articles, chunks = articles + 2, len(loaded)
            assert f"k{round_}" not in loaded.articles
        assert (len(loaded.articles), len(loaded)) == (articles, chunks)
        hits = loaded.bm25_search(["科技", "创新"], 5)
        assert len(hits) == 5 and all(loaded.article(c.article_id) for c, _ in hits)
        vector = loaded.embedder.encode_queries([hits[0][0].embed_text])
        assert loaded.dense_search(vector, 1)[0][0].id == hits[0][0].id
        # What the killed save left is cleaned up by the next one (as LiveIndex does on opening).
        loaded.save(path)
    # Killed at random moments (seeded delays): here some saves finished and some did not; which
    # ones depends on the machine's speed, so it is shown (-s), not asserted.
    print("uploads that were saved before the kill:", outcomes)
