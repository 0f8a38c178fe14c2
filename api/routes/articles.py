"""The parsed articles (read by anyone) and the writes that change them (API key required)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api.deps import PipelineDep, StateDep, require_api_key
from api.errors import ApiError
from api.routes.common import errors
from api.schemas import (
    ARTICLE_ID_PATTERN,
    LIMIT_KEY,
    ArticleList,
    ArticleOut,
    DeleteResponse,
    IndexCounts,
    PageList,
    PageOut,
    UploadResponse,
)
from rag.catalog import page_label
from rag.errors import DocumentError
from rag.parse import PageMeta, read_page
from rag.parse.pages import PAGE_NUMBER_MAX
from rag.pipeline import Pipeline
from rag.types import Article

router = APIRouter(tags=["articles"])

ArticleId = Annotated[str, Path(pattern=ARTICLE_ID_PATTERN, description="Article id (from a citation).")]
# Characters kept in an uploaded file's name; the name only labels the page in the
# index (it is never used as a path), but it is shown to people and kept in filters.
_UNSAFE_NAME = re.compile(r"[^\w.()（）-]+")
_MULTIPART_OVERHEAD = 64 * 1024
#: Longest paper name or page title accepted from the upload form.
PAGE_FIELD_MAX = 40
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _counts(pipeline: Pipeline) -> IndexCounts:
    stats = pipeline.stats()
    return IndexCounts(articles=int(stats["articles"]), chunks=int(stats["chunks"]))  # type: ignore[call-overload]


@router.get(
    "/api/articles",
    response_model=ArticleList,
    summary="List the parsed articles",
    responses=errors(422, 429, 503),
)
async def list_articles(
    state: StateDep,
    pipeline: PipelineDep,
    source: Annotated[
        str | None, Query(max_length=255, description="Only articles of this page file.")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Skip this many articles.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Return at most this many articles.")] = 500,
) -> ArticleList:
    """Every indexed article with its full text, date, page and reporters, in page and reading order."""
    total, page = await state.run(pipeline.article_page, source or None, offset, limit)
    labels = await run_in_threadpool(pipeline.page_labels)
    return ArticleList(total=total, offset=offset, limit=limit, articles=[_article(a, labels) for a in page])


def _article(article: Article, labels: Mapping[str, str]) -> ArticleOut:
    label = labels.get(article.source) or page_label(PageMeta(), article.date)
    return ArticleOut(**article.to_dict(), page_label=label)


@router.get(
    "/api/pages",
    response_model=PageList,
    summary="List the indexed pages with their names",
    responses=errors(429, 503),
)
async def list_pages(state: StateDep, pipeline: PipelineDep) -> PageList:
    """Every indexed page, newest first: its file (the `source` filter's value) and a reader's name for it."""
    pages = await state.run(pipeline.pages)
    return PageList(pages=[PageOut(**p.to_dict()) for p in pages])


@router.get(
    "/api/articles/{article_id}",
    response_model=ArticleOut,
    summary="One article",
    responses=errors(404, 422, 429, 503),
)
async def get_article(article_id: ArticleId, state: StateDep, pipeline: PipelineDep) -> ArticleOut:
    """One article in full, to show a citation (`body[start:end]`) in its context."""
    article = await state.run(pipeline.article, article_id)
    return _article(article, await run_in_threadpool(pipeline.page_labels))


@router.delete(
    "/api/articles/{article_id}",
    response_model=DeleteResponse,
    summary="Delete an article",
    dependencies=[Depends(require_api_key)],
    responses=errors(401, 403, 404, 422, 429, 503),
)
async def delete_article(article_id: ArticleId, state: StateDep, pipeline: PipelineDep) -> DeleteResponse:
    """Remove one article and its chunks from the live index (and from the saved index)."""
    report = await state.run(pipeline.delete_article, article_id)
    return DeleteResponse(deleted=article_id, chunks_removed=report.chunks_removed, index=_counts(pipeline))


_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                            # maxItems: RAG_API_MAX_UPLOAD_FILES, written in by create_app.
                            LIMIT_KEY: "max_upload_files",
                            "description": "One or more page files (at most `RAG_API_MAX_UPLOAD_FILES`, "
                            "default 20): text as in `seeds/` (UTF-8, UTF-16 with BOM, GB18030/GBK or "
                            "Big5), HTML, .docx or PDF with a text layer.",
                        },
                        "date": {
                            "type": "string",
                            "format": "date",
                            "description": "Page date (YYYY-MM-DD); inferred from the text if omitted.",
                        },
                        "paper": {
                            "type": "string",
                            "maxLength": PAGE_FIELD_MAX,
                            "description": "The newspaper (default: the page's header line, else 太原日报).",
                        },
                        "page": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": PAGE_NUMBER_MAX,
                            "description": "Page number (第N版), for an upload of one file; default: the "
                            "page's header line (太原日报 2025年11月5日 第3版 要闻), else unknown.",
                        },
                        "page_title": {
                            "type": "string",
                            "maxLength": PAGE_FIELD_MAX,
                            "description": "The page's title (版名, e.g. 要闻); default: its header line.",
                        },
                    },
                }
            }
        },
    }
}


def page_name(filename: str | None, position: int) -> str:
    """A safe label for an uploaded page: its base name with unusual characters replaced."""
    base = PurePosixPath((filename or "").replace("\\", "/")).name
    base = _UNSAFE_NAME.sub("_", base).strip("._ ")[:120]
    return base or f"upload-{position}.txt"


def _page_meta(form: FormData, files: int) -> PageMeta:
    """Paper, page number and page title from the upload form (unknown when not given).

    Raises:
        DocumentError: a page number that is not a whole number in range, or given for
            several files; a paper or title too long or holding control characters.
    """
    texts: dict[str, str] = {}
    for key in ("paper", "page_title"):
        value = form.get(key)
        text = str(value).strip() if isinstance(value, str) else ""
        if len(text) > PAGE_FIELD_MAX or _CONTROL.search(text):
            raise DocumentError(f"{key}: at most {PAGE_FIELD_MAX} characters of text")
        texts[key] = text
    raw = form.get("page")
    number: int | None = None
    if isinstance(raw, str) and raw.strip():
        if not raw.strip().isascii() or not raw.strip().isdigit() or not 1 <= int(raw) <= PAGE_NUMBER_MAX:
            raise DocumentError(f"page: expected a page number from 1 to {PAGE_NUMBER_MAX}, got {raw[:20]!r}")
        if files > 1:
            raise DocumentError("page: a page number names one page; upload the files one at a time")
        number = int(raw)
    return PageMeta(paper=texts["paper"], page=number, title=texts["page_title"])


async def _read_pages(
    request: Request, max_files: int, max_bytes: int
) -> tuple[list[tuple[str, str]], str | None, PageMeta]:
    """The uploaded pages as (name, text), the optional date and page fields; nothing is written anywhere."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ApiError(
            415, "unsupported_media_type", "upload page files as multipart/form-data in the field 'files'"
        )
    form = await request.form(max_files=max_files, max_fields=10, max_part_size=64 * 1024)
    try:
        uploads = form.getlist("files")
        if not uploads:
            raise DocumentError("no page files: send them in the multipart field 'files'")
        if any(not isinstance(u, UploadFile) for u in uploads):
            raise DocumentError("the field 'files' must hold files, not text")
        raw_date = form.get("date")
        date: str | None = None
        if raw_date:
            try:
                date = dt.date.fromisoformat(str(raw_date)).isoformat()
            except ValueError:
                raise DocumentError(f"invalid date {str(raw_date)[:40]!r} (expected YYYY-MM-DD)") from None
        pages: list[tuple[str, str]] = []
        names: set[str] = set()
        for position, upload in enumerate(uploads, start=1):
            assert isinstance(upload, UploadFile)
            name = page_name(upload.filename, position)
            if name in names:
                raise DocumentError(f"{name}: the same file name is uploaded twice")
            names.add(name)
            data = await upload.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise ApiError(
                    413, "payload_too_large", f"{name}: page file is larger than {max_bytes} bytes"
                )
            # PDF and DOCX extraction takes a while: off the event loop.
            pages.append((name, await run_in_threadpool(read_page, data, name)))
        return pages, date, _page_meta(form, len(pages))
    finally:
        await form.close()


