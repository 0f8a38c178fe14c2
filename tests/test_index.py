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

from rag.bm25 import tokenize
from rag.chunk import ChunkerSettings
from rag.embed import HashingEmbedder
from rag.errors import (
    IndexDamagedError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    NotFoundError,
)
from rag.index import Index
from rag.index_files import remove_orphans, write_lock
from rag.index_manifest import MANIFEST, file_set
from rag.parse import load_pages
from rag.store import FaissVectorStore
from rag.types import Article, SearchFilters

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def seed_articles():
    return load_pages([SEEDS])


def _build(articles, embedder=None, stores=None):
    index = Index(embedder or HashingEmbedder(128), stores=stores)
    for source in sorted({a.source for a in articles}):
        index.sync_source(source, [a for a in articles if a.source == source])
    return index


def test_round_trip_keeps_everything_searchable(tmp_path, seed_articles, stores):
    index = _build(seed_articles, stores=stores)
    index.save(tmp_path / "idx")
    manifest = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    assert manifest["model"] == "hashing-128" and manifest["dimension"] == 128
    assert manifest["counts"] == {"articles": len(seed_articles), "chunks": len(index), "sources": 5}
    assert manifest["chunker"] == {"size": 300, "overlap": 1}
    assert manifest["store"]["engine"] == stores.name
    loaded = Index.load(tmp_path / "idx", HashingEmbedder(128), stores=stores)
    assert len(loaded) == len(index) and set(loaded.articles) == set(index.articles)
    query = loaded.embedder.encode_queries(["太原理工大学南极科考"])
    assert [c.id for c, _ in loaded.dense_search(query, 3)] == [c.id for c, _ in index.dense_search(query, 3)]
    tokens = ["南极", "科考"]
    assert loaded.bm25_search(tokens, 3) == index.bm25_search(tokens, 3)
    assert "南极" in loaded.bm25_search(tokens, 1)[0][0].text


def test_reingesting_an_unchanged_page_adds_nothing(seed_articles, stores):
    index = _build(seed_articles, stores=stores)
    size = len(index)
    source = seed_articles[0].source
    report = index.sync_source(source, [a for a in seed_articles if a.source == source])
    assert not report.changed and report.chunks_added == 0 and len(index) == size


def test_a_changed_article_replaces_its_chunks_and_delete_removes_one(seed_articles, stores):
    index = _build(seed_articles, stores=stores)
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


def test_filters_restrict_dense_and_bm25(seed_articles, stores):
    index = _build(seed_articles, stores=stores)
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


def test_copy_is_independent(seed_articles, stores):
    index = _build(seed_articles, stores=stores)
    clone = index.copy()
    victim = next(iter(index.articles))
    victim_chunk = index.chunks_of(victim)[0]
    vector = index.embedder.encode_queries([victim_chunk.embed_text])
    clone.delete(victim)
    assert victim in index.articles and victim not in clone.articles
    assert len(index) > len(clone)
    # The original still finds what the copy removed, on both sides; the copy does not.
    assert victim_chunk.id in [c.id for c, _ in index.dense_search(vector, 3)]
    assert victim not in {c.article_id for c, _ in clone.dense_search(vector, 10)}
    tokens = tokenize(victim_chunk.embed_text)[:8]
    assert victim in {c.article_id for c, _ in index.bm25_search(tokens, 5)}
    assert victim not in {c.article_id for c, _ in clone.bm25_search(tokens, 50)}


def _on_disk(path):
    """The data files in ``path`` (a records file's -wal and -shm come and go with its connections)."""
    return {
        p.name
        for p in path.iterdir()
        if p.name not in {".lock", MANIFEST} and not p.name.endswith(("-wal", "-shm"))
    }


