"""Test doubles shared by the unit tests."""

from __future__ import annotations


class FakeTime:
    """A clock that only moves when the code under test sleeps: retries never wait for real."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    __call__ = clock  # so the object itself can be handed over as a clock

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
