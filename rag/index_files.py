"""Writing and reading an index's data files, atomically and under a lock.

Saving writes only what changed (rows in the records file tagged with the new
generation, a segment of the dense store, the lexical store's new segments), then
replaces ``manifest.json`` in one ``os.replace``: a process killed at any point leaves
either the old or the new manifest, each pointing at complete files, and rows a killed
save tagged are invisible to the old generation and rolled back by the next writer, so
the index always loads.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from rag.errors import IndexBusyError, IndexDamagedError, IndexWriteError
from rag.index_db import RecordsDatabase
from rag.index_manifest import (
    DATA_FILE,
    LOCK_FILE,
    LOCK_WAIT_SECONDS,
    MANIFEST,
    REPAIR,
    TEMP_FILE,
    file_set,
    floats_name,
    lexical_name,
    manifest_files,
    read_manifest,
    records_name,
    vectors_name,
)
from rag.index_records import Records
from rag.protocols import DenseStore, LexicalStore, Stores


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
            keep = file_set(manifest_files(path, read_manifest(path)))
            return remove_other_generations(path, keep)
    except (IndexBusyError, IndexWriteError, IndexDamagedError, OSError):
        return []


def write_generation(
    path: Path,
    generation: int,
    contents: Generation,
    stores: Stores,
    manifest: Callable[[dict[str, Any]], dict[str, Any]],
    written: list[str],
) -> dict[str, Any]:
    """Write what changed since the files ``path`` holds, then the manifest naming them; the files.

    The records file is shared by every generation (its rows are versioned); it is
    written anew only when ``contents.records`` lives elsewhere (a new index) or holds
    enough removed rows to compact.  A dense store that can (FAISS) writes a segment of
    its changes (:meth:`rag.store.FaissVectorStore.persist`); another (Milvus) writes its
    pointer file.  ``contents.lexical`` must exist (an empty index saves an empty lexical
    store).  ``manifest`` is called with the file names once they are on disk; the names
    of the files written are appended to ``written`` as they are made (removed on failure).
    """
    records, lexical = contents.records, contents.lexical
    if lexical is None:
        raise ValueError("write_generation needs a lexical store (an empty one for an empty index)")
    width = (contents.dense.dimension if contents.dense is not None else None) or 1
    records.prepare_save()
    fresh: RecordsDatabase | None = None
    records_file = records.database.path.name
    if records.database.path.parent != path or records.needs_compaction():
        records_file = records_name(generation)
        written.append(records_file)

        def copy_records(tmp: Path) -> None:
            tmp.unlink()  # the records file is made by SQLite itself
            records.write_copy(tmp)

        write_atomic(path / records_file, copy_records)
        fresh = RecordsDatabase(path / records_file)
    # A folder (tantivy) or a pointer file (Milvus): the store writes it whole (tantivy: links), then renames.
    written.append(lexical_name(generation))
    lexical.save(path / lexical_name(generation))
    # A store holding nothing is falsy: it is saved as a new empty one (a Milvus collection is reset).
    dense = contents.dense or stores.new_dense(width)
    persist = getattr(dense, "persist", None)
    if persist is not None:
        written.append(f"vectors-{generation:06d}.npz")
        written.append(vectors_name(generation))
        written.append(floats_name(vectors_name(generation)))
        vectors: list[str] = persist(path, generation)
    else:
        written.append(vectors_name(generation))
        write_atomic(path / vectors_name(generation), dense.save)
        vectors = [vectors_name(generation)]
    fsync_dir(path)
    files = {
        "records": records_file,
        "vectors": vectors[0],
        "lexical": lexical_name(generation),
        "segments": vectors[1:],
    }
    text = json.dumps(manifest(files), ensure_ascii=False, indent=2)
    write_atomic(path / MANIFEST, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    fsync_dir(path)
    records.saved(generation, fresh)
    if persist is not None:
        dense.persisted(path, vectors)  # type: ignore[attr-defined]
    return files


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


def read_generation(path: Path, files: dict[str, Any], generation: int, stores: Stores) -> Generation:
    """Open the data ``files`` of an index at ``generation`` (the stores opened by ``stores``).

    Raises :class:`IndexDamagedError` naming the unreadable file when a data file is
    missing, truncated or malformed, or when a store's size disagrees with the chunks.
    """
    with reading(path, files["records"]):
        records = Records(RecordsDatabase(path / files["records"]), generation)
        chunks = len(records)
    if not chunks:
        return Generation(records)
    with reading(path, files["vectors"]):
        dense = stores.open_dense(path / files["vectors"])
    for segment in files.get("segments", []):
        with reading(path, segment):
            dense.apply_segment(path / segment)  # type: ignore[attr-defined]
    with reading(path, files["lexical"]):
        lexical = stores.open_lexical(path / files["lexical"])
    for what, store in (("vectors", dense), ("lexical entries", lexical)):
        if len(store) != chunks:
            raise IndexDamagedError(
                f"index at {path} is damaged ({len(store)} {what} for {chunks} chunks): {REPAIR}"
            )
    return Generation(records, dense, lexical)
