"""Writing and reading one generation of an index's data files, atomically and under a lock.

Saving writes a new generation of data files, then replaces ``manifest.json`` in one
``os.replace``: a process killed at any point leaves either the old or the new
manifest, each pointing at complete files, so the index always loads.

Several processes (``rag serve --workers N``, a CLI ingest beside a server) share one
directory: writers hold :func:`write_lock` (an OS file lock on ``.lock``) around
read-modify-save, so generations never collide and no write is lost; readers never
lock and notice a newer generation by :func:`rag.index_manifest.manifest_signature`.
Files are created with the process umask (an index built by one user can be served
by another).  The file names and the manifest's checks are :mod:`rag.index_manifest`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from rag.errors import IndexBusyError, IndexDamagedError, IndexWriteError
from rag.index_manifest import (
    DATA_FILE,
    LOCK_FILE,
    LOCK_WAIT_SECONDS,
    MANIFEST,
    REPAIR,
    TEMP_FILE,
    manifest_files,
    read_manifest,
)
from rag.index_records import Records, SentenceTable
from rag.protocols import DenseStore, LexicalStore, Stores
from rag.types import Article, Chunk


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread writes files.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@dataclass(frozen=True)
class Generation:
    """One generation's contents: the records and the two stores keyed by their slots.

    A store is None where an index never made one (no chunk was ever added).
    """

    records: Records
    dense: DenseStore | None = None
    lexical: LexicalStore | None = None


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk (so a rename survives a crash); a no-op where unsupported."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """Write ``path`` via a temporary file in the same folder, fsync, then rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        # mkstemp makes the file private (0600); an index is data other users may serve.
        os.chmod(tmp, 0o666 & ~_UMASK)
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def write_lock(path: Path | str, timeout: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Hold the index directory's write lock (across processes) for a read-modify-save.

    Raises :class:`IndexWriteError` when the lock file cannot be created (read-only
    folder) and :class:`IndexBusyError` when another writer holds it past ``timeout``.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path / LOCK_FILE), timeout=timeout, mode=0o666 & ~_UMASK)
        lock.acquire()
    except Timeout:
        raise IndexBusyError(
            f"another process has been writing the index at {path} for over {timeout:.0f} s; try again later"
        ) from None
    except OSError as err:
        raise IndexWriteError(write_failure(path, err)) from None
    try:
        yield
    finally:
        lock.release()


def write_failure(path: Path, err: OSError) -> str:
    """The message of an :class:`IndexWriteError`: what failed, that nothing changed, what to check."""
    reason = err.strerror or type(err).__name__
    return (
        f"cannot write the index at {path}: {reason} (errno {err.errno}); the index on disk is unchanged. "
        "Check the folder's permissions and free space, or set RAG_INDEX_DIR to a writable folder"
    )


