"""GET /api/articles, GET/DELETE /api/articles/{id} and POST /api/documents."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import API_KEY, EVERY_STORE, make_app, make_pipeline, wait_ready
from fastapi.testclient import TestClient
from test_api_chat import assert_error

from rag.parse import infer_page_date, parse_text
from rag.pipeline import Pipeline

#: Uploads, deletes and reads run over both store engines (Milvus embedded: milvus-lite).
pytestmark = EVERY_STORE
AUTH = {"X-API-Key": API_KEY}
NEW_PAGE = """\
# 晋祠博物馆举办古建筑摄影展

本报讯(记者 张三) 2025年11月10日，晋祠博物馆古建筑摄影展开幕，展出摄影作品一百二十幅，展期持续到12月31日。

此次展览分为“殿堂楼阁”“彩塑壁画”“碑刻匾额”三个单元，市民可免费预约参观。
"""


def upload(client: TestClient, *files: tuple[str, bytes], headers: dict[str, str] | None = None, **data: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/documents",
        files=[("files", (name, content, "text/plain")) for name, content in files],
        data=data or None,
        headers=AUTH if headers is None else headers,
    )


def counts(client: TestClient) -> tuple[int, int]:
    ready = client.get("/readyz").json()
    return ready["articles"], ready["chunks"]


# -- reading -------------------------------------------------------------------------


def test_list_holds_every_article_in_full(client: TestClient, pipeline: Pipeline) -> None:
    body = client.get("/api/articles").json()
    labels = pipeline.page_labels()
    expected = [{**a.to_dict(), "page_label": labels[a.source]} for a in pipeline.articles()]
    assert body["total"] == len(expected) > 10
    assert body["articles"] == expected


def test_list_filters_and_pages(client: TestClient, pipeline: Pipeline) -> None:
    source = "004_6d3b14249bc8cb53.txt"
    of_source = [a.id for a in pipeline.articles() if a.source == source]
    body = client.get("/api/articles", params={"source": source}).json()
    assert [a["id"] for a in body["articles"]] == of_source and body["total"] == len(of_source)
    page = client.get("/api/articles", params={"offset": 2, "limit": 3}).json()
    assert [a["id"] for a in page["articles"]] == [a.id for a in pipeline.articles()][2:5]
    window = client.get("/api/articles", params={"source": source, "offset": 1, "limit": 2}).json()
    assert [a["id"] for a in window["articles"]] == of_source[1:3] and window["total"] == len(of_source)
    assert_error(client.get("/api/articles", params={"limit": 0}), 422, "invalid_input")


def test_one_article(client: TestClient, pipeline: Pipeline) -> None:
    article = pipeline.articles()[3]
    label = "太原日报 2025年11月5日"  # seeds/pages.json: the date; the page prints no number
    assert article.source.startswith("000_")
    assert client.get(f"/api/articles/{article.id}").json() == {**article.to_dict(), "page_label": label}


@pytest.mark.parametrize("article_id", ["000000000000", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "a b"])
def test_unknown_or_malformed_ids(client: TestClient, article_id: str) -> None:
    response = client.get(f"/api/articles/{article_id}")
    assert response.status_code in (404, 422)
    assert_error(response, response.status_code)


# -- the API key -----------------------------------------------------------------------


def test_writes_are_refused_when_no_key_is_configured(index_dir: Path) -> None:
    pipeline = make_pipeline(index_dir)
    with TestClient(make_app(pipeline, api_key=None)) as client:
        article = pipeline.articles()[0]
        assert_error(client.delete(f"/api/articles/{article.id}", headers=AUTH), 403, "writes_disabled")
        assert_error(upload(client, ("p.txt", NEW_PAGE.encode())), 403, "writes_disabled")
        assert client.get(f"/api/articles/{article.id}").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}, {"X-API-Key": API_KEY[:-1]}],
)
def test_writes_need_the_right_key(client: TestClient, pipeline: Pipeline, headers: dict[str, str]) -> None:
    article = pipeline.articles()[0]
    assert_error(client.delete(f"/api/articles/{article.id}", headers=headers), 401, "unauthorized")
    assert_error(upload(client, ("p.txt", NEW_PAGE.encode()), headers=headers), 401, "unauthorized")


def test_bearer_token_is_accepted(client: TestClient, pipeline: Pipeline) -> None:
    article = pipeline.articles()[0]
    response = client.delete(f"/api/articles/{article.id}", headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 200


# -- uploads and deletions ---------------------------------------------------------------


def test_upload_adds_a_page_to_the_live_and_saved_index(client: TestClient, index_dir: Path) -> None:
    before = counts(client)
    response = upload(client, ("jinci.txt", NEW_PAGE.encode()))
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["files"] == ["jinci.txt"] and report["articles_added"] == 1 and report["chunks_added"] >= 1
    assert (report["index"]["articles"], report["index"]["chunks"]) == counts(client)
    assert counts(client)[0] == before[0] + 1

    answer = client.post("/api/chat", json={"question": "晋祠博物馆摄影展展出多少幅作品？"}).json()
    assert "一百二十幅" in answer["answer"]
    article = client.get(f"/api/articles/{answer['citations'][0]['article_id']}").json()
    assert article["source"] == "jinci.txt" and article["reporters"] == ["张三"]
    assert article["date"] == infer_page_date(NEW_PAGE) is not None
    # It was saved: a fresh pipeline over the same folder sees it.
    assert any(a.source == "jinci.txt" for a in make_pipeline(index_dir).articles())


def test_a_gbk_page_uploads_like_its_utf8_original(client: TestClient, pipeline: Pipeline) -> None:
    response = upload(client, ("jinci-gbk.txt", NEW_PAGE.encode("gbk")))
    assert response.status_code == 201, response.text
    assert response.json()["articles_added"] == 1
    (article,) = [a for a in pipeline.articles() if a.source == "jinci-gbk.txt"]
    (original,) = parse_text(NEW_PAGE, source="jinci-gbk.txt", date=article.date)
    assert article == original
    answer = client.post("/api/chat", json={"question": "晋祠博物馆摄影展展出多少幅作品？"}).json()
    assert "一百二十幅" in answer["answer"] and answer["citations"][0]["source"] == "jinci-gbk.txt"


def test_binary_uploads_name_the_accepted_formats(client: TestClient) -> None:
    message = assert_error(upload(client, ("photo.jpg", bytes(range(0x80, 0x100)))), 400, "bad_document")
    assert message.startswith("photo.jpg: ") and "GB18030" in message and "PDF" in message


def test_upload_takes_an_explicit_date(client: TestClient) -> None:
    response = upload(client, ("jinci.txt", NEW_PAGE.encode()), date="2024-02-03")
    assert response.status_code == 201
    articles = client.get("/api/articles", params={"source": "jinci.txt"}).json()["articles"]
    assert [a["date"] for a in articles] == ["2024-02-03"]


def test_reuploading_a_page_replaces_its_articles(client: TestClient) -> None:
    upload(client, ("jinci.txt", NEW_PAGE.encode()))
    changed = NEW_PAGE.replace("一百二十幅", "九十幅")
    report = upload(client, ("jinci.txt", changed.encode())).json()
    assert report["articles_added"] == 1 and report["articles_removed"] == 1
    bodies = [
        a["body"] for a in client.get("/api/articles", params={"source": "jinci.txt"}).json()["articles"]
    ]
    assert len(bodies) == 1 and "九十幅" in bodies[0]


def test_upload_names_never_become_paths(client: TestClient, tmp_path: Path) -> None:
    response = upload(client, ("../../outside/evil.txt", NEW_PAGE.encode()))
    assert response.status_code == 201
    assert response.json()["files"] == ["evil.txt"]
    assert not (tmp_path.parent / "outside").exists()


@pytest.mark.parametrize(
    ("files", "status", "code"),
    [
        ([("latin1.txt", "Café olé, naïve résumé".encode("latin-1"))], 400, "bad_document"),
        ([("bin.txt", b"\x00\x01\x02abc")], 400, "bad_document"),
        ([("empty.txt", b"  \n ")], 400, "bad_document"),
        ([("ok.txt", NEW_PAGE.encode()), ("bad.txt", b"\xff\xfe\xfa")], 400, "bad_document"),
        ([("a.txt", NEW_PAGE.encode()), ("a.txt", NEW_PAGE.encode())], 400, "bad_document"),
    ],
)
def test_bad_uploads_change_nothing(
    client: TestClient, files: list[tuple[str, bytes]], status: int, code: str
) -> None:
    before = counts(client)
    listing = client.get("/api/articles").json()
    assert_error(upload(client, *files), status, code)
    assert counts(client) == before
    assert client.get("/api/articles").json() == listing


def test_oversized_uploads_are_413(index_dir: Path) -> None:
    pipeline = make_pipeline(index_dir)
    with TestClient(make_app(pipeline, max_upload_bytes=2_000)) as client:
        assert_error(upload(client, ("big.txt", NEW_PAGE.encode() * 20)), 413, "payload_too_large")
        assert upload(client, ("small.txt", NEW_PAGE.encode())).status_code == 201


def test_upload_needs_multipart_files(client: TestClient) -> None:
    assert_error(client.post("/api/documents", json={"files": ["x"]}, headers=AUTH), 415)
    text_field = client.post(
        "/api/documents", data={"files": "text"}, files={"x": ("x.txt", b"x")}, headers=AUTH
    )
    assert_error(text_field, 400, "bad_document")
    no_files = client.post(
        "/api/documents", data={"date": "2025-01-01"}, files={"x": ("x.txt", b"x")}, headers=AUTH
    )
    assert_error(no_files, 400, "bad_document")
    assert_error(upload(client, ("p.txt", NEW_PAGE.encode()), date="yesterday"), 400, "bad_document")


def test_delete_removes_an_article_everywhere(
    client: TestClient, pipeline: Pipeline, index_dir: Path
) -> None:
    article = next(a for a in pipeline.articles() if "侯森" in a.body)
    before = counts(client)
    response = client.delete(f"/api/articles/{article.id}", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["deleted"] == article.id and body["chunks_removed"] >= 1
    assert counts(client) == (before[0] - 1, before[1] - body["chunks_removed"])
    assert_error(client.get(f"/api/articles/{article.id}"), 404, "not_found")
    search = client.post("/api/search", json={"query": "侯森 合肥 考察", "top_k": 10}).json()
    assert all(p["article_id"] != article.id for p in search["passages"])
    assert article.id not in {a.id for a in make_pipeline(index_dir).articles()}
    assert_error(client.delete(f"/api/articles/{article.id}", headers=AUTH), 404, "not_found")


# -- what the index directory can do to an upload --------------------------------------------

OTHER_PAGE = "汾河公园三期开工\n\n本报讯 汾河公园三期扩建工程今日开工，全长约12公里，预计明年国庆完工。\n"


def test_a_page_confirmed_under_another_name_survives_a_re_upload(pipeline: Pipeline) -> None:
    with TestClient(make_app(pipeline)) as client:
        assert upload(client, ("A.txt", NEW_PAGE.encode())).json()["articles_added"] == 1
        second = upload(client, ("B.txt", NEW_PAGE.encode()))
        assert second.status_code == 201 and second.json()["articles_unchanged"] == 1
        replaced = upload(client, ("A.txt", OTHER_PAGE.encode()))
        assert replaced.status_code == 201 and replaced.json()["articles_removed"] == 0
        held = client.get("/api/articles", params={"source": "B.txt"}).json()
        assert held["total"] == 1 and "摄影展" in held["articles"][0]["title"]
        answer = client.post("/api/chat", json={"question": "晋祠博物馆古建筑摄影展展出多少幅作品？"}).json()
        assert "一百二十幅" in answer["answer"]


def test_an_unwritable_index_is_a_503_and_the_live_index_stays(
    pipeline: Pipeline, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store == "milvus":
        from rag.milvus import MilvusDenseStore as DenseStore
    else:
        from rag.store import FaissVectorStore as DenseStore

    def disk_full(self: object, target: Path) -> None:
        raise OSError(28, "No space left on device")

    with TestClient(make_app(pipeline)) as client:
        wait_ready(client)
        before = counts(client)
        files_before = sorted(p.name for p in pipeline.settings.index_dir.iterdir())
        monkeypatch.setattr(DenseStore, "save", disk_full)
        if store == "faiss":  # after the first save, FAISS writes a segment of the changes
            monkeypatch.setattr(DenseStore, "save_segment", disk_full)
        message = assert_error(upload(client, ("new.txt", NEW_PAGE.encode())), 503, "index_unwritable")
        assert "No space left on device" in message and "\n" not in message
        assert counts(client) == before
        assert sorted(p.name for p in pipeline.settings.index_dir.iterdir()) == files_before


def test_a_damaged_index_is_a_503_naming_the_repair_until_it_is_rebuilt(pipeline: Pipeline) -> None:
    with TestClient(make_app(pipeline)) as client:
        assert wait_ready(client)["articles"] == 44
        (pipeline.settings.index_dir / "manifest.json").write_text('{"format_version": 4}')
        message = assert_error(client.post("/api/chat", json={"question": "进博会"}), 503, "index_damaged")
        assert "manifest.json lacks" in message and "rag ingest --rebuild" in message
        assert_error(client.get("/readyz"), 503, "index_damaged")
        # The repair, run beside the server (as `rag ingest --rebuild` would be): no restart needed.
        repair = make_pipeline(pipeline.settings.index_dir, store=pipeline.settings.store)
        repair.ingest([pipeline.settings.seeds_dir], rebuild=True)
        assert counts(client)[0] == 44
        assert (
            client.post("/api/chat", json={"question": "第八届进博会山西展厅面积多大？"}).status_code == 200
        )
