"""Fixtures for every test: settings come from the test, never from the developer's machine."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from api.limits import ApiLimits
from api.settings import ServerSettings
from rag.protocols import Stores
from rag.settings import Settings
from rag.stores import FaissStores

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Every settings class of the product (each reads ``RAG_*`` variables and ``.env``).
SETTINGS_CLASSES = (Settings, ServerSettings, ApiLimits)


def _setting_variables() -> set[str]:
    """The ``RAG_*`` variables the settings classes read."""
    return {
        f"{cls.model_config.get('env_prefix', '')}{name}".upper()
        for cls in SETTINGS_CLASSES
        for name in cls.model_fields
    }


@pytest.fixture(autouse=True, scope="session")
def _settings_isolated_from_the_machine() -> Iterator[None]:
    """No test reads a ``.env`` file or a ``RAG_*`` setting of the developer's environment.

    Session-wide and first, so that session fixtures (the seed index) are isolated too; a
    test that wants a variable sets it with ``monkeypatch.setenv``.
    """
    with pytest.MonkeyPatch.context() as patch:
        for cls in SETTINGS_CLASSES:
            patch.setitem(cls.model_config, "env_file", None)
        for name in _setting_variables() & set(os.environ):
            patch.delenv(name)
        yield


@pytest.fixture(scope="session")
def real_seed_index(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """``copy_to(folder)``: a copy of the seed pages indexed once per session with the real model.

    Indexing the seeds with the real model takes about a minute on CI's two cores; the tests
    that need it (the eval gate, the real-model server and page) share one build and each get
    their own copy, so none sees another's writes.  Built by ``rag ingest`` in a subprocess,
    exactly as a user would.  ``tests/test_cli.py`` still times the first run from scratch.
    """
    built = tmp_path_factory.mktemp("real-seed-index") / "index"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") or k in ("RAG_CACHE_DIR",)}
    env |= {"RAG_INDEX_DIR": str(built), "RAG_SEEDS_DIR": str(REPO_ROOT / "seeds")}
    subprocess.run(
        [sys.executable, "-m", "rag.cli", "ingest", str(REPO_ROOT / "seeds")],
        cwd=built.parent,
        env=env,
        check=True,
        capture_output=True,
        timeout=1800,
    )

    def copy_to(folder: Path) -> Path:
        shutil.copytree(built, folder, ignore=shutil.ignore_patterns(".lock", "state"))
        return folder

    return copy_to


#: The store engines (``RAG_STORE``) the retrieval, index and API tests run over; Milvus runs
#: embedded (milvus-lite, a file per test), is marked slow and skipped where the ``milvus`` extra
#: is not installed (scripts/setup.sh installs it, so CI runs it).
STORE_ENGINES = [
    "faiss",
    pytest.param(
        "milvus",
        marks=[
            pytest.mark.slow,
            pytest.mark.skipif(
                importlib.util.find_spec("pymilvus") is None
                or importlib.util.find_spec("milvus_lite") is None,
                reason="the milvus extra is missing: pip install -e '.[milvus]' (scripts/setup.sh does)",
            ),
        ],
    ),
]


def make_stores(engine: str, folder: Path) -> Stores:
    """The stores of ``engine``: FAISS + tantivy, or a Milvus collection in ``folder``/milvus.db."""
    if engine == "faiss":
        return FaissStores()
    from rag.milvus import MilvusStores

    return MilvusStores(str(folder / "milvus.db"), "rag")


@pytest.fixture(params=STORE_ENGINES)
def stores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Stores:
    """Fresh stores of each engine in turn (a test using this runs once per engine)."""
    return make_stores(str(request.param), tmp_path_factory.mktemp(f"stores-{request.param}"))
