"""The pipeline facade: follow-ups are searched as standalone questions and inherit refusals."""

from pathlib import Path

import pytest

from rag.generate import REFUSAL_TEXT
from rag.pipeline import build_pipeline
from rag.settings import Settings
from rag.types import Turn

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("index") / "index"
    settings = Settings(index_dir=index_dir, seeds_dir=SEEDS, embedding_model="hashing:128")
    return build_pipeline(settings)


def test_a_follow_up_carries_the_standalone_query(pipeline):
    first = "第八届进博会山西展厅面积多大？"
    history = [Turn("user", first), Turn("assistant", pipeline.ask(first).text)]
    answer = pipeline.ask("那它有多少家企业参展？", history=history)
    assert answer.query != answer.question and "山西展厅" in answer.query
    assert not answer.refused and "26家" in answer.text and "它" not in answer.text


def test_a_follow_up_of_a_refused_question_is_refused(pipeline):
    first = "太原今年的地区生产总值是多少？"
    refused = pipeline.ask(first)
    assert refused.refused
    history = [Turn("user", first), Turn("assistant", refused.text)]
    answer = pipeline.ask("那它有多少家企业参展？", history=history)
    assert answer.refused and answer.text == REFUSAL_TEXT and not answer.citations
    assert answer.analysis == {"decision": "the question it follows was refused"}
