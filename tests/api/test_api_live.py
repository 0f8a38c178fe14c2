"""The API on a real uvicorn server on loopback: the official OpenAI client, overload, uploads under load."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from conftest import API_KEY, LiveServer, make_pipeline
from test_api_articles import NEW_PAGE

from api.limits import ApiLimits
from rag.build import GeneratorFactory, default_generator
from rag.embed import HashingEmbedder
from rag.pipeline import Pipeline
from rag.types import Answer, Passage, Turn

AREA_Q = "第八届进博会山西展厅的面积有多大？"


@pytest.fixture
def live(pipeline: Pipeline, live_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_factory(pipeline)


@pytest.fixture
def oai(live: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key="unused", max_retries=0, timeout=30)


def test_models(oai: openai.OpenAI) -> None:
    assert [m.id for m in oai.models.list()] == ["taiyuan-rag"]


def test_completion_carries_markers_and_citations(oai: openai.OpenAI, pipeline: Pipeline) -> None:
    completion = oai.chat.completions.create(
        model="taiyuan-rag", messages=[{"role": "user", "content": AREA_Q}]
    )
    text = completion.choices[0].message.content or ""
    assert text == pipeline.ask(AREA_Q).text
    assert "435平方米" in text and "[1]" in text
    assert completion.choices[0].finish_reason == "stop"
    citations = (completion.model_extra or {})["citations"]
    assert citations and all(f"[{c['n']}]" in text for c in citations)
    for c in citations:
        assert pipeline.article(c["article_id"]).body[c["start"] : c["end"]] == c["quote"]


def test_streamed_completion_matches_and_ends_with_citations(oai: openai.OpenAI) -> None:
    plain = oai.chat.completions.create(model="taiyuan-rag", messages=[{"role": "user", "content": AREA_Q}])
    chunks = list(
        oai.chat.completions.create(
            model="taiyuan-rag", messages=[{"role": "user", "content": AREA_Q}], stream=True
        )
    )
    assert len(chunks) > 3
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert (chunks[-1].model_extra or {})["citations"] == (plain.model_extra or {})["citations"]


def test_streaming_ends_with_done(live: LiveServer) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": AREA_Q}], "stream": True}
    lines = [ln for ln in httpx.post(f"{live.url}/v1/chat/completions", json=body).text.splitlines() if ln]
    assert lines[-1] == "data: [DONE]"


@pytest.mark.parametrize("stream", [False, True])
def test_followup_from_messages(oai: openai.OpenAI, stream: bool) -> None:
    first = "杏花岭区委书记侯森去哪里考察学习？"
    answer = oai.chat.completions.create(model="taiyuan-rag", messages=[{"role": "user", "content": first}])
    messages: list[Any] = [
        {"role": "system", "content": "你是太原日报助手。"},
        {"role": "user", "content": first},
        {"role": "assistant", "content": answer.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": "他有什么感受？"}]},
    ]
    if stream:
        chunks = list(oai.chat.completions.create(model="taiyuan-rag", messages=messages, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        citations = (chunks[-1].model_extra or {})["citations"]
    else:
        completion = oai.chat.completions.create(model="taiyuan-rag", messages=messages)
        text = completion.choices[0].message.content or ""
        citations = (completion.model_extra or {})["citations"]
    assert citations and "感受" in text
    assert all("侯森" in c["title"] + c["quote"] or "合肥" in c["quote"] for c in citations)


def test_client_errors_are_readable(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as err:
        oai.chat.completions.create(model="taiyuan-rag", messages=[{"role": "assistant", "content": "hi"}])
    assert "last message" in str(err.value)
    with pytest.raises(openai.UnprocessableEntityError) as err:
        oai.chat.completions.create(model="taiyuan-rag", messages=[{"role": "user", "content": "   "}])
    assert "empty" in str(err.value)
    with pytest.raises(openai.UnprocessableEntityError):
        oai.chat.completions.create(model="taiyuan-rag", messages=[])


# -- load ----------------------------------------------------------------------------


class SlowGenerator:
    """Wraps a generator and sleeps before answering, to hold pipeline slots."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner, self.delay, self.name = inner, delay, inner.name

    def generate(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Answer:
        time.sleep(self.delay)
        return self.inner.generate(question, passages, history)

    def stream(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Any:
        time.sleep(self.delay)
        yield from self.inner.stream(question, passages, history)


def slow(delay: float) -> GeneratorFactory:
    """The default generator, answering ``delay`` seconds late."""
    return lambda settings, index: SlowGenerator(default_generator(settings, index), delay)


def test_excess_load_gets_429_and_the_server_recovers(
    index_dir: Path, live_factory: Callable[..., LiveServer]
) -> None:
    # Answers take a second and the eight requests leave together, so all of them arrive while
    # the first is still running even on a loaded machine; the queue waits long enough for two.
    pipeline = make_pipeline(index_dir, generator=slow(1.0))
    live = live_factory(pipeline, ApiLimits(max_active=1, max_waiting=2, wait_seconds=30))
    statuses: list[int] = []
    bodies: list[dict[str, Any]] = []
    start = threading.Barrier(8)

    def ask(stream: bool) -> None:
        start.wait()
        r = httpx.post(f"{live.url}/api/chat", json={"question": AREA_Q, "stream": stream}, timeout=30)
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert r.headers["retry-after"].isdigit()
            bodies.append(r.json())

    threads = [threading.Thread(target=ask, args=(i % 2 == 0,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One running and two queued are served; the rest are refused at once, never failed.
    assert sorted(statuses) == [200] * 3 + [429] * 5
    assert all(b["error"]["code"] == "overloaded" for b in bodies)
    state = live.app.state.api
    assert state.limiter.active == 0 and state.limiter.waiting == 0
    assert httpx.post(f"{live.url}/api/chat", json={"question": AREA_Q}, timeout=30).status_code == 200


def test_an_abandoned_stream_gives_its_slot_back(
    index_dir: Path, live_factory: Callable[..., LiveServer]
) -> None:
    pipeline = make_pipeline(index_dir, generator=slow(0.05))
    live = live_factory(pipeline, ApiLimits(max_active=1, max_waiting=0, wait_seconds=1))
    limiter = live.app.state.api.limiter
    for _ in range(3):
        with httpx.stream("POST", f"{live.url}/api/chat", json={"question": AREA_Q, "stream": True}) as r:
            assert r.status_code == 200
            next(r.iter_bytes())  # read one event, then hang up
        # The server notices the hang-up asynchronously: wait (bounded) for the slot to return
        # before the next stream asks for it, else the next request races the release.
        deadline = time.monotonic() + 5
        while limiter.active and time.monotonic() < deadline:
            time.sleep(0.02)
        assert limiter.active == 0
    assert httpx.post(f"{live.url}/api/chat", json={"question": AREA_Q}, timeout=30).status_code == 200


class SlowEmbedder(HashingEmbedder):
    """Embeds documents slowly (uploads take a while); queries at full speed."""

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        time.sleep(0.5)
        return super().encode_documents(texts)


class FailingEmbedder(HashingEmbedder):
    """Fails while embedding documents: an upload that breaks half-way."""

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        from rag.errors import ModelError

        raise ModelError("the embedding model crashed")


def test_queries_during_uploads_never_fail(index_dir: Any, live_factory: Callable[..., LiveServer]) -> None:
    pipeline = make_pipeline(index_dir, embedder=SlowEmbedder(256))
    live = live_factory(pipeline)
    old_ids = {a.id for a in pipeline.articles()}
    stop = threading.Event()
    results: list[tuple[int, set[str]]] = []

    def query() -> None:
        with httpx.Client(base_url=live.url, timeout=30) as http:
            while not stop.is_set():
                r = http.post("/api/search", json={"query": "晋祠博物馆 摄影展 进博会", "top_k": 10})
                results.append((r.status_code, {p["article_id"] for p in r.json().get("passages", [])}))

    threads = [threading.Thread(target=query) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(3):
            page = NEW_PAGE.replace("一百二十幅", f"{i + 1}百幅")
            files = [("files", (f"upload{i}.txt", page.encode(), "text/plain"))]
            r = httpx.post(
                f"{live.url}/api/documents", files=files, headers={"X-API-Key": API_KEY}, timeout=30
            )
            assert r.status_code == 201, r.text
    finally:
        stop.set()
        for t in threads:
            t.join()
    new_ids = {a.id for a in pipeline.articles()} - old_ids
    assert len(new_ids) == 3
    assert len(results) > 10
    assert all(status == 200 for status, _ in results)
    # Every answer saw a complete index: only ids that existed before or were added.
    assert all(ids <= old_ids | new_ids for _, ids in results)
    assert any(ids & new_ids for _, ids in results)


def test_an_upload_failing_half_way_changes_nothing(
    index_dir: Any, live_factory: Callable[..., LiveServer]
) -> None:
    pipeline = make_pipeline(index_dir, embedder=FailingEmbedder(256))
    live = live_factory(pipeline)
    manifest = (index_dir / "manifest.json").read_bytes()
    before = httpx.get(f"{live.url}/api/articles").json()
    files = [("files", ("new.txt", NEW_PAGE.encode(), "text/plain"))]
    r = httpx.post(f"{live.url}/api/documents", files=files, headers={"X-API-Key": API_KEY}, timeout=30)
    assert r.status_code == 503 and r.json()["error"]["code"] == "model_error"
    assert httpx.get(f"{live.url}/api/articles").json() == before
    assert (index_dir / "manifest.json").read_bytes() == manifest
    assert httpx.post(f"{live.url}/api/search", json={"query": "进博会"}).status_code == 200