def test_a_save_writes_only_what_changed_and_removes_what_no_manifest_names(tmp_path, seed_articles):
    index = _build(seed_articles)
    index.save(tmp_path / "idx")
    first = json.loads((tmp_path / "idx" / MANIFEST).read_text())["files"]
    records = tmp_path / "idx" / first["records"]
    base = (tmp_path / "idx" / first["vectors"]).stat()
    index.delete(next(iter(index.articles)))
    index.save(tmp_path / "idx")
    files = json.loads((tmp_path / "idx" / MANIFEST).read_text())["files"]
    # The records file and the vectors' base stay; a segment holds the removal; tantivy's folder moves on.
    assert files["records"] == first["records"] and files["vectors"] == first["vectors"]
    assert files["segments"] == ["vectors-000002.npz"] and files["lexical"] == "lexical-000002"
    assert (tmp_path / "idx" / first["vectors"]).stat().st_mtime_ns == base.st_mtime_ns and records.is_file()
    assert _on_disk(tmp_path / "idx") <= file_set(files) and "lexical-000001" not in _on_disk(
        tmp_path / "idx"
    )
    loaded = Index.load(tmp_path / "idx", HashingEmbedder(128))
    assert len(loaded) == len(index) and len(loaded.articles) == len(seed_articles) - 1


def test_pages_give_each_page_files_date_and_count_without_reading_an_article(seed_articles, monkeypatch):
    import rag.index_rows

    index = _build(seed_articles)
    expected: dict[str, tuple[str, int]] = {}
    for article in seed_articles:
        date, count = expected.get(article.source, (article.date, 0))
        expected[article.source] = (date, count + 1)
    deleted = seed_articles[0]
    index.delete(deleted.id)
    date, count = expected[deleted.source]
    expected[deleted.source] = (date, count - 1)

    def no_article(data):
        raise AssertionError("an article was read")

    monkeypatch.setattr(rag.index_rows, "article_of", no_article)
    assert index.pages() == expected


def test_a_compacted_graph_writes_its_float_file_and_the_old_one_goes(tmp_path, seed_articles, monkeypatch):
    import rag.store
    from rag.stores import FaissStores

    stores = FaissStores(approximate_from=50)
    index = _build(seed_articles, stores=stores)
    index.save(tmp_path / "idx")
    first = json.loads((tmp_path / "idx" / MANIFEST).read_text())["files"]
    assert index.manifest()["store"]["dense"]["index"] == "hnsw-sq8"
    assert {"vectors-000001.faiss", "vectors-000001.f32"} <= _on_disk(tmp_path / "idx")
    monkeypatch.setattr(rag.store, "SEGMENT_LIMIT", -1)  # the next save compacts: a new base and float file
    index.delete(next(iter(index.articles)))
    index.save(tmp_path / "idx")
    files = json.loads((tmp_path / "idx" / MANIFEST).read_text())["files"]
    assert files["vectors"] == "vectors-000002.faiss" != first["vectors"]
    on_disk = _on_disk(tmp_path / "idx")
    assert "vectors-000002.f32" in on_disk and not on_disk & {"vectors-000001.f32", "vectors-000001.faiss"}
    loaded = Index.load(tmp_path / "idx", HashingEmbedder(128), stores=stores)
    query = HashingEmbedder(128).encode_queries([index.articles[next(iter(index.articles))].body[:40]])[0]
    assert [c.id for c, _ in loaded.dense_search(query, 5)] == [c.id for c, _ in index.dense_search(query, 5)]
    (tmp_path / "idx" / "vectors-000002.f32").unlink()
    with pytest.raises(IndexDamagedError, match="vectors-000002.f32 is missing.*rag ingest --rebuild"):
        Index.load(tmp_path / "idx", HashingEmbedder(128), stores=stores)


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

    FaissVectorStore.save_segment = slow_save
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
    assert "lexical-000002" in leftovers, leftovers  # the half-done generation (its rows are in the records)
    after = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    assert after == before
    loaded = Index.load(tmp_path / "idx", HashingEmbedder(128))
    assert len(loaded.articles) == len(seed_articles) and len(loaded) == len(index)
    # The next save cleans up what the killed one left behind, rows included.
    loaded.save(tmp_path / "idx")
    names = [p.name for p in (tmp_path / "idx").iterdir()]
    assert len([n for n in names if n.startswith("vectors-")]) == 1
    assert not [n for n in names if ".tmp" in n], names
    again = Index.load(tmp_path / "idx", HashingEmbedder(128))
    assert len(again.articles) == len(seed_articles) and len(again) == len(index)