def remove_entry(entry: Path) -> None:
    """Delete a data file or folder (a lexical generation), whichever it is; absent is fine."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            entry.unlink()


def remove_other_generations(path: Path, keep: set[str]) -> list[str]:
    """Delete the data and temporary files not in ``keep``; return the names found."""
    removed = []
    for entry in path.iterdir():
        if entry.name not in keep and (DATA_FILE.match(entry.name) or TEMP_FILE.match(entry.name)):
            removed.append(entry.name)
            remove_entry(entry)
    return removed


def remove_orphans(path: Path | str) -> list[str]:
    """Delete data and temporary files the manifest does not name (left by a killed or failed save).

    Skipped (returns ``[]``) when another process is writing, the folder is
    read-only, or the manifest cannot be read: orphans are harmless, deleting a
    file a damaged manifest might still need is not.
    """
    path = Path(path)
    try:
        with write_lock(path, timeout=0):
            keep = set(manifest_files(path, read_manifest(path)).values())
            return remove_other_generations(path, keep)
    except (IndexBusyError, IndexWriteError, IndexDamagedError, OSError):
        return []


def write_generation(
    path: Path,
    files: dict[str, str],
    generation: Generation,
    stores: Stores,
    manifest: Callable[[], dict[str, Any]],
) -> None:
    """Write the data ``files`` of one generation, then the manifest naming them (each atomically).

    ``generation.lexical`` must exist (an empty index saves an empty lexical store); an
    empty or missing ``generation.dense`` is saved as a new empty store from ``stores``.
    ``manifest`` is called once the data files are on disk.
    """
    records, lexical = generation.records, generation.lexical
    if lexical is None:
        raise ValueError("write_generation needs a lexical store (an empty one for an empty index)")
    width = (generation.dense.dimension if generation.dense is not None else None) or 1

    def write_articles(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            for article in records.articles.values():
                row = article.to_dict()
                holders = records.holders_of.get(article.id, {article.source})
                if holders != {article.source}:
                    row["held_by"] = sorted(holders)
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def write_chunks(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            for slot, chunk in enumerate(records.slots):
                if chunk is not None:
                    row = {"slot": slot, **chunk.to_dict()}
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def write_sentences(tmp: Path) -> None:
        ids = [aid for aid in records.articles if aid in records.sentences]
        tables = [records.sentences[aid] for aid in ids]
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                article=np.array(ids, dtype=str),
                count=np.array([len(t.spans) for t in tables], dtype="int64"),
                spans=np.array([s for t in tables for s in t.spans], dtype="int64").reshape(-1, 2),
                vectors=np.concatenate([t.vectors for t in tables]).astype("float32", copy=False)
                if tables
                else np.zeros((0, width), dtype="float32"),
            )

    write_atomic(path / files["articles"], write_articles)
    write_atomic(path / files["sentences"], write_sentences)
    write_atomic(path / files["chunks"], write_chunks)
    # A folder (tantivy) or a pointer file (Milvus): the store writes it whole, then renames.
    lexical.save(path / files["lexical"])
    # A store holding nothing is falsy: it is saved as a new empty one (a Milvus collection is reset).
    write_atomic(path / files["vectors"], lambda tmp: (generation.dense or stores.new_dense(width)).save(tmp))
    fsync_dir(path)
    written = manifest()
    write_atomic(
        path / MANIFEST,
        lambda tmp: tmp.write_text(json.dumps(written, ensure_ascii=False, indent=2), encoding="utf-8"),
    )
    fsync_dir(path)


@contextlib.contextmanager
def reading(path: Path, name: str) -> Iterator[None]:
    """Turn any failure to read data file ``name`` into one :class:`IndexDamagedError` line."""
    try:
        yield
    except FileNotFoundError:
        raise IndexDamagedError(f"index at {path} is damaged: {name} is missing: {REPAIR}") from None
    except IndexDamagedError:
        raise
    except Exception as err:  # noqa: BLE001 - json, numpy, zip and faiss each raise their own kinds
        detail = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise IndexDamagedError(
            f"index at {path} is damaged: {name} is truncated or corrupt ({detail}): {REPAIR}"
        ) from None


def read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    """The JSON object on each non-blank line of ``path``."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def read_generation(path: Path, files: dict[str, str], stores: Stores) -> Generation:
    """Read the data ``files`` of one generation (the stores opened by ``stores``).

    Raises :class:`IndexDamagedError` naming the unreadable file when a data file is
    missing, truncated or malformed, or when a store's size disagrees with the chunks.
    """
    records = Records()
    with reading(path, files["articles"]):
        for row in read_jsonl(path / files["articles"]):
            holders = row.pop("held_by", None)
            article = Article.from_dict(row)
            records.articles[article.id] = article
            if holders:
                records.holders_of[article.id] = set(holders)
    with reading(path, files["chunks"]):
        for row in read_jsonl(path / files["chunks"]):
            slot = row.pop("slot")
            chunk = Chunk.from_dict(row)
            if slot >= len(records.slots):
                records.slots.extend([None] * (slot + 1 - len(records.slots)))
            records.slots[slot] = chunk
            records.slot_of[chunk.id] = slot
            records.by_article.setdefault(chunk.article_id, []).append(slot)
    with reading(path, files["sentences"]), np.load(path / files["sentences"]) as data:
        offsets = np.concatenate([[0], np.cumsum(data["count"])]).astype(int)
        spans, vectors = data["spans"], data["vectors"]
        for i, aid in enumerate(data["article"].tolist()):
            lo, hi = offsets[i], offsets[i + 1]
            records.sentences[aid] = SentenceTable(
                tuple((int(a), int(b)) for a, b in spans[lo:hi]), np.ascontiguousarray(vectors[lo:hi])
            )
    if not records.slot_of:
        return Generation(records)
    with reading(path, files["vectors"]):
        dense = stores.open_dense(path / files["vectors"])
    with reading(path, files["lexical"]):
        lexical = stores.open_lexical(path / files["lexical"])
    for what, store in (("vectors", dense), ("lexical entries", lexical)):
        if len(store) != len(records.slot_of):
            raise IndexDamagedError(
                f"index at {path} is damaged ({len(store)} {what} for "
                f"{len(records.slot_of)} chunks): {REPAIR}"
            )
    return Generation(records, dense, lexical)
