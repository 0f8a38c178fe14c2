"""Every example in the docstrings of rag/ and api/ runs and shows what it says (``>>>`` lines)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import api
import rag


def _modules() -> list[str]:
    return sorted(
        m.name
        for package in (rag, api)
        for m in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
    )


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
