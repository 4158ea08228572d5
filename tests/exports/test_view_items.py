"""`get` on a view's items (`/api/views/{id}/items`), which page with `meta.next_items` links:
against the simulator, end to end; then, against a scripted API, the answers a real server
might give that must stop the run rather than end it silently or loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gorgias_export.errors import ExitCode
from gorgias_export.timeutil import sort_key
from gorgias_sim import Simulator
from tests.support.account import EMAIL, SECRET_KEY
from tests.support.cli import assert_one_line_error, interrupt_at_request, run_cli, run_ok
from tests.support.fake_api import Call, FakeApi, Reply
from tests.support.outputs import read_jsonl

pytestmark = pytest.mark.sim(seed=11, tickets=400)

CLOSED_VIEW = 403  # the seeded "Closed" view: most of the tickets, so several pages


def in_view(sim: Simulator, view_id: int) -> list[dict[str, Any]]:
    test = sim.dataset.entities.ticket_test("view_id", view_id)
    assert test is not None
    return [ticket for ticket in sim.dataset.tickets if test(ticket)]


def page_requests(sim: Simulator) -> list[dict[str, list[str]]]:
    return [r.query for r in sim.requests if r.path == f"/api/views/{CLOSED_VIEW}/items"]


def test_get_follows_next_items_links_to_every_ticket_of_the_view_once(
    sim: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "closed.jsonl"
    run_ok(sim, "get", f"/api/views/{CLOSED_VIEW}/items", "--out", str(out))
    expected = in_view(sim, CLOSED_VIEW)
    assert len(expected) > 200  # three pages at least
    rows = read_jsonl(out)
    # The view's own order (last updated first), each ticket once: a link followed without its
    # ignored_item would write each page's last ticket twice.
    newest_first = sorted(expected, key=lambda t: (sort_key(t["updated_datetime"]), t["id"]))
    assert [row["id"] for row in rows] == [t["id"] for t in reversed(newest_first)]
    queries = page_requests(sim)[1:]  # after `get`'s probe of the first page
    assert queries[0] == {"limit": ["100"]}
    for previous, query in zip(rows[99::100], queries[1:], strict=True):
        # The link's parameters, and ours again.
        assert query["direction"] == ["next"] and query["limit"] == ["100"]
        assert query["ignored_item"] == [str(previous["id"])]
        assert query["cursor"][0].endswith("-false")


def test_get_sends_its_order_by_again_with_every_link(sim: Simulator, tmp_path: Path) -> None:
    """The simulator's links carry no order_by (neither do the frontend fixture's): a client
    that followed the link alone would get the view's default order after the first page."""
    out = tmp_path / "closed.jsonl"
    order = "order_by=created_datetime:asc"
    run_ok(sim, "get", f"views/{CLOSED_VIEW}/items", "--param", order, "--out", str(out))
    expected = sorted(in_view(sim, CLOSED_VIEW), key=lambda t: (t["created_datetime"], t["id"]))
    assert [row["id"] for row in read_jsonl(out)] == [t["id"] for t in expected]
    assert all(q["order_by"] == ["created_datetime:asc"] for q in page_requests(sim))


def test_an_interrupted_get_of_view_items_resumes_from_its_saved_link(
    sim: Simulator, tmp_path: Path
) -> None:
    clean = tmp_path / "clean.jsonl"
    run_ok(sim, "get", f"/api/views/{CLOSED_VIEW}/items", "--out", str(clean))
    out = tmp_path / "closed.jsonl"
    # Request 4 is the third page (after the probe and two pages): killed before its answer.
    command = ("get", f"/api/views/{CLOSED_VIEW}/items")
    killed = interrupt_at_request(sim, out, 4, command=command)
    assert killed.returncode != 0
    saved = json.loads(Path(f"{out}.state.json").read_text())
    assert "ignored_item=" in json.dumps(saved)  # the position is the link's query
    before = len(sim.requests)
    run_ok(sim, *command, "--out", str(out))
    assert out.read_bytes() == clean.read_bytes()
    resumed = [r.query for r in sim.requests[before:] if r.path.endswith("/items")]
    assert "ignored_item" in resumed[1]  # the probe, then straight to the saved link


