"""POST /api/chat and POST /api/search through the app (hashing embedder, extractive generator)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import EVERY_STORE
from fastapi.testclient import TestClient

from rag.pipeline import Pipeline

AREA_Q = "第八届进博会山西展厅的面积有多大？"


def sse_events(text: str) -> list[tuple[str, Any]]:
    """Parse a text/event-stream body into (event, data) pairs."""
    events = []
    for block in text.strip().split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        events.append((name, json.loads("\n".join(data))))
    return events


def assert_error(response: Any, status: int, code: str | None = None) -> str:
    """The response is the one error shape with this status; returns its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code:
        assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert message and "Traceback" not in message and len(message) < 500
    return str(message)


#: Every test here runs over both store engines (Milvus embedded: milvus-lite).
pytestmark = EVERY_STORE


def test_answer_is_the_cli_json_plus_session_and_timings(client: TestClient, pipeline: Pipeline) -> None:
    response = client.post("/api/chat", json={"question": AREA_Q})
    assert response.status_code == 200
    body = response.json()
    expected = pipeline.answer_json(pipeline.ask(AREA_Q))
    assert {k: body[k] for k in expected} == expected
    assert set(body) - set(expected) <= {"session_id", "retrieve_ms", "generate_ms", "notice"}
    # Every source is named for a reader (seeds/pages.json), the file name kept beside it.
    for item in body["citations"] + body["passages"]:
        assert item["page_label"].startswith("太原日报 20") and item["source"] not in item["page_label"]
    assert body["retrieve_ms"] > 0 and body["generate_ms"] > 0
    assert body["session_id"]
    assert "435平方米" in body["answer"] and "[1]" in body["answer"]


def test_every_citation_is_an_exact_slice_of_its_article(client: TestClient) -> None:
    body = client.post("/api/chat", json={"question": AREA_Q}).json()
    assert body["citations"]
    for citation in body["citations"]:
        article = client.get(f"/api/articles/{citation['article_id']}").json()
        assert article["body"][citation["start"] : citation["end"]] == citation["quote"]
        assert f"[{citation['n']}]" in body["answer"]


def test_followup_in_a_session_is_answered_about_the_earlier_subject(client: TestClient) -> None:
    first = client.post("/api/chat", json={"question": "杏花岭区委书记侯森去哪里考察学习？"}).json()
    session = first["session_id"]
    followup = client.post("/api/chat", json={"question": "他有什么感受？", "session_id": session}).json()
    assert followup["session_id"] == session
    assert not followup["refused"]
    assert all(
        "侯森" in c["title"] or "侯森" in c["quote"] or "合肥" in c["quote"] for c in followup["citations"]
    )
    # Without the conversation the same words name nobody: the answer is not about 侯森.
    alone = client.post("/api/chat", json={"question": "他有什么感受？"}).json()
    assert alone["refused"] or alone["citations"] != followup["citations"]


def test_sessions_are_kept_apart(client: TestClient) -> None:
    a = client.post("/api/chat", json={"question": "杏花岭区委书记侯森去哪里考察学习？"}).json()["session_id"]
    b = client.post("/api/chat", json={"question": AREA_Q}).json()["session_id"]
    assert a != b
    about_b = client.post("/api/chat", json={"question": "其中太原有几家？", "session_id": b}).json()
    # Searched as a question about b's 山西展厅, and answered from it (其中位于我市的有7家).
    assert "山西展厅" in about_b["query"] and "7家" in about_b["answer"]
    assert any("我市的有7家" in c["quote"] for c in about_b["citations"])


