"""The clients people already use, against a real uvicorn server: the official `openai` package and
`langchain-openai`, reading the sources from the footnotes appended to the text (they drop the
`citations` field), the usage chunk, `max_tokens`, `n` > 1, and CORS from another origin.

One server serves the whole module (hashing embedder, extractive answers), so the module adds
a few seconds to CI.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from conftest import LiveServer, make_app, make_pipeline, serve, server_settings
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_openai import ChatOpenAI

from api.app import create_app
from api.completion_text import FOOTNOTE_HEADING
from rag.build import default_generator
from rag.pipeline import Pipeline

AREA_Q = "第八届进博会山西展厅的面积有多大？"
LIST_Q = "第八届进博会山西展厅包含哪些板块？"
# The pages cannot answer it: refused, and no footnote.
GDP_Q = "太原今年的GDP是多少？"
ORIGIN = "https://reader.example"
FOOTNOTES = {"sources": "footnotes"}


@pytest.fixture(scope="module")
def pipeline_m(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    index_dir = tmp_path_factory.mktemp("v1-clients") / "index"
    shutil.copytree(seed_index, index_dir)
    return make_pipeline(index_dir)


@pytest.fixture(scope="module")
def live(pipeline_m: Pipeline) -> Iterator[LiveServer]:
    server = serve(make_app(pipeline_m, cors_origins=[ORIGIN]))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def oai(live: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key="unused", max_retries=0, timeout=30)


def ask(oai: openai.OpenAI, question: str, **options: Any) -> Any:
    return oai.chat.completions.create(
        model="taiyuan-rag", messages=[{"role": "user", "content": question}], **options
    )


def streamed(oai: openai.OpenAI, question: str, **options: Any) -> list[Any]:
    return list(ask(oai, question, stream=True, **options))


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def footnote_block(content: str) -> list[str]:
    """The footnote lines after the answer (each stripped of the Markdown line break)."""
    _, _, block = content.partition("\n\n" + FOOTNOTE_HEADING)
    return [line.strip() for line in block.splitlines() if line.strip()]


def assert_footnotes_name_the_citations(content: str, citations: list[dict[str, Any]]) -> None:
    lines = footnote_block(content)
    assert len(lines) == len(citations) > 0
    answer = content.partition("\n\n" + FOOTNOTE_HEADING)[0]
    for line, c in zip(lines, citations, strict=True):
        assert line.startswith(f"[{c['n']}] {c['title']} — {c['page_label']}")
        if c["quote"] in answer:  # the answer shows the sentence: not repeated
            assert line == f"[{c['n']}] {c['title']} — {c['page_label']}"
        else:  # a short quote, its start verbatim: the reader can find the sentence on the page
            assert line.endswith("”") and "：“" + c["quote"][:20] in line
        assert c["source"] not in line and not re.search(r"\d{3}_[0-9a-f]{16}", line)
        assert f"[{c['n']}]" in content.partition("\n\n" + FOOTNOTE_HEADING)[0]


# -- the official openai package ---------------------------------------------------------


def test_openai_reads_the_sources_from_the_footnotes(oai: openai.OpenAI, pipeline_m: Pipeline) -> None:
    completion = ask(oai, AREA_Q, extra_body=FOOTNOTES)
    content = completion.choices[0].message.content or ""
    answer = pipeline_m.ask(AREA_Q)
    assert content.startswith(answer.text) and "435平方米" in content
    citations = (completion.model_extra or {})["citations"]
    assert_footnotes_name_the_citations(content, citations)
    assert citations[0]["page_label"] == "太原日报 2025年11月5日"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == len(content)
    # Without the option the text is the answer alone (the default RAG_V1_SOURCES=none).
    assert ask(oai, AREA_Q).choices[0].message.content == answer.text


def test_openai_stream_carries_the_same_footnotes_and_a_usage_chunk(oai: openai.OpenAI) -> None:
    plain = ask(oai, LIST_Q, extra_body=FOOTNOTES)
    chunks = streamed(oai, LIST_Q, extra_body=FOOTNOTES, stream_options={"include_usage": True})
    text = text_of(chunks)
    assert text == plain.choices[0].message.content and FOOTNOTE_HEADING in text
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishing) == 1 and finishing[0].choices[0].finish_reason == "stop"
    assert (finishing[0].model_extra or {})["citations"] == (plain.model_extra or {})["citations"]
    # The usage chunk comes last, without choices, and counts what was streamed.
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == len(text) == plain.usage.completion_tokens
    assert last.usage.total_tokens == last.usage.prompt_tokens + len(text)
    assert all(c.usage is None for c in chunks[:-1])
    # Without include_usage there is no such chunk.
    assert all(c.choices for c in streamed(oai, LIST_Q))


def test_a_refusal_has_no_footnotes(oai: openai.OpenAI) -> None:
    completion = ask(oai, GDP_Q, extra_body=FOOTNOTES)
    content = completion.choices[0].message.content or ""
    assert "没有" in content and FOOTNOTE_HEADING not in content
    assert (completion.model_extra or {})["citations"] == []


@pytest.mark.parametrize("limit", [6, 12, 40, 90])
def test_max_tokens_caps_the_content_plain_and_streamed(oai: openai.OpenAI, limit: int) -> None:
    full = ask(oai, LIST_Q, extra_body=FOOTNOTES).choices[0].message.content or ""
    assert len(full) > 90
    capped = ask(oai, LIST_Q, max_tokens=limit, extra_body=FOOTNOTES)
    content = capped.choices[0].message.content or ""
    assert 0 < len(content) <= limit and full.startswith(content.rstrip())
    assert capped.choices[0].finish_reason == "length"
    # Never half a marker; only the citations whose markers are still shown.
    assert not re.search(r"\[\d*$", content)
    shown = {int(n) for n in re.findall(r"\[(\d+)\]", content.partition(FOOTNOTE_HEADING)[0])}
    assert {c["n"] for c in (capped.model_extra or {})["citations"]} == shown
    chunks = streamed(oai, LIST_Q, max_tokens=limit, extra_body=FOOTNOTES)
    assert text_of(chunks) == content
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert reasons == ["length"]


def test_max_tokens_above_the_answer_changes_nothing(oai: openai.OpenAI) -> None:
    full = ask(oai, AREA_Q, extra_body=FOOTNOTES).choices[0].message.content or ""
    roomy = ask(oai, AREA_Q, max_tokens=len(full), extra_body=FOOTNOTES)
    assert roomy.choices[0].message.content == full and roomy.choices[0].finish_reason == "stop"


def test_n_above_one_is_a_clear_400(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        ask(oai, AREA_Q, n=2)
    assert caught.value.status_code == 400
    assert "n=2" in str(caught.value) and "n=1" in str(caught.value)
    assert ask(oai, AREA_Q, n=1).choices[0].message.content


# -- langchain-openai ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def chat(live: LiveServer) -> ChatOpenAI:
    return ChatOpenAI(
        model="taiyuan-rag",
        base_url=f"{live.url}/v1",
        api_key="unused",  # type: ignore[arg-type]
        max_retries=0,
        timeout=30,
        extra_body=FOOTNOTES,
    )


def test_langchain_reads_the_sources_from_the_footnotes(chat: ChatOpenAI, oai: openai.OpenAI) -> None:
    reply = chat.invoke(AREA_Q)
    assert isinstance(reply, AIMessage)
    expected = ask(oai, AREA_Q, extra_body=FOOTNOTES)
    assert reply.content == expected.choices[0].message.content
    assert_footnotes_name_the_citations(str(reply.content), (expected.model_extra or {})["citations"])
    assert reply.response_metadata["finish_reason"] == "stop"


def test_langchain_streams_the_footnotes_and_counts_usage(chat: ChatOpenAI, oai: openai.OpenAI) -> None:
    chunks = list(chat.stream(LIST_Q, stream_usage=True))
    assert all(isinstance(c, AIMessageChunk) for c in chunks) and len(chunks) > 3
    text = "".join(str(c.content) for c in chunks)
    assert text == ask(oai, LIST_Q, extra_body=FOOTNOTES).choices[0].message.content
    assert FOOTNOTE_HEADING in text
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] == len(text)


def test_langchain_max_tokens(live: LiveServer) -> None:
    short = ChatOpenAI(
        model="taiyuan-rag",
        base_url=f"{live.url}/v1",
        api_key="unused",
        max_retries=0,
        max_tokens=12,  # type: ignore[arg-type]
    ).invoke(LIST_Q)
    assert 0 < len(str(short.content)) <= 12 and short.response_metadata["finish_reason"] == "length"


# -- the server default, CORS --------------------------------------------------------------


def test_the_server_default_puts_footnotes_in_every_answer(pipeline_m: Pipeline) -> None:
    settings = pipeline_m.settings.model_copy(update={"v1_sources": "footnotes"})
    body = {"model": "m", "messages": [{"role": "user", "content": AREA_Q}]}
    with TestClient(create_app(settings=settings, pipeline=pipeline_m, server=server_settings())) as client:
        default = client.post("/v1/chat/completions", json=body).json()
        opted_out = client.post("/v1/chat/completions", json={**body, "sources": "none"}).json()
        bad = client.post("/v1/chat/completions", json={**body, "sources": "inline"})
    assert FOOTNOTE_HEADING in default["choices"][0]["message"]["content"]
    assert opted_out["choices"][0]["message"]["content"] == pipeline_m.ask(AREA_Q).text
    assert bad.status_code == 422


def test_a_page_of_another_origin_may_call_v1_and_feedback(live: LiveServer) -> None:
    # What the official OpenAI SDK sends from a browser page: its own x-stainless-* headers too.
    requested = "authorization,content-type,x-stainless-os,x-stainless-retry-count"
    with httpx.Client(base_url=live.url, timeout=30) as http:
        for path in ("/v1/chat/completions", "/api/feedback", "/api/chat"):
            response = http.options(
                path,
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": requested,
                },
            )
            assert response.status_code == 200, (path, response.text)
            assert response.headers["access-control-allow-origin"] == ORIGIN
            allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
            assert set(requested.split(",")) <= allowed
        refused = http.options(
            "/v1/chat/completions",
            headers={"Origin": "https://other.example", "Access-Control-Request-Method": "POST"},
        )
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        stream = http.post(
            "/v1/chat/completions",
            headers={"Origin": ORIGIN},
            json={"model": "m", "messages": [{"role": "user", "content": AREA_Q}], "stream": True},
        )
        assert stream.status_code == 200 and stream.headers["access-control-allow-origin"] == ORIGIN


# -- a language model's text that the checks replace ------------------------------------------


class _ReplacedModel:
    """A generator whose streamed text fails the checks (the extractive answer replaces it),
    and which refuses without streaming, as the grounded generator does."""

    name = "openai"

    def __init__(self, extractive: Any) -> None:
        self.extractive = extractive

    def stream(self, question: str, passages: Any, history: Any = ()) -> Iterator[Any]:
        checked = self.extractive.generate(question, passages, history)
        if checked.refused:
            yield checked
            return
        yield from ("太原理工大学获批", "136个项目[1]。")
        yield replace(checked, notice="语言模型的回答未通过引用核对（136），以下为摘录式回答。")


@pytest.mark.parametrize("stream", [True, False])
def test_text_the_checks_replaced_is_followed_by_the_answer(pipeline_m: Pipeline, stream: bool) -> None:
    question = "太原理工大学获批多少个国家自然科学基金项目？"
    # The same index, answered through the builder with the model above in place of the generator.
    replaced = make_pipeline(
        pipeline_m.settings.index_dir,
        generator=lambda settings, index: _ReplacedModel(default_generator(settings, index)),  # type: ignore[arg-type,return-value]
    )
    with TestClient(make_app(replaced)) as client:
        body = {"model": "m", "stream": stream, "sources": "footnotes"}
        answered = client.post(
            "/v1/chat/completions", json={**body, "messages": [{"role": "user", "content": question}]}
        )
        refused = client.post(
            "/v1/chat/completions", json={**body, "messages": [{"role": "user", "content": GDP_Q}]}
        )
    texts = [_content(r, stream) for r in (answered, refused)]
    final = pipeline_m.ask(question).text
    if stream:  # the model's words went out first; then the notice and the answer that replaces them
        assert texts[0].startswith("太原理工大学获批136个项目[1]。\n\n（语言模型的回答未通过引用核对（136）")
    assert final in texts[0] and FOOTNOTE_HEADING in texts[0]
    assert texts[1] == pipeline_m.ask(GDP_Q).text  # a refusal that was not streamed still arrives


def _content(response: httpx.Response, stream: bool) -> str:
    assert response.status_code == 200, response.text
    if not stream:
        return str(response.json()["choices"][0]["message"]["content"])
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    chunks = [json.loads(e) for e in events if e != "[DONE]"]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
