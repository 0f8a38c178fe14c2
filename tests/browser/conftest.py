"""Fixtures for the end-to-end tests: a live API server on loopback and headless Debian Chromium.

The browser is Debian's ``chromium`` driven through ``/usr/bin/chromedriver``; nothing is
downloaded (Selenium Manager is bypassed by giving the driver path explicitly).  When
Chromium is missing the tests are skipped with the command that installs it.
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from rag.types import Answer, Passage, Turn

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_HINT = "run `sudo bash scripts/install-browser.sh` (Debian chromium + chromium-driver)"

# Flags from the brief: headless, no sandbox (containers), and no background traffic, which the
# closed network would refuse and which would slow every start.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=zh-CN",
)
DESKTOP = (1280, 860)
PHONE = (390, 844)
#: axe-core from npm (tests/browser/vendor, see api/static/vendor/README.md): injected, never served.
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
#: Impacts that fail an accessibility check (axe's scale: minor < moderate < serious < critical).
AXE_FAILING = ("moderate", "serious", "critical")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip browser tests, with the reason, when Debian's Chromium or its driver is not installed."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    skip = pytest.mark.skip(reason=f"{' and '.join(missing)} missing: {INSTALL_HINT}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


# -- the server ----------------------------------------------------------------------


class DelayedGenerator:
    """Wraps a generator so that answers stream visibly: a pause first, then one between pieces."""

    def __init__(self, inner: Any, *, first_delay: float = 0.0, piece_delay: float = 0.0) -> None:
        self.inner = inner
        self.first_delay = first_delay
        self.piece_delay = piece_delay

    @property
    def name(self) -> str:
        """The wrapped generator's name."""
        return str(self.inner.name)

    def generate(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Answer:
        """Delegate (no delay: only streaming is slowed down)."""
        return self.inner.generate(question, passages, history)

    def stream(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Iterator[Any]:
        """The wrapped stream, slowed down."""
        time.sleep(self.first_delay)
        for item in self.inner.stream(question, passages, history):
            if isinstance(item, str):
                time.sleep(self.piece_delay)
            yield item


@dataclass
class LiveServer:
    """A uvicorn server running the real app in a background thread on 127.0.0.1."""

    url: str
    pipeline: Any
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Stop accepting connections and wait for the server thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout=15)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def build_test_pipeline(
    index_dir: Path,
    *,
    real_model: bool = False,
    first_delay: float = 0.0,
    piece_delay: float = 0.0,
    wrap: Callable[[Any], Any] | None = None,
    **overrides: Any,
) -> Any:
    """A pipeline over the real seed pages; the fast hashing embedder unless ``real_model``; answers
    delayed by ``first_delay`` and ``piece_delay`` seconds (see :class:`DelayedGenerator`), the
    generator replaced by ``wrap(generator)`` when given."""
    from rag.pipeline import build_pipeline, default_generator
    from rag.settings import Settings

    def generator(settings: Settings, index: Any) -> Any:
        inner = default_generator(settings, index)
        if first_delay or piece_delay:
            inner = DelayedGenerator(inner, first_delay=first_delay, piece_delay=piece_delay)
        return wrap(inner) if wrap is not None else inner

    if real_model:
        settings = Settings(seeds_dir=REPO / "seeds", index_dir=index_dir, **overrides)
        return build_pipeline(settings, generator=generator)
    from rag.embed import HashingEmbedder

    # The hashing fake's name selects the answerability model calibrated for it.
    embedder = HashingEmbedder()
    settings = Settings(
        seeds_dir=REPO / "seeds", index_dir=index_dir, embedding_model=embedder.name, **overrides
    )
    return build_pipeline(settings, embedder, generator=generator)


def start_server(pipeline: Any, **server: Any) -> LiveServer:
    """Serve ``create_app(pipeline=…)`` on a free loopback port; returns once it accepts requests.

    ``server`` are the server's settings (``api_key``…); none is read from the environment.
    """
    import httpx
    import uvicorn

    from api.app import create_app
    from api.settings import ServerSettings

    pipeline.warm_up()
    app = create_app(pipeline=pipeline, server=ServerSettings(**server, _env_file=None))
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    while httpx.get(url + "/readyz", timeout=10).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not become ready")
        time.sleep(0.05)
    return LiveServer(url=url, pipeline=pipeline, _server=server, _thread=thread)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the whole session, over the seeds with the hashing embedder.

    Answers stream with a pause between pieces (long enough that a busy headless browser still
    paints several of them) so the page is seen filling in.
    """
    pipeline = build_test_pipeline(
        tmp_path_factory.mktemp("index") / "default", piece_delay=0.08, max_question_chars=200
    )
    server = start_server(pipeline)
    yield server
    server.stop()


@contextmanager
def _servers(
    index_dir: Callable[[], Path], request: pytest.FixtureRequest
) -> Iterator[Callable[..., LiveServer]]:
    """``make(...)`` starts a server over a fresh index from ``index_dir()``; all stop on exit.

    With ``real_model=True`` the folder starts as a copy of the session's real-model seed
    index (``real_seed_index``), built once for every test that needs it.

    ``first_delay``/``piece_delay`` slow the stream (:class:`DelayedGenerator`); ``wrap``
    replaces the generator by ``wrap(generator)``; other keywords are settings.
    """
    started: list[LiveServer] = []

    def make(
        *,
        first_delay: float = 0.0,
        piece_delay: float = 0.0,
        real_model: bool = False,
        wrap: Callable[[Any], Any] | None = None,
        **settings: Any,
    ) -> LiveServer:
        from api.settings import ServerSettings

        web = {key: settings.pop(key) for key in list(settings) if key in ServerSettings.model_fields}
        folder = index_dir()
        if real_model:
            request.getfixturevalue("real_seed_index")(folder)
        pipeline = build_test_pipeline(
            folder,
            real_model=real_model,
            first_delay=first_delay,
            piece_delay=piece_delay,
            wrap=wrap,
            **settings,
        )
        server = start_server(pipeline, **web)
        started.append(server)
        return server

    try:
        yield make
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def server_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., LiveServer]]:
    """Start extra servers (e.g. one a test will stop, or one with a slow generator)."""
    count = iter(range(1_000))
    with _servers(lambda: tmp_path / f"index{next(count)}", request) as make:
        yield make


@pytest.fixture(scope="module")
def module_server_factory(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Callable[..., LiveServer]]:
    """Like ``server_factory``, for servers that the tests of one module share."""
    with _servers(lambda: tmp_path_factory.mktemp("index") / "index", request) as make:
        yield make


@pytest.fixture(scope="session")
def widget_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """``serve(server_url)``: the address of another site (another origin) that embeds the
    widget of ``server_url`` with the README's snippet; its web servers stop with the session."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(server_url: str) -> str:
        folder = tmp_path_factory.mktemp("host")
        (folder / "index.html").write_text(
            "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>合作网站</title></head>"
            "<body style='font-family:sans-serif'><h1>某合作网站</h1><p>这里是别人的页面。</p>"
            f"<script src='{server_url}/widget.js' async></script></body></html>",
            encoding="utf-8",
        )
        handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/index.html"

    yield serve
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


# -- the browser ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where screenshots go: ``$RAG_SCREENSHOT_DIR`` or ``screenshots/`` in the repository."""
    path = Path(os.environ.get("RAG_SCREENSHOT_DIR") or REPO / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Browser:
    """A thin layer over a Selenium driver with the waits and look-ups the tests share."""

    def __init__(self, driver: Any, screenshot_dir: Path) -> None:
        self.driver = driver
        self.screenshot_dir = screenshot_dir
        # Chromium hands each console entry out once; kept here so every reader sees them all.
        self._log: list[dict[str, Any]] = []

    def open(self, url: str, *, config: dict[str, int] | None = None) -> None:
        """Load ``url``; ``config`` becomes ``window.TAIYUAN_CHAT_CONFIG`` before the page's scripts run."""
        if config is not None:
            import json

            self.driver.execute_cdp_cmd(
                "Page.addScriptToEvaluateOnNewDocument",
                {"source": f"window.TAIYUAN_CHAT_CONFIG = {json.dumps(config)};"},
            )
        self.driver.get(url)
        self.wait_for("#question")

    def phone(self) -> int:
        """Emulate a phone screen (390×844 CSS pixels, touch); returns the width."""
        width, height = PHONE
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
        )
        return width

    def find(self, css: str) -> Any:
        """The first element matching ``css``."""
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        """Every element matching ``css``."""
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_for(self, css: str, *, timeout: float = 20, visible: bool = True) -> Any:
        """Wait until an element matching ``css`` exists (and is visible) and return it."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        condition = ec.visibility_of_element_located if visible else ec.presence_of_element_located
        return WebDriverWait(self.driver, timeout).until(condition((By.CSS_SELECTOR, css)))

    def wait_until(self, predicate: Callable[[], Any], *, timeout: float = 20, message: str = "") -> Any:
        """Wait until ``predicate()`` is truthy and return its value."""
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout).until(lambda _driver: predicate(), message)

    def ask(self, question: str) -> None:
        """Type ``question`` into the box and press Enter."""
        from selenium.webdriver.common.keys import Keys

        box = self.find("#question")
        box.clear()
        box.send_keys(question)
        box.send_keys(Keys.ENTER)

    def answers(self) -> list[Any]:
        """The finished answer cards, oldest first."""
        return self.find_all(".msg-assistant:not(.pending)")

    def wait_for_answers(self, count: int, *, timeout: float = 30) -> Any:
        """Wait until ``count`` answers are finished; returns the last one."""
        self.wait_until(lambda: len(self.answers()) >= count, timeout=timeout, message=f"no answer #{count}")
        return self.answers()[count - 1]

    def saved(self) -> dict[str, Any]:
        """Everything the page saved in localStorage: ``{current, filters, conversations}``."""
        return self.driver.execute_script(
            "return JSON.parse(localStorage.getItem('taiyuan-rag.chats.v2') || 'null');"
        )

    def stored(self) -> dict[str, Any]:
        """The conversation on screen as saved (``sessionId``, ``messages``, ``title``), with the filters."""
        saved = self.saved()
        current = next(c for c in saved["conversations"] if c["id"] == saved["current"])
        return {**current, "filters": saved["filters"]}

    def desktop(self) -> None:
        """Undo :meth:`phone`: the desktop window again."""
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def axe(self, include: str | None = None) -> list[str]:
        """axe-core's moderate, serious and critical violations in the current frame, one line each.

        ``include`` limits the check to the elements matching a CSS selector (shadow roots
        included); by default the whole document is checked, with every axe rule (WCAG A/AA
        and best practices).
        """
        if not self.driver.execute_script("return Boolean(window.axe)"):
            self.driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "const context = arguments[0] ? {include: [[arguments[0]]]} : document;"
            "axe.run(context, {resultTypes: ['violations']})"
            "  .then(r => done(r.violations), e => done({error: String(e)}));",
            include,
        )
        assert not isinstance(result, dict), result
        return [
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:5])
            for v in result
            if v.get("impact") in AXE_FAILING
        ]

    def screenshot(self, name: str) -> Path:
        """Save a PNG of the viewport under the screenshot folder."""
        path = self.screenshot_dir / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def console(self) -> list[dict[str, Any]]:
        """Every console entry of the browser (all frames) since it started."""
        self._log += self.driver.get_log("browser")
        return self._log

    def js_errors(self) -> list[str]:
        """Uncaught JavaScript errors logged by the page so far."""
        return [e["message"] for e in self.console() if e.get("source") == "javascript"]

    def forget_console(self) -> None:
        """Drop the console entries read so far (a shared browser, between tests)."""
        self.console()
        self._log = []

    def csp_violations(self, *, clear: bool = False) -> list[str]:
        """Content-Security-Policy violations reported so far; ``clear`` forgets them once read."""
        violations = [e["message"] for e in self.console() if "Content Security Policy" in e["message"]]
        if clear:
            self._log = [e for e in self._log if "Content Security Policy" not in e["message"]]
        return violations


@contextmanager
def open_browser(screenshot_dir: Path) -> Iterator[Browser]:
    """A headless Chromium with its own profile (so its own localStorage), quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="rag-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield Browser(driver, screenshot_dir)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def module_browser(screenshot_dir: Path) -> Iterator[Browser]:
    """One Chromium that the tests of a module share (each start costs about a second)."""
    with open_browser(screenshot_dir) as browser:
        yield browser


@pytest.fixture
def browser(screenshot_dir: Path) -> Iterator[Browser]:
    """A fresh headless Chromium per test."""
    with open_browser(screenshot_dir) as browser:
        yield browser
        # The page runs under its Content-Security-Policy (api/security.py): anything it
        # tried that the policy blocked is a broken feature, whichever test ran.
        violations = browser.csp_violations()
    assert violations == [], violations
