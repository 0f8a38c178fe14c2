"""`/v1/chat/completions` never hands a Markdown front end raw HTML from the pages.

An uploaded page holds markup as its words; a question whose answer quotes that text is
asked through the OpenAI endpoint, plain and streamed, and what a chat front end would
render (the message content, the streamed deltas, the citations) is rendered with
markdown-it-py with raw HTML enabled, as CommonMark renderers do by default.
"""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from conftest import API_KEY
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt

from api.routes.openai import escape_markup

# The sentence the answer quotes: tags, an event handler and a script, as the page's text.
MARKED_UP = '火星基地今年建成了<b>三座</b>温室<img src=x onerror="window.__xss=1">。'
PAGE = (
    "火星基地建成温室\n\n"
    f"本报讯 {MARKED_UP}"
    "基地负责人表示，明年还将在<script>window.__xss=2</script>北区继续扩建。\n"
)
# A question answered with a summary of the report, which quotes the marked-up sentence whole.
QUESTION = "火星基地建成温室的报道说了什么？"
RENDERER = MarkdownIt("commonmark", {"html": True})
TAGS = ("<b>", "<img", "<script")


def rendered(markdown: str) -> str:
    """The HTML a Markdown chat front end makes of ``markdown``."""
    return RENDERER.render(markdown)


def shown_text(markdown: str) -> str:
    """What a person reads once ``markdown`` is rendered (tags of the rendering removed)."""
    page = rendered(markdown)
    for tag in ("<p>", "</p>"):
        page = page.replace(tag, "")
    return html.unescape(page).strip()


@pytest.fixture
def marked_client(client: TestClient) -> TestClient:
    """The app with the marked-up page uploaded."""
    response = client.post(
        "/api/documents",
        headers={"X-API-Key": API_KEY},
        files=[("files", ("mars.txt", PAGE.encode("utf-8"), "text/plain"))],
        data={"date": "2030-01-01"},
    )
    assert response.status_code == 201, response.text
    return client


def test_the_renderer_would_run_raw_page_text() -> None:
    # The control: the page's own text, rendered as Markdown, is live HTML.
    assert all(tag in rendered(MARKED_UP) for tag in ("<b>", "<img"))


def test_completion_content_and_citations_are_escaped(marked_client: TestClient) -> None:
    native = marked_client.post("/api/chat", json={"question": QUESTION}).json()
    assert MARKED_UP in native["answer"]  # the native API sends the page text verbatim

    body = {"model": "taiyuan-rag", "messages": [{"role": "user", "content": QUESTION}]}
    completion = marked_client.post("/v1/chat/completions", json=body).json()
    content = completion["choices"][0]["message"]["content"]
    assert "<" not in content and ">" not in content
    assert content == escape_markup(native["answer"])
    assert not any(tag in rendered(content) for tag in TAGS)
    # Rendered, the person reads exactly what the page printed.
    assert MARKED_UP in shown_text(content)
    assert completion["usage"]["completion_tokens"] == len(content)

    quotes = [c["quote"] for c in completion["citations"]]
    assert quotes and all("<" not in q for q in quotes)
    assert any(MARKED_UP in shown_text(q) for q in quotes)
    assert not any(tag in rendered(q) for q in quotes for tag in TAGS)


def test_streamed_deltas_and_citations_are_escaped(marked_client: TestClient) -> None:
    body = {"model": "taiyuan-rag", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    response = marked_client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    data = [line[len("data: ") :] for line in response.text.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks: list[Any] = [json.loads(item) for item in data[:-1]]
    deltas = [c["choices"][0]["delta"].get("content") or "" for c in chunks]
    assert len([d for d in deltas if d]) > 1
    assert all("<" not in d and ">" not in d for d in deltas)
    # A front end re-renders the text received so far after every delta: never a tag.
    received = ""
    for delta in deltas:
        received += delta
        assert not any(tag in rendered(received) for tag in TAGS)
    assert MARKED_UP in shown_text(received)
    citations = chunks[-1]["citations"]
    assert citations and all("<" not in c["quote"] and "<" not in c["title"] for c in citations)
    assert json.dumps(chunks).count("onerror") == json.dumps(chunks).count("&lt;img src=x onerror")


def test_escaping_keeps_ordinary_text() -> None:
    assert escape_markup("PM2.5浓度<35微克，R&D投入增长5%") == "PM2.5浓度&lt;35微克，R&D投入增长5%"
    assert escape_markup("<javascript:alert(1)>") == "&lt;javascript:alert(1)&gt;"
    assert shown_text(escape_markup("a < b > c")) == "a < b > c"
