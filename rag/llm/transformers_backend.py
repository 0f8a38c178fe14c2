"""A chat backend running a causal language model from a local folder with ``transformers``.

The folder is what ``save_pretrained`` writes (or a single ``.gguf`` file, which
transformers dequantises when the ``gguf`` package is installed); nothing is ever
downloaded.  The model loads on first use, on ``cuda`` when present unless a device is
configured.  The tokenizer's chat template formats the messages when it has one (with
the system message folded into the first user message for templates that reject it);
otherwise a plain 系统/用户/助手 transcript is used.  Text is streamed with
``TextIteratorStreamer`` from a generation thread; one generation runs at a time, and
a generation whose reader went away stops at the next token.

The rules (the system message) open every prompt: their key/value cache is computed
once and reused, so each question's prompt is read from where the rules end (on a CPU,
reading the prompt is most of the wait for the first token).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rag.errors import ModelError
from rag.llm.backend import BackendError
from rag.llm.prompt import Message, merge_system, render_plain

log = logging.getLogger(__name__)

#: Fewest new tokens worth generating when a long prompt leaves little room.
MIN_NEW_TOKENS = 32


def default_device() -> str:
    """``cuda`` when a GPU is usable, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _cache_argument(model: Any) -> str:
    """How ``generate`` takes a starting cache: ``cache`` (recent transformers) or ``past_key_values``."""
    import inspect

    # generate() takes **kwargs and hands the cache to prepare_inputs_for_generation, whose
    # parameter was renamed; the old name still works there, with a deprecation warning.
    parameters = inspect.signature(inspect.unwrap(type(model).prepare_inputs_for_generation)).parameters
    return "cache" if "cache" in parameters else "past_key_values"


