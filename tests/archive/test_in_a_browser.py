"""The archive in a real browser: headless Chromium (the distribution's package) loads the index
and ticket pages from the file system, with no console error and no network request; the
filter works when typed into; no hostile body runs script or changes the page, not even one
the sanitiser would have missed (the Content-Security-Policy holds on its own)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.archive import site_pages
from gorgias_export.archive.site_data import Conversation
from gorgias_export.archive.site_pages import ticket_href, ticket_page
from gorgias_sim import Simulator
from gorgias_sim.data import MESSAGE_HTML_ONLY
from gorgias_sim.texts import HOSTILE_HTML_BODIES
from tests.support.browser import Browser, chromium_or_skip

pytestmark = pytest.mark.sim(seed=7, tickets=80, scope="module")
# Hosts Chromium itself may call (updates, time, sign-in) through the proxy whatever page is
# open; anything else reaching the proxy came from a page.
BROWSER_SERVICES = re.compile(
    rb"^(GET|POST|CONNECT) (https?://)?[\w.-]*\.(google\.com|googleapis\.com|gstatic\.com)[:/ ]"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = chromium_or_skip()
    opened = Browser(chromium)
    try:
        yield opened
    finally:
        opened.close()


def page_connections(browser: Browser, since: int = 0) -> list[bytes]:
    """What reached the proxy (from connection `since` on), but Chromium's own services."""
    return [seen for seen in browser.proxy.seen[since:] if not BROWSER_SERVICES.match(seen)]


def assert_no_network(browser: Browser, start: int, connections: int) -> None:
    """Nothing but local files requested since event `start`: by the page (DevTools' network
    events), or by anyone (the proxy, from connection `connections` on)."""
    assert all(url.startswith("file://") for url in browser.requested_urls(start)), (
        browser.requested_urls(start)
    )
    assert page_connections(browser, connections) == []


def assert_quiet(browser: Browser, start: int, connections: int) -> None:
    """No error or warning in the console, and no network, since event `start`."""
    assert browser.errors(start) == []
    assert_no_network(browser, start, connections)


def visible_rows(browser: Browser) -> int:
    return int(browser.evaluate("document.querySelectorAll('#rows tr').length"))


