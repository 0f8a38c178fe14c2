"""Cited question answering over the Taiyuan Daily archive: parse, chunk, embed, store, retrieve, generate."""

__version__ = "0.1.0"
