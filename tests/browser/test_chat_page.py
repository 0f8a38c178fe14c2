"""End-to-end tests of the chat page (api/static) in headless Chromium against a live server.

Every test saves screenshots (``$RAG_SCREENSHOT_DIR``, default ``screenshots/``) so a person
can look at what the browser showed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Browser, LiveServer

pytestmark = pytest.mark.browser

QUESTION = "第八届进博会山西展厅面积多大？"
FOLLOW_UP = "包含全省多少家企业？"
UNANSWERABLE = "火星上的企鹅每年冬天吃多少吨冰淇淋？"


def _streamed_texts(browser: Browser) -> list[str]:
    """The successive texts the streaming answer showed (recorded by a MutationObserver)."""
    return browser.driver.execute_script("return window.__streamed || [];")


def _record_streaming(browser: Browser) -> None:
    # Each paint re-renders the pending answer (Markdown); keep the text of every version shown.
    browser.driver.execute_script(
        """
        window.__streamed = [];
        new MutationObserver(function (records) {
          const box = document.querySelector('.answer-text.streaming');
          if (!box) return;
          const text = box.textContent;
          const seen = window.__streamed;
          if (text && seen[seen.length - 1] !== text) seen.push(text);
        }).observe(document.getElementById('messages'),
                   {childList: true, subtree: true, characterData: true});
        """
    )


def _page_label(server: LiveServer, article_id: str) -> str:
    """How the API names an article's page (its ``page_label``, the file name on older servers)."""
    import httpx

    data = httpx.get(f"{server.url}/api/articles/{article_id}", timeout=10).json()
    article = data.get("article", data)
    return str(article.get("page_label") or article["source"])


def _chinese_date(iso: str) -> str:
    """2025-11-05 → 2025年11月5日, as the page shows dates."""
    year, month, day = (int(part) for part in iso.split("-"))
    return f"{year}年{month}月{day}日"


def _body_span(server: LiveServer, citation: dict) -> str:
    """The cited span cut from the article body on the Python side (code-point offsets)."""
    article = server.pipeline.article(citation["article_id"])
    return article.body[citation["start"] : citation["end"]]


