"""The local generator end to end with the real Qwen2.5-Coder-0.5B-Instruct model (slow).

Runs only when ``rag model llm --size 0.5b`` has put the model in the cache
(``RAG_CACHE_DIR``, default ``~/.cache/taiyuan-rag``) and a runtime can load it
(llama-cpp-python, or transformers with ``pip install '.[local]'``); otherwise it is
skipped with the reason.  The first run without llama-cpp-python also converts the
GGUF into a transformers folder in the cache (about 1.5 minutes, once).

Three seed questions and one unanswerable one go through the pipeline built from the
settings: each answerable one gets a correct, cited answer (the model's when it passes
the checks, else the extractive one with a notice) and the model's text is streamed;
the unanswerable one is refused before the model is called.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
from llm_helpers import SEEDS

from rag.build import build_pipeline
from rag.llm.generator import GroundedGenerator
from rag.llm.gguf_models import RELEASES, release_path
from rag.llm.local_backend import llama_cpp_available
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Answer

pytestmark = pytest.mark.slow

#: (question, a gold answer) from eval/qa_dev.jsonl.
QUESTIONS = [
    ("第八届进博会的山西展厅面积有多大？", "435平方米"),
    ("太原理工大学获批多少个国家自然科学基金项目？", "135"),
    ("第八届进博会山西展厅一共汇集了全省多少家企业？", "26家"),
]
#: From eval/qa_near_miss.jsonl: no page speaks of a 9th 进博会.
UNANSWERABLE = "第九届进博会上，山西展厅以什么为主题？"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    cache = Settings().cache_dir
    model = release_path(RELEASES["qwen2.5-0.5b"], cache)
    if not model.is_file():
        pytest.skip(f"the local model is not in {model.parent}: run `rag model llm --size 0.5b` (491 MB)")
    if not llama_cpp_available() and not all(importlib.util.find_spec(m) for m in ("gguf", "accelerate")):
        pytest.skip("no runtime for the local model: pip install '.[local]' (or llama-cpp-python)")
    settings = Settings(
        generator="local",
        local_model="qwen2.5-0.5b",
        cache_dir=cache,
        temperature=0.0,
        llm_deadline=120.0,
        index_dir=tmp_path_factory.mktemp("index") / "index",
        seeds_dir=SEEDS,
    )
    return build_pipeline(settings)


@pytest.fixture(scope="module")
def calls(pipeline: Pipeline) -> list[str]:
    """The model's raw replies, one per call."""
    generator = pipeline.generator
    assert isinstance(generator, GroundedGenerator)
    backend, replies = generator.backend, []

    class Recording:
        name = backend.name

        def stream(self, messages, **kwargs) -> Iterator[str]:  # type: ignore[no-untyped-def]
            replies.append("")
            for piece in backend.stream(messages, **kwargs):
                replies[-1] += piece
                yield piece

    generator.backend = Recording()  # type: ignore[assignment]
    return replies


def ask(pipeline: Pipeline, question: str) -> tuple[list[str], Answer]:
    items = list(pipeline.ask_stream(question))
    answer = items[-1]
    assert isinstance(answer, Answer)
    return [i for i in items if isinstance(i, str)], answer


def test_seed_questions_are_answered_correctly_with_citations_and_streamed(pipeline, calls) -> None:
    by_model = 0
    for question, gold in QUESTIONS:
        before = len(calls)
        pieces, answer = ask(pipeline, question)
        assert len(calls) == before + 1, "the model was not asked"
        assert pieces and "".join(pieces).strip(), "nothing was streamed"
        assert not answer.refused and gold in answer.text, (question, answer.text, calls[-1])
        assert answer.citations
        if answer.generator == "local":
            by_model += 1
            assert not answer.notice
        else:
            assert answer.generator == "extractive" and answer.notice  # the checks rejected the model's text
        for c in answer.citations:
            assert pipeline.article(c.article_id).body[c.start : c.end] == c.quote
    assert by_model >= 1, "no answer of the model passed the checks"


def test_an_unanswerable_question_is_refused_without_calling_the_model(pipeline, calls) -> None:
    before = len(calls)
    pieces, answer = ask(pipeline, UNANSWERABLE)
    assert answer.refused and not pieces
    assert len(calls) == before, "the model was called for a question the pages cannot answer"


def test_without_llama_cpp_the_converted_folder_is_kept_for_the_next_load(pipeline, calls) -> None:
    if llama_cpp_available():
        pytest.skip("llama.cpp runs the GGUF file itself")
    converted = release_path(RELEASES["qwen2.5-0.5b"], pipeline.settings.cache_dir).parent / "transformers"
    assert (converted / "config.json").is_file() and (converted / "gguf-conversion.json").is_file()