def test_stream_sends_deltas_then_the_full_answer(client: TestClient) -> None:
    response = client.post("/api/chat", json={"question": AREA_Q, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"delta"}
    done = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == done["answer"]
    assert done["citations"] and done["session_id"]
    assert done["answer"] == client.post("/api/chat", json={"question": AREA_Q}).json()["answer"]


def test_stream_with_bad_input_is_a_plain_error(client: TestClient) -> None:
    assert_error(client.post("/api/chat", json={"question": " ", "stream": True}), 422, "invalid_input")


def test_filters_restrict_the_passages(client: TestClient) -> None:
    source = "003_030953ef5e0be5b6.txt"
    body = client.post("/api/chat", json={"question": "进博会", "filters": {"source": source}}).json()
    assert body["passages"] and {p["source"] for p in body["passages"]} == {source}
    dated = client.post("/api/chat", json={"question": "进博会", "filters": {"date_to": "1990-01-01"}}).json()
    assert dated["passages"] == [] and dated["refused"]


def test_a_reversed_date_range_holds_no_page(client: TestClient) -> None:
    # Refusing it would break the schema's promise (a JSON Schema cannot compare two fields).
    reversed_range = {"date_from": "2025-12-01", "date_to": "2025-01-01"}
    body = client.post("/api/chat", json={"question": AREA_Q, "filters": reversed_range}).json()
    assert body["refused"] and body["passages"] == [] and body["citations"] == []
    search = client.post("/api/search", json={"query": AREA_Q, "filters": reversed_range})
    assert search.status_code == 200 and search.json()["passages"] == []


def test_top_k_bounds_the_passages(client: TestClient) -> None:
    body = client.post("/api/chat", json={"question": "进博会", "top_k": 2}).json()
    assert 1 <= len(body["passages"]) <= 2


def test_search_ranks_passages_by_score(client: TestClient) -> None:
    response = client.post("/api/search", json={"query": "山西展厅 面积", "top_k": 4})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "山西展厅 面积"
    passages = body["passages"]
    assert [p["rank"] for p in passages] == list(range(1, len(passages) + 1))
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert any("435平方米" in p["text"] for p in passages)


def test_search_by_retriever(client: TestClient) -> None:
    for retriever in ("bm25", "dense", "hybrid"):
        body = client.post("/api/search", json={"query": "公民道德宣传日", "retriever": retriever}).json()
        assert "公民道德宣传日" in body["passages"][0]["text"] + body["passages"][0]["title"]


LONG = "问" * 2001


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"question": ""}, "empty"),
        ({"question": " \n\t "}, "empty"),
        ({"question": LONG}, "2000"),
        ({}, "question is required"),
        ({"question": "进博会", "colour": "red"}, "unknown field 'colour'"),
        ({"question": "进博会", "top_k": "5"}, "top_k"),
        ({"question": "进博会", "top_k": 0}, "top_k"),
        ({"question": "进博会", "top_k": 51}, "top_k"),
        ({"question": "进博会", "stream": "yes"}, "stream"),
        ({"question": 42}, "question"),
        ({"question": "进博会", "session_id": "../etc/passwd"}, "session_id"),
        ({"question": "进博会", "filters": {"date_from": "2025-13-01"}}, "date_from"),
        ({"question": "进博会", "filters": {"date_from": 0}}, "date_from: must be a date written YYYY-MM-DD"),
        ({"question": "进博会", "filters": {"date_to": "2025-01-01T00:00"}}, "date_to: must be a date"),
        ({"question": "进博会", "filters": {"page": 1}}, "page"),
    ],
)
def test_bad_questions_get_a_readable_422(client: TestClient, payload: dict[str, Any], needle: str) -> None:
    message = assert_error(client.post("/api/chat", json=payload), 422, "invalid_input")
    assert needle in message


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"question": ', "application/json"),
        (b"\xff\xfe\x00q", "application/json"),
        (b'["question"]', "application/json"),
        (b'"just a string"', "application/json"),
        (b"question=hi", "application/x-www-form-urlencoded"),
        (b'{"question": "hi"}', "text/plain"),
    ],
)
def test_malformed_bodies_get_a_4xx_in_the_error_shape(
    client: TestClient, content: bytes, content_type: str
) -> None:
    response = client.post("/api/chat", content=content, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)


def test_an_oversized_json_body_is_413(client: TestClient) -> None:
    body = json.dumps({"question": "问" * 200_000})
    assert_error(client.post("/api/chat", content=body, headers={"content-type": "application/json"}), 413)


def test_unknown_paths_and_methods_use_the_error_shape(client: TestClient) -> None:
    assert_error(client.get("/api/nothing-here"), 404, "not_found")
    assert_error(client.get("/api/chat"), 405, "method_not_allowed")
