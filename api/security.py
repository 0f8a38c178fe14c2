"""Security headers on every response: what the browser may do with what this server sends.

* ``X-Content-Type-Options: nosniff`` everywhere: a JSON answer quoting a page is never
  sniffed into HTML, a script only runs when it is served as one.
* ``Referrer-Policy: same-origin``: the page's requests to its own server keep their
  referrer; nothing about the page (or a question in its address) goes to other sites.
* The chat page and its static files get :func:`page_policy`, a Content-Security-Policy that
  admits only this server's own scripts, styles, images and API (the page has no inline
  script or style, and builds every element from script).  ``frame-ancestors`` comes from
  ``RAG_FRAME_ANCESTORS``: ``*`` by default, because ``widget.js`` puts the page in an iframe
  on other sites' pages.  ``X-Frame-Options`` is only sent when it can say the same
  (``DENY`` for ``'none'``, ``SAMEORIGIN`` for ``'self'``): it cannot list other sites.
* API responses (JSON, server-sent events, metrics) get :data:`API_POLICY`, which forbids
  everything, and ``X-Frame-Options: DENY``: data is never a page, nor framed.
* FastAPI's ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN with inline
  scripts, so they only get :data:`DOCS_POLICY` (no framing).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Content-Security-Policy of JSON, event streams and metrics: nothing may load or run.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
#: Content-Security-Policy of the interactive API documentation (its scripts come from a CDN).
DOCS_POLICY = "frame-ancestors 'none'"
#: Media types of API responses (``text/plain`` is the Prometheus format of ``/metrics``).
_API_TYPES = ("application/json", "text/event-stream", "text/plain")


def page_policy(frame_ancestors: Sequence[str]) -> str:
    """The Content-Security-Policy of the chat page and its static files.

    ``default-src 'none'`` and one source per kind of resource the page really loads:
    ``app.js`` and ``style.css`` (no inline code, so neither ``'unsafe-inline'`` nor a
    nonce), the favicon, and ``fetch`` to its own API.
    """
    ancestors = " ".join(frame_ancestors) or "'none'"  # an empty list frames nowhere
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        )
    )


def frame_options(frame_ancestors: Sequence[str]) -> str | None:
    """The ``X-Frame-Options`` that says what ``frame-ancestors`` says, or None if it cannot."""
    if list(frame_ancestors) in ([], ["'none'"]):
        return "DENY"
    if list(frame_ancestors) == ["'self'"]:
        return "SAMEORIGIN"
    return None


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response; a header a route set itself is kept.

    Pure ASGI (not ``BaseHTTPMiddleware``), so streamed answers pass through unbuffered.
    """

    def __init__(self, app: ASGIApp, *, frame_ancestors: Sequence[str], docs_paths: Collection[str]) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)
        self.page_headers = {"Content-Security-Policy": page_policy(frame_ancestors)}
        framing = frame_options(frame_ancestors)
        if framing:
            self.page_headers["X-Frame-Options"] = framing
        self.api_headers = {"Content-Security-Policy": API_POLICY, "X-Frame-Options": "DENY"}
        self.docs_headers = {"Content-Security-Policy": DOCS_POLICY, "X-Frame-Options": "DENY"}

    def headers_for(self, path: str, content_type: str) -> dict[str, str]:
        """The policy headers of a response to ``path`` with this ``Content-Type``."""
        media_type = content_type.split(";", 1)[0].strip().lower()
        if path in self.docs_paths:
            return self.docs_headers
        if media_type in _API_TYPES:
            return self.api_headers
        return self.page_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                for name, value in self.headers_for(scope["path"], headers.get("content-type", "")).items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
