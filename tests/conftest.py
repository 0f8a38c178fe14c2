"""Fixtures for every test: settings come from the test, never from the developer's machine."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from api.limits import ApiLimits
from api.settings import ServerSettings
from rag.settings import Settings

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
