/*
 * 太原日报问答 — the remembered colour theme, applied before the first paint.
 *
 * The reader's choice ("dark" or "light", stored by the toggle in app.js under the key below),
 * else the system's prefers-color-scheme, becomes <html data-theme>, which style.css reads.
 */
(function () {
  "use strict";
  var theme = null;
  try {
    theme = window.localStorage.getItem("taiyuan-rag.theme");
  } catch (err) {
    // Storage blocked (private mode, third-party iframe): follow the system.
  }
  if (theme !== "dark" && theme !== "light") {
    var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    theme = dark ? "dark" : "light";
  }
  document.documentElement.setAttribute("data-theme", theme);
})();
