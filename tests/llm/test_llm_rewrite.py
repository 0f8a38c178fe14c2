"""Follow-up questions rewritten by the model, with the rule-based rewrite as fallback, in the pipeline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from llm_helpers import SEEDS, Behaviour

from rag.conversation import rewrite_followup
from rag.embed import HashingEmbedder
from rag.generate import ExtractiveGenerator
from rag.llm.generator import GroundedGenerator
from rag.llm.openai_backend import OpenAIBackend
from rag.llm.rewrite import ModelQueryRewriter, clean_rewrite
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Answer, Turn

HISTORY = [Turn("user", "太原理工大学谁参加了南极科考？"), Turn("assistant", "博士生王煜尘[1]。")]
FOLLOWUP = "他要在那里待多久？"


@pytest.fixture
def rewriter(llm_server, sleeps) -> ModelQueryRewriter:
    backend = OpenAIBackend(llm_server.base_url, "m", timeout=1.0, retries=0, backoff=0.01, sleep=sleeps)
    return ModelQueryRewriter(backend, deadline=5.0)


def test_the_model_rewrite_is_used(rewriter, llm_server) -> None:
    llm_server.play(llm_server.say("改写后的问题：“太原理工大学博士生王煜尘要在南极待多久？”"))
    assert rewriter(FOLLOWUP, HISTORY) == "太原理工大学博士生王煜尘要在南极待多久？"
    request = llm_server.requests[0]
    assert request["max_tokens"] == 96
    assert "追问：他要在那里待多久？" in request["messages"][-1]["content"]
    assert "用户：太原理工大学谁参加了南极科考？" in request["messages"][-1]["content"]


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "太原理工大学博士生王煜尘要在南极待多久？\n这个问题问的是越冬时间。",
        "资料中没有提到。",
        "王煜尘[1]",
        "问" * 300,
    ],
)
def test_an_unusable_rewrite_falls_back_to_the_rules(rewriter, llm_server, reply: str) -> None:
    llm_server.play(llm_server.say(reply))
    assert rewriter(FOLLOWUP, HISTORY) == rewrite_followup(FOLLOWUP, HISTORY)


def test_a_failing_model_falls_back_to_the_rules(rewriter, llm_server) -> None:
    llm_server.play(Behaviour(status=503))
    assert rewriter(FOLLOWUP, HISTORY) == rewrite_followup(FOLLOWUP, HISTORY)


def test_no_earlier_question_means_no_request(rewriter, llm_server) -> None:
    assert rewriter(FOLLOWUP, []) == FOLLOWUP
    assert rewriter(FOLLOWUP, [Turn("assistant", "你好")]) == FOLLOWUP
    assert llm_server.requests == []


def test_clean_rewrite() -> None:
    assert clean_rewrite("<think>嗯</think>\n「王煜尘何时出发？」") == "王煜尘何时出发？"
    assert clean_rewrite("问题: 王煜尘何时出发？") == "王煜尘何时出发？"
    assert clean_rewrite("是") is None


def test_the_pipeline_retrieves_with_the_model_rewrite_and_streams_the_answer(
    llm_server, tmp_path: Path
) -> None:
    settings = Settings(seeds_dir=SEEDS, index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    backend = OpenAIBackend(llm_server.base_url, "m", timeout=2.0, retries=0)
    pipeline = Pipeline(
        settings,
        HashingEmbedder(),
        GroundedGenerator("openai", backend, ExtractiveGenerator()),
        rewriter=ModelQueryRewriter(backend),
    )

    def cite_the_expedition(request: dict) -> Behaviour:
        # A model that cites whichever number the expedition article was given.
        data = request["messages"][-1]["content"]
        found = re.search(r'<资料 编号="(\d+)" 标题="太原理工大学两人参加中国第38次南极科考"', data)
        assert found, "the expedition article was not retrieved"
        return llm_server.say(f"王煜尘将参加历时500多天的南极中山站越冬考察任务[{found[1]}]。")

    llm_server.play(llm_server.say("太原理工大学博士生王煜尘参加南极越冬考察要多久？"), cite_the_expedition)
    assert pipeline.standalone_query(FOLLOWUP, ()) == FOLLOWUP  # no history, no request
    items = list(pipeline.ask_stream(FOLLOWUP, history=HISTORY))
    answer = items[-1]
    assert isinstance(answer, Answer) and answer.question == FOLLOWUP
    # Retrieval and the answer used the model's rewrite.
    answer_prompt = llm_server.requests[1]["messages"][-1]["content"]
    assert "问题：太原理工大学博士生王煜尘参加南极越冬考察要多久？" in answer_prompt
    assert answer.generator == "openai", answer.notice
    (citation,) = answer.citations
    assert citation.article_id == "45e59a9c7866" and "500多天" in citation.quote
    assert "".join(i for i in items[:-1] if isinstance(i, str)).startswith("王煜尘")