class TransformersBackend:
    """Streams replies of a local causal language model.

    Args:
        path: a model folder (``config.json``, weights, tokenizer) or a ``.gguf`` file.
        device: torch device; None picks ``cuda`` when present, else ``cpu``.
        max_tokens: longest reply, in tokens.
        temperature: sampling temperature (0: greedy decoding).
        deadline: seconds a reply may take; generation stops there.

    Raises:
        ModelError: when ``path`` does not exist.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        device: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.2,
        deadline: float = 120.0,
    ) -> None:
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise ModelError(f"no language model at {self.path} (RAG_TRANSFORMERS_MODEL)")
        self.device = device
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.deadline = deadline
        self._loaded: tuple[Any, Any] | None = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        #: (token ids of the rendered system message, the model's cache after reading them).
        self._prefix: tuple[tuple[int, ...], Any] | None = None

    @property
    def name(self) -> str:
        """``transformers:<folder name>``."""
        return f"transformers:{self.path.name}"

    def load(self) -> tuple[Any, Any]:
        """The (tokenizer, model) pair, loaded on first call."""
        if self._loaded is None:
            with self._load_lock:
                if self._loaded is None:
                    self._loaded = self._load()
        return self._loaded

    def _load(self) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = self.device or default_device()
        folder, extra = self.path, {}
        if self.path.is_file() and self.path.suffix == ".gguf":
            folder, extra = self.path.parent, {"gguf_file": self.path.name}
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **extra)
            model = AutoModelForCausalLM.from_pretrained(
                folder,
                local_files_only=True,
                # Half precision only where it is fast; on a CPU float32 is both faster and safer.
                dtype=torch.float32 if device == "cpu" else "auto",
                **extra,
            )
        except Exception as err:  # noqa: BLE001 - any loading failure is the same to the user
            raise BackendError(f"cannot load the language model in {self.path}: {err}") from err
        model.to(device).eval()
        log.info("loaded %s on %s", self.path, device)
        return tokenizer, model

    def prompt(self, messages: Sequence[Message]) -> str:
        """The prompt text for ``messages``: the chat template's, or a plain transcript."""
        tokenizer, _ = self.load()
        if not getattr(tokenizer, "chat_template", None):
            return render_plain(messages)
        try:
            text = tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
        except Exception:  # noqa: BLE001 - jinja raises its own errors for unsupported roles
            text = tokenizer.apply_chat_template(
                merge_system(messages), tokenize=False, add_generation_prompt=True
            )
        return str(text)

    def _prefix_ids(self, messages: Sequence[Message], prompt: str) -> tuple[int, ...]:
        """Token ids of the rendered system message when the prompt starts with them, else ()."""
        tokenizer, _ = self.load()
        if not messages or messages[0]["role"] != "system" or not getattr(tokenizer, "chat_template", None):
            return ()
        try:
            head = str(tokenizer.apply_chat_template([messages[0]], tokenize=False))
        except Exception:  # noqa: BLE001 - a template that rejects a lone system message
            return ()
        if not head or not prompt.startswith(head):
            return ()
        return tuple(tokenizer(head, add_special_tokens=False)["input_ids"])

    def _prefix_cache(self, model: Any, input_ids: Any, prefix: tuple[int, ...]) -> Any | None:
        """A copy of the cache after reading ``prefix`` when ``input_ids`` start with it (computed once)."""
        import torch

        n = len(prefix)
        if not n or input_ids.shape[1] <= n or tuple(input_ids[0, :n].tolist()) != prefix:
            return None  # the tokens at the seam differ: read the whole prompt
        if self._prefix is None or self._prefix[0] != prefix:
            with torch.inference_mode():
                out = model(input_ids[:, :n], use_cache=True)
            # ``cache`` in recent transformers (``past_key_values`` still answers there, with a warning).
            cache = out["cache"] if "cache" in out else out["past_key_values"]
            self._prefix = (prefix, cache)
        return copy.deepcopy(self._prefix[1])

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, deadline: float | None = None
    ) -> Iterator[str]:
        """Yield decoded pieces of the model's reply as it is generated."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        tokenizer, model = self.load()
        has_template = bool(getattr(tokenizer, "chat_template", None))
        prompt = self.prompt(messages)
        prefix = self._prefix_ids(messages, prompt)
        # A chat template writes its own BOS; a plain transcript needs the tokenizer's.
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=not has_template)
        inputs = {k: v.to(model.device) for k, v in inputs.items()}
        prompt_tokens = int(inputs["input_ids"].shape[1])
        new_tokens = max_tokens or self.max_tokens
        limit = getattr(model.config, "max_position_embeddings", None)
        if limit and prompt_tokens + new_tokens > limit:
            new_tokens = limit - prompt_tokens
            if new_tokens < MIN_NEW_TOKENS:
                raise BackendError(f"the prompt ({prompt_tokens} tokens) is too long for the model ({limit})")
        seconds = deadline or self.deadline
        stop = threading.Event()

        class _Stop(StoppingCriteria):  # type: ignore[misc]  # transformers is read as Any
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full(
                    (input_ids.shape[0],), stop.is_set(), dtype=torch.bool, device=input_ids.device
                )

        # The reader waits at most this long for a piece; generation itself stops at max_time.
        streamer = TextIteratorStreamer(
            tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=seconds + 30
        )
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": self.temperature}
            if self.temperature > 0
            else {"do_sample": False}
        )
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        kwargs = {
            **inputs,
            **sampling,
            "streamer": streamer,
            "max_new_tokens": new_tokens,
            "max_time": seconds,
            "pad_token_id": pad,
            "stopping_criteria": StoppingCriteriaList([_Stop()]),
        }
        failure: list[BaseException] = []

        def run() -> None:
            try:
                cache = self._prefix_cache(model, inputs["input_ids"], prefix)
                if cache is not None:
                    kwargs[_cache_argument(model)] = cache
                with torch.inference_mode():
                    model.generate(**kwargs)
            except BaseException as err:  # noqa: BLE001 - reported to the reader below
                failure.append(err)
                streamer.end()
            finally:
                self._generate_lock.release()

        if not self._generate_lock.acquire(timeout=seconds):
            raise BackendError("the local model is busy with other questions")
        threading.Thread(target=run, name="rag-generate", daemon=True).start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        except Exception as err:  # queue.Empty: the model produced nothing for too long
            raise BackendError("the local model took too long to answer") from err
        finally:
            stop.set()  # a reader that went away (or failed) stops the generation
        if failure:
            raise BackendError(f"the local model failed: {failure[0]}") from failure[0]


__all__ = ["TransformersBackend", "default_device", "MIN_NEW_TOKENS"]