def test_ask_stream_cite_follow_up_reload(live_server: LiveServer, browser: Browser) -> None:
    browser.open(live_server.url)
    examples = [e.text for e in browser.find_all(".example")]
    assert QUESTION in examples
    browser.screenshot("desktop-01-empty")

    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.keys import Keys

    box = browser.find("#question")
    box.send_keys("第一行", Keys.SHIFT, Keys.ENTER, Keys.SHIFT, "第二行")
    assert box.get_attribute("value") == "第一行\n第二行"
    assert browser.find_all(".msg-user") == []  # Shift+Enter did not send

    _record_streaming(browser)
    browser.ask(QUESTION)

    def streamed_or_done() -> bool:
        # On a loaded machine the whole answer may be painted before this first looks: the
        # MutationObserver above has recorded the streaming card's texts either way.
        if browser.answers():
            return True
        try:
            pending = browser.find_all(".msg-assistant.pending .answer-text.streaming")
            return bool(pending and pending[0].text.strip())
        except StaleElementReferenceException:  # the final answer replaced the streaming card
            return True

    browser.wait_until(streamed_or_done, message="no streamed text")
    browser.screenshot("desktop-02-streaming")
    answer = browser.wait_for_answers(1)
    browser.screenshot("desktop-03-answer")

    final_text = answer.find_element("css selector", ".answer-text").text
    streamed = [t.strip() for t in _streamed_texts(browser) if t.strip()]
    # The answer arrived in pieces: growing prefixes before the final text. The short answer has
    # four pieces; a loaded headless browser may paint only two of them before the final card.
    assert len(streamed) >= 2
    growing = [b.startswith(a) and len(b) > len(a) for a, b in zip(streamed, streamed[1:], strict=False)]
    assert all(growing), streamed
    assert "435" in final_text
    assert "未找到" not in answer.text
    assert not answer.get_attribute("class").count("refused")

    stored = browser.stored()
    data = stored["messages"][-1]["data"]
    assert data["citations"], "the answer should cite the page"
    assert stored["sessionId"] == data["session_id"]

    # Clicking [1] opens the article beside the chat with the quoted span highlighted and in view.
    cite = answer.find_element("css selector", ".answer-text .cite")
    assert cite.text == "[1]"
    cite.click()
    mark = browser.wait_for("#source-panel mark.quote")
    citation = next(c for c in data["citations"] if c["n"] == 1)
    assert mark.text == citation["quote"] == _body_span(live_server, citation)
    info = browser.find("#source-info").text
    article = live_server.pipeline.article(citation["article_id"])
    assert article.title in info and _chinese_date(article.date) in info
    assert _page_label(live_server, article.id) in info
    assert article.source not in info or article.source == _page_label(live_server, article.id)
    for reporter in article.reporters:
        assert reporter in info
    assert browser.driver.execute_script(
        """
        const m = document.querySelector('mark.quote').getBoundingClientRect();
        const p = document.getElementById('source-body').getBoundingClientRect();
        return m.top >= p.top && m.top < p.bottom;
        """
    ), "the highlighted quote is not scrolled into view"
    panel = browser.find("#source-panel").rect
    chat = browser.find(".chat").rect
    assert panel["x"] >= chat["x"] + chat["width"] - 1, "the article should open beside the chat"
    browser.screenshot("desktop-04-citation")

    # The retrieved passages are folded until opened; they say what their order means instead
    # of showing raw fused scores, and which of them the answer cites.
    details = answer.find_element("css selector", "details.passages")
    assert details.get_attribute("open") is None
    assert not answer.find_element("css selector", ".passage-list").is_displayed()
    details.find_element("css selector", "summary").click()
    passages = answer.find_elements("css selector", ".passage")
    assert len(passages) == len(data["passages"])
    assert "得分" not in details.text
    assert "越靠前与问题越相关" in details.find_element("css selector", ".passages-note").text
    cited = {c["chunk_id"] for c in data["citations"]}
    marked = [p["chunk_id"] in cited for p in data["passages"]]
    shown = [bool(p.find_elements("css selector", ".passage-cited")) for p in passages]
    assert shown == marked and any(shown)
    browser.screenshot("desktop-05-passages")

    # A follow-up in the same conversation keeps the session.
    browser.ask(FOLLOW_UP)
    follow = browser.wait_for_answers(2)
    stored = browser.stored()
    assert stored["sessionId"] == data["session_id"]
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "user", "assistant"]
    assert "26" in follow.find_element("css selector", ".answer-text").text
    browser.screenshot("desktop-06-follow-up")

    # The conversation survives a reload, citations included.
    browser.driver.refresh()
    browser.wait_for_answers(2)
    assert [m.text for m in browser.find_all(".msg-user .bubble")] == [QUESTION, FOLLOW_UP]
    assert browser.find("#welcome").is_displayed() is False
    browser.answers()[0].find_element("css selector", ".answer-text .cite").click()
    assert browser.wait_for("mark.quote").text == citation["quote"]

    # 新对话 empties it and offers the examples again.
    browser.find("#new-chat").click()
    browser.wait_for("#welcome .example")
    assert browser.answers() == []
    assert browser.stored()["sessionId"] is None
    assert browser.js_errors() == []


def test_refusal_looks_different(live_server: LiveServer, browser: Browser) -> None:
    browser.open(live_server.url)
    browser.ask(UNANSWERABLE)
    answer = browser.wait_for_answers(1)
    assert "refused" in answer.get_attribute("class")
    assert answer.find_element("css selector", ".refusal-tag").text == "未找到相关资料"
    assert answer.find_elements("css selector", ".answer-text .cite") == []
    background = answer.value_of_css_property("background-color")
    browser.ask(QUESTION)
    normal = browser.wait_for_answers(2)
    assert normal.value_of_css_property("background-color") != background
    browser.driver.execute_script("arguments[0].scrollIntoView()", answer)
    browser.screenshot("desktop-07-refusal")


