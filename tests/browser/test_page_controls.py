"""The chat page's controls in headless Chromium: citation cards, Markdown, regenerate, edit,
stop, saved conversations, feedback, dark mode, phone targets, and axe-core's checks.

One server and one browser serve the whole module (each test starts from an empty
localStorage).  The server's answerer is the real extractive one, except that a question
holding :data:`MARKDOWN_CUE` is answered the way a language model writes (Markdown: bold and a
list, with the real citations), and one holding :data:`SLOW_CUE` streams slowly enough to be
stopped.  Screenshots go to ``$RAG_SCREENSHOT_DIR`` (default ``screenshots/``, git-ignored).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from rag.types import Answer, Passage, Turn

if TYPE_CHECKING:
    from conftest import Browser, LiveServer

pytestmark = pytest.mark.browser

QUESTION = "第八届进博会山西展厅面积多大？"
OTHER_QUESTION = "太原理工大学获批多少个国家自然科学基金项目？"
MARKDOWN_CUE = "（要点）"
SLOW_CUE = "（慢）"


class ScriptedGenerator:
    """The real answerer, with two scripted behaviours keyed by words in the question."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        """The wrapped generator's name."""
        return str(self.inner.name)

    def generate(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Answer:
        """The real answer; in Markdown (bold, a list with the markers) when the question asks for it."""
        plain = question.replace(MARKDOWN_CUE, "").replace(SLOW_CUE, "")
        answer = self.inner.generate(plain, passages, history)
        if MARKDOWN_CUE not in question or not answer.citations:
            return answer
        first = answer.citations[0]
        text = f"**要点**如下：\n\n- {answer.text}\n- 报道标题：《{first.title}》[{first.n}]\n"
        return dataclasses.replace(answer, text=text)

    def stream(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Iterator[Any]:
        """The answer in pieces of six characters: 0.4 s apart when slow, 0.06 s otherwise."""
        answer = self.generate(question, passages, history)
        delay = 0.4 if SLOW_CUE in question else 0.06
        for piece in re.findall(r".{1,6}", answer.text, flags=re.S):
            time.sleep(delay)
            yield piece
        yield answer


@pytest.fixture(scope="module")
def server(module_server_factory: Callable[..., LiveServer]) -> LiveServer:
    """The module's server: the seeds, the hashing embedder, the scripted answerer."""
    return module_server_factory(wrap=ScriptedGenerator)


@pytest.fixture
def page(module_browser: Browser, server: LiveServer) -> Iterator[Browser]:
    """The module's browser on the chat page with nothing saved; no policy violation afterwards."""
    browser = module_browser
    browser.desktop()
    browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    browser.driver.get(server.url + "/favicon.svg")
    browser.driver.execute_script("localStorage.clear()")
    browser.open(server.url)
    yield browser
    violations, errors = browser.csp_violations(), browser.js_errors()
    browser.forget_console()
    assert violations == [], violations
    assert errors == [], errors


def _cite(answer: Any, where: str = ".answer-text") -> Any:
    return answer.find_element("css selector", f"{where} .cite")


def _active_element(browser: Browser) -> Any:
    return browser.driver.switch_to.active_element


# -- Markdown and streaming ------------------------------------------------------------------


def test_markdown_answer_streams_and_keeps_citations_in_a_list(page: Browser, server: LiveServer) -> None:
    page.driver.execute_script(
        """
        window.__shown = [];
        new MutationObserver(function () {
          const box = document.querySelector('.answer-text.streaming');
          const text = box && box.textContent.trim();
          if (text && window.__shown[window.__shown.length - 1] !== text) window.__shown.push(text);
        }).observe(document.getElementById('messages'), {childList: true, subtree: true});
        """
    )
    page.ask(QUESTION + MARKDOWN_CUE)
    answer = page.wait_for_answers(1)
    page.screenshot("controls-01-markdown")
    shown = page.driver.execute_script("return window.__shown")
    # A language model's answer is painted as it streams: growing versions before the last.
    assert len(shown) >= 4, shown
    assert all(b.startswith(a.rstrip("*")) or len(b) > len(a) for a, b in zip(shown, shown[1:], strict=False))

    data = page.stored()["messages"][-1]["data"]
    assert data["answer"].startswith("**要点**")
    text = answer.find_element("css selector", ".answer-text")
    assert text.find_element("css selector", "strong").text == "要点"
    assert "**" not in text.text
    items = text.find_elements("css selector", "ul > li")
    assert len(items) == 2
    # The markers inside list items are buttons and open the article.
    in_list = items[1].find_element("css selector", ".cite")
    assert in_list.text == "[1]"
    in_list.click()
    mark = page.wait_for("#source-panel mark.quote")
    assert mark.text == data["citations"][0]["quote"]


def _show_stored_answer(page: Browser, answer: str, citations: list[dict[str, Any]]) -> Any:
    """Put one answer in localStorage as if the server had sent it, reload, return its card."""
    page.driver.execute_script(
        "const [answer, citations] = arguments;"
        "localStorage.setItem('taiyuan-rag.chats.v2', JSON.stringify({current: 'c1', filters: {},"
        "  conversations: [{id: 'c1', title: '', sessionId: null, updated: Date.now(), messages: ["
        "    {role: 'user', text: '问'},"
        "    {role: 'assistant', question: '问', data: {answer, refused: false, citations, passages: [],"
        "     query: '问'}}]}]}));",
        answer,
        citations,
    )
    page.driver.refresh()
    return page.wait_for_answers(1)


def _citation(n: int, quote: str, **extra: Any) -> dict[str, Any]:
    return {
        "n": n,
        "chunk_id": f"k{n}",
        "article_id": "a1",
        "title": "进阶攀高向新行",
        "date": "2025-11-05",
        "source": "000_79f41e49edf8f691.txt",
        "quote": quote,
        "start": 0,
        "end": 0,
        **extra,
    }


def test_answer_markup_stays_text_and_links_are_safe(page: Browser) -> None:
    # What a model (or a quoted page) might write: raw tags, a script URL, an image, a range.
    answer = _show_stored_answer(
        page,
        '甲<b>粗</b><img src=x onerror="window.__xss=1">，历时3~5天[1]。'
        "[点我](javascript:window.__xss=2) ![图](http://127.0.0.1:9/x.png) [官网](https://example.org/)",
        [_citation(1, "甲")],
    )
    text = answer.find_element("css selector", ".answer-text")
    assert text.find_elements("css selector", "b, img, script, del, s") == []
    assert "<b>粗</b>" in text.text and "3~5天" in text.text
    hrefs = [a.get_attribute("href") for a in text.find_elements("css selector", "a")]
    assert "https://example.org/" in hrefs
    assert not any(h and h.startswith("javascript:") for h in hrefs)
    link = text.find_element("css selector", "a[href='https://example.org/']")
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    assert _cite(answer).text == "[1]"
    assert page.driver.execute_script("return window.__xss") is None


# -- citations ------------------------------------------------------------------------------------


def test_citation_card_on_hover_and_on_focus_and_focus_after_esc(page: Browser, server: LiveServer) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    page.ask(QUESTION)
    answer = page.wait_for_answers(1)
    citation = page.stored()["messages"][-1]["data"]["citations"][0]
    card = page.find("#cite-card")
    assert not card.is_displayed()

    cite = _cite(answer)
    ActionChains(page.driver).move_to_element(cite).perform()
    page.wait_for("#cite-card")
    assert citation["title"] in card.text
    assert citation["quote"][:20] in card.text
    label = citation.get("page_label") or citation["source"]
    assert label in card.text
    assert cite.get_attribute("aria-describedby") == "cite-card"
    page.screenshot("controls-02-card-hover")
    # Moving away hides it; moving onto the card first keeps it (its text can be read and selected).
    ActionChains(page.driver).move_to_element(card).perform()
    time.sleep(0.3)
    assert card.is_displayed()
    ActionChains(page.driver).move_to_element(page.find("#question")).perform()
    page.wait_until(lambda: not card.is_displayed(), message="the card stayed after the pointer left")

    # Keyboard: focus shows it, Esc dismisses it, Enter opens the article.
    page.driver.execute_script("arguments[0].focus()", cite)
    page.wait_for("#cite-card")
    page.screenshot("controls-03-card-focus")
    _active_element(page).send_keys(Keys.ESCAPE)
    page.wait_until(lambda: not card.is_displayed(), message="Esc did not dismiss the card")
    _active_element(page).send_keys(Keys.ENTER)
    page.wait_for("#source-panel mark.quote")
    body = page.find("#source-body")
    assert body.get_attribute("tabindex") == "0"
    assert body.get_attribute("role") == "region" and body.get_attribute("aria-label")
    assert _active_element(page) == body, "the opened text takes the focus, ready to scroll"
    before = page.driver.execute_script("return arguments[0].scrollTop", body)
    body.send_keys(Keys.PAGE_DOWN)
    page.wait_until(lambda: page.driver.execute_script("return arguments[0].scrollTop", body) != before)
    assert "active" in cite.get_attribute("class"), "the [n] of the open article stays marked"
    _active_element(page).send_keys(Keys.ESCAPE)
    page.wait_until(lambda: not page.find("#source-panel").is_displayed())
    assert _active_element(page) == cite, "focus returns to the [n] that opened the article"


def test_sources_group_one_article_and_name_pages(page: Browser) -> None:
    label = "太原日报 2025年11月5日 第3版"
    answer = _show_stored_answer(
        page, "甲。[1]乙。[2]", [_citation(1, "甲", page_label=label), _citation(2, "乙", page_label=label)]
    )
    items = answer.find_elements("css selector", ".sources > li")
    assert len(items) == 1, "two quotes of one article are one source"
    assert [b.text for b in items[0].find_elements("css selector", ".cite")] == ["[1]", "[2]"]
    assert label in items[0].text
    assert "2025年11月5日 · 2025年11月5日" not in items[0].text
    assert "000_79f41e49edf8f691.txt" not in answer.text, "no file name where a page label exists"


# -- conversation controls --------------------------------------------------------------------


def _sent_chat_requests(page: Browser) -> list[dict[str, Any]]:
    """The bodies of the page's /api/chat requests since :func:`_record_requests`."""
    bodies = page.driver.execute_script("return window.__bodies;")
    return [json.loads(b) for b in bodies if '"question"' in b]


def _record_requests(page: Browser) -> None:
    page.driver.execute_script(
        """
        window.__bodies = [];
        const original = window.fetch;
        window.fetch = function (url, init) {
          if (init && typeof init.body === "string") window.__bodies.push(init.body);
          return original.apply(this, arguments);
        };
        """
    )


def test_regenerate_and_edit_and_resend(page: Browser) -> None:
    _record_requests(page)
    page.ask(QUESTION)
    first = page.wait_for_answers(1)
    session = page.stored()["sessionId"]
    assert first.find_elements("css selector", ".regenerate")
    first.find_element("css selector", ".regenerate").click()
    from selenium.webdriver.support import expected_conditions as ec

    page.wait_until(lambda: ec.staleness_of(first)(page.driver), message="the answer was not replaced")
    again = page.wait_for_answers(1)
    page.wait_until(lambda: page.stored()["messages"][-1]["role"] == "assistant")
    stored = page.stored()
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]
    assert "435" in again.text
    # The server takes the answer back too (turns=0), in the same conversation.
    assert "turns" not in _sent_chat_requests(page)[0]
    assert _sent_chat_requests(page)[-1] | {"question": None} == {
        "question": None,
        "stream": True,
        "session_id": session,
        "turns": 0,
    }
    assert stored["sessionId"] == session

    # A second question; then the first one is edited: what followed it is replaced.
    page.ask(OTHER_QUESTION)
    page.wait_for_answers(2)
    assert "turns" not in _sent_chat_requests(page)[-1], "a new question continues the conversation"
    assert page.find_all(".regenerate") and len(page.find_all(".regenerate")) == 1
    page.find_all(".msg-user .edit-question")[0].click()
    box = page.wait_for(".msg-user.editing textarea")
    assert box.get_attribute("value") == QUESTION
    assert "替换" in page.find(".msg-user.editing").text
    page.screenshot("controls-04-edit")
    box.clear()
    box.send_keys("2021年进博会太原代表团有多少采购商？")
    page.find(".msg-user.editing .edit-send").click()
    page.wait_until(
        lambda: len(page.stored()["messages"]) == 2 and page.stored()["messages"][1]["role"] == "assistant"
    )
    stored = page.stored()
    assert [m.get("text") for m in stored["messages"] if m["role"] == "user"] == [
        "2021年进博会太原代表团有多少采购商？"
    ]
    assert [m.text for m in page.find_all(".msg-user .bubble")] == ["2021年进博会太原代表团有多少采购商？"]
    assert _sent_chat_requests(page)[-1]["turns"] == 0 and stored["sessionId"] == session
    page.screenshot("controls-05-edited")

    # A later question edited into a follow-up of the first: the server keeps the exchange
    # before it and forgets the rest (turns=1), so this follow-up and the next are read
    # against the edited conversation, not the question taken back (太原理工大学).
    page.ask(OTHER_QUESTION)
    page.wait_for_answers(2)
    page.find_all(".msg-user .edit-question")[1].click()
    box = page.wait_for(".msg-user.editing textarea")
    box.clear()
    box.send_keys("那其中有多少家企业？")
    page.find(".msg-user.editing .edit-send").click()
    page.wait_until(
        lambda: len(page.stored()["messages"]) == 4 and page.stored()["messages"][3]["role"] == "assistant"
    )
    assert _sent_chat_requests(page)[-1]["turns"] == 1 and page.stored()["sessionId"] == session
    page.ask("后来呢？")
    page.wait_for_answers(3)
    assert "turns" not in _sent_chat_requests(page)[-1]
    understood = [e.text for e in page.find_all(".msg-assistant .understood")]
    assert len(understood) == 2, understood
    assert all("进博会太原代表团" in u and "太原理工大学" not in u for u in understood), understood


def test_stop_keeps_what_arrived_as_a_note(page: Browser) -> None:
    page.ask(QUESTION + SLOW_CUE)
    streaming = page.wait_for(".answer-text.streaming")
    page.wait_until(lambda: len(streaming.text.strip()) >= 6, message="nothing streamed")
    page.find("#send").click()
    stopped = page.wait_for(".msg-assistant.stopped")
    page.screenshot("controls-06-stopped")
    assert page.find_all(".msg-error") == []
    assert "已停止生成" in stopped.find_element("css selector", ".stopped-note").text
    partial = stopped.find_element("css selector", ".answer-text").text
    assert partial and "第八届进博会山西展厅面积为435平方米".startswith(partial.replace("\n", "")[:10])
    saved = page.stored()["messages"][-1]
    assert saved["stopped"] is True and saved["data"]["answer"].startswith(partial[:6])
    # Not an error card: the plain card colour of the page.
    card_colour = page.find("#composer").value_of_css_property("background-color")
    assert stopped.value_of_css_property("background-color") == card_colour
    assert stopped.find_elements("css selector", ".regenerate")
    assert page.find("#send").text == "发送"


def test_conversations_new_switch_rename_delete(page: Browser) -> None:
    page.ask(QUESTION)
    page.wait_for_answers(1)
    page.find("#new-chat").click()
    page.wait_for("#welcome .example")
    page.ask(OTHER_QUESTION)
    page.wait_for_answers(1)
    saved = page.saved()
    assert len(saved["conversations"]) == 2

    page.find("#history-toggle").click()
    page.wait_for("#history")
    items = page.find_all("#history-list .history-item")
    assert [i.find_element("css selector", ".history-title").text for i in items] == [
        OTHER_QUESTION,
        QUESTION,
    ]
    assert "current" in items[0].get_attribute("class")
    page.screenshot("controls-07-conversations")

    # Switch to the first conversation: its question and answer come back.
    items[1].find_element("css selector", ".history-open").click()
    page.wait_until(lambda: [b.text for b in page.find_all(".msg-user .bubble")] == [QUESTION])
    assert "435" in page.answers()[0].text
    assert page.stored()["messages"][0]["text"] == QUESTION

    # Switching closed the list; it opens again, and a click outside it closes it.
    assert not page.find("#history").is_displayed()
    page.find("#history-toggle").click()
    page.wait_for("#history")
    page.find(".msg-user .bubble").click()
    page.wait_until(lambda: not page.find("#history").is_displayed(), message="the list stayed open")

    # Rename it.
    page.find("#history-toggle").click()
    item = next(
        i for i in page.find_all("#history-list .history-item") if "current" in i.get_attribute("class")
    )
    item.find_element("css selector", ".history-rename").click()
    from selenium.webdriver.common.keys import Keys

    name = page.wait_for("#history-list input.history-name")
    # The current name is selected: typing replaces it (clear() would blur, which saves).
    name.send_keys("进博会展厅", Keys.ENTER)
    page.wait_until(lambda: page.stored()["title"] == "进博会展厅")
    assert "进博会展厅" in page.find("#history-list").text

    # Delete the other one (two clicks: a stray click loses nothing).
    other = next(
        i for i in page.find_all("#history-list .history-item") if "current" not in i.get_attribute("class")
    )
    delete = other.find_element("css selector", ".history-delete")
    delete.click()
    assert len(page.saved()["conversations"]) == 2
    assert delete.text == "确认删除"
    delete.click()
    page.wait_until(lambda: len(page.saved()["conversations"]) == 1)
    assert page.saved()["conversations"][0]["title"] == "进博会展厅"

    # Kept across a reload.
    page.driver.refresh()
    page.wait_for_answers(1)
    assert [b.text for b in page.find_all(".msg-user .bubble")] == [QUESTION]


def test_a_conversation_saved_by_the_previous_page_is_kept(page: Browser) -> None:
    page.driver.execute_script(
        "localStorage.clear();"
        "localStorage.setItem('taiyuan-rag.chat.v1', JSON.stringify({sessionId: null, filters: {},"
        " messages: [{role: 'user', text: '旧问题'}, {role: 'assistant', question: '旧问题',"
        " data: {answer: '旧回答', refused: false, citations: [], passages: [], query: '旧问题'}}]}));"
    )
    page.driver.refresh()
    assert "旧回答" in page.wait_for_answers(1).text
    assert page.stored()["messages"][0]["text"] == "旧问题"
    assert page.driver.execute_script("return localStorage.getItem('taiyuan-rag.chat.v1')") is None


def test_feedback_is_stored_on_the_server(page: Browser, server: LiveServer) -> None:
    import httpx

    if "/api/feedback" not in httpx.get(server.url + "/openapi.json", timeout=10).json()["paths"]:
        pytest.skip("this server has no POST /api/feedback yet")
    from rag.feedback import open_feedback_store

    store = open_feedback_store(server.pipeline.settings)
    before = len(store.all())
    page.ask(QUESTION)
    answer = page.wait_for_answers(1)
    answer.find_element("css selector", ".rate-down").click()
    comment = page.wait_for(".feedback-form textarea")
    comment.send_keys("出处不对")
    page.screenshot("controls-08-feedback")
    answer.find_element("css selector", ".feedback-send").click()
    page.wait_for(".feedback-thanks")
    assert answer.find_element("css selector", ".rate-down").get_attribute("aria-pressed") == "true"
    items = store.all()
    assert len(items) == before + 1
    item = items[-1]
    data = page.stored()["messages"][-1]["data"]
    assert (item.rating, item.comment, item.question, item.answer) == (
        "down",
        "出处不对",
        QUESTION,
        data["answer"],
    )
    assert item.session_id == page.stored()["sessionId"]
    assert page.stored()["messages"][-1]["feedback"]["rating"] == "down"


# -- looks ------------------------------------------------------------------------------------


def _background(page: Browser) -> tuple[int, ...]:
    colour = page.driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    return tuple(int(x) for x in re.findall(r"\d+", colour)[:3])


def test_dark_mode_follows_the_system_and_the_toggle_is_remembered(page: Browser, server: LiveServer) -> None:
    assert sum(_background(page)) > 600, "light by default"
    page.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    )
    page.open(server.url)
    assert sum(_background(page)) < 150, "a dark-preferring browser gets the dark page"
    toggle = page.find("#theme-toggle")
    assert toggle.get_attribute("aria-pressed") == "true"
    page.ask(QUESTION)
    page.wait_for_answers(1)
    page.screenshot("controls-09-dark")
    assert page.axe() == []

    toggle.click()
    assert sum(_background(page)) > 600
    page.open(server.url)
    assert sum(_background(page)) > 600, "the reader's choice outlives a reload"
    assert page.find("#theme-toggle").get_attribute("aria-pressed") == "false"