def test_the_link_parameters_are_refused_as_params(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    path = f"/api/views/{CLOSED_VIEW}/items"
    for param in ("ignored_item=7", "direction=prev", "cursor=x"):
        result = run_cli(sim, "get", path, "--param", param, "--out", str(out))
        assert "set by gorgias-export itself" in assert_one_line_error(result, ExitCode.USAGE)
    # Elsewhere `direction` is an ordinary parameter, passed on (here the API refuses it).
    result = run_cli(sim, "get", "/api/tags", "--param", "direction=next", "--out", str(out))
    assert "400" in assert_one_line_error(result, ExitCode.USAGE)


# -- answers of a scripted API -------------------------------------------------------------


def envelope(ids: list[int], meta: dict[str, Any]) -> bytes:
    data = [{"id": i} for i in ids]
    return json.dumps(
        {"object": "list", "uri": "/api/views/5/items", "data": data, "meta": meta}
    ).encode()


def run_against(
    responder: Any, tmp_path: Path, path: str = "/views/5/items"
) -> tuple[Any, FakeApi]:
    with FakeApi() as api:
        api.answer_with(path, responder)
        env = {"GORGIAS_BASE_URL": api.url, "GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
        result = run_cli(None, "get", f"/api{path}", "--out", str(tmp_path / "o.jsonl"), env=env)
    return result, api


def link(cursor: str, ignored: int) -> str:
    return f"/api/views/5/items/?direction=next&cursor={cursor}&ignored_item={ignored}"


def by_cursor(pages: dict[str | None, tuple[list[int], str | None]]) -> Any:
    """Answer each request by its cursor: the page's ids and its next_items link."""

    def answer(call: Call) -> Reply:
        ids, next_items = pages[call.query.get("cursor", [None])[0]]
        return Reply(200, envelope(ids, {"prev_items": None, "next_items": next_items}))

    return answer


def test_a_link_that_comes_back_stops_the_run_instead_of_looping(tmp_path: Path) -> None:
    pages = {
        None: ([1, 2], link("20-false", 2)),
        "20-false": ([3, 4], link("40-false", 4)),
        "40-false": ([5, 6], link("20-false", 2)),  # back to the second page
    }
    result, api = run_against(by_cursor(pages), tmp_path)
    assert "already given" in assert_one_line_error(result, ExitCode.API)
    assert len(api.calls) == 4  # the probe and three pages: no fourth


def test_a_link_to_its_own_page_stops_at_once(tmp_path: Path) -> None:
    pages = {None: ([1], link("10-false", 1)), "10-false": ([2], link("10-false", 1))}
    result, _ = run_against(by_cursor(pages), tmp_path)
    assert "same page" in assert_one_line_error(result, ExitCode.API)


def test_a_link_without_a_cursor_is_an_error_not_the_first_page_again(tmp_path: Path) -> None:
    pages = {None: ([1], "/api/views/5/items?direction=next&limit=25")}
    result, _ = run_against(by_cursor(pages), tmp_path)
    assert "no cursor" in assert_one_line_error(result, ExitCode.API)


def test_an_empty_page_ends_the_listing_even_with_a_link(tmp_path: Path) -> None:
    pages = {
        None: ([1, 2], link("20-false", 2)),
        "20-false": ([], link("20-false", 2)),  # nothing past the cursor
    }
    result, _ = run_against(by_cursor(pages), tmp_path)
    assert result.exit_code == 0, result.stderr
    assert [row["id"] for row in read_jsonl(tmp_path / "o.jsonl")] == [1, 2]


def test_next_items_on_a_cursor_listing_is_an_error_not_an_early_end(tmp_path: Path) -> None:
    """Another endpoint that pages with links would otherwise look finished after one page."""

    def answer(call: Call) -> Reply:
        return Reply(200, envelope([1], {"next_items": "/api/things?cursor=abc"}))

    result, _ = run_against(answer, tmp_path, path="/things")
    assert "next_items" in assert_one_line_error(result, ExitCode.API)


def test_an_api_that_refuses_its_own_links_stops_after_one_restart(tmp_path: Path) -> None:
    """A refused cursor restarts `get` from the top once; refused again in the same run, the
    run stops, where it used to start over for ever."""
    refusals = []

    def answer(call: Call) -> Reply:
        if "cursor" in call.query and len(refusals) < 20:  # then gives in, so a loop ends
            refusals.append(call)
            return Reply(400, b'{"error": {"msg": "Invalid cursor."}}')
        return Reply(200, envelope([1], {"next_items": link("10-false", 1)}))

    result, api = run_against(answer, tmp_path)
    assert result.exit_code == ExitCode.API, result.stderr
    assert "refused its own cursor" in result.stderr.splitlines()[-1]
    # Each attempt is a first page, a refused link, and the walk's own retry from the top
    # (the link asked for ahead may be refused too): a handful, not twenty.
    assert len(refusals) <= 4 and len(api.calls) <= 10


def test_a_ticket_tied_with_a_pages_last_is_not_written_twice(tmp_path: Path) -> None:
    """Tickets 2 and 3 share the sort value the link's cursor names: the next page starts at
    that value and leaves out only the ignored ticket 3, so ticket 2 comes again."""
    pages = {None: ([1, 2, 3], link("20-false", 3)), "20-false": ([2, 4], None)}
    result, _ = run_against(by_cursor(pages), tmp_path)
    assert result.exit_code == 0, result.stderr
    assert [row["id"] for row in read_jsonl(tmp_path / "o.jsonl")] == [1, 2, 3, 4]


def test_our_limit_and_order_win_over_the_links_and_direction_is_added(tmp_path: Path) -> None:
    """A link like the frontend fixture's (`/items/?cursor=..&limit=25`): our limit=100 and
    the user's order_by are sent, once each; the link's cursor, and direction=next."""
    pages = {
        None: ([1], "/api/views/5/items/?cursor=a%2Bb&limit=25&order_by=created_datetime:desc"),
        "a+b": ([2], None),
    }
    with FakeApi() as api:
        api.answer_with("/views/5/items", by_cursor(pages))
        env = {"GORGIAS_BASE_URL": api.url, "GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
        order = "order_by=created_datetime:asc"
        out = str(tmp_path / "o.jsonl")
        result = run_cli(None, "get", "/api/views/5/items", "--param", order, "--out", out, env=env)
    assert result.exit_code == 0, result.stderr
    assert api.calls[-1].query == {
        "limit": ["100"],
        "order_by": ["created_datetime:asc"],
        "cursor": ["a+b"],
        "direction": ["next"],
    }


def test_a_tied_ticket_is_not_written_twice_after_a_resume(tmp_path: Path) -> None:
    """As above, but the run stops after the first page is saved (a 403 on the second) and is
    run again: the resumed walk has not seen the first page, yet ticket 2 must not come twice."""
    second_page_allowed = False

    def answer(call: Call) -> Reply:
        cursor = call.query.get("cursor", [None])[0]
        if cursor is None:
            return Reply(200, envelope([1, 2, 3], {"next_items": link("20-false", 3)}))
        if not second_page_allowed:
            return Reply(403, b'{"error": {"msg": "Not now."}}')
        return Reply(200, envelope([2, 4], {"next_items": None}))

    out = tmp_path / "o.jsonl"
    with FakeApi() as api:
        api.answer_with("/views/5/items", answer)
        env = {"GORGIAS_BASE_URL": api.url, "GORGIAS_EMAIL": EMAIL, "GORGIAS_API_KEY": SECRET_KEY}
        first = run_cli(None, "get", "/api/views/5/items", "--out", str(out), env=env)
        assert first.exit_code == ExitCode.AUTH, first.stderr
        assert [row["id"] for row in read_jsonl(Path(f"{out}.partial"))] == [1, 2, 3]
        second_page_allowed = True
        again = run_cli(None, "get", "/api/views/5/items", "--out", str(out), env=env)
    assert again.exit_code == 0, again.stderr
    assert [row["id"] for row in read_jsonl(out)] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "meta",
    [
        {"next_cursor": "40-false", "prev_cursor": None},  # the reference's own view cursor
        {"next_items": {"href": "/api/views/5/items?cursor=40-false"}},  # not a link
    ],
    ids=["next_cursor", "object"],
)
def test_view_items_paged_otherwise_than_by_a_link_are_an_error_not_an_early_end(
    tmp_path: Path, meta: dict[str, Any], quick_retries: None
) -> None:
    """The reference shows a cursor form of its own for view items: answered with a
    `next_cursor` (or a `next_items` that is no link), the first page looked like the last."""

    def answer(call: Call) -> Reply:
        if "cursor" in call.query:
            return Reply(200, envelope([3, 4], {"next_items": None}))
        return Reply(200, envelope([1, 2], meta))

    result, _ = run_against(answer, tmp_path)
    assert "next_items" in assert_one_line_error(result, ExitCode.API)
