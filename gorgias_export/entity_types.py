"""The shape of an entity command, as data: what it reads, its columns, how reruns find changes.

How a rerun finds what changed (`Incremental`), after the first run read everything:
- CREATED: immutable rows (messages): newest first by creation, down to the last run's newest
  minus an overlap.
- UPDATED: rows that change (customers): newest first by `updated_datetime`; a changed row is
  written again (a new version in a file, an update in SQLite).
- SERVER_SINCE: events, the one endpoint with a server-side date filter: oldest first from the
  last run's newest minus 5 minutes.
- LOOKBACK: surveys, whose score changes after creation without any update time: the last
  `lookback` of them are read again, and a survey whose content changed is written again.
- FULL: small configuration lists, read in full on every run; a file is replaced by the new
  snapshot, a SQLite table drops the rows no longer listed.

The entities themselves are declared in resources.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Incremental(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SERVER_SINCE = "server_since"
    LOOKBACK = "lookback"
    FULL = "full"


@dataclass(frozen=True)
class Listing:
    """One listing of an entity: fixed extra parameters, and columns they imply for each row."""

    params: tuple[tuple[str, str], ...] = ()
    implied: tuple[tuple[str, str], ...] = ()  # (column, value) the API may leave out of items


@dataclass(frozen=True)
class Filter:
    """A command-line flag sent as an API filter parameter."""

    flag: str  # "--email"
    param: str  # "email"
    help: str
    repeatable: bool = False
    integer: bool = False
    needs: str = ""  # another flag without which the API refuses this one


@dataclass(frozen=True)
class Entity:
    name: str  # the command and the file name in `all`
    path: str  # under /api
    summary: str  # the command's one-line help
    columns: tuple[str, ...]  # CSV/SQLite columns, in order; other fields go to extra_fields
    incremental: Incremental
    order_field: str = "created_datetime"  # the full read's order (ascending)
    listings: tuple[Listing, ...] = (Listing(),)
    filters: tuple[Filter, ...] = ()
    key: str = "id"  # the SQLite primary key
    lookback: timedelta | None = None
    single_object: bool = False  # /account: one object, not a list
    # The answer's shape is not documented (/account/settings): a list envelope (its cursors
    # followed), a bare JSON array, or one object, each read with plain GETs (no order_by).
    any_shape: bool = False
    # A full read de-duplicates by id within the run (a refused cursor restarts the listing).
    # Off for `get`, whose listings can be huge: there a refused cursor restarts the snapshot.
    keeps_ids: bool = True
    example: str = ""

    @property
    def csv_columns(self) -> tuple[str, ...]:
        return (*self.columns, EXTRA_COLUMN)


# Top-level fields not in an entity's columns (fields the API added later) land here as JSON,
# so the CSV columns stay the same from run to run and nothing is dropped.
EXTRA_COLUMN = "extra_fields"

# Re-reading this far behind the last run's newest row absorbs clock skew and late indexing;
# the overlap is de-duplicated by id.
INCREMENTAL_OVERLAP = timedelta(minutes=15)
EVENTS_LOOKBACK = timedelta(minutes=5)
SURVEYS_LOOKBACK = timedelta(days=30)
# Calls gain their status, AI summary and recording after they are created, with no update
# order to find them by: a rerun re-reads the calls (and recordings) of the last week.
VOICE_LOOKBACK = timedelta(days=7)
