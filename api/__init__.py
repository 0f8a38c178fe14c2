"""The HTTP API over the ``rag`` library (FastAPI); build it with :func:`api.app.create_app`."""
