/*
 * 太原日报问答 — the chat page.
 *
 * Plain browser JavaScript, no build step.  It talks to the API of the same
 * origin: POST /api/chat (server-sent events when "stream": true),
 * GET /api/articles and GET /api/articles/{id}.
 *
 * Every piece of server text reaches the page through textContent or text
 * nodes, never through innerHTML, so an article cannot inject markup.
 */
(function () {
  "use strict";

  // ?embed=1 is the compact page for an iframe; ?embed=widget also drops the title (widget.js shows one).
  var EMBED = new URLSearchParams(window.location.search).get("embed");
  var STORAGE_KEY = EMBED !== null ? "taiyuan-rag.chat.embed.v1" : "taiyuan-rag.chat.v1";
  // How long to wait before telling the user the server is slow, and before giving up.  A page
  // may set window.TAIYUAN_CHAT_CONFIG = {slowMs, responseTimeoutMs, idleTimeoutMs} before this script.
  var CONFIG = window.TAIYUAN_CHAT_CONFIG || {};
  var SLOW_MS = CONFIG.slowMs || 8000;
  var RESPONSE_TIMEOUT_MS = CONFIG.responseTimeoutMs || 90000;
  var IDLE_TIMEOUT_MS = CONFIG.idleTimeoutMs || 45000;
  var KIND_LABELS = {
    news: "新闻",
    brief: "简讯",
    commentary: "评论",
    photo: "图片新闻",
    notice: "公告",
    roundup: "综述",
  };
  var ERROR_LABELS = {
    invalid_input: "问题无法处理",
    not_found: "没有找到",
    index_not_found: "资料库尚未建立",
    index_mismatch: "资料库与模型不匹配",
    model_error: "模型暂不可用",
    overloaded: "服务器繁忙，请稍后再试",
    payload_too_large: "问题太长",
    internal_error: "服务器内部错误",
    unauthorized: "没有访问权限",
    session_expired: "对话已过期，已开始新对话。请重新提问。",
  };

  var $ = function (id) {
    return document.getElementById(id);
  };
  var ui = {
    messages: $("messages"),
    welcome: $("welcome"),
    composer: $("composer"),
    question: $("question"),
    send: $("send"),
    newChat: $("new-chat"),
    filters: $("filters"),
    filterToggle: $("filter-toggle"),
    filterCount: $("filter-count"),
    dateFrom: $("filter-date-from"),
    dateTo: $("filter-date-to"),
    source: $("filter-source"),
    filterClear: $("filter-clear"),
    filterStatus: $("filter-status"),
    banner: $("banner"),
    panel: $("source-panel"),
    panelLabel: $("source-label"),
    panelInfo: $("source-info"),
    panelBody: $("source-body"),
    panelClose: $("source-close"),
  };

  /** The conversation: what is saved in localStorage. */
  var state = { sessionId: null, messages: [], filters: {} };
  /** The request in flight, if any: {controller, reason}. */
  var inflight = null;
  var articleCache = new Map();

  // ---------------------------------------------------------------- helpers

  /** Create an element; children may be strings (become text nodes) or nodes. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = value;
        else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  /**
   * Convert an offset counted in Unicode code points (Python str indices, as the
   * API sends) into a UTF-16 index (JavaScript string indices).
   */
  function codePointToIndex(text, codePoints) {
    var index = 0;
    for (var n = 0; n < codePoints && index < text.length; n++) {
      var c = text.charCodeAt(index);
      var isHighSurrogate = c >= 0xd800 && c <= 0xdbff && index + 1 < text.length;
      index += isHighSurrogate ? 2 : 1;
    }
    return index;
  }

  /** Where a citation's quote sits in an article body, as UTF-16 [start, end), or null. */
  function locateQuote(body, citation) {
    var start = codePointToIndex(body, citation.start);
    var end = codePointToIndex(body, citation.end);
    if (end > start && (!citation.quote || body.slice(start, end) === citation.quote)) return [start, end];
    // The offsets did not match (e.g. the article changed); fall back to finding the text.
    if (citation.quote) {
      var found = body.indexOf(citation.quote);
      if (found >= 0) return [found, found + citation.quote.length];
    }
    return end > start ? [start, end] : null;
  }

  function formatScore(score) {
    return typeof score === "number" && isFinite(score) ? score.toFixed(4) : "—";
  }

  function save() {
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (err) {
      // Storage may be full or blocked (private mode, third-party iframe): the chat still works.
    }
  }

  function load() {
    try {
      var raw = window.localStorage.getItem(STORAGE_KEY);
      if (!raw) return;
      var saved = JSON.parse(raw);
      if (saved && Array.isArray(saved.messages)) {
        state.sessionId = typeof saved.sessionId === "string" ? saved.sessionId : null;
        state.messages = saved.messages.filter(function (m) {
          return m && (m.role === "user" || m.role === "assistant" || m.role === "error");
        });
        state.filters = saved.filters && typeof saved.filters === "object" ? saved.filters : {};
      }
    } catch (err) {
      state = { sessionId: null, messages: [], filters: {} };
    }
  }

  function scrollToBottom() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function showBanner(text) {
    ui.banner.textContent = text;
    ui.banner.hidden = !text;
  }

  // ---------------------------------------------------------------- errors

  /** A failure the user should read: a Chinese headline plus optional server detail. */
  function ChatError(title, detail, kind) {
    this.title = title;
    this.detail = detail || "";
    this.kind = kind || "error";
  }

  /** Turn a non-2xx response into a ChatError, reading the {"error": {...}} body if there is one. */
  async function errorFromResponse(response) {
    var code = "";
    var message = "";
    try {
      var data = await response.json();
      if (data && data.error) {
        code = data.error.code || "";
        message = data.error.message || "";
      } else if (data && data.detail) {
        message = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
      }
    } catch (err) {
      message = response.statusText || "";
    }
    var status = response.status;
    // The server no longer holds this conversation: the notice says it all (the English detail is for API clients).
    if (code === "session_expired") return new ChatError(ERROR_LABELS[code], "", "expired");
    var title;
    if (status === 429) title = "服务器繁忙，请稍后再试";
    else if (ERROR_LABELS[code]) title = ERROR_LABELS[code];
    else if (status === 401 || status === 403) title = "没有访问权限";
    else if (status >= 500) title = "服务器出错（" + status + "）";
    else title = "请求未被接受（" + status + "）";
    return new ChatError(title, message, status === 429 ? "busy" : "http");
  }

  function networkError() {
    return new ChatError("无法连接到服务器", "请确认服务已启动、网络正常，然后重试。", "network");
  }

  async function getJson(url) {
    var response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" } });
    } catch (err) {
      throw networkError();
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response.json();
  }

  // ---------------------------------------------------------------- server-sent events

  /**
   * Read a text/event-stream body and call onEvent(name, data) for each event.
   * onActivity() is called whenever bytes arrive (keep-alive comments included).
   */
  async function readEvents(response, onEvent, onActivity) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder("utf-8");
    var buffer = "";
    function dispatch(block) {
      var name = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var colon = line.indexOf(":");
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.charAt(0) === " ") value = value.slice(1);
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      });
      if (data.length) onEvent(name, data.join("\n"));
    }
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      onActivity();
      buffer += decoder.decode(chunk.value, { stream: true });
      // A "\r" at the very end may be the first half of "\r\n": keep it until the next chunk.
      var tail = buffer.charAt(buffer.length - 1) === "\r" ? "\r" : "";
      var text = (tail ? buffer.slice(0, -1) : buffer).replace(/\r\n?/g, "\n");
      var blocks = text.split("\n\n");
      buffer = blocks.pop() + tail;
      blocks.forEach(dispatch);
    }
    buffer += decoder.decode();
    if (buffer.trim()) dispatch(buffer.replace(/\r\n?/g, "\n"));
  }

  // ---------------------------------------------------------------- rendering

  /** Answer text with every [n] that has a citation turned into a button. */
  function renderAnswerText(container, text, citations, messageIndex) {
    container.textContent = "";
    var byNumber = new Map();
    (citations || []).forEach(function (c) {
      byNumber.set(Number(c.n), c);
    });
    var pattern = /\[(\d+)\]/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      var citation = byNumber.get(Number(match[1]));
      if (!citation) continue;
      if (match.index > last) container.appendChild(document.createTextNode(text.slice(last, match.index)));
      container.appendChild(citationButton(citation, messageIndex));
      last = match.index + match[0].length;
    }
    if (last < text.length) container.appendChild(document.createTextNode(text.slice(last)));
  }

  function citationButton(citation, messageIndex) {
    return el(
      "button",
      {
        type: "button",
        class: "cite",
        "data-n": citation.n,
        "data-message": messageIndex,
        title: citation.title + "（" + citation.date + "）",
        "aria-label": "查看出处 " + citation.n + "：" + citation.title,
        onclick: function () {
          openCitation(citation, this);
        },
      },
      "[" + citation.n + "]"
    );
  }

  function renderSources(citations, messageIndex) {
    if (!citations || !citations.length) return null;
    var list = el("ol", { class: "sources" });
    citations.forEach(function (c) {
      list.appendChild(
        el(
          "li",
          null,
          citationButton(c, messageIndex),
          el(
            "button",
            {
              type: "button",
              class: "source-link",
              onclick: function () {
                openCitation(c, this);
              },
            },
            el("span", { class: "source-title", text: c.title }),
            el("span", { class: "meta", text: [c.date, c.source].filter(Boolean).join(" · ") })
          )
        )
      );
    });
    return el("div", { class: "sources-block" }, el("div", { class: "block-label", text: "来源" }), list);
  }

  function renderPassages(passages) {
    if (!passages || !passages.length) return null;
    var details = el("details", { class: "passages" });
    details.appendChild(el("summary", { text: "检索到的段落（" + passages.length + "）" }));
    var list = el("ol", { class: "passage-list" });
    passages.forEach(function (p) {
      list.appendChild(
        el(
          "li",
          { class: "passage" },
          el(
            "div",
            { class: "passage-head" },
            el("span", { class: "passage-rank", text: "#" + p.rank }),
            el("span", { class: "passage-title", text: p.title }),
            el("span", { class: "score", title: "相关度得分", text: "得分 " + formatScore(p.score) })
          ),
          el("div", { class: "meta", text: [p.date, p.source].filter(Boolean).join(" · ") }),
          el("p", { class: "passage-text", text: p.text })
        )
      );
    });
    details.appendChild(list);
    return details;
  }

  /** The plain-text form of an answer that the copy button puts on the clipboard. */
  function answerAsText(data) {
    var lines = [data.answer || ""];
    if (data.citations && data.citations.length) {
      lines.push("", "来源：");
      data.citations.forEach(function (c) {
        var where = [c.date, c.source].filter(Boolean).join("，");
        lines.push("[" + c.n + "] " + c.title + (where ? "（" + where + "）" : ""));
        if (c.quote) lines.push("    “" + c.quote + "”");
      });
    }
    return lines.join("\n");
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (err) {
        // Fall through to the selection-based copy (e.g. permission denied inside an iframe).
      }
    }
    var area = el("textarea", { class: "copy-buffer", readonly: true, "aria-hidden": "true" });
    area.value = text;
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (err) {
      ok = false;
    }
    area.remove();
    return ok;
  }

  function renderUser(message) {
    return el("div", { class: "msg msg-user" }, el("div", { class: "bubble", text: message.text }));
  }

  /** An assistant answer (finished); a refusal looks different at a glance. */
  function renderAnswer(message, index) {
    var data = message.data || {};
    var refused = Boolean(data.refused);
    var card = el("article", { class: "msg msg-assistant" + (refused ? " refused" : ""), "data-index": index });
    if (refused) {
      card.appendChild(el("div", { class: "status-tag refusal-tag", text: "未找到相关资料" }));
    }
    var text = el("div", { class: "answer-text" });
    renderAnswerText(text, data.answer || "", data.citations, index);
    card.appendChild(text);
    if (refused) {
      card.appendChild(el("p", { class: "hint", text: "可以换个说法，或放宽筛选条件后再试。" }));
    }
    if (data.notice) card.appendChild(el("p", { class: "notice", text: data.notice }));
    // A follow-up is searched as a standalone question: show how it was understood.
    if (data.query && message.question && data.query !== message.question) {
      card.appendChild(el("p", { class: "hint understood", text: "按“" + data.query + "”查找" }));
    }
    var sources = renderSources(data.citations, index);
    if (sources) card.appendChild(sources);
    var passages = renderPassages(data.passages);
    if (passages) card.appendChild(passages);
    var copy = el("button", { type: "button", class: "btn btn-small copy", text: "复制" });
    copy.addEventListener("click", async function () {
      var ok = await copyText(answerAsText(data));
      copy.textContent = ok ? "已复制" : "复制失败";
      setTimeout(function () {
        copy.textContent = "复制";
      }, 2000);
    });
    var timing = [];
    if (typeof data.retrieve_ms === "number") timing.push("检索 " + Math.round(data.retrieve_ms) + " 毫秒");
    if (typeof data.generate_ms === "number") timing.push("生成 " + Math.round(data.generate_ms) + " 毫秒");
    card.appendChild(
      el("div", { class: "msg-foot" }, copy, timing.length ? el("span", { class: "meta", text: timing.join(" · ") }) : null)
    );
    return card;
  }

  function renderError(message) {
    var card = el("div", { class: "msg msg-error", role: "alert" });
    card.appendChild(el("div", { class: "status-tag error-tag", text: message.title || "出错了" }));
    if (message.detail) card.appendChild(el("p", { class: "error-detail", text: message.detail }));
    if (message.question) {
      card.appendChild(
        el("button", {
          type: "button",
          class: "btn btn-small retry",
          text: "重试",
          onclick: function () {
            retry(message);
          },
        })
      );
    }
    return card;
  }

  function renderMessage(message, index) {
    if (message.role === "user") return renderUser(message);
    if (message.role === "assistant") return renderAnswer(message, index);
    return renderError(message);
  }

  function renderAll() {
    Array.prototype.slice.call(ui.messages.children).forEach(function (child) {
      if (child !== ui.welcome) child.remove();
    });
    ui.welcome.hidden = state.messages.length > 0;
    state.messages.forEach(function (message, index) {
      ui.messages.appendChild(renderMessage(message, index));
    });
    scrollToBottom();
  }

  function push(message) {
    state.messages.push(message);
    ui.welcome.hidden = true;
    var node = renderMessage(message, state.messages.length - 1);
    ui.messages.appendChild(node);
    save();
    scrollToBottom();
    return node;
  }

  // ---------------------------------------------------------------- the source panel

  async function fetchArticle(id) {
    if (!articleCache.has(id)) {
      var pending = getJson("api/articles/" + encodeURIComponent(id)).then(function (data) {
        return data && data.article ? data.article : data;
      });
      articleCache.set(id, pending);
      pending.catch(function () {
        articleCache.delete(id);
      });
    }
    return articleCache.get(id);
  }

  function closePanel() {
    ui.panel.hidden = true;
    document.body.classList.remove("panel-open");
    document.querySelectorAll(".cite.active").forEach(function (b) {
      b.classList.remove("active");
    });
  }

  async function openCitation(citation, button) {
    document.querySelectorAll(".cite.active").forEach(function (b) {
      b.classList.remove("active");
    });
    if (button && button.classList.contains("cite")) button.classList.add("active");
    ui.panel.hidden = false;
    document.body.classList.add("panel-open");
    ui.panelLabel.textContent = "出处 [" + citation.n + "]";
    ui.panelInfo.textContent = "";
    ui.panelInfo.appendChild(el("h2", { class: "article-title", text: citation.title }));
    ui.panelBody.textContent = "";
    ui.panelBody.appendChild(el("p", { class: "loading", text: "正在打开原文…" }));
    var article;
    try {
      article = await fetchArticle(citation.article_id);
    } catch (err) {
      ui.panelBody.textContent = "";
      ui.panelBody.appendChild(renderError({ title: "原文打开失败：" + err.title, detail: err.detail }));
      return;
    }
    showArticle(article, citation);
  }

  function showArticle(article, citation) {
    var body = article.body || "";
    var reporters = (article.reporters || []).join("、");
    var meta = el("dl", { class: "article-meta" });
    [
      ["日期", article.date],
      ["版面", article.source],
      ["记者", reporters],
      ["类型", KIND_LABELS[article.kind] || article.kind],
    ].forEach(function (pair) {
      if (!pair[1]) return;
      meta.appendChild(el("dt", { text: pair[0] }));
      meta.appendChild(el("dd", { text: pair[1] }));
    });
    var text = el("div", { class: "article-body" });
    var span = locateQuote(body, citation);
    var mark = null;
    if (span) {
      text.appendChild(document.createTextNode(body.slice(0, span[0])));
      mark = el("mark", { class: "quote", id: "quote-mark", text: body.slice(span[0], span[1]) });
      text.appendChild(mark);
      text.appendChild(document.createTextNode(body.slice(span[1])));
    } else {
      text.textContent = body;
    }
    // Title and details stay in view above the scrolling text.
    ui.panelInfo.textContent = "";
    ui.panelInfo.appendChild(el("h2", { class: "article-title", text: article.title || citation.title }));
    ui.panelInfo.appendChild(meta);
    ui.panelBody.textContent = "";
    ui.panelBody.appendChild(text);
    if (mark) {
      // Bring the quote to the upper third of the panel without scrolling the whole page
      // (.source-body is position: relative, so offsetTop is measured from it).
      var top = mark.offsetTop - ui.panelBody.clientHeight / 3;
      ui.panelBody.scrollTop = Math.max(0, top);
    }
    ui.panelBody.focus({ preventScroll: true });
  }

  // ---------------------------------------------------------------- filters

  function currentFilters() {
    var filters = {};
    if (ui.dateFrom.value) filters.date_from = ui.dateFrom.value;
    if (ui.dateTo.value) filters.date_to = ui.dateTo.value;
    if (ui.source.value) filters.source = ui.source.value;
    return filters;
  }

  function filtersChanged() {
    var filters = currentFilters();
    var count = Object.keys(filters).length;
    ui.filterCount.textContent = String(count);
    ui.filterCount.hidden = count === 0;
    var bad = filters.date_from && filters.date_to && filters.date_from > filters.date_to;
    ui.filterStatus.textContent = bad ? "起始日期晚于结束日期，请调整。" : count ? "提问时只在所选范围内检索。" : "";
    ui.filterStatus.classList.toggle("invalid", Boolean(bad));
    state.filters = filters;
    save();
  }

  /** Every article listed by the server (paged: the list endpoint returns at most `limit` at once). */
  async function listArticles() {
    var articles = [];
    for (var page = 0; page < 50; page++) {
      var data = await getJson("api/articles?limit=1000&offset=" + articles.length);
      var batch = Array.isArray(data) ? data : (data && data.articles) || [];
      articles = articles.concat(batch);
      if (Array.isArray(data) || !batch.length || typeof data.total !== "number" || articles.length >= data.total) break;
    }
    return articles;
  }

  async function loadSources() {
    var articles;
    try {
      articles = await listArticles();
    } catch (err) {
      var advice = err.kind === "network" ? "请确认服务已启动后刷新页面。" : err.detail;
      showBanner(err.title + "：版面列表加载失败。" + advice);
      return;
    }
    showBanner("");
    var sources = new Map();
    var dates = [];
    articles.forEach(function (a) {
      if (!a || !a.source) return;
      if (a.date) dates.push(a.date);
      var entry = sources.get(a.source) || { date: a.date || "", count: 0 };
      entry.count += 1;
      if (a.date && (!entry.date || a.date < entry.date)) entry.date = a.date;
      sources.set(a.source, entry);
    });
    var keep = ui.source.value;
    while (ui.source.options.length > 1) ui.source.remove(1);
    Array.from(sources.keys())
      .sort(function (a, b) {
        return (sources.get(a).date + a).localeCompare(sources.get(b).date + b);
      })
      .forEach(function (source) {
        var entry = sources.get(source);
        var label = (entry.date ? entry.date + " · " : "") + source + "（" + entry.count + " 篇）";
        ui.source.appendChild(el("option", { value: source, text: label }));
      });
    if (keep && !sources.has(keep)) ui.source.appendChild(el("option", { value: keep, text: keep }));
    ui.source.value = keep;
    if (dates.length) {
      dates.sort();
      ui.dateFrom.min = ui.dateTo.min = dates[0];
      ui.dateFrom.max = ui.dateTo.max = dates[dates.length - 1];
    }
  }

  // ---------------------------------------------------------------- asking

  function setBusy(busy) {
    ui.send.textContent = busy ? "停止" : "发送";
    ui.send.classList.toggle("btn-stop", busy);
    ui.composer.classList.toggle("busy", busy);
  }

  /** The card that shows an answer while it streams in. */
  function pendingCard() {
    var status = el("div", { class: "status-line", text: "正在检索资料…" });
    var text = el("div", { class: "answer-text streaming" });
    var card = el("article", { class: "msg msg-assistant pending", "aria-busy": "true" }, status, text);
    ui.welcome.hidden = true;
    ui.messages.appendChild(card);
    scrollToBottom();
    return { card: card, status: status, text: text };
  }

  function ask(question) {
    question = question.trim();
    if (!question || inflight) return;
    var filters = currentFilters();
    if (filters.date_from && filters.date_to && filters.date_from > filters.date_to) {
      ui.filters.hidden = false;
      ui.filterToggle.setAttribute("aria-expanded", "true");
      ui.dateFrom.focus();
      return;
    }
    push({ role: "user", text: question });
    ui.question.value = "";
    autosize();
    run(question, filters);
  }

  function retry(message) {
    if (inflight) return;
    var index = state.messages.indexOf(message);
    if (index >= 0) {
      state.messages.splice(index, 1);
      save();
      renderAll();
    }
    run(message.question, currentFilters());
  }

  async function run(question, filters) {
    var controller = new AbortController();
    var request = { controller: controller, reason: null };
    inflight = request;
    setBusy(true);
    var view = pendingCard();
    var streamed = "";
    var final = null;
    var failure = null;
    var timers = {};
    function abortFor(reason) {
      request.reason = reason;
      controller.abort();
    }
    function armIdle() {
      clearTimeout(timers.idle);
      timers.idle = setTimeout(function () {
        abortFor("idle");
      }, IDLE_TIMEOUT_MS);
    }
    timers.slow = setTimeout(function () {
      view.status.textContent = "服务器响应较慢，仍在等待…";
      view.status.classList.add("slow");
    }, SLOW_MS);
    timers.total = setTimeout(function () {
      abortFor("timeout");
    }, RESPONSE_TIMEOUT_MS);

    var payload = { question: question, stream: true };
    if (state.sessionId) payload.session_id = state.sessionId;
    if (Object.keys(filters).length) payload.filters = filters;

    try {
      var response = await fetch("api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream, application/json" },
        body: JSON.stringify(payload),
        signal: controller.signal,
      });
      if (!response.ok) throw await errorFromResponse(response);
      var type = response.headers.get("content-type") || "";
      if (type.indexOf("text/event-stream") < 0) {
        final = await response.json();
      } else {
        clearTimeout(timers.total);
        armIdle();
        view.status.textContent = "正在生成回答…";
        await readEvents(
          response,
          function (name, raw) {
            var data;
            try {
              data = JSON.parse(raw);
            } catch (err) {
              data = { text: raw };
            }
            if (name === "error" || (data && data.error)) {
              var e = (data && data.error) || {};
              failure = new ChatError(ERROR_LABELS[e.code] || "回答时出错", e.message || "", "stream");
            } else if (name === "done" || (data && typeof data.answer === "string")) {
              final = data;
            } else if (data && typeof data.text === "string") {
              streamed += data.text;
              view.text.textContent = streamed;
              scrollToBottom();
            }
          },
          armIdle
        );
      }
    } catch (err) {
      if (err instanceof ChatError) failure = err;
      else if (err && err.name === "AbortError") {
        if (request.reason === "user") failure = new ChatError("已停止", "回答已被手动停止。", "stopped");
        else if (request.reason === "idle")
          failure = new ChatError("服务器长时间没有响应", "回答中断了，请稍后重试。", "timeout");
        else failure = new ChatError("服务器响应超时", "等待了很久仍没有回答，请稍后重试。", "timeout");
      } else if (streamed || final) failure = new ChatError("连接中断", "回答没有完整收到，请重试。", "network");
      else failure = networkError();
    } finally {
      clearTimeout(timers.slow);
      clearTimeout(timers.total);
      clearTimeout(timers.idle);
    }
    if (!final && !failure) failure = new ChatError("回答不完整", "服务器没有发来完整的回答，请重试。", "stream");

    view.card.remove();
    inflight = null;
    setBusy(false);
    if (final && !failure) {
      if (final.session_id) state.sessionId = final.session_id;
      push({ role: "assistant", question: question, data: final });
    } else {
      // Its conversation is gone from the server: the next question starts a new one.
      if (failure.kind === "expired") state.sessionId = null;
      push({ role: "error", title: failure.title, detail: failure.detail, kind: failure.kind, question: question });
    }
    ui.question.focus();
  }

  function newChat() {
    if (inflight) {
      inflight.reason = "user";
      inflight.controller.abort();
    }
    state.sessionId = null;
    state.messages = [];
    save();
    closePanel();
    renderAll();
    ui.question.focus();
  }

  // ---------------------------------------------------------------- wiring

  function autosize() {
    ui.question.style.height = "auto";
    var wanted = ui.question.scrollHeight + 2;
    ui.question.style.height = Math.min(wanted, 160) + "px";
    ui.question.style.overflowY = wanted > 160 ? "auto" : "hidden";
  }

  ui.composer.addEventListener("submit", function (event) {
    event.preventDefault();
    if (inflight) {
      inflight.reason = "user";
      inflight.controller.abort();
      return;
    }
    ask(ui.question.value);
  });

  ui.question.addEventListener("keydown", function (event) {
    // While an input method is composing (拼音 etc.), Enter confirms the candidate: do not send.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    if (!inflight) ask(ui.question.value);
  });
  ui.question.addEventListener("input", autosize);
  if (window.matchMedia && window.matchMedia("(max-width: 760px)").matches) {
    // Phones have no Shift key to speak of: the key hint would only crowd the box.
    ui.question.placeholder = "输入问题";
  }
  autosize();

  ui.messages.addEventListener("click", function (event) {
    var example = event.target.closest(".example");
    if (example) ask(example.textContent);
  });

  ui.newChat.addEventListener("click", newChat);
  ui.panelClose.addEventListener("click", closePanel);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !ui.panel.hidden) closePanel();
  });

  ui.filterToggle.addEventListener("click", function () {
    ui.filters.hidden = !ui.filters.hidden;
    ui.filterToggle.setAttribute("aria-expanded", String(!ui.filters.hidden));
  });
  [ui.dateFrom, ui.dateTo, ui.source].forEach(function (input) {
    input.addEventListener("change", filtersChanged);
  });
  ui.filterClear.addEventListener("click", function () {
    ui.dateFrom.value = "";
    ui.dateTo.value = "";
    ui.source.value = "";
    filtersChanged();
  });
  ui.filters.addEventListener("submit", function (event) {
    event.preventDefault();
  });

  if (EMBED !== null) document.body.classList.add("embed");
  if (EMBED === "widget") document.body.classList.add("embed-widget");
  load();
  // A reload while an answer was streaming leaves a question without a reply: offer to ask again.
  var last = state.messages[state.messages.length - 1];
  if (last && last.role === "user") {
    state.messages.push({ role: "error", title: "上次的回答没有完成", detail: "页面在回答完成前被关闭或刷新。", question: last.text });
  }
  ui.dateFrom.value = state.filters.date_from || "";
  ui.dateTo.value = state.filters.date_to || "";
  if (state.filters.source) {
    // Keep the saved page selected until the real list arrives from the server.
    ui.source.appendChild(el("option", { value: state.filters.source, text: state.filters.source }));
    ui.source.value = state.filters.source;
  }
  filtersChanged();
  renderAll();
  loadSources();
  if (!window.matchMedia || !window.matchMedia("(pointer: coarse)").matches) ui.question.focus();

  // Exposed for tests and debugging only.
  window.taiyuanChat = { codePointToIndex: codePointToIndex, locateQuote: locateQuote, answerAsText: answerAsText };
})();
