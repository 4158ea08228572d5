"""In CI (GORGIAS_EXPORT_REQUIRE_BROWSER set by .ci/run) a missing Chromium fails the browser
tests; elsewhere it skips them."""

from __future__ import annotations

import shutil

import pytest

from tests.support import browser


def test_a_missing_chromium_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(browser, "REQUIRED", False)
    with pytest.raises(pytest.skip.Exception):
        browser.chromium_or_skip()
    monkeypatch.setattr(browser, "REQUIRED", True)
    with pytest.raises(pytest.fail.Exception, match="no Chromium"):
        browser.chromium_or_skip()
