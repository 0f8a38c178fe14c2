"""Fixtures for the language-model generators (helpers in ``llm_helpers``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from llm_helpers import SEEDS, ScriptedLLM, passage_of

from rag.generate import ExtractiveGenerator
from rag.llm.generator import GroundedGenerator
from rag.llm.openai_backend import OpenAIBackend
from rag.parse import load_pages
from rag.types import Article, Passage

#: 理工大获批国家自然科学基金项目135个 / 太原理工大学两人参加中国第38次南极科考 / 太原市图书馆自习室座无虚席
PASSAGE_IDS = ("4cc5be9f9913", "45e59a9c7866", "26ee6a898d90")


@pytest.fixture(scope="session")
def articles() -> dict[str, Article]:
    """The seed pages' articles by id."""
    return {a.id: a for a in load_pages([SEEDS])}


@pytest.fixture
def passages(articles: dict[str, Article]) -> list[Passage]:
    """Three passages: the NSFC grants article, the Antarctic expedition article, the library brief."""
    return [passage_of(articles[i], rank) for rank, i in enumerate(PASSAGE_IDS, start=1)]


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLM]:
    """A running scripted server, stopped after the test."""
    server = ScriptedLLM().start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Sleeps:
    """Records back-off delays instead of sleeping them (a little real sleep keeps the order)."""

    delays: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        time.sleep(min(seconds, 0.01))


@pytest.fixture
def sleeps() -> Sleeps:
    """A back-off recorder."""
    return Sleeps()


@pytest.fixture
def make_generator(llm_server: ScriptedLLM, sleeps: Sleeps) -> Callable[..., GroundedGenerator]:
    """Build an ``openai`` grounded generator against the scripted server (short timeouts)."""

    def make(**overrides: Any) -> GroundedGenerator:
        options: dict[str, Any] = {
            "api_key": "sk-test",
            "timeout": 1.0,
            "retries": 2,
            "backoff": 0.05,
            "deadline": 10.0,
            "sleep": sleeps,
        }
        options.update(overrides)
        backend = OpenAIBackend(llm_server.base_url, "qwen2.5:7b-instruct", **options)
        return GroundedGenerator("openai", backend, ExtractiveGenerator())

    return make
