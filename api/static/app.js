/*
 * 太原日报问答 — the chat page.
 *
 * Plain browser JavaScript, no build step.  It talks to the API of the same
 * origin: POST /api/chat (server-sent events when "stream": true),
 * GET /api/articles, GET /api/articles/{id} and POST /api/feedback.
 *
 * Server text reaches the page through textContent or text nodes, with one
 * exception: an answer is Markdown (a language model writes lists and bold), rendered
 * by marked with raw HTML turned back into text, then sanitised by DOMPurify before it
 * is inserted (both vendored in vendor/, see vendor/README.md).  Citation markers [n]
 * become buttons afterwards, on the sanitised text nodes.
 */
(function () {
  "use strict";

  // ?embed=1 is the compact page for an iframe; ?embed=widget also drops the title (widget.js shows one).
  var EMBED = new URLSearchParams(window.location.search).get("embed");
  var STORE_KEY = EMBED !== null ? "taiyuan-rag.chats.embed.v2" : "taiyuan-rag.chats.v2";
  // One conversation per browser, as pages before the conversation list saved it: migrated once.
  var LEGACY_KEY = EMBED !== null ? "taiyuan-rag.chat.embed.v1" : "taiyuan-rag.chat.v1";
  var THEME_KEY = "taiyuan-rag.theme"; // also read by theme.js before the first paint
  var MAX_CONVERSATIONS = 50;
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
    turns_out_of_range: "对话记录与服务器不一致，已开始新对话。请重新提问。",
  };
  var SVG_NS = "http://www.w3.org/2000/svg";
  var THUMB_PATH =
    "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z";

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
    history: $("history"),
    historyToggle: $("history-toggle"),
    historyClose: $("history-close"),
    historyList: $("history-list"),
    themeToggle: $("theme-toggle"),
    card: $("cite-card"),
    announcer: $("announcer"),
  };

  /**
   * Everything saved in localStorage: the conversations (each with the server's session id and
   * its messages), which one is shown, and the search filters (shared by all conversations).
   */
  var store = { current: null, filters: {}, conversations: [] };
  /** The conversation on screen (one of store.conversations). */
  var state = null;
  /** The request in flight, if any: {controller, reason, conversation}. */
  var inflight = null;
  var articleCache = new Map();
  /** The citation behind each [n] button. */
  var citationOf = new WeakMap();
  /** The button that opened the article panel: focus goes back to it when the panel closes. */
  var panelOpener = null;

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

  /** A small decorative SVG icon (one path), hidden from assistive technology. */
  function icon(path, extraClass) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    if (extraClass) svg.setAttribute("class", extraClass);
    var shape = document.createElementNS(SVG_NS, "path");
    shape.setAttribute("d", path);
    shape.setAttribute("fill", "currentColor");
    svg.appendChild(shape);
    return svg;
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

  /** 2025-11-05 → 2025年11月5日 (anything else unchanged). */
  function formatDate(date) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date || "");
    return m ? m[1] + "年" + Number(m[2]) + "月" + Number(m[3]) + "日" : date || "";
  }

  /** The reader's name of a page (太原日报 2025年11月5日 第3版); the file name only when the server has none. */
  function pageLabel(item) {
    return (item && (item.page_label || item.source)) || "";
  }

  /** "page · date" for a citation, passage or article, without the date twice when the label holds it. */
  function whereText(item) {
    var label = pageLabel(item);
    var date = formatDate(item.date);
    if (!date || label.indexOf(date) >= 0) return label;
    return label ? label + " · " + date : date;
  }

  function shorten(text, max) {
    var chars = Array.from(text || "");
    return chars.length > max ? chars.slice(0, max).join("") + "…" : chars.join("");
  }

  function announce(text) {
    ui.announcer.textContent = "";
    // A new text node in a fresh task is announced even when the same words come twice.
    setTimeout(function () {
      ui.announcer.textContent = text;
    }, 50);
  }

  function scrollToBottom() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function showBanner(text) {
    ui.banner.textContent = text;
    ui.banner.hidden = !text;
  }

  // ---------------------------------------------------------------- storage

  function newConversation() {
    return {
      id: "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8),
      title: "",
      sessionId: null,
      messages: [],
      updated: Date.now(),
    };
  }

  function cleanMessages(messages) {
    return (Array.isArray(messages) ? messages : []).filter(function (m) {
      return m && (m.role === "user" || m.role === "assistant" || m.role === "error");
    });
  }

  function cleanConversation(c) {
    if (!c || typeof c !== "object" || typeof c.id !== "string") return null;
    return {
      id: c.id,
      title: typeof c.title === "string" ? c.title : "",
      sessionId: typeof c.sessionId === "string" ? c.sessionId : null,
      messages: cleanMessages(c.messages),
      updated: typeof c.updated === "number" ? c.updated : 0,
    };
  }

  function save() {
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify(store));
    } catch (err) {
      // Storage may be full or blocked (private mode, third-party iframe): the chat still works.
    }
  }

  function load() {
    var saved = null;
    try {
      saved = JSON.parse(window.localStorage.getItem(STORE_KEY) || "null");
      if (!saved) {
        var legacy = JSON.parse(window.localStorage.getItem(LEGACY_KEY) || "null");
        if (legacy && Array.isArray(legacy.messages)) {
          var conv = newConversation();
          conv.sessionId = typeof legacy.sessionId === "string" ? legacy.sessionId : null;
          conv.messages = cleanMessages(legacy.messages);
          saved = { current: conv.id, filters: legacy.filters, conversations: [conv] };
          window.localStorage.removeItem(LEGACY_KEY);
        }
      }
    } catch (err) {
      saved = null;
    }
    if (saved && Array.isArray(saved.conversations)) {
      store.conversations = saved.conversations.map(cleanConversation).filter(Boolean);
      store.filters = saved.filters && typeof saved.filters === "object" ? saved.filters : {};
      store.current = saved.current;
    }
    state = findConversation(store.current);
    if (!state) {
      state = store.conversations[0] || newConversation();
      if (store.conversations.indexOf(state) < 0) store.conversations.unshift(state);
    }
    store.current = state.id;
  }

  function findConversation(id) {
    return (
      store.conversations.filter(function (c) {
        return c.id === id;
      })[0] || null
    );
  }

  /** The name shown in the list: the reader's own, else the first question. */
  function titleOf(conv) {
    if (conv.title) return conv.title;
    var first = conv.messages.filter(function (m) {
      return m.role === "user";
    })[0];
    return first ? shorten(first.text, 40) : "新对话";
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
    // The server no longer holds this conversation (or not as the page does): the notice says
    // it all (the English detail is for API clients).
    if (code === "session_expired" || code === "turns_out_of_range") {
      return new ChatError(ERROR_LABELS[code], "", "expired");
    }
    var title;
    if (status === 429) title = "服务器繁忙，请稍后再试";
    else if (ERROR_LABELS[code]) title = ERROR_LABELS[code];
    else if (status === 401 || status === 403) title = "没有访问权限";
    else if (status >= 500) title = "服务器出错（" + status + "）";
    else title = "请求未被接受（" + status + "）";
    var error = new ChatError(title, message, status === 429 ? "busy" : "http");
    error.status = status;
    return error;
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

  async function postJson(url, payload) {
    var response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload),
      });
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

  // ---------------------------------------------------------------- Markdown

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /** A marked instance for answers, or null when the vendored libraries did not load. */
  var markdown = (function () {
    if (!window.marked || !window.marked.Marked || !window.DOMPurify || !window.DOMPurify.isSupported) return null;
    var parser = new window.marked.Marked({ gfm: true, breaks: true, async: false });
    // Raw HTML in an answer (a page quoting markup, a model writing tags) is shown as text.
    parser.use({
      renderer: {
        html: function (token) {
          return escapeHtml(token.text || token.raw || "");
        },
      },
    });
    window.DOMPurify.addHook("afterSanitizeAttributes", function (node) {
      // Links leave the page (and the widget's iframe) in a new tab, without a referrer.
      if (node.tagName === "A") {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
    return parser;
  })();

  // Images would load from anywhere (and the page's policy blocks them); forms and embedded
  // content have no place in an answer; style attributes are refused by the policy.
  var PURIFY_OPTIONS = {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS: ["img", "style", "form", "input", "button", "textarea", "select", "iframe", "svg", "math", "video", "audio"],
    FORBID_ATTR: ["style", "id", "class"],
  };

  /** Answer text as a sanitised DOM fragment (Markdown), or a text node when Markdown is unavailable. */
  function answerFragment(text) {
    if (!markdown) return document.createTextNode(text);
    // A single ~ is GFM strikethrough: newspaper ranges (3~5天) must stay as printed.
    var html = markdown.parse(text.replace(/~/g, "\\~"));
    return window.DOMPurify.sanitize(html, PURIFY_OPTIONS);
  }

  /**
   * Fill ``container`` with the answer, every [n] that has a citation turned into a button
   * (inside paragraphs, list items, bold… alike; never inside code or a link).
   */
  function renderAnswerText(container, text, citations) {
    container.textContent = "";
    container.classList.toggle("md", Boolean(markdown));
    var byNumber = new Map();
    (citations || []).forEach(function (c) {
      byNumber.set(Number(c.n), c);
    });
    var holder = document.createElement("div");
    holder.appendChild(answerFragment(text));
    if (byNumber.size) {
      var walker = document.createTreeWalker(holder, NodeFilter.SHOW_TEXT);
      var nodes = [];
      while (walker.nextNode()) nodes.push(walker.currentNode);
      nodes.forEach(function (node) {
        if (node.parentNode.closest("code, pre, a")) return;
        linkMarkers(node, byNumber);
      });
    }
    while (holder.firstChild) container.appendChild(holder.firstChild);
  }

  /** Replace one text node by text and citation buttons. */
  function linkMarkers(node, byNumber) {
    var text = node.nodeValue;
    var pattern = /\[(\d+)\]/g;
    var parts = [];
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      var citation = byNumber.get(Number(match[1]));
      if (!citation) continue;
      if (match.index > last) parts.push(document.createTextNode(text.slice(last, match.index)));
      parts.push(citationButton(citation));
      last = match.index + match[0].length;
    }
    if (!parts.length) return;
    if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
    parts.forEach(function (part) {
      node.parentNode.insertBefore(part, node);
    });
    node.remove();
  }

  // ---------------------------------------------------------------- citations

  function citationButton(citation) {
    var button = el(
      "button",
      {
        type: "button",
        class: "cite",
        "data-n": citation.n,
        "aria-label": "查看出处 " + citation.n + "：" + citation.title,
        onclick: function () {
          hideCard();
          openCitation(citation, this);
        },
      },
      "[" + citation.n + "]"
    );
    citationOf.set(button, citation);
    return button;
  }

  var cardState = { owner: null, hideTimer: null };

  /** The citation card of a [n]: title, page and date, and the quoted sentence. */
  function showCard(button) {
    var citation = citationOf.get(button);
    if (!citation) return;
    clearTimeout(cardState.hideTimer);
    if (cardState.owner === button && !ui.card.hidden) return;
    if (cardState.owner) cardState.owner.removeAttribute("aria-describedby");
    ui.card.textContent = "";
    ui.card.appendChild(el("strong", { class: "cite-card-title", text: citation.title }));
    ui.card.appendChild(el("span", { class: "cite-card-meta", text: whereText(citation) }));
    if (citation.quote) ui.card.appendChild(el("q", { class: "cite-card-quote", text: shorten(citation.quote, 160) }));
    ui.card.appendChild(el("span", { class: "cite-card-hint", text: "点击查看原文" }));
    ui.card.hidden = false;
    cardState.owner = button;
    button.setAttribute("aria-describedby", "cite-card");
    placeCard(button);
  }

  /** Below the marker (above it when there is no room), inside the viewport. */
  function placeCard(button) {
    var b = button.getBoundingClientRect();
    var width = ui.card.offsetWidth;
    var height = ui.card.offsetHeight;
    var margin = 8;
    var left = Math.min(Math.max(margin, b.left + b.width / 2 - width / 2), window.innerWidth - width - margin);
    var top = b.bottom + 6;
    if (top + height > window.innerHeight - margin && b.top - height - 6 > margin) top = b.top - height - 6;
    ui.card.style.left = Math.max(margin, left) + "px";
    ui.card.style.top = Math.max(margin, top) + "px";
  }

  function hideCard(delay) {
    clearTimeout(cardState.hideTimer);
    function hide() {
      ui.card.hidden = true;
      if (cardState.owner) cardState.owner.removeAttribute("aria-describedby");
      cardState.owner = null;
    }
    if (delay) cardState.hideTimer = setTimeout(hide, delay);
    else hide();
  }

  // Hover and keyboard focus both show the card; it stays while the pointer is over it (so it
  // can be read and selected), and Esc dismisses it.
  document.addEventListener("mouseover", function (event) {
    var cite = event.target.closest && event.target.closest(".cite");
    if (cite) showCard(cite);
    else if (event.target.closest && event.target.closest("#cite-card")) clearTimeout(cardState.hideTimer);
  });
  document.addEventListener("mouseout", function (event) {
    var from = event.target.closest && event.target.closest(".cite, #cite-card");
    if (!from || ui.card.hidden) return;
    var to = event.relatedTarget;
    if (to && to.closest && (to.closest("#cite-card") || to === cardState.owner)) return;
    hideCard(200);
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.classList && event.target.classList.contains("cite")) showCard(event.target);
    else if (!ui.card.hidden) hideCard();
  });
  ui.messages.addEventListener("scroll", function () {
    if (!ui.card.hidden) hideCard();
  });

  function renderSources(citations) {
    if (!citations || !citations.length) return null;
    // One entry per article, with all of its markers: two quotes of one article are one source.
    var groups = new Map();
    citations.forEach(function (c) {
      var key = c.article_id || c.chunk_id || String(c.n);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(c);
    });
    var list = el("ol", { class: "sources" });
    groups.forEach(function (group) {
      var first = group[0];
      var markers = el("span", { class: "source-cites" });
      group.forEach(function (c) {
        markers.appendChild(citationButton(c));
      });
      list.appendChild(
        el(
          "li",
          { class: "source-item" },
          markers,
          el(
            "button",
            {
              type: "button",
              class: "source-link",
              onclick: function () {
                openCitation(first, this);
              },
            },
            el("span", { class: "source-title", text: first.title }),
            el("span", { class: "meta", text: whereText(first) })
          )
        )
      );
    });
    return el("div", { class: "sources-block" }, el("div", { class: "block-label", text: "来源" }), list);
  }

  function renderPassages(passages, citations) {
    if (!passages || !passages.length) return null;
    var cited = new Map();
    (citations || []).forEach(function (c) {
      if (!cited.has(c.chunk_id)) cited.set(c.chunk_id, []);
      cited.get(c.chunk_id).push("[" + c.n + "]");
    });
    var details = el("details", { class: "passages" });
    details.appendChild(el("summary", { text: "检索到的段落（" + passages.length + "）" }));
    // A fused retrieval score means nothing to a reader: the order and what was cited do.
    details.appendChild(
      el("p", {
        class: "passages-note",
        text:
          "回答是从这些段落中选出的。排序综合了语义相似度和关键词匹配，越靠前与问题越相关；" +
          "标有“已引用”的段落是回答中 [n] 所指的原文。",
      })
    );
    var list = el("ol", { class: "passage-list" });
    passages.forEach(function (p) {
      var marks = cited.get(p.chunk_id);
      list.appendChild(
        el(
          "li",
          { class: "passage", "data-score": typeof p.score === "number" ? p.score : null },
          el(
            "div",
            { class: "passage-head" },
            el("span", { class: "passage-rank", text: "第 " + p.rank + " 位" }),
            el("span", { class: "passage-title", text: p.title }),
            marks ? el("span", { class: "passage-cited", text: "已引用 " + marks.join("") }) : null
          ),
          el("div", { class: "meta", text: whereText(p) }),
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
        var where = whereText(c);
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

  // ---------------------------------------------------------------- messages

  function renderUser(message, index) {
    var edit = el(
      "button",
      {
        type: "button",
        class: "btn btn-small btn-quiet edit-question",
        "aria-label": "编辑问题：" + shorten(message.text, 30),
        onclick: function () {
          startEdit(node, index);
        },
      },
      "编辑"
    );
    var node = el(
      "div",
      { class: "msg msg-user", "data-index": index },
      el("div", { class: "bubble", text: message.text }),
      el("div", { class: "msg-actions" }, edit)
    );
    return node;
  }

  /** Turn a question into a box: 发送 asks it again in place, dropping what followed it. */
  function startEdit(node, index) {
    if (inflight) return;
    var message = state.messages[index];
    var box = el("textarea", { class: "edit-box", rows: 2, maxlength: 2000, "aria-label": "修改问题" });
    box.value = message.text;
    var later = index < state.messages.length - 1;
    var form = el(
      "form",
      { class: "msg msg-user editing", "aria-label": "修改问题" },
      box,
      later ? el("p", { class: "hint", text: "重新发送后，这个问题之后的对话会被新的回答替换。" }) : null,
      el(
        "div",
        { class: "msg-actions" },
        el("button", { type: "button", class: "btn btn-small edit-cancel", text: "取消" }),
        el("button", { type: "submit", class: "btn btn-small btn-primary edit-send", text: "发送" })
      )
    );
    function cancel() {
      form.replaceWith(node);
      node.querySelector(".edit-question").focus();
    }
    form.querySelector(".edit-cancel").addEventListener("click", cancel);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = box.value.trim();
      if (!text || inflight) return;
      resend(state, index, text);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.stopPropagation();
        cancel();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    node.replaceWith(form);
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  /** An assistant answer (finished or stopped); a refusal looks different at a glance. */
  function renderAnswer(message, index, isLast) {
    var data = message.data || {};
    var refused = Boolean(data.refused);
    var stopped = Boolean(message.stopped);
    var card = el("article", {
      class: "msg msg-assistant" + (refused ? " refused" : "") + (stopped ? " stopped" : ""),
      "data-index": index,
      "aria-label": stopped ? "已停止的回答" : refused ? "未找到资料的回答" : "回答",
    });
    if (refused) {
      card.appendChild(el("div", { class: "status-tag refusal-tag", text: "未找到相关资料" }));
    }
    if (stopped) {
      card.appendChild(
        el(
          "p",
          { class: "stopped-note" },
          el("strong", { text: "已停止生成" }),
          data.answer ? "。以下是停止前收到的部分。" : "。停止前还没有收到回答。"
        )
      );
    }
    if (data.answer) {
      var text = el("div", { class: "answer-text" });
      renderAnswerText(text, data.answer, data.citations);
      card.appendChild(text);
    }
    if (refused) {
      card.appendChild(el("p", { class: "hint", text: "可以换个说法，或放宽筛选条件后再试。" }));
    }
    if (data.notice) card.appendChild(el("p", { class: "notice", text: data.notice }));
    // A follow-up is searched as a standalone question: show how it was understood.
    if (data.query && message.question && data.query !== message.question) {
      card.appendChild(
        el("p", { class: "hint understood" }, el("span", { class: "understood-label", text: "结合上文理解为：" }), "“" + data.query + "”")
      );
    }
    var sources = renderSources(data.citations);
    if (sources) card.appendChild(sources);
    var passages = renderPassages(data.passages, data.citations);
    if (passages) card.appendChild(passages);

    var foot = el("div", { class: "msg-foot" });
    if (!stopped) {
      var copy = el("button", { type: "button", class: "btn btn-small copy", text: "复制" });
      copy.addEventListener("click", async function () {
        var ok = await copyText(answerAsText(data));
        copy.textContent = ok ? "已复制" : "复制失败";
        setTimeout(function () {
          copy.textContent = "复制";
        }, 2000);
      });
      foot.appendChild(copy);
    }
    if (isLast && message.question) foot.appendChild(regenerateButton(message));
    if (!stopped) foot.appendChild(feedbackControls(message, card));
    var timing = [];
    if (typeof data.retrieve_ms === "number") timing.push("检索 " + Math.round(data.retrieve_ms) + " 毫秒");
    if (typeof data.generate_ms === "number") timing.push("生成 " + Math.round(data.generate_ms) + " 毫秒");
    if (timing.length) foot.appendChild(el("span", { class: "meta timing", text: timing.join(" · ") }));
    card.appendChild(foot);
    return card;
  }

  function regenerateButton(message) {
    return el("button", {
      type: "button",
      class: "btn btn-small regenerate",
      text: "重新生成",
      onclick: function () {
        regenerate(message);
      },
    });
  }

  // ---------------------------------------------------------------- feedback

  /** 👍 / 👎 (drawn as icons: no emoji font needed) and, once one is chosen, an optional comment. */
  function feedbackControls(message, card) {
    var group = el("div", { class: "feedback", role: "group", "aria-label": "这个回答对你有帮助吗？" });
    var given = message.feedback && message.feedback.rating;
    [
      ["up", "有帮助"],
      ["down", "没有帮助"],
    ].forEach(function (pair) {
      var rating = pair[0];
      var button = el("button", {
        type: "button",
        class: "btn btn-small btn-icon rate rate-" + rating,
        "data-rating": rating,
        "aria-label": pair[1],
        title: pair[1],
        "aria-pressed": String(given === rating),
        onclick: function () {
          openFeedbackForm(message, card, rating);
        },
      });
      button.appendChild(icon(THUMB_PATH, rating === "down" ? "flip" : null));
      group.appendChild(button);
    });
    if (message.feedback && message.feedback.id) {
      group.appendChild(el("span", { class: "meta feedback-thanks", text: "已收到反馈，谢谢！" }));
    }
    return group;
  }

  function openFeedbackForm(message, card, rating) {
    var old = card.querySelector(".feedback-form");
    if (old) old.remove();
    card.querySelectorAll(".rate").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-rating") === rating));
    });
    var box = el("textarea", {
      class: "feedback-comment",
      rows: 2,
      maxlength: 2000,
      placeholder: rating === "down" ? "哪里不对？例如答案有误、出处不对、没有回答问题…" : "哪里好？（可不填）",
    });
    var status = el("p", { class: "feedback-status", role: "status" });
    var form = el(
      "form",
      { class: "feedback-form", "aria-label": rating === "up" ? "反馈：有帮助" : "反馈：没有帮助" },
      el("label", { class: "field" }, el("span", { text: "补充说明（可选）" }), box),
      el(
        "div",
        { class: "msg-actions" },
        el("button", { type: "submit", class: "btn btn-small btn-primary feedback-send", text: "提交反馈" }),
        el("button", {
          type: "button",
          class: "btn btn-small feedback-cancel",
          text: "取消",
          onclick: function () {
            form.remove();
            card.querySelectorAll(".rate").forEach(function (b) {
              var saved = message.feedback && message.feedback.rating;
              b.setAttribute("aria-pressed", String(b.getAttribute("data-rating") === saved));
            });
          },
        })
      ),
      status
    );
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var send = form.querySelector(".feedback-send");
      send.disabled = true;
      status.textContent = "正在提交…";
      var conv = state;
      var data = message.data || {};
      try {
        var result = await postJson("api/feedback", {
          session_id: conv.sessionId,
          question: message.question,
          answer: data.answer || "",
          rating: rating,
          comment: box.value.trim() || null,
          citations: data.citations && data.citations.length ? data.citations : null,
          query: data.query || null,
        });
        message.feedback = { rating: rating, id: result.id, comment: box.value.trim() || null };
        save();
        form.remove();
        var group = card.querySelector(".feedback");
        group.replaceWith(feedbackControls(message, card));
        announce("已收到反馈，谢谢！");
      } catch (err) {
        send.disabled = false;
        var missing = err && (err.status === 404 || err.status === 405);
        status.textContent = missing ? "反馈功能暂不可用。" : "提交失败：" + (err.title || "未知错误");
        status.classList.add("invalid");
      }
    });
    card.appendChild(form);
    box.focus();
  }

  function renderError(message, index, isLast) {
    var card = el("div", { class: "msg msg-error", role: "alert", "data-index": index });
    card.appendChild(el("div", { class: "status-tag error-tag", text: message.title || "出错了" }));
    if (message.detail) card.appendChild(el("p", { class: "error-detail", text: message.detail }));
    if (message.question) {
      card.appendChild(
        el("button", {
          type: "button",
          class: "btn btn-small retry",
          text: "重试",
          onclick: function () {
            regenerate(message);
          },
        })
      );
    }
    return card;
  }

  function renderMessage(message, index, isLast) {
    if (message.role === "user") return renderUser(message, index);
    if (message.role === "assistant") return renderAnswer(message, index, isLast);
    return renderError(message, index, isLast);
  }

  function renderAll() {
    hideCard();
    Array.prototype.slice.call(ui.messages.children).forEach(function (child) {
      if (child !== ui.welcome) child.remove();
    });
    ui.welcome.hidden = state.messages.length > 0;
    state.messages.forEach(function (message, index) {
      ui.messages.appendChild(renderMessage(message, index, index === state.messages.length - 1));
    });
    scrollToBottom();
  }

  /** Add a message to a conversation (shown if it is the one on screen) and save. */
  function push(conv, message) {
    conv.messages.push(message);
    conv.updated = Date.now();
    if (conv === state) {
      ui.welcome.hidden = true;
      // Only the newest answer can be generated again (an older one would drop what followed).
      ui.messages.querySelectorAll(".regenerate").forEach(function (b) {
        b.remove();
      });
      ui.messages.appendChild(renderMessage(message, conv.messages.length - 1, true));
      scrollToBottom();
    }
    save();
    renderHistory();
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

  /** Close the article; ``restoreFocus`` puts the keyboard back on the [n] that opened it. */
  function closePanel(restoreFocus) {
    if (ui.panel.hidden) return;
    ui.panel.hidden = true;
    document.body.classList.remove("panel-open");
    document.querySelectorAll(".cite.active").forEach(function (b) {
      b.classList.remove("active");
    });
    var opener = panelOpener;
    panelOpener = null;
    if (restoreFocus && opener && document.body.contains(opener)) opener.focus({ preventScroll: false });
  }

  async function openCitation(citation, button) {
    document.querySelectorAll(".cite.active").forEach(function (b) {
      b.classList.remove("active");
    });
    if (button && button.classList.contains("cite")) button.classList.add("active");
    panelOpener = button || null;
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
    var label = pageLabel(article) || pageLabel(citation);
    var date = formatDate(article.date);
    [
      ["版面", label],
      ["日期", label.indexOf(date) >= 0 ? "" : date],
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
    // The text is focusable (tabindex=0): arrow keys and Page Down scroll it at once.
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
    store.filters = filters;
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
      var entry = sources.get(a.source) || { date: a.date || "", label: a.page_label || "", count: 0 };
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
        var name = entry.label || (entry.date ? formatDate(entry.date) + " · " : "") + source;
        ui.source.appendChild(el("option", { value: source, text: name + "（" + entry.count + " 篇）" }));
      });
    if (keep && !sources.has(keep)) ui.source.appendChild(el("option", { value: keep, text: "已不存在的版面" }));
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
    document.body.classList.toggle("busy", busy);
  }

  /** The card that shows an answer while it streams in. */
  function pendingCard() {
    var status = el("div", { class: "status-line", text: "正在检索资料…" });
    var text = el("div", { class: "answer-text streaming" });
    var card = el("article", { class: "msg msg-assistant pending", "aria-busy": "true", "aria-label": "正在回答" }, status, text);
    ui.welcome.hidden = true;
    ui.messages.appendChild(card);
    scrollToBottom();
    return { card: card, status: status, text: text };
  }

  function filtersValid() {
    var filters = currentFilters();
    if (filters.date_from && filters.date_to && filters.date_from > filters.date_to) {
      ui.filters.hidden = false;
      ui.filterToggle.setAttribute("aria-expanded", "true");
      ui.dateFrom.focus();
      return false;
    }
    return true;
  }

  function ask(question) {
    question = question.trim();
    if (!question || inflight || !filtersValid()) return;
    push(state, { role: "user", text: question });
    ui.question.value = "";
    autosize();
    run(state, question, currentFilters());
  }

  /**
   * Ask ``question`` in place of the question at ``index``: it and everything after it go,
   * on the server too (``turns``: the server session keeps only the exchanges answered in it
   * before this question), so a follow-up is read against the edited conversation.
   */
  function resend(conv, index, question) {
    if (inflight || !filtersValid()) return;
    // Only answers the server recorded in this session count (not stopped ones, nor those
    // of an earlier session that expired).
    var kept = conv.messages.slice(0, index).filter(function (m) {
      return m.role === "assistant" && !m.stopped && m.data && m.data.session_id === conv.sessionId;
    }).length;
    conv.messages.splice(index);
    conv.messages.push({ role: "user", text: question });
    conv.updated = Date.now();
    save();
    renderAll();
    renderHistory();
    run(conv, question, currentFilters(), kept);
  }

  /** Answer the question of ``message`` (an answer, a stopped answer or an error) again. */
  function regenerate(message) {
    if (inflight) return;
    var index = state.messages.indexOf(message);
    if (index < 0) return;
    var asked = index - 1;
    while (asked >= 0 && state.messages[asked].role !== "user") asked--;
    if (asked < 0) {
      // No question on screen (an old save): just drop the card and ask again.
      state.messages.splice(index, 1);
      state.messages.push({ role: "user", text: message.question });
      asked = state.messages.length - 1;
    }
    resend(state, asked, message.question);
  }

  async function run(conv, question, filters, turns) {
    var controller = new AbortController();
    var request = { controller: controller, reason: null, conversation: conv };
    inflight = request;
    setBusy(true);
    var view = pendingCard();
    var streamed = "";
    var final = null;
    var failure = null;
    var timers = {};
    var frame = null;
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
    // Pieces are rendered at most once a frame (a language model may send many per frame);
    // every piece that arrived is on screen by the next paint.
    function paint() {
      frame = null;
      renderAnswerText(view.text, streamed, null);
      scrollToBottom();
    }
    timers.slow = setTimeout(function () {
      view.status.textContent = "服务器响应较慢，仍在等待…";
      view.status.classList.add("slow");
    }, SLOW_MS);
    timers.total = setTimeout(function () {
      abortFor("timeout");
    }, RESPONSE_TIMEOUT_MS);

    var payload = { question: question, stream: true };
    if (conv.sessionId) payload.session_id = conv.sessionId;
    if (conv.sessionId && typeof turns === "number") payload.turns = turns;
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
              if (frame === null) frame = window.requestAnimationFrame(paint);
            }
          },
          armIdle
        );
      }
    } catch (err) {
      if (err instanceof ChatError) failure = err;
      else if (err && err.name === "AbortError") {
        if (request.reason === "user") failure = new ChatError("已停止", "", "stopped");
        else if (request.reason === "idle")
          failure = new ChatError("服务器长时间没有响应", "回答中断了，请稍后重试。", "timeout");
        else failure = new ChatError("服务器响应超时", "等待了很久仍没有回答，请稍后重试。", "timeout");
      } else if (streamed || final) failure = new ChatError("连接中断", "回答没有完整收到，请重试。", "network");
      else failure = networkError();
    } finally {
      clearTimeout(timers.slow);
      clearTimeout(timers.total);
      clearTimeout(timers.idle);
      if (frame !== null) window.cancelAnimationFrame(frame);
    }
    if (!final && !failure) failure = new ChatError("回答不完整", "服务器没有发来完整的回答，请重试。", "stream");

    view.card.remove();
    inflight = null;
    setBusy(false);
    if (final && !failure) {
      if (final.session_id) conv.sessionId = final.session_id;
      push(conv, { role: "assistant", question: question, data: final });
      announce((final.refused ? "未找到相关资料。" : "回答：") + (final.answer || "").replace(/\[\d+\]/g, ""));
    } else if (failure.kind === "stopped") {
      // The reader stopped it: what arrived is kept, as a note rather than an error.
      push(conv, { role: "assistant", question: question, stopped: true, data: { answer: streamed } });
      announce("已停止生成");
    } else {
      // Its conversation is gone from the server: the next question starts a new one.
      if (failure.kind === "expired") conv.sessionId = null;
      push(conv, { role: "error", title: failure.title, detail: failure.detail, kind: failure.kind, question: question });
    }
    if (conv === state) ui.question.focus();
  }

  function stop() {
    if (!inflight) return;
    inflight.reason = "user";
    inflight.controller.abort();
  }

  // ---------------------------------------------------------------- conversations

  function show(conv) {
    stop();
    state = conv;
    store.current = conv.id;
    save();
    closePanel(false);
    renderAll();
    renderHistory();
  }

  function newChat() {
    stop();
    if (state.messages.length) {
      var conv = newConversation();
      store.conversations.unshift(conv);
      // Oldest beyond the limit go: localStorage is small.
      store.conversations.sort(function (a, b) {
        return b.updated - a.updated;
      });
      store.conversations = store.conversations.slice(0, MAX_CONVERSATIONS);
      show(conv);
    } else {
      closePanel(false);
    }
    setHistoryOpen(false);
    ui.question.focus();
  }

  function switchTo(id) {
    var conv = findConversation(id);
    if (!conv || conv === state) return;
    show(conv);
    setHistoryOpen(false);
    announce("已切换到对话：" + titleOf(conv));
    ui.question.focus();
  }

  function removeConversation(id) {
    var conv = findConversation(id);
    if (!conv) return;
    if (inflight && inflight.conversation === conv) stop();
    store.conversations = store.conversations.filter(function (c) {
      return c !== conv;
    });
    if (conv === state) {
      var next = store.conversations.slice().sort(function (a, b) {
        return b.updated - a.updated;
      })[0];
      if (!next) {
        next = newConversation();
        store.conversations.push(next);
      }
      show(next);
    } else {
      save();
      renderHistory();
    }
    announce("已删除对话");
    var first = ui.historyList.querySelector(".history-open");
    if (first) first.focus();
  }

  function relativeTime(ms) {
    if (!ms) return "";
    var minutes = Math.round((Date.now() - ms) / 60000);
    if (minutes < 1) return "刚刚";
    if (minutes < 60) return minutes + " 分钟前";
    if (minutes < 24 * 60) return Math.round(minutes / 60) + " 小时前";
    var d = new Date(ms);
    return d.getMonth() + 1 + "月" + d.getDate() + "日";
  }

  function renderHistory() {
    ui.historyList.textContent = "";
    store.conversations
      .slice()
      .sort(function (a, b) {
        return b.updated - a.updated;
      })
      .forEach(function (conv) {
        var title = titleOf(conv);
        var questions = conv.messages.filter(function (m) {
          return m.role === "user";
        }).length;
        var current = conv === state;
        var item = el("li", { class: "history-item" + (current ? " current" : ""), "data-id": conv.id });
        var open = el(
          "button",
          {
            type: "button",
            class: "history-open",
            "aria-current": current ? "true" : null,
            onclick: function () {
              switchTo(conv.id);
            },
          },
          el("span", { class: "history-title", text: title }),
          el("span", {
            class: "meta",
            text: (questions ? questions + " 个问题" : "空对话") + (conv.updated ? " · " + relativeTime(conv.updated) : ""),
          })
        );
        var rename = el("button", {
          type: "button",
          class: "btn btn-small btn-quiet history-rename",
          "aria-label": "重命名：" + title,
          text: "重命名",
          onclick: function () {
            startRename(item, conv);
          },
        });
        var remove = el("button", {
          type: "button",
          class: "btn btn-small btn-quiet history-delete",
          "aria-label": "删除：" + title,
          text: "删除",
          onclick: function () {
            // Two steps: a stray click does not lose a conversation.
            if (remove.classList.contains("confirm")) {
              removeConversation(conv.id);
              return;
            }
            remove.classList.add("confirm");
            remove.textContent = "确认删除";
            remove.setAttribute("aria-label", "确认删除：" + title);
          },
          onblur: function () {
            remove.classList.remove("confirm");
            remove.textContent = "删除";
            remove.setAttribute("aria-label", "删除：" + title);
          },
        });
        item.appendChild(open);
        item.appendChild(el("div", { class: "history-actions" }, rename, remove));
        ui.historyList.appendChild(item);
      });
  }

  function startRename(item, conv) {
    var input = el("input", { type: "text", class: "history-name", maxlength: 60, "aria-label": "对话名称" });
    input.value = titleOf(conv);
    var form = el("form", { class: "history-rename-form" }, input);
    var done = false;
    function finish(keep) {
      if (done) return;
      done = true;
      if (keep) {
        var name = input.value.trim();
        conv.title = name;
        save();
      }
      renderHistory();
      var again = ui.historyList.querySelector('[data-id="' + conv.id + '"] .history-rename');
      if (again) again.focus();
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      finish(true);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener("blur", function () {
      finish(true);
    });
    item.textContent = "";
    item.appendChild(form);
    input.focus();
    input.select();
  }

  function setHistoryOpen(open) {
    ui.history.hidden = !open;
    ui.historyToggle.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("history-open", open);
    if (open) {
      renderHistory();
      var current = ui.historyList.querySelector(".current .history-open");
      if (current) current.focus();
    }
  }

  // ---------------------------------------------------------------- theme

  var darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  /** The theme the reader chose with the toggle, or null to follow the system. */
  function chosenTheme() {
    try {
      var chosen = window.localStorage.getItem(THEME_KEY);
      return chosen === "dark" || chosen === "light" ? chosen : null;
    } catch (err) {
      return null;
    }
  }

  function setTheme(theme) {
    document.documentElement.setAttribute("data-theme", theme);
    ui.themeToggle.setAttribute("aria-pressed", String(theme === "dark"));
    ui.themeToggle.title = theme === "dark" ? "切换到浅色模式" : "切换到深色模式";
  }

  /** Apply the chosen theme, else the system's (theme.js did the same before the first paint). */
  function applyTheme() {
    setTheme(chosenTheme() || (darkQuery && darkQuery.matches ? "dark" : "light"));
  }

  ui.themeToggle.addEventListener("click", function () {
    var next = document.documentElement.getAttribute("data-theme") === "dark" ? "light" : "dark";
    try {
      window.localStorage.setItem(THEME_KEY, next);
    } catch (err) {
      // Not remembered, but switched all the same.
    }
    setTheme(next);
  });
  if (darkQuery && darkQuery.addEventListener) darkQuery.addEventListener("change", applyTheme);
  window.addEventListener("storage", function (event) {
    // Another tab (or the widget's iframe) chose a theme: follow it.
    if (event.key === THEME_KEY) applyTheme();
  });

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
      stop();
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
  ui.panelClose.addEventListener("click", function () {
    closePanel(true);
  });
  ui.historyToggle.addEventListener("click", function () {
    setHistoryOpen(ui.history.hidden);
  });
  ui.historyClose.addEventListener("click", function () {
    setHistoryOpen(false);
    ui.historyToggle.focus();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    // One thing per Esc, the nearest first: the card, then the article, then the list.
    if (!ui.card.hidden) hideCard();
    else if (!ui.panel.hidden) closePanel(true);
    else if (!ui.history.hidden) {
      setHistoryOpen(false);
      ui.historyToggle.focus();
    }
  });
  // The list is a drawer over the page: a click elsewhere closes it.
  document.addEventListener("click", function (event) {
    if (ui.history.hidden || !event.target.closest) return;
    if (event.target.closest("#history, #history-toggle") || !document.body.contains(event.target)) return;
    setHistoryOpen(false);
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
  applyTheme();
  load();
  // A reload while an answer was streaming leaves a question without a reply: offer to ask again.
  var last = state.messages[state.messages.length - 1];
  if (last && last.role === "user") {
    state.messages.push({ role: "error", title: "上次的回答没有完成", detail: "页面在回答完成前被关闭或刷新。", question: last.text });
  }
  ui.dateFrom.value = store.filters.date_from || "";
  ui.dateTo.value = store.filters.date_to || "";
  if (store.filters.source) {
    // Keep the saved page selected until the real list (with its readable names) arrives.
    ui.source.appendChild(el("option", { value: store.filters.source, text: "（已选版面）" }));
    ui.source.value = store.filters.source;
  }
  filtersChanged();
  renderAll();
  renderHistory();
  loadSources();
  if (!window.matchMedia || !window.matchMedia("(pointer: coarse)").matches) ui.question.focus();

  // Exposed for tests and debugging only.
  window.taiyuanChat = {
    codePointToIndex: codePointToIndex,
    locateQuote: locateQuote,
    answerAsText: answerAsText,
    markdown: Boolean(markdown),
  };
})();