def test_example_question_and_copy(live_server: LiveServer, browser: Browser) -> None:
    browser.open(live_server.url)
    browser.driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": live_server.url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    example = next(e for e in browser.find_all(".example") if "太原理工大学" in e.text)
    question = example.text
    example.click()
    answer = browser.wait_for_answers(1)
    assert browser.find(".msg-user .bubble").text == question
    data = browser.stored()["messages"][-1]["data"]

    copy = answer.find_element("css selector", "button.copy")
    copy.click()
    browser.wait_until(lambda: copy.text == "已复制", message="copy did not confirm")
    copied = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.clipboard.readText().then(done, e => done('ERR ' + e));"
    )
    assert copied.startswith(data["answer"])
    assert "来源：" in copied
    for citation in data["citations"]:
        assert f"[{citation['n']}] {citation['title']}" in copied
        assert citation["quote"] in copied


def test_filters_restrict_the_search(live_server: LiveServer, browser: Browser) -> None:
    browser.open(live_server.url)
    browser.find("#filter-toggle").click()
    sources = {a.source for a in live_server.pipeline.articles()}
    browser.wait_until(lambda: len(browser.find_all("#filter-source option")) == len(sources) + 1)
    values = [o.get_attribute("value") for o in browser.find_all("#filter-source option")]
    assert set(values[1:]) == sources
    # Options are named as a reader names a page, not by file name.
    first_article = {a.source: a.id for a in reversed(live_server.pipeline.articles())}
    for option in browser.find_all("#filter-source option")[1:]:
        label = _page_label(live_server, first_article[option.get_attribute("value")])
        assert option.text.startswith(label)

    # Only the page about 2021's expo: passages all come from it.
    page = next(a.source for a in live_server.pipeline.articles() if "世界之约" in a.title)
    from selenium.webdriver.support.ui import Select

    Select(browser.find("#filter-source")).select_by_value(page)
    assert browser.find("#filter-count").text == "1"
    browser.screenshot("desktop-08-filters")
    browser.ask(QUESTION)
    answer = browser.wait_for_answers(1)
    passages = browser.stored()["messages"][-1]["data"]["passages"]
    assert passages and {p["source"] for p in passages} == {page}
    assert "435" not in answer.find_element("css selector", ".answer-text").text

    # A date range that holds no page finds nothing, and says so.
    dates = sorted(a.date for a in live_server.pipeline.articles())
    browser.find("#filter-clear").click()
    browser.driver.execute_script(
        "const i = document.getElementById('filter-date-to'); i.value = arguments[0];"
        "i.dispatchEvent(new Event('change'));",
        "2000-01-01" if dates[0] > "2000-01-01" else "1900-01-01",
    )
    browser.ask(QUESTION)
    refused = browser.wait_for_answers(2)
    assert "refused" in refused.get_attribute("class")
    assert browser.stored()["filters"] == {"date_to": browser.find("#filter-date-to").get_attribute("value")}


def test_server_error_message(live_server: LiveServer, browser: Browser) -> None:
    browser.open(live_server.url)
    max_chars = live_server.pipeline.settings.max_question_chars
    browser.driver.execute_script("document.getElementById('question').removeAttribute('maxlength')")
    browser.ask("进博会" * max_chars)
    error = browser.wait_for(".msg-error")
    assert error.find_element("css selector", ".error-tag").text == "问题无法处理"
    assert str(max_chars) in error.text  # the server's own explanation is shown too
    assert error.find_element("css selector", "button.retry").is_displayed()
    browser.screenshot("desktop-09-http-error")


def test_expired_conversation_is_announced_and_a_new_one_started(
    live_server: LiveServer, browser: Browser
) -> None:
    browser.open(live_server.url)
    browser.ask(QUESTION)
    browser.wait_for_answers(1)
    session = browser.stored()["sessionId"]
    # The server forgets the conversation (expired, evicted, or its store wiped).
    store = live_server.pipeline.settings.index_dir / "state" / "sessions.sqlite3"
    with sqlite3.connect(store) as conn:
        assert conn.execute("DELETE FROM sessions WHERE id = ?", (session,)).rowcount == 1
    browser.ask(FOLLOW_UP)
    error = browser.wait_for(".msg-error")
    assert error.find_element("css selector", ".error-tag").text == "对话已过期，已开始新对话。请重新提问。"
    assert browser.stored()["sessionId"] is None
    browser.screenshot("desktop-09b-session-expired")
    # Asking again starts a new conversation on the server.
    error.find_element("css selector", "button.retry").click()
    browser.wait_for_answers(2)
    assert browser.stored()["sessionId"] not in (None, session)
    assert browser.js_errors() == []