def test_dense_search_refuses_a_query_of_the_wrong_width(seed_articles):
    index = _build(seed_articles[:2])
    with pytest.raises(IndexMismatchError, match="rebuild"):
        index.dense_search(np.ones((1, 7), dtype="float32"), 3)


# -- damage, recovery, file modes, shared page text --------------------------------------


def _saved(tmp_path, seed_articles):
    """An index saved twice: a base, then a segment (one article removed)."""
    path = tmp_path / "idx"
    _build(seed_articles).save(path)
    index = Index.load(path, HashingEmbedder(128))
    index.delete(next(iter(index.articles)))
    index.save(path)
    return path, json.loads((path / MANIFEST).read_text())


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda p, m: (p / MANIFEST).write_text("[]"), "holds a list"),
        (lambda p, m: (p / MANIFEST).write_text('{"format_version": 2'), "cannot read manifest.json"),
        (
            lambda p, m: (p / MANIFEST).write_text(json.dumps({k: v for k, v in m.items() if k != "files"})),
            "does not name its data files",
        ),
        (lambda p, m: (p / m["files"]["records"]).unlink(), "records-000001.sqlite3 is missing"),
        (
            lambda p, m: (p / m["files"]["records"]).write_bytes(b"SQLite format 3\x00"),
            "records-000001.sqlite3 is truncated",
        ),
        (
            lambda p, m: (p / m["files"]["segments"][0]).write_bytes(b"PK\x03\x04"),
            "vectors-000002.npz is truncated",
        ),
        (lambda p, m: (p / m["files"]["vectors"]).write_bytes(b"IxM2"), "vectors-000001.faiss is truncated"),
    ],
    ids=[
        "list",
        "not-json",
        "no-files",
        "missing-file",
        "truncated-records",
        "truncated-segment",
        "truncated-faiss",
    ],
)
def test_a_damaged_index_is_one_line_naming_the_damage_and_the_repair(tmp_path, seed_articles, damage, named):
    path, manifest = _saved(tmp_path, seed_articles)
    damage(path, manifest)
    with pytest.raises(IndexDamagedError) as caught:
        Index.load(path, HashingEmbedder(128))
    message = str(caught.value)
    assert named in message and "rag ingest --rebuild" in message and "\n" not in message
    # The repair: a fresh index saved over the damaged one loads, at a generation no file had.
    _build(seed_articles).save(path)
    reloaded = Index.load(path, HashingEmbedder(128))
    assert len(reloaded.articles) == len(seed_articles)
    assert json.loads((path / MANIFEST).read_text())["generation"] == 3


def test_files_are_created_with_the_process_umask_not_private(tmp_path, seed_articles):
    path, _ = _saved(tmp_path, seed_articles)
    umask = os.umask(0o022)
    os.umask(umask)
    entries = [e for e in path.rglob("*") if e.name != ".lock"]
    assert any(e.is_dir() for e in entries) and any(e.parent != path for e in entries)  # the lexical folder
    for entry in entries:
        wanted = 0o777 if entry.is_dir() else 0o666
        assert entry.stat().st_mode & 0o777 == wanted & ~umask, entry.name


@pytest.mark.parametrize("errno_", [30, 28], ids=["read-only", "disk-full"])
def test_a_failed_save_is_one_line_and_leaves_the_old_index_and_no_orphan(
    tmp_path, seed_articles, monkeypatch, errno_
):
    path, before = _saved(tmp_path, seed_articles)
    files_before = _on_disk(path)
    index = Index.load(path, HashingEmbedder(128))
    index.delete(next(iter(index.articles)))

    def fail(self, target):
        raise OSError(errno_, os.strerror(errno_))

    monkeypatch.setattr(FaissVectorStore, "save", fail)
    monkeypatch.setattr(FaissVectorStore, "save_segment", fail)
    with pytest.raises(IndexWriteError) as caught:
        index.save(path)
    assert os.strerror(errno_) in str(caught.value) and "unchanged" in str(caught.value)
    assert _on_disk(path) == files_before  # no orphan generation file
    assert json.loads((path / MANIFEST).read_text()) == before
    assert len(Index.load(path, HashingEmbedder(128)).articles) == len(seed_articles) - 1


