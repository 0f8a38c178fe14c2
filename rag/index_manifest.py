"""What an index directory is: its format version, file names and manifest, and the checks on loading.

Directory layout (``vectorstore/default/`` by default)::

    manifest.json            format version, model, dimension, chunker, stores, counts, file names
    records-<gen>.sqlite3    articles (with their answerable sentences' spans and vectors), page
                             holders and chunks by slot, versioned by generation (see rag.index_db)
    vectors-<gen>.faiss      the dense store's base (FAISS, flat or HNSW; see rag.store); ids are slots
    vectors-<gen>.f32        beside an HNSW base over 8-bit codes: its float vectors (rag.store_floats)
    vectors-<gen>.npz        a segment: the vectors added and ids removed by one save after the base
    lexical-<gen>/           the lexical store (tantivy over the jieba tokens; see rag.lexical)

``manifest.json`` names the data files that make up the index (files of several
generations: a save writes only what changed); how a
generation is written and read is :mod:`rag.index_files`, the in-memory index
:class:`rag.index.Index`.  Every check here raises an error that names the repair.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rag.chunk import ChunkerSettings
from rag.errors import IndexDamagedError, IndexMismatchError, IndexNotFoundError
from rag.protocols import Embedder, Stores

#: 3: BM25 by a lexical store (tantivy folder) instead of tokens in the chunks file; stores in the manifest.
#: 4: records in SQLite (versioned rows) and the dense store as a base plus segments: saves are incremental.
FORMAT_VERSION = 4
#: The file that names the current generation (replaced in one ``os.replace`` by a save).
MANIFEST = "manifest.json"
#: The file writers lock (never written to; its presence means nothing).
LOCK_FILE = ".lock"
#: How long a writer waits for another process's write to finish.
LOCK_WAIT_SECONDS = 600.0
#: A data file or folder of some generation (the generation is group 1 or 2).
#: (Older formats' names too, so a rebuild over an old index removes them.)
DATA_FILE = re.compile(
    r"^(?:(?:vectors|chunks|articles|sentences|records)-(\d{6})"
    r"\.(?:faiss|f32|jsonl|npz|json|sqlite3(?:-wal|-shm)?)|lexical-(\d{6}))$"
)
#: A temporary file a write in progress (or a killed one) left (a records file's journal too).
TEMP_FILE = re.compile(r"^\..*\.tmp(?:-wal|-shm|-journal)?$")
#: Changes whenever ``rag.bm25.tokenize`` would tokenise differently.
TOKENIZER_VERSION = "jieba-search-nfkc-userdict-v2"
#: What every damage message ends with: the command that repairs it.
REPAIR = "rebuild it with `rag ingest --rebuild [PAGES…]` (default: the seeds folder; re-add uploaded pages)"
#: The data files of an index, as the manifest's ``files`` keys (``segments``: a list, maybe empty).
FILE_KINDS = ("records", "vectors", "lexical")


def records_name(generation: int) -> str:
    """The name of a records file first written by ``generation``."""
    return f"records-{generation:06d}.sqlite3"


def lexical_name(generation: int) -> str:
    """The name of the lexical store's folder (or pointer file) of ``generation``."""
    return f"lexical-{generation:06d}"


def vectors_name(generation: int) -> str:
    """The name of a dense store's base file written by ``generation``."""
    return f"vectors-{generation:06d}.faiss"


def floats_name(base_name: str) -> str:
    """The float vectors' file kept beside base file ``base_name`` (``vectors-000003.faiss`` → ``….f32``)."""
    return base_name.removesuffix(".faiss") + ".f32"


def file_set(files: dict[str, Any]) -> set[str]:
    """Every name on disk that ``files`` (a manifest's) keeps alive: the records file's journal too."""
    names = {files[k] for k in FILE_KINDS} | set(files.get("segments", []))
    names.add(floats_name(files["vectors"]))  # a compressed graph's float vectors (when there are)
    return names | {f"{files['records']}-wal", f"{files['records']}-shm"}