def test_phone_tap_targets_and_accessibility(page: Browser, server: LiveServer) -> None:
    page.phone()
    page.open(server.url)
    assert page.axe() == []
    page.ask(QUESTION)
    answer = page.wait_for_answers(1)
    page.screenshot("controls-10-phone-answer")
    for cite in page.find_all(".cite"):
        size = cite.rect
        assert size["width"] >= 24 and size["height"] >= 24, size
    assert page.axe() == []
    _cite(answer).click()
    page.wait_for("mark.quote")
    assert page.axe() == []
    page.screenshot("controls-11-phone-citation")


def test_accessibility_of_the_desktop_page(page: Browser) -> None:
    assert page.axe() == [], "the empty page"
    page.ask(QUESTION)
    answer = page.wait_for_answers(1)
    answer.find_element("css selector", "details.passages summary").click()
    assert page.axe() == [], "an answer"
    _cite(answer).click()
    page.wait_for("mark.quote")
    assert page.axe() == [], "an open citation"
    page.find("#filter-toggle").click()
    page.find("#history-toggle").click()
    assert page.axe() == [], "filters and the conversation list open"
    # The check can fail: a field without a label is reported.
    page.driver.execute_script("document.querySelector('main').appendChild(document.createElement('input'))")
    assert any(v.startswith("label (critical)") for v in page.axe())


def test_widget_launcher_icon_and_accessibility(
    page: Browser, server: LiveServer, widget_host: Callable[[str], str]
) -> None:
    page.driver.get(widget_host(server.url))
    launcher = page.wait_until(
        lambda: page.driver.execute_script(
            "const h = document.querySelector('[data-taiyuan-rag-widget]');"
            "return h && h.shadowRoot.querySelector('.launcher');"
        )
    )
    assert page.driver.execute_script("return arguments[0].querySelectorAll('svg').length", launcher) == 1
    assert "💬" not in launcher.text
    assert page.axe("[data-taiyuan-rag-widget]") == []
    launcher.click()
    frame = page.driver.execute_script(
        "return document.querySelector('[data-taiyuan-rag-widget]').shadowRoot.querySelector('iframe');"
    )
    page.driver.switch_to.frame(frame)
    try:
        page.wait_for("#question")
        assert page.axe() == [], "the widget's page"
        page.ask(QUESTION)
        page.wait_for_answers(1)
        assert page.axe() == [], "an answer in the widget"
    finally:
        page.driver.switch_to.default_content()
    page.screenshot("controls-12-widget")