def test_orphans_of_a_killed_save_are_removed_but_not_while_another_process_writes(tmp_path, seed_articles):
    path, manifest = _saved(tmp_path, seed_articles)
    (path / "chunks-000007.jsonl").write_text("half")
    (path / ".vectors-000007.faiss.abc.tmp").write_text("half")
    with write_lock(path):
        # Held by a writer (here: us, through another lock object) → left alone.
        assert remove_orphans(path) == []
    assert sorted(remove_orphans(path)) == [".vectors-000007.faiss.abc.tmp", "chunks-000007.jsonl"]
    assert _on_disk(path) <= file_set(manifest["files"])
    # A later save never reuses a generation number a file on disk already had.
    (path / "articles-000009.jsonl").write_text("stray")
    Index.load(path, HashingEmbedder(128)).save(path)
    assert json.loads((path / MANIFEST).read_text())["generation"] == 10


def _page(source, *bodies):
    return [
        Article(
            id=f"{source}-{i}" if body is None else body[:6],
            title=body[:6],
            body=body,
            source=source,
            date="2025-01-01",
            kind="brief",
        )
        for i, body in enumerate(bodies)
    ]


def test_an_article_two_pages_hold_stays_until_neither_holds_it(tmp_path, stores):
    shared = "太原市第八届进博会山西展厅面积为435平方米，26家企业参展。"
    index = Index(HashingEmbedder(64), stores=stores)
    index.sync_source("A.txt", _page("A.txt", shared))
    assert index.sync_source("B.txt", _page("B.txt", shared)).articles_added == 0  # same text: unchanged
    report = index.sync_source("A.txt", _page("A.txt", "晋阳湖公园今日开园，游客络绎不绝。"))
    assert report.articles_removed == 0
    kept = index.article(shared[:6])
    assert kept.source == "B.txt" and all(c.source == "B.txt" for c in index.chunks_of(kept.id))
    assert index.bm25_search(["进博会"], 3, SearchFilters(source="B.txt"))
    index.save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx", HashingEmbedder(64), stores=stores)
    assert loaded.holders(kept.id) == {"B.txt"}
    assert loaded.sync_source("B.txt", []).articles_removed == 1
    assert kept.id not in loaded.articles


def test_holders_survive_a_round_trip_while_two_pages_hold_an_article(tmp_path):
    shared = "太原市第八届进博会山西展厅面积为435平方米，26家企业参展。"
    index = Index(HashingEmbedder(64))
    index.sync_source("A.txt", _page("A.txt", shared))
    index.sync_source("B.txt", _page("B.txt", shared))
    index.save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx", HashingEmbedder(64))
    assert loaded.holders(shared[:6]) == {"A.txt", "B.txt"}
    loaded.sync_source("A.txt", [])
    assert loaded.article(shared[:6]).source == "B.txt"


def test_the_manifest_records_the_prompts_and_an_older_one_without_them_loads(tmp_path, seed_articles):
    class Prompted(HashingEmbedder):
        prompts = {"query": "query: ", "passage": "passage: "}

    _build(seed_articles[:3], Prompted(128)).save(tmp_path / "idx")
    manifest = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    assert manifest["prompts"] == {"query": "query: ", "passage": "passage: "}
    del manifest["prompts"]  # as written before the prompts were recorded
    (tmp_path / "idx" / MANIFEST).write_text(json.dumps(manifest))
    assert len(Index.load(tmp_path / "idx", HashingEmbedder(128))) > 0


def test_an_index_of_the_previous_format_is_refused_naming_the_rebuild(tmp_path, seed_articles):
    path, manifest = _saved(tmp_path, seed_articles)
    # Format 3 kept its records in JSON Lines files and rewrote every file on each save.
    old = {**manifest, "format_version": 3, "files": {"chunks": "chunks-000001.jsonl"}}
    (path / MANIFEST).write_text(json.dumps(old))
    with pytest.raises(IndexMismatchError, match="has format 3, this version reads 4.*rag ingest --rebuild"):
        Index.load(path, HashingEmbedder(128))
