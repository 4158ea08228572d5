"""Shared fixtures: a clean environment, settings for a fake account, a recognisable key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gorgias_export.config import Secret, Settings
from tests.support.account import EMAIL, SECRET_KEY


@pytest.fixture(autouse=True)
def _clean_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No test sees the developer's GORGIAS_* variables or their .env."""
    import os

    for name in list(os.environ):
        if name.startswith("GORGIAS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    yield


@pytest.fixture
def settings() -> Settings:
    return Settings(
        base_url="https://acme.gorgias.com/api", email=EMAIL, api_key=Secret(SECRET_KEY)
    )