def manifest_signature(path: Path | str) -> tuple[int, int, int] | None:
    """Inode, modification time and size of the manifest: changes whenever a save replaces it."""
    try:
        st = os.stat(Path(path) / MANIFEST)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the index at ``path`` as a dict.

    Raises :class:`IndexNotFoundError` when there is none and :class:`IndexDamagedError`
    when it cannot be read or is not a JSON object.
    """
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexNotFoundError(f"no index at {path}: build one with `rag ingest`") from None
    except (OSError, ValueError) as err:
        raise IndexDamagedError(
            f"index at {path} is damaged: cannot read {MANIFEST} ({err}): {REPAIR}"
        ) from err
    if not isinstance(manifest, dict):
        raise IndexDamagedError(
            f"index at {path} is damaged: {MANIFEST} holds a {type(manifest).__name__}, "
            f"not an object: {REPAIR}"
        )
    return manifest


def manifest_files(path: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's data file names, checked to be the kinds this version writes."""
    files = manifest.get("files")
    segments = files.get("segments", []) if isinstance(files, dict) else None
    if (
        not isinstance(files, dict)
        or not all(isinstance(files.get(k), str) and DATA_FILE.match(files[k]) for k in FILE_KINDS)
        or not isinstance(segments, list)
        or not all(isinstance(n, str) and DATA_FILE.match(n) for n in segments)
    ):
        raise IndexDamagedError(
            f"index at {path} is damaged: {MANIFEST} does not name its data files "
            f"({', '.join(FILE_KINDS)}): {REPAIR}"
        )
    return {**{k: files[k] for k in FILE_KINDS}, "segments": list(segments)}


def loadable_files(path: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The data files of a manifest this version wrote, checked complete (None for another format).

    A key this version always writes that is missing is damage
    (:class:`IndexDamagedError`), not a mismatch.
    """
    if manifest.get("format_version") != FORMAT_VERSION:
        return None
    lacking = [k for k in ("model", "chunker", "tokenizer", "generation") if k not in manifest]
    if lacking:
        raise IndexDamagedError(
            f"index at {path} is damaged: {MANIFEST} lacks {', '.join(lacking)}: {REPAIR}"
        )
    return manifest_files(path, manifest)


def check_manifest(
    path: Path, manifest: dict[str, Any], embedder: Embedder, chunker: ChunkerSettings, stores: Stores
) -> None:
    """Raise :class:`IndexMismatchError` naming what differs and how to fix it."""
    fix = "rebuild it with `rag ingest --rebuild` (or point RAG_INDEX_DIR elsewhere)"
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {path} has format {manifest.get('format_version')}, this version reads "
            f"{FORMAT_VERSION}: {fix}"
        )
    if manifest.get("model") != embedder.name:
        raise IndexMismatchError(
            f"index at {path} was built with model {manifest.get('model')!r} but the configured model is "
            f"{embedder.name!r}: {fix}, or set RAG_EMBEDDING_MODEL={manifest.get('model')}"
        )
    built = manifest.get("chunker", {})
    if built != asdict(chunker):
        raise IndexMismatchError(
            f"index at {path} was built with chunker {built} but the settings say {asdict(chunker)}: {fix}"
        )
    if manifest.get("tokenizer") != TOKENIZER_VERSION:
        raise IndexMismatchError(
            f"index at {path} was tokenised with {manifest.get('tokenizer')!r}, this version uses "
            f"{TOKENIZER_VERSION!r}: {fix}"
        )
    engine = (manifest.get("store") or {}).get("engine")
    if engine != stores.name:
        raise IndexMismatchError(
            f"index at {path} was built for the {engine!r} store but RAG_STORE is {stores.name!r}: {fix}, "
            f"or set RAG_STORE={engine}"
        )


def newest_generation(path: Path) -> int:
    """The highest generation the manifest or any data file in ``path`` names (0 if none).

    Read from the files as well as the manifest, so a damaged manifest or a killed
    save never leads to a generation number that is already on disk.
    """
    newest = 0
    with contextlib.suppress(OSError):
        for entry in path.iterdir():
            if match := DATA_FILE.match(entry.name):
                newest = max(newest, int(match.group(1) or match.group(2)))
    with contextlib.suppress(IndexDamagedError, IndexNotFoundError, OSError, TypeError, ValueError):
        newest = max(newest, int(read_manifest(path).get("generation", 0)))
    return newest