def test_slow_server_is_announced_then_times_out(
    server_factory: Callable[..., LiveServer], browser: Browser
) -> None:
    server = server_factory(first_delay=3.0)
    browser.open(server.url, config={"slowMs": 500, "responseTimeoutMs": 1500, "idleTimeoutMs": 1500})
    browser.ask(QUESTION)
    status = browser.wait_for(".status-line.slow", timeout=5)
    assert "较慢" in status.text
    browser.screenshot("desktop-10-slow")
    # The send button is a stop button meanwhile.
    send = browser.find("#send")
    assert send.text == "停止"
    send.click()
    # Stopping is the reader's choice, not a failure: a neutral note, no error card.
    stopped = browser.wait_for(".msg-assistant.stopped", timeout=5)
    assert "已停止" in stopped.text
    assert browser.find_all(".msg-error") == []
    assert send.text == "发送"

    browser.ask(QUESTION)
    browser.wait_for(".status-line.slow", timeout=5)
    browser.wait_until(lambda: len(browser.find_all(".msg-error")) == 1, timeout=10, message="no time-out")
    error = browser.find_all(".msg-error")[-1]
    assert "没有响应" in error.text or "超时" in error.text
    assert send.text == "发送"


def test_server_down_message(server_factory: Callable[..., LiveServer], browser: Browser) -> None:
    server = server_factory()
    browser.open(server.url)
    browser.ask(QUESTION)
    browser.wait_for_answers(1)
    server.stop()
    browser.ask(FOLLOW_UP)
    error = browser.wait_for(".msg-error", timeout=15)
    assert error.find_element("css selector", ".error-tag").text == "无法连接到服务器"
    assert "服务已启动" in error.text
    assert browser.find("#send").text == "发送", "the page must not stay busy"
    browser.screenshot("desktop-11-server-down")


# An uploaded page whose text looks like markup and holds characters outside the BMP
# (CJK Extension B: two UTF-16 units each) before the sentence that will be quoted.
HOSTILE_PAGE = (
    "火星基地建成温室\n\n"
    "本报讯 𠀀𠀁𠀂𠀃是四个罕见的古汉字。"
    '火星基地今年建成了<b>三座</b>温室<img src=x onerror="window.__xss=1">。'
    "基地负责人表示，明年还将在<script>window.__xss=2</script>北区继续扩建。\n"
)


def test_untrusted_text_is_shown_as_text(server_factory: Callable[..., LiveServer], browser: Browser) -> None:
    import httpx

    server = server_factory(api_key="test-key")
    upload = httpx.post(
        server.url + "/api/documents",
        headers={"X-API-Key": "test-key"},
        files=[("files", ("hostile.txt", HOSTILE_PAGE.encode("utf-8"), "text/plain"))],
        data={"date": "2030-01-01"},
        timeout=30,
    )
    assert upload.status_code == 201, upload.text

    browser.open(server.url)
    question = '火星基地今年建成了几座温室？<img src=x onerror="window.__xss=3">'
    browser.ask(question)
    answer = browser.wait_for_answers(1)
    assert browser.find(".msg-user .bubble").text == question
    text = answer.find_element("css selector", ".answer-text")
    # The answer states the span; the quote behind [n] holds the page's markup, shown as text.
    assert "三座" in text.text
    assert answer.find_elements("css selector", "b, img, script") == []
    assert browser.driver.execute_script("return window.__xss") is None

    data = browser.stored()["messages"][-1]["data"]
    citation = next(c for c in data["citations"] if "三座" in c["quote"])
    assert "<b>三座</b>" in citation["quote"]
    button = next(b for b in text.find_elements("css selector", ".cite") if b.text == f"[{citation['n']}]")
    button.click()
    mark = browser.wait_for("mark.quote")
    assert mark.text == citation["quote"] == _body_span(server, citation)
    assert browser.find_all("#source-panel b, #source-panel img, #source-panel script") == []
    # The code-point offsets from the server land on the same span in UTF-16 without any
    # help from the quote text (which the page only uses as a fallback).
    body = server.pipeline.article(citation["article_id"]).body
    assert body.index("火星基地今年") > body.index("𠀀")
    span = browser.driver.execute_script(
        "const b = arguments[0], c = arguments[1];"
        "const s = window.taiyuanChat.locateQuote(b, {start: c.start, end: c.end});"
        "return b.slice(s[0], s[1]);",
        body,
        citation,
    )
    assert span == citation["quote"]
    assert browser.driver.execute_script("return window.__xss") is None
    browser.screenshot("desktop-12-markup-as-text")


