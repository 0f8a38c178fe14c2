/*
 * 太原日报问答 — embeddable chat widget.
 *
 * Another site adds one tag:
 *
 *   <script src="https://rag.example.org/widget.js" async></script>
 *
 * and gets a floating button that opens a chat box (an iframe of
 * https://rag.example.org/?embed=widget), so all requests go to this server from its
 * own origin and the host page's styles cannot leak in.  Options, as data-
 * attributes on the script tag:
 *
 *   data-server    base URL of the server (default: where widget.js was loaded from)
 *   data-title     text of the button and the box's heading (default 太原日报问答)
 *   data-position  "right" (default) or "left"
 *   data-open      "true" to open the box when the page loads
 *
 * window.TaiyuanRagWidget.open() / .close() / .toggle() control it from script.
 */
(function () {
  "use strict";
  if (window.TaiyuanRagWidget) return;

  var script =
    document.currentScript ||
    Array.prototype.slice.call(document.getElementsByTagName("script")).filter(function (s) {
      return /\/widget\.js(\?|#|$)/.test(s.src);
    })[0];
  if (!script) return;
  var server = (script.getAttribute("data-server") || new URL(script.src, window.location.href).origin).replace(
    /\/+$/,
    ""
  );
  var title = script.getAttribute("data-title") || "太原日报问答";
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var startOpen = script.getAttribute("data-open") === "true";

  var css =
    ":host{all:initial}" +
    ".launcher{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483000;display:flex;align-items:center;" +
    "gap:6px;padding:10px 18px;border:0;border-radius:24px;background:#b3261e;color:#fff;cursor:pointer;" +
    "font:600 15px/1.2 system-ui,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    ".launcher:hover{background:#8c1d17}.launcher[hidden]{display:none}.launcher svg{flex:none;display:block}" +
    ".launcher:focus-visible,.close:focus-visible{outline:2px solid #1f2328;outline-offset:2px}" +
    ".box{position:fixed;bottom:80px;" + side + ":20px;z-index:2147483000;width:400px;height:640px;" +
    "max-width:calc(100vw - 40px);max-height:calc(100vh - 110px);display:flex;flex-direction:column;" +
    "background:#fff;border-radius:12px;overflow:hidden;box-shadow:0 8px 30px rgba(0,0,0,.3)}" +
    ".box[hidden]{display:none}" +
    ".bar{display:flex;align-items:center;justify-content:space-between;padding:8px 12px;background:#b3261e;" +
    "color:#fff;font:600 15px/1.2 system-ui,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif}" +
    ".close{border:0;background:transparent;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:0 4px}" +
    "iframe{flex:1;width:100%;border:0}" +
    "@media (max-width:480px){.box{inset:0;width:auto;height:auto;max-width:none;max-height:none;border-radius:0}}";

  var host = document.createElement("div");
  host.setAttribute("data-taiyuan-rag-widget", "");
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = document.createElement("style");
  style.textContent = css;
  root.appendChild(style);

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "launcher";
  launcher.setAttribute("aria-expanded", "false");
  // An SVG speech bubble: an emoji (💬) is an empty box where no emoji font is installed.
  var svgNs = "http://www.w3.org/2000/svg";
  var glyph = document.createElementNS(svgNs, "svg");
  glyph.setAttribute("viewBox", "0 0 24 24");
  glyph.setAttribute("width", "20");
  glyph.setAttribute("height", "20");
  glyph.setAttribute("aria-hidden", "true");
  glyph.setAttribute("focusable", "false");
  var bubble = document.createElementNS(svgNs, "path");
  bubble.setAttribute("fill", "currentColor");
  bubble.setAttribute(
    "d",
    "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9.5L5 21.6V18H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 " +
      "3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z"
  );
  glyph.appendChild(bubble);
  launcher.appendChild(glyph);
  launcher.appendChild(document.createTextNode(title));
  root.appendChild(launcher);

  var box = document.createElement("div");
  box.className = "box";
  box.hidden = true;
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-label", title);
  var bar = document.createElement("div");
  bar.className = "bar";
  var heading = document.createElement("span");
  heading.textContent = title;
  var close = document.createElement("button");
  close.type = "button";
  close.className = "close";
  close.setAttribute("aria-label", "关闭");
  close.textContent = "×";
  bar.appendChild(heading);
  bar.appendChild(close);
  box.appendChild(bar);
  root.appendChild(box);

  var frame = null;
  function open() {
    if (!frame) {
      // Created on first open so a page that never uses the chat loads nothing from the server.
      frame = document.createElement("iframe");
      // embed=widget: the page leaves out its own title, which this box's bar already shows.
      frame.src = server + "/?embed=widget";
      frame.title = title;
      frame.setAttribute("allow", "clipboard-write");
      box.appendChild(frame);
    }
    box.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    frame.focus();
  }
  function closeBox() {
    box.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }
  function toggle() {
    if (box.hidden) open();
    else closeBox();
  }
  launcher.addEventListener("click", open);
  close.addEventListener("click", closeBox);
  box.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeBox();
  });

  function mount() {
    document.body.appendChild(host);
    if (startOpen) open();
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.TaiyuanRagWidget = { open: open, close: closeBox, toggle: toggle, server: server };
})();
