"""Settings of the HTTP server: where it listens, who may write, call and frame it.

They are read from the same ``RAG_<FIELD>`` variables (and ``.env``) as the library's
:class:`rag.settings.Settings`, which knows nothing of the web; the bounds of the HTTP
layer (queue, body sizes, sessions) are :class:`api.limits.ApiLimits` (``RAG_API_*``).
Where shared state lives (``RAG_STATE_DIR``, ``RAG_REDIS_URL``) stays in the library's
settings: the ``rag feedback`` command reads that state too.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# A browser's Origin header: scheme, host and optional port, nothing else (a path never matches).
_ORIGIN = re.compile(r"https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
# A CSP source expression for frame-ancestors: a keyword, a scheme (https:) or a host with an
# optional scheme, *. wildcard and port; nothing that could end the directive (; , spaces).
_FRAME_SOURCE = re.compile(
    r"\*|'self'|'none'|[a-z][a-z0-9+.-]*:"
    r"|(?:[a-z][a-z0-9+.-]*://)?(?:\*\.)?[A-Za-z0-9.-]+(?::(?:[0-9]{1,5}|\*))?"
)


class ServerSettings(BaseSettings):
    """How ``rag serve`` and the API behave (env prefix ``RAG_``; also read from ``.env``).

    Example:
        >>> ServerSettings(port=9000, cors_origins="https://a.example/", _env_file=None).cors_origins
        ['https://a.example']
    """

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(
        1, ge=1, description="Server processes (they share the index and the conversations)."
    )
    api_key: str | None = Field(
        None, description="Key that uploads and deletions need; unset: they are refused."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins whose pages may call the API from their own scripts: a JSON list or "
        "comma-separated (https://a.example,https://b.example); * for any; empty: none (no CORS).",
    )
    frame_ancestors: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Sites whose pages may frame the chat page (the embeddable widget): * for any "
        "(default), origins, 'self' or 'none'; a JSON list or comma-separated.",
    )
    max_upload_bytes: int = Field(5_000_000, ge=1, description="Largest uploaded page file.")

    @field_validator("cors_origins", "frame_ancestors", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        """Read a list from the environment as JSON (``["https://a.example"]``) or comma-separated text."""
        if not isinstance(value, str):
            return value
        if value.strip().startswith("["):
            return json.loads(value)
        return [item.strip() for item in value.split(",") if item.strip()]

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        """Every entry is ``*`` or an origin; a trailing slash is dropped (browsers send none)."""
        cleaned = [o.rstrip("/") if o != "*" else o for o in origins]
        bad = [o for o in cleaned if o != "*" and not _ORIGIN.fullmatch(o)]
        if bad:
            raise ValueError(f"not an origin (scheme://host[:port], no path): {', '.join(bad)}")
        return cleaned

    @field_validator("frame_ancestors")
    @classmethod
    def _check_frame_ancestors(cls, sources: list[str]) -> list[str]:
        """Every entry is a CSP source expression; ``'none'`` stands alone."""
        bad = [s for s in sources if not _FRAME_SOURCE.fullmatch(s)]
        if bad:
            raise ValueError(
                f"not a frame-ancestors source (*, 'self', 'none' or an origin): {', '.join(bad)}"
            )
        if "'none'" in sources and len(sources) > 1:
            raise ValueError("'none' cannot be combined with other frame ancestors")
        return sources