@router.post(
    "/api/documents",
    status_code=201,
    response_model=UploadResponse,
    summary="Upload page files into the live index",
    dependencies=[Depends(require_api_key)],
    openapi_extra=_UPLOAD_BODY,
    responses=errors(400, 401, 403, 413, 415, 422, 429, 503),
)
async def upload_documents(request: Request, state: StateDep, pipeline: PipelineDep) -> UploadResponse:
    """Parse, chunk and embed the uploaded pages and add them to the live index, all or nothing.

    A page whose file name is already indexed replaces that page's articles.  Queries
    running meanwhile keep using the previous index until the new one is complete.
    """
    pages, date, meta = await _read_pages(
        request, state.limits.max_upload_files, state.server.max_upload_bytes
    )
    report = await state.run(pipeline.ingest_texts, pages, date=date, meta=meta)
    return UploadResponse(
        files=[name for name, _ in pages],
        articles_added=report.articles_added,
        articles_removed=report.articles_removed,
        articles_unchanged=report.articles_unchanged,
        chunks_added=report.chunks_added,
        chunks_removed=report.chunks_removed,
        index=_counts(pipeline),
    )


def upload_body_limit(max_upload_bytes: int) -> int:
    """Largest request body accepted by the upload route: the page bytes plus multipart framing."""
    return max_upload_bytes + _MULTIPART_OVERHEAD
