import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from rag.chunk import ChunkerSettings
from rag.embed import HashingEmbedder
from rag.errors import IndexMismatchError, IndexNotFoundError, NotFoundError
from rag.index import MANIFEST, Index
from rag.parse import load_pages
from rag.types import Article, SearchFilters

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def seed_articles():
    return load_pages([SEEDS])


def _build(articles, embedder=None):
    index = Index(embedder or HashingEmbedder(128))
    for source in sorted({a.source for a in articles}):
        index.sync_source(source, [a for a in articles if a.source == source])
    return index


def test_round_trip_keeps_everything_searchable(tmp_path, seed_articles):
    index = _build(seed_articles)
    index.save(tmp_path / "idx")
    manifest = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    assert manifest["model"] == "hashing-128" and manifest["dimension"] == 128
    assert manifest["counts"] == {"articles": len(seed_articles), "chunks": len(index), "sources": 5}
    assert manifest["chunker"] == {"size": 300, "overlap": 1}
    loaded = Index.load(tmp_path / "idx", HashingEmbedder(128))
    assert len(loaded) == len(index) and set(loaded.articles) == set(index.articles)
    query = loaded.embedder.encode_queries(["太原理工大学南极科考"])
    assert [c.id for c, _ in loaded.dense_search(query, 3)] == [c.id for c, _ in index.dense_search(query, 3)]
    tokens = ["南极", "科考"]
    assert loaded.bm25_search(tokens, 3) == index.bm25_search(tokens, 3)
    assert "南极" in loaded.bm25_search(tokens, 1)[0][0].text


def test_reingesting_an_unchanged_page_adds_nothing(seed_articles):
    index = _build(seed_articles)
    size = len(index)
    source = seed_articles[0].source
    report = index.sync_source(source, [a for a in seed_articles if a.source == source])
    assert not report.changed and report.chunks_added == 0 and len(index) == size


def test_a_changed_article_replaces_its_chunks_and_delete_removes_one(seed_articles):
    index = _build(seed_articles)
    source = seed_articles[0].source
    page = [a for a in seed_articles if a.source == source]
    old = page[-1]
    fields = {**old.to_dict(), "reporters": old.reporters, "id": "changed1", "body": old.body + "补充一句。"}
    changed = Article(**fields)
    report = index.sync_source(source, [*page[:-1], changed])
    assert (report.articles_added, report.articles_removed) == (1, 1)
    assert old.id not in index.articles and "changed1" in index.articles
    assert all(c.article_id != old.id for c in index.chunks())
    removed = index.delete("changed1")
    assert removed > 0 and "changed1" not in index.articles
    assert not any(c.article_id == "changed1" for c, _ in index.bm25_search(["补充"], 50))
    with pytest.raises(NotFoundError):
        index.delete("changed1")


def test_filters_restrict_dense_and_bm25(seed_articles):
    index = _build(seed_articles)
    only_2021 = SearchFilters(date_from="2021-01-01", date_to="2021-12-31")
    vec = index.embedder.encode_queries(["进博会"])
    dense = index.dense_search(vec, 10, only_2021)
    lexical = index.bm25_search(["进博会"], 10, only_2021)
    assert dense and lexical
    assert {c.date[:4] for c, _ in dense + lexical} == {"2021"}
    by_page = index.bm25_search(["进博会"], 10, SearchFilters(source=seed_articles[0].source))
    assert {c.source for c, _ in by_page} == {seed_articles[0].source}


def test_loading_refuses_another_model_or_chunker(tmp_path, seed_articles):
    _build(seed_articles[:3]).save(tmp_path / "idx")
    with pytest.raises(IndexMismatchError, match="hashing-128.*hashing-64.*rag ingest --rebuild"):
        Index.load(tmp_path / "idx", HashingEmbedder(64))
    with pytest.raises(IndexMismatchError, match="chunker"):
        Index.load(tmp_path / "idx", HashingEmbedder(128), ChunkerSettings(size=500))
    with pytest.raises(IndexNotFoundError, match="rag ingest"):
        Index.load(tmp_path / "nothing", HashingEmbedder(128))


def test_copy_is_independent(seed_articles):
    index = _build(seed_articles)
    clone = index.copy()
    victim = next(iter(index.articles))
    clone.delete(victim)
    assert victim in index.articles and victim not in clone.articles
    assert len(index) > len(clone)


def test_save_replaces_old_generation_files(tmp_path, seed_articles):
    index = _build(seed_articles)
    index.save(tmp_path / "idx")
    index.delete(next(iter(index.articles)))
    index.save(tmp_path / "idx")
    names = sorted(p.name for p in (tmp_path / "idx").iterdir())
    assert len([n for n in names if n.startswith("vectors-")]) == 1
    assert not [n for n in names if n.endswith(".tmp")]


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import numpy as np
    from rag.embed import HashingEmbedder
    from rag.index import Index
    from rag.store import FaissVectorStore

    path = Path(sys.argv[1])
    index = Index.load(path, HashingEmbedder(128))
    index.delete(next(iter(index.articles)))
    real_save = FaissVectorStore.save

    def slow_save(self, target):
        real_save(self, target)
        print("WRITING", flush=True)
        time.sleep(60)  # killed here: data files written, manifest not yet replaced

    FaissVectorStore.save = slow_save
    index.save(path)
    """
)


def test_a_process_killed_while_saving_leaves_the_previous_index_loadable(tmp_path, seed_articles):
    index = _build(seed_articles)
    index.save(tmp_path / "idx")
    before = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(tmp_path / "idx")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    try:
        deadline = time.time() + 120
        line = ""
        while time.time() < deadline and "WRITING" not in line:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert "WRITING" in line, "the child never reached the middle of its save"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    leftovers = [p.name for p in (tmp_path / "idx").iterdir()]
    assert "chunks-000002.jsonl" in leftovers, leftovers  # the half-done generation
    after = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    assert after == before
    loaded = Index.load(tmp_path / "idx", HashingEmbedder(128))
    assert len(loaded.articles) == len(seed_articles) and len(loaded) == len(index)
    # The next save cleans up what the killed one left behind.
    loaded.save(tmp_path / "idx")
    names = [p.name for p in (tmp_path / "idx").iterdir()]
    assert len([n for n in names if n.startswith("vectors-")]) == 1
    assert not [n for n in names if n.endswith(".tmp")], names


def test_dense_search_refuses_a_query_of_the_wrong_width(seed_articles):
    index = _build(seed_articles[:2])
    with pytest.raises(IndexMismatchError, match="rebuild"):
        index.dense_search(np.ones((1, 7), dtype="float32"), 3)
