"""The records file (rag.index_db, rag.index_records): versioned rows, views, threads."""

import threading

import numpy as np

from rag.embed import HashingEmbedder
from rag.index import Index
from rag.index_db import VISIBLE
from rag.index_records import Records, SentenceTable
from rag.types import Article, Chunk, SearchFilters


def _article(n: int, source: str = "p.txt") -> Article:
    return Article(
        id=f"a{n}",
        title=f"标题{n}",
        body=f"太原第{n}条新闻。",
        source=source,
        date=f"2025-01-{n % 28 + 1:02d}",
        kind="brief",
    )


def _chunk(article: Article) -> Chunk:
    return Chunk(
        id=f"{article.id}-0",
        article_id=article.id,
        text=article.body,
        start=0,
        end=len(article.body),
        title=article.title,
        date=article.date,
        source=article.source,
    )


def test_a_copy_changes_rows_its_original_does_not_see_until_a_view_of_the_new_generation():
    records = Records()
    first = [_article(i) for i in range(3)]
    table = SentenceTable(((0, 5),), np.ones((1, 4), dtype="float32"))
    assert records.place(first, [_chunk(a) for a in first], {"a0": table}) == [0, 1, 2]
    reader = records.copy()
    writer = records.copy()
    writer.remove("a1")
    writer.place([_article(3, "q.txt")], [_chunk(_article(3, "q.txt"))])
    writer.hold("a0", "q.txt")
    # The reader sees its generation: all three, none of the writer's changes.
    assert list(reader.articles) == ["a0", "a1", "a2"] and len(reader) == 3
    assert reader.holders("a0") == {"p.txt"} and reader.held_by("q.txt") == []
    assert list(writer.articles) == ["a0", "a2", "a3"] and len(writer) == 3
    assert writer.holders("a0") == {"p.txt", "q.txt"} and writer.held_by("q.txt") == ["a0", "a3"]
    # Slots are never reused; a removed article's slot no longer resolves.
    assert writer.slots_of("a3") == [3]
    assert [c.id for c, _ in writer.hits(np.ones(4), np.array([1, 3, 0, -1]), 5)] == ["a3-0", "a0-0"]
    assert [c.id for c, _ in reader.hits(np.ones(4), np.array([1, 3, 0, -1]), 5)] == ["a1-0", "a0-0"]
    # Sentence tables come back as they were stored.
    stored = writer.sentences("a0")
    assert stored is not None and stored.spans == ((0, 5),) and stored.vectors.tolist() == [[1.0] * 4]
    assert writer.sentences("a1") is None
    # Filters read the same versioned rows.
    q_only = writer.selection(SearchFilters(source="q.txt"))
    assert q_only is not None and q_only.ids.tolist() == [3]


def test_rehoming_an_article_moves_its_chunks_and_keeps_its_place_in_ingest_order():
    records = Records()
    articles = [_article(i) for i in range(3)]
    records.place(articles, [_chunk(a) for a in articles])
    # Read (and remembered by the view) before the change: a write forgets what the view read.
    assert records.article("a1").source == "p.txt" and records.chunks_of("a1")[0].source == "p.txt"
    records.hold("a1", "b.txt")
    records.rehome("a1", {"b.txt"})
    assert list(records.articles) == ["a0", "a1", "a2"]
    assert records.article("a1").source == "b.txt" and records.chunks_of("a1")[0].source == "b.txt"
    assert records.holders("a1") == {"b.txt"} and records.held_by("p.txt") == ["a0", "a2"]
    assert records.sources == ["b.txt", "p.txt"]


def test_many_threads_read_while_a_writer_changes_and_saves(tmp_path):
    index = Index(HashingEmbedder(32))
    index.sync_source("p.txt", [_article(i) for i in range(40)])
    index.save(tmp_path / "idx")
    current = Index.load(tmp_path / "idx", HashingEmbedder(32))
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                assert len(current.articles) == 40 and len(current) == 40
                hits = current.bm25_search(["太原"], 5)
                assert len(hits) == 5 and all(current.article(c.article_id) for c, _ in hits)
                assert current.sentences("a7") is not None
        except BaseException as err:  # noqa: BLE001 - reported below
            failures.append(err)

    readers = [threading.Thread(target=read) for _ in range(6)]
    for thread in readers:
        thread.start()
    latest = current
    try:
        # As LiveIndex writes: copy the newest, change, save; the readers keep the generation they hold.
        for round_ in range(5):
            draft = latest.copy()
            draft.sync_source(f"new{round_}.txt", [_article(100 + round_, f"new{round_}.txt")])
            draft.delete(f"a{round_}")
            draft.save(tmp_path / "idx")
            latest = draft
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not failures, failures[0]
    loaded = Index.load(tmp_path / "idx", HashingEmbedder(32))
    assert len(loaded.articles) == 40 and "a104" in loaded.articles and "a0" not in loaded.articles


def test_saves_and_counts_read_indexes_not_the_rows_that_hold_sentence_vectors():
    records = Records()
    records.place([_article(0)], [_chunk(_article(0))])

    def plan(sql: str) -> str:
        rows = records.database.query(f"EXPLAIN QUERY PLAN {sql}", (1,) * sql.count("?"))
        return " ".join(str(row[-1]) for row in rows)

    assert "INDEX articles_added" in plan("SELECT rid FROM articles WHERE added > ?")
    assert "INDEX articles_removed" in plan("SELECT rid FROM articles WHERE removed > ?")
    assert "COVERING INDEX" in plan(f"SELECT COUNT(*) FROM articles WHERE {VISIBLE}")
    assert "COVERING INDEX" in plan(f"SELECT DISTINCT source FROM articles WHERE {VISIBLE}")


def test_past_a_share_of_removed_rows_a_save_rewrites_the_records_file_without_them(tmp_path, monkeypatch):
    index = Index(HashingEmbedder(32))
    index.sync_source("p.txt", [_article(i) for i in range(10)])
    index.save(tmp_path / "idx")
    for n in range(9, 5, -1):  # the last four: the highest slots
        index.delete(f"a{n}")
    index.save(tmp_path / "idx")
    assert index.manifest()["files"]["records"] == "records-000001.sqlite3"  # 4 of 10 removed: kept
    monkeypatch.setattr(Records, "GARBAGE_MIN", 3)
    index.delete("a5")
    index.save(tmp_path / "idx")
    assert index.manifest()["files"]["records"] == "records-000003.sqlite3"
    assert not (tmp_path / "idx" / "records-000001.sqlite3").exists()
    rows = index._records.database.query("SELECT COUNT(*), COUNT(removed) FROM chunks")
    assert rows == [(5, 0)]
    loaded = Index.load(tmp_path / "idx", HashingEmbedder(32))
    assert list(loaded.articles) == [f"a{n}" for n in range(5)] and len(loaded) == 5
    assert loaded.sentences("a3") is not None and loaded.bm25_search(["太原"], 10)
    # New chunks never take a slot a removed one had (the stores' ids stay unique).
    loaded.sync_source("q.txt", [_article(20, "q.txt")])
    assert loaded._records.slots_of("a20") == [10]