def test_the_index_loads_offline_and_the_filter_narrows_as_you_type(
    browser: Browser, built: Path
) -> None:
    start, connections = len(browser.events), len(browser.proxy.seen)
    browser.open(built / "index.html")
    rows = json.loads(browser.evaluate("document.getElementById('tickets-data').textContent"))
    assert len(rows) == 80
    assert visible_rows(browser) == 80
    # A customer's name, typed: the rows drawn are the ones holding it.
    name = rows[10][2].split(" <")[0]
    expected = [
        r
        for r in rows
        if all(w in " ".join(map(str, r[1:7])).lower() for w in name.lower().split())
    ]
    browser.evaluate("document.getElementById('filter').focus()")
    browser.type_text(name)
    assert 0 < len(expected) < 80
    assert visible_rows(browser) == len(expected)
    shown = browser.evaluate(
        "[...document.querySelectorAll('#rows tr td:first-child')].map(td => td.textContent)"
    )
    assert sorted(shown) == sorted(str(r[0]) for r in expected)
    browser.type_text(" no such words anywhere")
    assert visible_rows(browser) == 0
    assert "0 of 80" in browser.evaluate("document.getElementById('count').textContent")
    browser.evaluate("const f = document.getElementById('filter'); f.select()")
    browser.call(
        "Input.dispatchKeyEvent",
        {"type": "keyDown", "key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8},
        session=True,
    )
    browser.call(
        "Input.dispatchKeyEvent",
        {"type": "keyUp", "key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8},
        session=True,
    )
    assert browser.evaluate("document.getElementById('filter').value") == ""
    assert visible_rows(browser) == 80
    # A row's link leads to the ticket's page.
    href = browser.evaluate("document.querySelector('#rows tr a').getAttribute('href')")
    assert (built / href).is_file()
    assert_quiet(browser, start, connections)


def test_a_large_index_draws_at_most_a_page_of_rows_and_filters_them_all(
    browser: Browser, tmp_path: Path
) -> None:
    """An index of 5,000 tickets (made up: no export needed) draws 500 rows, and the filter
    still searches all of them."""
    rows = [
        [n, f"Subject {n}", f"Customer {n % 7} <c{n % 7}@example.com>", "open", "vip", "", "", "x"]
        for n in range(5_000)
    ]
    index = tmp_path / "index.html"
    index.write_text(site_pages.index_page(rows), encoding="utf-8")
    start, connections = len(browser.events), len(browser.proxy.seen)
    browser.open(index)
    assert visible_rows(browser) == site_pages.SHOWN_ROWS
    count = browser.evaluate("document.getElementById('count').textContent")
    assert count.startswith("first 500 of 5000 matching")
    browser.evaluate("document.getElementById('filter').focus()")
    browser.type_text("customer 3")  # 5,000 / 7 rows, then one
    assert visible_rows(browser) == site_pages.SHOWN_ROWS
    browser.type_text(" subject 4994")
    assert visible_rows(browser) == 1
    assert_quiet(browser, start, connections)


def test_the_hostile_bodies_run_nothing_and_change_nothing(
    browser: Browser, built: Path, sim: Simulator
) -> None:
    message = sim.dataset.special[MESSAGE_HTML_ONLY][0]
    ticket = next(m["ticket_id"] for m in sim.dataset.messages if m["id"] == message)
    page = built / ticket_href(ticket)
    start, connections = len(browser.events), len(browser.proxy.seen)
    browser.open(page)
    browser.settle()
    state = page_state(browser)
    assert state["title"].startswith(f"#{ticket} ")
    assert state["pwned"] is False
    assert state["url"] == page.resolve().as_uri()  # no refresh, no base, no navigation
    assert state["active"] == [] and state["remote"] == []
    assert "Hello & welcome" in state["text"]  # the body is shown, inertly
    assert "[image: logo]" in state["text"]  # the remote image: a link, not loaded
    navigations = [e for e in browser.events[start:] if e.get("method") == "Page.frameNavigated"]
    assert len(navigations) == 1
    assert_quiet(browser, start, connections)


def page_state(browser: Browser) -> dict[str, Any]:
    state: dict[str, Any] = browser.evaluate(
        """({
        title: document.title,
        url: location.href,
        pwned: document.getElementById('pwned') !== null || document.title.includes('pwned'),
        active: [...document.querySelectorAll(
            'script, iframe, form, object, embed, base, link, meta[http-equiv=refresh], svg')]
            .map(e => e.outerHTML).filter(h => !h.startsWith('<meta http-equiv="Content-Security')),
        remote: [...document.querySelectorAll('[src]')].map(e => e.getAttribute('src'))
            .filter(s => !s.startsWith('data:')),
        text: document.body.innerText,
    })"""
    )
    return state


def test_the_policy_alone_stops_a_body_the_sanitiser_would_have_missed(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With sanitising switched off, the hostile bodies reach the page as they are: the
    Content-Security-Policy must still keep every script from running and every remote load
    from starting. (A meta refresh and a plain link are navigation, which a policy cannot stop:
    only the sanitiser removes those, and they are left out here.)"""
    monkeypatch.setattr(site_pages, "sanitize", lambda markup: markup)
    navigating = ("meta refresh",)
    messages = [
        {"id": i, "public": 1, "from_agent": 0, "body_html": markup, "created_datetime": ""}
        for i, (case, markup) in enumerate(HOSTILE_HTML_BODIES)
        if case not in navigating
    ]
    conversation = Conversation({"id": 1, "subject": "raw"}, messages)
    page = tmp_path / "tickets" / "0" / "1.html"
    page.parent.mkdir(parents=True)
    page.write_text(ticket_page(conversation, [[] for _ in messages]), encoding="utf-8")
    assert "<script>document.title='pwned'</script>" in page.read_text()  # really unsanitised
    start, connections = len(browser.events), len(browser.proxy.seen)
    browser.open(page)
    browser.settle()
    assert browser.evaluate("document.title") == "#1 raw"
    assert browser.evaluate("document.getElementById('pwned')") is None
    assert browser.evaluate("location.href") == page.resolve().as_uri()
    # Each remote load was attempted by the page, and refused by the policy before any
    # connection: none reached the proxy.
    remote = {
        e["params"]["requestId"]: e["params"]["request"]["url"]
        for e in browser.events[start:]
        if e.get("method") == "Network.requestWillBeSent"
        and not e["params"]["request"]["url"].startswith("file://")
    }
    assert len(remote) >= 4 and all("remote.example" in url for url in remote.values())
    refused = {
        e["params"]["requestId"]
        for e in browser.events[start:]
        if e.get("method") == "Network.loadingFailed" and e["params"].get("blockedReason") == "csp"
    }
    assert set(remote) <= refused
    assert page_connections(browser, connections) == []
    blocked = [e for e in browser.errors(start) if "Content Security Policy" in e]
    assert blocked  # the console says so, as a reader's devtools would
