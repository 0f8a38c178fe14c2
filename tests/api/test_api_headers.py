"""Security headers and CORS: nosniff everywhere, a CSP the chat page satisfies, real preflights.

The browser tests (tests/browser) check in Chromium that the page and the embedded widget
run under this policy without a single CSP violation.
"""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import httpx
import pytest
from conftest import LiveServer, make_app, server_settings
from fastapi.testclient import TestClient

from api.app import STATIC_DIR, create_app
from api.security import API_POLICY, DOCS_POLICY, page_policy
from api.settings import ServerSettings
from rag.pipeline import Pipeline

PAGE_FILES = ["/", "/index.html", "/app.js", "/style.css", "/widget.js", "/favicon.svg"]
API_GETS = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/api/articles?limit=1", "/v1/models"]
PREFLIGHT_HEADERS = "content-type,authorization"


def directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy as {directive: sources}."""
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def with_settings(pipeline: Pipeline, **changes: object) -> TestClient:
    """A client of an app whose server settings are the tests' changed by ``changes`` (validated)."""
    return TestClient(make_app(pipeline, **changes))


# -- every response ---------------------------------------------------------------------


def test_every_response_carries_nosniff_and_a_referrer_policy(client: TestClient) -> None:
    responses = [client.get(path) for path in PAGE_FILES + API_GETS + ["/docs", "/nothing-here"]]
    responses += [
        client.post("/api/chat", json={"question": ""}),  # 422
        client.post("/api/chat", json={"question": "进博会", "stream": True}),  # event stream
        client.put("/api/chat"),  # 405
        client.post("/api/chat", content=b"{" * 300_000, headers={"content-type": "application/json"}),  # 413
        client.post("/api/documents", files=[("files", ("a.txt", b"x"))]),  # 401
    ]
    assert {r.status_code for r in responses} >= {200, 404, 405, 413, 401, 422}
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert response.headers["referrer-policy"] == "same-origin", response.url


def test_api_responses_allow_nothing_and_no_framing(client: TestClient) -> None:
    streamed = client.post("/api/chat", json={"question": "进博会", "stream": True})
    assert streamed.headers["content-type"].startswith("text/event-stream")
    for response in [client.get(path) for path in [*API_GETS, "/nothing-here"]] + [streamed]:
        assert response.headers["content-security-policy"] == API_POLICY, response.url
        assert response.headers["x-frame-options"] == "DENY", response.url
    # Swagger UI loads its scripts from a CDN: only framing is restricted there.
    docs = client.get("/docs")
    assert docs.headers["content-security-policy"] == DOCS_POLICY
    assert docs.headers["x-frame-options"] == "DENY"


# -- the chat page ----------------------------------------------------------------------


def test_the_page_and_its_files_get_a_policy_of_their_own_origin(client: TestClient) -> None:
    for path in PAGE_FILES:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = directives(response.headers["content-security-policy"])
        assert policy["default-src"] == ["'none'"]
        for kind in ("script-src", "style-src", "img-src", "connect-src"):
            assert policy[kind] == ["'self'"], (path, kind)
        assert policy["base-uri"] == ["'none'"]
        # The widget frames the page on other sites: any ancestor by default, so no X-Frame-Options.
        assert policy["frame-ancestors"] == ["*"]
        assert "x-frame-options" not in response.headers
    assert client.get("/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/style.css").headers["content-type"].startswith("text/css")


