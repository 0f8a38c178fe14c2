"""A chat backend running a GGUF model in this process (``RAG_GENERATOR=local``): no second server.

``RAG_LOCAL_MODEL`` names the model: ``qwen2.5-0.5b`` or ``qwen2.5-1.5b`` (files that
``rag model llm`` reassembled and verified in the cache, see :mod:`rag.llm.gguf_models`)
or a path to a ``.gguf`` file or a transformers model folder.  Two runtimes can run it:

* **llama.cpp** (``llama-cpp-python``), when it is installed: it runs the 4-bit file
  as it is (load < 1 s, 0.65 GB for the 0.5B model).  The weights are loaded without
  llama.cpp's "extra buffer types" (its repacked AMX/AVX-512 weight layouts), which
  virtual machines that hide those instructions reject with SIGILL at the first
  batched matrix product; and ``OMP_WAIT_POLICY=PASSIVE`` is set before it is imported,
  because OpenMP threads spinning between tokens on shared cores made generation 40
  times slower (9.6 → 0.2 tokens/s measured on 2 cores).
* **transformers** otherwise (with the ``gguf`` and ``accelerate`` packages, ``pip
  install 'taiyuan-rag[local]'``): it dequantises the GGUF once (about a minute for
  the 0.5B model) and saves a normal model folder beside the file in the cache, which
  later loads take seconds to read; then it runs as
  :class:`~rag.llm.transformers_backend.TransformersBackend`.

Both use the chat template stored in the GGUF file, stream tokens, and load on first
use.  ``deadline`` bounds each reply (loading not included): past it the stream stops
and :class:`~rag.llm.backend.BackendError` is raised, so the grounded generator gives
the extractive answer with its notice, as for the other backends.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from rag.e5convert import exclusive_lock
from rag.errors import ModelError
from rag.llm.backend import BackendError
from rag.llm.gguf_models import GGUFRelease, local_model_path, release_folder, resolve_release
from rag.llm.prompt import Message

log = logging.getLogger(__name__)

Runtime = Literal["auto", "llama-cpp", "transformers"]
#: Bump when the converted folder's layout changes, so that cached folders are rebuilt.
CONVERTER_VERSION = 1
#: Written last into a finished converted folder.
CONVERSION_MARKER = "gguf-conversion.json"
#: Seconds the runtime may run past the deadline before it is stopped from inside (the
#: stream itself is cut at the deadline; this only bounds a prompt still being read).
_BACKSTOP = 2.0


class _Engine(Protocol):
    """A loaded model that streams a reply."""

    def stream(self, messages: Sequence[Message], max_tokens: int, seconds: float) -> Iterator[str]:
        """Yield pieces of the reply to ``messages``; stop after ``seconds``."""
        ...


def llama_cpp_available() -> bool:
    """Whether ``llama-cpp-python`` is installed (checked without importing it)."""
    return importlib.util.find_spec("llama_cpp") is not None


def choose_runtime(runtime: Runtime, path: Path) -> Literal["llama-cpp", "transformers"]:
    """The runtime for the model at ``path``: llama.cpp for a GGUF file when installed, else transformers.

    Raises:
        ModelError: llama.cpp was asked for but is not installed, or the model is a folder.
    """
    gguf = path.is_file() and path.suffix.lower() == ".gguf"
    if runtime == "llama-cpp":
        if not gguf:
            raise ModelError(f"RAG_LOCAL_RUNTIME=llama-cpp needs a .gguf file, not {path}")
        if not llama_cpp_available():
            raise ModelError(
                "RAG_LOCAL_RUNTIME=llama-cpp needs llama-cpp-python: "
                'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python'
            )
        return "llama-cpp"
    if runtime == "transformers" or not gguf:
        return "transformers"
    return "llama-cpp" if llama_cpp_available() else "transformers"


class LocalBackend:
    """Streams replies of a local GGUF model (llama.cpp when installed, else transformers).

    Args:
        model: ``qwen2.5-0.5b``, ``qwen2.5-1.5b`` (in the cache) or a path to a ``.gguf``
            file or a transformers model folder.
        cache_dir: the cache (``RAG_CACHE_DIR``); converted folders are saved there too.
        runtime: ``auto``, ``llama-cpp`` or ``transformers``.
        threads: CPU threads for the model (None: the runtime's default).
        context_tokens: llama.cpp's context window (prompt plus reply).
        max_tokens: longest reply, in tokens.
        temperature: sampling temperature (0: greedy).
        deadline: seconds a reply may take (loading not included).
        device: torch device of the transformers runtime (None: ``cuda`` when present).

    Raises:
        ModelError: the model is not in the cache (with the command that downloads it),
            or the path does not exist.  Nothing is loaded or hashed here.
    """

    def __init__(
        self,
        model: str,
        *,
        cache_dir: Path,
        runtime: Runtime = "auto",
        threads: int | None = None,
        context_tokens: int = 4096,
        max_tokens: int = 512,
        temperature: float = 0.2,
        deadline: float = 120.0,
        device: str | None = None,
    ) -> None:
        self.spec = model
        self.cache_dir = Path(cache_dir).expanduser()
        self.release: GGUFRelease | None = resolve_release(model)
        if self.release is not None:
            self.path = release_folder(self.release, self.cache_dir) / self.release.filename
            if not self.path.is_file():
                local_model_path(model, self.cache_dir)  # raises with the download command
        else:
            self.path = Path(model).expanduser()
            if not self.path.exists():
                raise ModelError(f"no local model at {self.path} (RAG_LOCAL_MODEL)")
        self.runtime: Literal["llama-cpp", "transformers"] = choose_runtime(runtime, self.path)
        self.threads = threads
        self.context_tokens = context_tokens
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.deadline = deadline
        self.device = device
        self._engine: _Engine | None = None
        self._load_lock = threading.Lock()
        #: Seconds the last :meth:`load` took (None until loaded).
        self.load_seconds: float | None = None

    @property
    def name(self) -> str:
        """``local:<model>`` (the release name or the file name)."""
        return f"local:{self.release.name if self.release else self.path.name}"

    def load(self) -> _Engine:
        """The loaded model (verified, converted and loaded on first call)."""
        if self._engine is None:
            with self._load_lock:
                if self._engine is None:
                    started = time.perf_counter()
                    self._engine = self._load()
                    self.load_seconds = time.perf_counter() - started
                    log.info("%s loaded with %s in %.1f s", self.name, self.runtime, self.load_seconds)
        return self._engine

    def _load(self) -> _Engine:
        path = local_model_path(self.spec, self.cache_dir)  # verifies a cached release (marker or hash)
        if self.runtime == "llama-cpp":
            return LlamaCppEngine(
                path, threads=self.threads, context_tokens=self.context_tokens, temperature=self.temperature
            )
        folder = path if path.is_dir() else ensure_transformers_folder(path, self._converted_folder(path))
        return TransformersEngine(
            folder, threads=self.threads, device=self.device, temperature=self.temperature
        )

    def _converted_folder(self, gguf: Path) -> Path:
        """Where the transformers folder converted from ``gguf`` is kept."""
        if self.release is not None:
            return release_folder(self.release, self.cache_dir) / "transformers"
        stat = gguf.stat()
        key = f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()
        return self.cache_dir / "models" / f"gguf-{gguf.stem}-{hashlib.sha256(key).hexdigest()[:12]}"

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, deadline: float | None = None
    ) -> Iterator[str]:
        """Yield pieces of the reply; raise :class:`BackendError` past the deadline or on failure."""
        try:
            engine = self.load()
        except BackendError:
            raise
        except Exception as err:  # noqa: BLE001 - a model that cannot load is unavailable, not a crash
            raise BackendError(f"cannot load the local model: {err}") from err
        seconds = deadline or self.deadline
        until = time.monotonic() + seconds
        late = BackendError(f"the local model took longer than {seconds:g} s")
        pieces = engine.stream(messages, max_tokens or self.max_tokens, seconds + _BACKSTOP)
        try:
            for piece in pieces:
                if time.monotonic() > until:
                    raise late
                yield piece
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # stops the generation when the reader went away or was too slow
        if time.monotonic() > until:
            raise late  # the runtime's own time limit cut the reply short


# -- llama.cpp ---------------------------------------------------------------------------


@contextlib.contextmanager
def _without_extra_buffers(llama_cpp: Any) -> Iterator[None]:
    """Make llama.cpp load weights without its extra (repacked, AMX) buffer types.

    llama-cpp-python has no parameter for ``use_extra_bufts``: the Llama constructor
    takes its model parameters from ``llama_model_default_params()``, patched here for
    the duration of the construction.
    """
    native = getattr(llama_cpp, "llama_cpp", llama_cpp)
    original = native.llama_model_default_params

    def defaults() -> Any:
        params = original()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    native.llama_model_default_params = defaults
    try:
        yield
    finally:
        native.llama_model_default_params = original


class LlamaCppEngine:
    """A GGUF file run by llama-cpp-python, with the chat template the file carries."""

    def __init__(self, path: Path, *, threads: int | None, context_tokens: int, temperature: float) -> None:
        # Read by the OpenMP runtime when llama.cpp's library loads: it must be set before the import.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import llama_cpp

        with _without_extra_buffers(llama_cpp):
            try:
                self.llm: Any = llama_cpp.Llama(  # Any: its stubs type a stream as str | response
                    model_path=str(path),
                    n_ctx=context_tokens,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                )
            except Exception as err:  # noqa: BLE001 - llama.cpp raises ValueError/RuntimeError alike
                raise BackendError(f"llama.cpp cannot load {path}: {err}") from err
        if "tokenizer.chat_template" in (getattr(self.llm, "metadata", None) or {}):
            # The file's own template, not a format llama-cpp-python guesses from it.
            self.llm.chat_format = "chat_template.default"
        self.temperature = temperature
        self._lock = threading.Lock()  # one llama.cpp context: one reply at a time

    def stream(self, messages: Sequence[Message], max_tokens: int, seconds: float) -> Iterator[str]:
        """Yield the content pieces of a streamed chat completion."""
        if not self._lock.acquire(timeout=seconds):
            raise BackendError("the local model is busy with other questions")
        try:
            chunks = self.llm.create_chat_completion(
                messages=list(messages), max_tokens=max_tokens, temperature=self.temperature, stream=True
            )
            for chunk in chunks:
                for choice in chunk.get("choices") or []:
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        yield content
        except BackendError:
            raise
        except GeneratorExit:
            raise
        except Exception as err:  # noqa: BLE001 - any failure of the model is the backend's failure
            raise BackendError(f"the local model failed: {err}") from err
        finally:
            self._lock.release()


# -- transformers ------------------------------------------------------------------------


class TransformersEngine:
    """A transformers model folder (converted from the GGUF) run by :class:`TransformersBackend`."""

    def __init__(self, folder: Path, *, threads: int | None, device: str | None, temperature: float) -> None:
        from rag.llm.transformers_backend import TransformersBackend

        if threads:
            import torch

            # Process-wide: the embedder shares the pool (one process, one set of cores).
            torch.set_num_threads(threads)
        self.backend = TransformersBackend(folder, device=device, temperature=temperature)
        self.backend.load()

    def stream(self, messages: Sequence[Message], max_tokens: int, seconds: float) -> Iterator[str]:
        """Yield decoded pieces as the model generates them."""
        return self.backend.stream(messages, max_tokens=max_tokens, deadline=seconds)


def _fingerprint(gguf: Path) -> dict[str, Any]:
    stat = gguf.stat()
    return {
        "source": gguf.name,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "converter": CONVERTER_VERSION,
    }


def converted(folder: Path, gguf: Path) -> bool:
    """Whether ``folder`` holds a finished conversion of the current ``gguf`` file."""
    try:
        data = json.loads((folder / CONVERSION_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and all(data.get(k) == v for k, v in _fingerprint(gguf).items())


def ensure_transformers_folder(gguf: Path, folder: Path) -> Path:
    """A transformers folder of the model in ``gguf`` at ``folder``, converting it first when needed.

    The GGUF is dequantised by transformers (the ``gguf`` and ``accelerate`` packages)
    and saved in float16 (half the disk of float32; the backend computes in float32 on a
    CPU).  The folder is written beside its final place and renamed into it, with a
    marker recording the source file's size and modification time, so an interrupted
    conversion is never mistaken for a finished one.

    Raises:
        ModelError: the packages are missing, or transformers cannot read the file.
    """
    if converted(folder, gguf):
        return folder
    missing = [m for m in ("gguf", "accelerate") if importlib.util.find_spec(m) is None]
    if missing:
        raise ModelError(
            f"loading {gguf.name} without llama-cpp-python needs {' and '.join(missing)}: "
            "pip install 'taiyuan-rag[local]'"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    # A second process waits for the first one's conversion instead of doing it again.
    with exclusive_lock(folder.parent / f".{folder.name}.lock"):
        if not converted(folder, gguf):
            _convert(gguf, folder)
    return folder


def _convert(gguf: Path, folder: Path) -> None:
    """Dequantise ``gguf`` with transformers and save it as a model folder at ``folder``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s into %s (once; about a minute per 0.5B parameters)", gguf, folder)
    started = time.perf_counter()
    build = folder.with_name(f".{folder.name}.build-{os.getpid()}")
    shutil.rmtree(build, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, local_files_only=True, dtype=torch.float32
        )
        # Dequantised, the weights are plain tensors; only the loader's GGUF bookkeeping
        # (which transformers refuses to save) stands between them and a normal folder.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.to(torch.float16).save_pretrained(build)
        tokenizer.save_pretrained(build)
        marker = {**_fingerprint(gguf), "seconds": round(time.perf_counter() - started, 1)}
        (build / CONVERSION_MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(build, folder)
    except ModelError:
        raise
    except Exception as err:  # noqa: BLE001 - any failure of the conversion is the same to the user
        raise ModelError(f"cannot convert {gguf} into a transformers folder: {err}") from err
    finally:
        shutil.rmtree(build, ignore_errors=True)
    log.info("converted %s in %.0f s", gguf.name, time.perf_counter() - started)


__all__ = [
    "CONVERSION_MARKER",
    "LlamaCppEngine",
    "LocalBackend",
    "Runtime",
    "TransformersEngine",
    "choose_runtime",
    "converted",
    "ensure_transformers_folder",
    "llama_cpp_available",
]
