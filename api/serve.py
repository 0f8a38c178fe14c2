"""``rag serve``: run the HTTP API and the chat page with uvicorn.

The command belongs to the web layer; :mod:`rag.cli` lists it and imports this module only
when it is run, so the library never imports the web code.
"""

from __future__ import annotations

import os

import click

from api.settings import ServerSettings
from rag.cli import translate_errors


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default: RAG_HOST or 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: RAG_PORT or 8000).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (RAG_WORKERS, 1).")
@click.option("--access-log/--no-access-log", default=True, help="Log every request.")
@translate_errors
def serve(host: str | None, port: int | None, workers: int | None, access_log: bool) -> None:
    """Run the HTTP API and the chat page (the index is loaded, or built from the seeds, at start-up)."""
    import uvicorn

    given = {"host": host, "port": port, "workers": workers}
    server = ServerSettings(**{k: v for k, v in given.items() if v is not None})
    # Requests run side by side, each on one core: several multi-threaded forward passes
    # on a few cores would spin against each other (measured several times slower).  Set in
    # the environment because the worker processes must see it before torch loads.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    click.echo(f"serving on http://{server.host}:{server.port} (docs at /docs)", err=True)
    # Each worker process builds its app from the environment (``RAG_*``): the host, port
    # and worker count are the parent's business only.
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=server.host,
        port=server.port,
        workers=server.workers,
        access_log=access_log,
        # A backstop above the API's own queue: past it uvicorn answers 503 without reading requests.
        limit_concurrency=512,
        timeout_graceful_shutdown=5,
    )
