"""One table of a SQLite output, upserted by key: the export loops' sink for SQLite.

`write_row` queues; `sync` upserts the queue inside the store's open transaction, which the
store's `save_state` commits with the checkpoint; `cut_back` rolls the transaction back. The
table is created, or given the columns it lacks, at the first write.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from gorgias_export.output.sqlite_store import RUN_COLUMN, SqliteStore, cell, json_cell, quote


class TableSink:
    """Rows for one table, upserted by key; duck-types writers.RowSink for the export loops.

    `write_row` queues; `sync` upserts the queue inside the store's open transaction (the
    store's `save_state` commits it); `cut_back` rolls the transaction back. Rows whose key is
    None cannot be upserted and are skipped.
    """

    def __init__(
        self,
        store: SqliteStore,
        table: str,
        columns: Sequence[str],
        key: str = "id",
        json_columns: Collection[str] = (),
    ) -> None:
        self._store = store
        self.table = table
        self.key = key
        self.columns: tuple[str, ...] = tuple(dict.fromkeys([key, *columns]))
        self._json = frozenset(json_columns)
        self._indexes: list[tuple[str, ...]] = []
        self._run: int | None = None
        self._pending: list[dict[str, Any]] = []
        self._checked = -1  # the store generation the table was last known to be right in
        self._plan()
        store.register(self)

    def _plan(self) -> None:
        names = self.columns + ((RUN_COLUMN,) if self._run is not None else ())
        self._converters: list[tuple[str, Callable[[Any], Any]]] = [
            (name, json_cell if name in self._json else cell) for name in self.columns
        ]
        others = [name for name in names if name != self.key]
        updates = ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in others)
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        self._upsert = (
            f"INSERT INTO {quote(self.table)} ({', '.join(map(quote, names))}) "
            f"VALUES ({', '.join('?' * len(names))}) ON CONFLICT({quote(self.key)}) {action}"
        )
        self._checked = -1

    # -- the RowSink interface ---------------------------------------------------------------

    def write_row(self, row: dict[str, Any]) -> None:
        """Queue a row; it reaches the table at the next `sync`."""
        self._pending.append(row)

    def sync(self) -> int:
        """Upsert the queued rows inside the open transaction; 0, as there is no byte length."""
        rows = [row for row in self._pending if row.get(self.key) is not None]
        self._pending = []
        if not rows:
            return 0
        with self._store.guarded():
            self._ensure_table(rows[0][self.key])
            run = self._run
            values = [
                [convert(row.get(name)) for name, convert in self._converters] for row in rows
            ]
            if run is not None:
                for value in values:
                    value.append(run)
            self._store._executemany(self._upsert, values)
        return 0

    def cut_back(self, offset: int) -> None:
        """After a failure: roll back to the last checkpoint (`offset` is unused)."""
        self._store.rollback()

    def close(self) -> None:
        self._pending = []

    def discard_queued(self) -> None:
        self._pending = []

    # -- beyond RowSink ----------------------------------------------------------------------

    def stamp_run(self, run: int) -> None:
        """Rows upserted from now on get `_export_run = run`, for `prune_before_run`."""
        self._run = run
        self._plan()

    def prune_before_run(self, run: int) -> int:
        """Delete rows not upserted by run `run` or later (`_export_run` older, or unset): after
        a full re-read of a small list, what was deleted upstream. Inside the open transaction."""
        self.sync()
        with self._store.guarded():
            self._store._begin()
            if not self._ensure_table(None) or RUN_COLUMN not in self._store._columns(self.table):
                return 0
            cursor = self._store._executemany(
                f"DELETE FROM {quote(self.table)} WHERE {RUN_COLUMN} IS NULL OR {RUN_COLUMN} < ?",
                [[run]],
            )
            return cursor.rowcount

    def ensure_index(self, *columns: str) -> None:
        """Keep an index on `columns` (created with the table, or at the next write)."""
        self._indexes.append(columns)
        self._checked = -1

    def update_by(self, column: str, rows: Sequence[dict[str, Any]]) -> None:
        """For each row: set its other columns in every table row whose `column` equals its
        value (queued rows are synced first, so the order of calls is kept)."""
        if not rows:
            return
        self.sync()
        names = [name for name in rows[0] if name != column and name in self.columns]
        with self._store.guarded():
            self._store._begin()
            if not self._ensure_table(None):
                return
            plan = [(n, json_cell if n in self._json else cell) for n in [*names, column]]
            values = [[convert(row.get(name)) for name, convert in plan] for row in rows]
            sets = ", ".join(f"{quote(name)} = ?" for name in names)
            self._store._executemany(
                f"UPDATE {quote(self.table)} SET {sets} WHERE {quote(column)} = ?", values
            )

    def delete_keys(self, keys: Iterable[Any]) -> None:
        """Delete the rows with these keys (queued rows are synced first)."""
        wanted = [[key] for key in keys]
        if not wanted:
            return
        self.sync()
        with self._store.guarded():
            self._store._begin()
            if self._ensure_table(None):
                self._store._executemany(
                    f"DELETE FROM {quote(self.table)} WHERE {quote(self.key)} = ?", wanted
                )

    def _ensure_table(self, sample_key: Any) -> bool:
        """Create the table, or add the columns it lacks; False if it does not exist and
        `sample_key` is None (nothing to update or delete in a table never written)."""
        store = self._store
        if self._checked == store.generation:
            return True
        db = store._begin()
        names = [*self.columns, *([RUN_COLUMN] if self._run is not None else [])]
        existing = store._columns(self.table)
        if not existing:
            if sample_key is None:
                return False
            # An integer key is the rowid itself (no second index); NOT NULL, because SQLite
            # otherwise lets NULL keys into a primary key and then never finds them in conflict.
            kind = "INTEGER" if isinstance(sample_key, int) else "TEXT"
            definitions = [f"{quote(self.key)} {kind} PRIMARY KEY NOT NULL"]
            definitions += [self._definition(name) for name in names if name != self.key]
            db.execute(f"CREATE TABLE IF NOT EXISTS {quote(self.table)} ({', '.join(definitions)})")
        else:
            for name in names:
                if name not in existing:
                    db.execute(
                        f"ALTER TABLE {quote(self.table)} ADD COLUMN {self._definition(name)}"
                    )
        for columns in self._indexes:
            db.execute(
                f"CREATE INDEX IF NOT EXISTS {quote(f'{self.table}_by_' + '_'.join(columns))} "
                f"ON {quote(self.table)} ({', '.join(map(quote, columns))})"
            )
        self._checked = store.generation
        return True

    def _definition(self, name: str) -> str:
        # No declared type for the others: a column without one keeps every value exactly as
        # stored (a declared NUMERIC or "JSON" affinity would turn the text "007" into 7).
        if name in self._json:
            return f"{quote(name)} TEXT"
        if name == RUN_COLUMN:
            return f"{quote(name)} INTEGER"
        return quote(name)


class TableSnapshot:
    """A full read into a table: rows are stamped with the run, and the final checkpoint drops
    the rows this run did not list (deleted upstream), in the same transaction."""

    def __init__(self, table: TableSink) -> None:
        self.table = table

    def begin(self, run_number: int) -> None:
        self.table.stamp_run(run_number)

    def seal(self, run_number: int) -> None:
        self.table.prune_before_run(run_number)

    def publish(self) -> None:
        pass
