"""POST /api/feedback (kept in the state store), GET /api/pages and page labels of uploads."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_api_articles import NEW_PAGE, upload
from test_api_chat import assert_error
from test_api_sessions import redis_url  # noqa: F401 - the private redis-server fixture

from rag.feedback import RedisFeedbackStore, SqliteFeedbackStore, state_dir
from rag.pipeline import Pipeline

AREA_Q = "第八届进博会山西展厅的面积有多大？"


def report(client: TestClient, **fields: Any) -> Any:
    body = {"question": AREA_Q, "answer": "435平方米。[1]", "rating": "down", **fields}
    return client.post("/api/feedback", json=body)


def test_feedback_is_stored_with_what_the_page_sent(client: TestClient, pipeline: Pipeline) -> None:
    answer = client.post("/api/chat", json={"question": AREA_Q}).json()
    response = report(
        client,
        session_id=answer["session_id"],
        answer=answer["answer"],
        rating="up",
        comment=" 准确 ",
        citations=answer["citations"],
        query=answer["query"],
    )
    assert response.status_code == 201, response.text
    feedback_id = response.json()["id"]
    store = SqliteFeedbackStore(state_dir(pipeline.settings) / "feedback.sqlite3")
    (kept,) = store.all()
    assert kept.id == feedback_id and kept.rating == "up" and kept.comment == "准确"
    assert kept.session_id == answer["session_id"] and kept.answer == answer["answer"]
    assert list(kept.citations) == answer["citations"] and kept.query == AREA_Q
    # The minimal report: nulls are fine.
    minimal = report(client, session_id=None, comment=None, citations=None, query=None)
    assert minimal.status_code == 201 and minimal.json()["id"] != feedback_id
    assert [f.rating for f in store.all()] == ["up", "down"]


@pytest.mark.parametrize(
    "fields",
    [
        {"rating": "meh"},
        {"rating": None},
        {"question": "   "},
        {"question": "x" * 2001},
        {"answer": 5},
        {"comment": "x" * 2001},
        {"comment": "坏\x00"},
        {"citations": "[1]"},
        {"citations": [{}] * 51},
        {"session_id": "../etc"},
        {"extra": 1},
    ],
)
def test_bad_feedback_is_a_422(client: TestClient, fields: dict[str, Any]) -> None:
    assert_error(report(client, **fields), 422, "invalid_input")


def test_missing_fields_are_a_422(client: TestClient) -> None:
    assert_error(client.post("/api/feedback", json={"question": AREA_Q}), 422, "invalid_input")


def test_the_pages_endpoint_names_every_page(client: TestClient, pipeline: Pipeline) -> None:
    pages = client.get("/api/pages").json()["pages"]
    assert [p["source"] for p in pages] == [
        "000_79f41e49edf8f691.txt",  # 2025
        "003_030953ef5e0be5b6.txt",  # 2023-09
        "001_867f14aa76f89740.txt",  # 2023-08
        "004_6d3b14249bc8cb53.txt",  # 2022
        "002_c8ae31b64c1052c2.txt",  # 2021
    ]
    assert pages[0] == {
        "source": "000_79f41e49edf8f691.txt",
        "page_label": "太原日报 2025年11月5日",
        "date": "2025-11-05",
        "paper": "太原日报",
        "page": None,
        "title": "",
        "articles": sum(1 for a in pipeline.articles() if a.source == "000_79f41e49edf8f691.txt"),
    }


def test_upload_form_fields_name_the_page(client: TestClient) -> None:
    response = upload(
        client, ("juzhan.txt", NEW_PAGE.encode()), date="2025-11-06", page="4", page_title="文体新闻"
    )
    assert response.status_code == 201, response.text
    labels = {p["source"]: p["page_label"] for p in client.get("/api/pages").json()["pages"]}
    assert labels["juzhan.txt"] == "太原日报 2025年11月6日 第4版 文体新闻"
    article = client.get("/api/articles", params={"source": "juzhan.txt"}).json()["articles"][0]
    assert article["page_label"] == labels["juzhan.txt"]
    cited = client.post("/api/chat", json={"question": "晋祠博物馆摄影展展出多少幅作品？"}).json()
    assert cited["citations"][0]["page_label"] == "太原日报 2025年11月6日 第4版 文体新闻"


@pytest.mark.parametrize(
    ("fields", "files"),
    [({"page": "0"}, 1), ({"page": "三"}, 1), ({"page": "2"}, 2), ({"paper": "报" * 41}, 1)],
)
def test_bad_upload_page_fields_are_a_400(client: TestClient, fields: dict[str, str], files: int) -> None:
    pages = [(f"p{i}.txt", f"标题{i}\n\n本报讯 正文{i}写了一件事情。\n".encode()) for i in range(files)]
    assert_error(upload(client, *pages, **fields), 400, "bad_document")


def test_the_redis_store(redis_url: str) -> None:  # noqa: F811 - the fixture imported above
    from rag.feedback import Feedback

    store = RedisFeedbackStore(redis_url, max_items=2, prefix=f"test-{uuid.uuid4().hex}:")
    ids = [store.add(Feedback(question=f"问{i}？", answer="答", rating="down")) for i in range(3)]
    assert [f.id for f in store.all()] == ids[1:]
    store.close()