def test_the_policy_blocks_injected_code(live_server: LiveServer, browser: Browser) -> None:
    # Page text never becomes markup (it goes through textContent); if markup got in all the
    # same, the Content-Security-Policy would keep it from running, and would say so.
    browser.open(live_server.url)
    browser.ask(QUESTION)
    browser.wait_for_answers(1)
    assert browser.csp_violations() == []
    browser.driver.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.__injected = 1';"
        "document.body.appendChild(s);"
        "const i = document.createElement('img'); i.setAttribute('onerror', 'window.__injected = 2');"
        "i.setAttribute('src', 'no-such-image.png'); document.body.appendChild(i);"
    )
    browser.wait_until(lambda: len(browser.csp_violations()) >= 2, message="no violation reported")
    assert browser.driver.execute_script("return window.__injected") is None
    violations = browser.csp_violations(clear=True)
    assert all("script-src" in v for v in violations), violations


def test_phone_width(live_server: LiveServer, browser: Browser) -> None:
    width = browser.phone()
    browser.open(live_server.url)
    assert browser.driver.execute_script("return window.innerWidth") == width
    browser.screenshot("phone-01-empty")
    browser.find(".example").click()
    answer = browser.wait_for_answers(1)
    browser.screenshot("phone-02-answer")
    assert browser.driver.execute_script("return document.documentElement.scrollWidth") <= width

    answer.find_element("css selector", ".answer-text .cite").click()
    browser.wait_for("mark.quote")
    panel = browser.find("#source-panel").rect
    assert panel["width"] == pytest.approx(width, abs=1), "on a phone the article covers the chat"
    browser.screenshot("phone-03-citation")
    browser.find("#source-close").click()
    assert not browser.find("#source-panel").is_displayed()
    browser.find("#filter-toggle").click()
    assert browser.driver.execute_script("return document.documentElement.scrollWidth") <= width
    browser.screenshot("phone-04-filters")


@pytest.fixture
def host_page(widget_host: Callable[[str], str], live_server: LiveServer) -> str:
    """Another site (another origin) that embeds the widget with the README's snippet."""
    return widget_host(live_server.url)


def test_embedded_widget(host_page: str, live_server: LiveServer, browser: Browser) -> None:
    browser.driver.get(host_page)
    launcher = browser.wait_until(
        lambda: browser.driver.execute_script(
            "const h = document.querySelector('[data-taiyuan-rag-widget]');"
            "return h && h.shadowRoot.querySelector('.launcher');"
        ),
        message="the widget did not appear",
    )
    browser.screenshot("widget-01-closed")
    launcher.click()
    frame = browser.driver.execute_script(
        "return document.querySelector('[data-taiyuan-rag-widget]').shadowRoot.querySelector('iframe');"
    )
    assert frame.get_attribute("src") == f"{live_server.url}/?embed=widget"
    browser.driver.switch_to.frame(frame)
    browser.wait_for("#question")
    browser.ask(QUESTION)
    answer = browser.wait_for_answers(1)
    assert "435" in answer.text
    answer.find_element("css selector", ".answer-text .cite").click()
    browser.wait_for("mark.quote")
    browser.find("#source-close").click()
    browser.driver.switch_to.default_content()
    browser.screenshot("widget-02-open")


@pytest.mark.slow
def test_real_model_answers_in_the_page(server_factory: Callable[..., LiveServer], browser: Browser) -> None:
    server = server_factory(real_model=True)
    browser.open(server.url)
    browser.ask("太原理工大学获批多少个国家自然科学基金项目？")
    answer = browser.wait_for_answers(1, timeout=120)
    assert "refused" not in answer.get_attribute("class")
    answer.find_element("css selector", ".answer-text .cite").click()
    mark = browser.wait_for("mark.quote")
    citation = browser.stored()["messages"][-1]["data"]["citations"][0]
    assert mark.text == _body_span(server, citation)
    browser.screenshot("desktop-13-real-model")
