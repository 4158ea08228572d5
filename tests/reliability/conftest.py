"""Prints the reliability figures at the end of a pytest run that ran the sample."""

from __future__ import annotations

import pytest

from tests.reliability.tally import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.runs:
        terminalreporter.write_line(TALLY.summary())