class _InlineFinder(HTMLParser):
    """Collects what a script-src/style-src 'self' policy would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        self.blocked += [f"<{tag} {name}>" for name in names if name.startswith("on") or name == "style"]
        if tag == "script" and "src" not in names:
            self._in = "inline script"
        if tag == "style":
            self._in = "style element"
        if tag in ("link", "script", "img") and any(
            value and value.strip().lower().startswith(("http:", "https:", "//", "data:", "javascript:"))
            for name, value in attrs
            if name in ("src", "href")
        ):
            self.blocked.append(f"<{tag}> from another origin")

    def handle_endtag(self, tag: str) -> None:
        if self._in and tag in ("script", "style"):
            self.blocked.append(self._in)
            self._in = None


@pytest.mark.parametrize("page", sorted(p.name for p in STATIC_DIR.glob("*.html")))
def test_the_page_has_nothing_inline_that_the_policy_blocks(page: str) -> None:
    finder = _InlineFinder()
    finder.feed((STATIC_DIR / page).read_text(encoding="utf-8"))
    assert finder.blocked == []


def test_the_page_scripts_never_evaluate_strings() -> None:
    # script-src 'self' without 'unsafe-eval': eval, new Function and string timers would throw.
    for script in STATIC_DIR.glob("*.js"):
        text = script.read_text(encoding="utf-8")
        for needle in ("eval(", "new Function", 'setTimeout("', 'setInterval("', ".innerHTML"):
            assert needle not in text, (script.name, needle)


@pytest.mark.parametrize(
    ("ancestors", "csp", "frame_options"),
    [
        ("'self'", "'self'", "SAMEORIGIN"),
        ("'none'", "'none'", "DENY"),
        (
            "https://news.example, https://*.partner.example",
            "https://news.example https://*.partner.example",
            None,
        ),
    ],
)
def test_framing_is_configurable(
    pipeline: Pipeline, ancestors: str, csp: str, frame_options: str | None
) -> None:
    with with_settings(pipeline, frame_ancestors=ancestors) as client:
        response = client.get("/")
    assert directives(response.headers["content-security-policy"])["frame-ancestors"] == csp.split()
    assert response.headers.get("x-frame-options") == frame_options
    assert response.headers["content-security-policy"] == page_policy(csp.split())


@pytest.mark.parametrize("bad", ["https://a.example; script-src *", "'unsafe-inline'", "'none', 'self'"])
def test_a_frame_ancestor_that_could_inject_a_directive_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="frame"):
        ServerSettings(frame_ancestors=bad)


# -- CORS -------------------------------------------------------------------------------


def preflight(client: TestClient | httpx.Client, path: str, origin: str) -> httpx.Response:
    """What a browser sends before a cross-origin JSON POST with an API key."""
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": PREFLIGHT_HEADERS,
        },
    )


def assert_preflight_allows(response: httpx.Response, origin: str) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == origin
    assert "POST" in response.headers["access-control-allow-methods"].split(", ")
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert set(PREFLIGHT_HEADERS.split(",")) <= allowed
    assert int(response.headers["access-control-max-age"]) > 0


def test_a_real_preflight_is_answered_for_allowed_origins_only(
    pipeline: Pipeline, live_factory: Callable[..., LiveServer]
) -> None:
    live = live_factory(
        pipeline, server=server_settings(cors_origins=["https://a.example", "https://b.example"])
    )
    with httpx.Client(base_url=live.url, timeout=30) as http:
        for path in ("/api/chat", "/v1/chat/completions"):
            for origin in ("https://a.example", "https://b.example"):
                assert_preflight_allows(preflight(http, path, origin), origin)
            refused = preflight(http, path, "https://evil.example")
            assert refused.status_code == 400
            assert "access-control-allow-origin" not in refused.headers
        # The request itself: readable by the allowed origin, with Retry-After exposed.
        answer = http.post(
            "/v1/chat/completions",
            headers={"Origin": "https://a.example", "Authorization": "Bearer x"},
            json={
                "model": "m",
                "messages": [{"role": "user", "content": "第八届进博会山西展厅的面积有多大？"}],
            },
        )
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "https://a.example"
        assert answer.headers["access-control-expose-headers"] == "Retry-After"
        other = http.post("/api/search", headers={"Origin": "https://evil.example"}, json={"query": "进博会"})
        assert other.status_code == 200 and "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    "value",
    [
        '["https://a.example", "https://b.example"]',
        "https://a.example,https://b.example",
        " https://a.example/ , https://b.example ",
    ],
)
def test_cors_origins_from_the_environment(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RAG_CORS_ORIGINS", value)
    settings = ServerSettings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    with TestClient(create_app(pipeline=pipeline, server=settings)) as client:
        for origin in settings.cors_origins:
            assert_preflight_allows(preflight(client, "/api/chat", origin), origin)
        assert preflight(client, "/api/chat", "https://c.example").status_code == 400


def test_any_origin_with_a_star(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CORS_ORIGINS", "*")
    with TestClient(create_app(pipeline=pipeline, server=ServerSettings())) as client:
        response = preflight(client, "/v1/chat/completions", "https://anyone.example")
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        # An API key is sent as a header, never as a cookie: no credentials mode.
        assert "access-control-allow-credentials" not in response.headers


def test_no_cors_by_default(client: TestClient) -> None:
    response = preflight(client, "/api/chat", "https://a.example")
    assert response.status_code == 405
    assert "access-control-allow-origin" not in response.headers
    assert (
        "access-control-allow-origin"
        not in client.get("/healthz", headers={"Origin": "https://a.example"}).headers
    )


@pytest.mark.parametrize("bad", ["https://a.example/app", "a.example", "[broken"])
def test_a_malformed_origin_is_refused_at_start(bad: str) -> None:
    with pytest.raises(ValueError, match="origin|Expecting value"):
        ServerSettings(cors_origins=bad)


def test_the_api_key_is_not_needed_for_the_preflight_itself(pipeline: Pipeline) -> None:
    # A browser never sends credentials with a preflight: refusing it would block the upload.
    with with_settings(pipeline, cors_origins=["https://a.example"]) as client:
        response = preflight(client, "/api/documents", "https://a.example")
    assert_preflight_allows(response, "https://a.example")
