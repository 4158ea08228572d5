"""Talking to the simulator over HTTP, as the real API's clients do: for its own tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from gorgias_sim import Simulator

Obj = dict[str, Any]


def session(sim: Simulator, email: str | None = None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # never route 127.0.0.1 through a proxy from the environment
    s.auth = (email or sim.config.email, sim.config.api_key)
    return s


def walk(s: requests.Session, url: str, **params: Any) -> list[Obj]:
    """Every item of a listing, following next_cursor with the same order and limit."""
    items: list[Obj] = []
    cursor = None
    while True:
        r = s.get(url, params={**params, **({"cursor": cursor} if cursor else {})}, timeout=5)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["data"]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return items


def key(item: Obj, field: str) -> tuple[datetime, int]:
    return (datetime.fromisoformat(item[field]), item["id"])
