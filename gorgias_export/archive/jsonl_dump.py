"""The archive's JSONL: each table of the mirror as one JSON line per row, for tools that do not
read SQLite (jq, a data warehouse's loader, a script in any language).

Written from the database rather than fetched again, so the archive costs one export's
requests, not two. The columns the mirror keeps as JSON text (declared `TEXT`:
site_data.json_columns) come back as objects; every other value as the database holds it, so
a text field that looks like JSON (a subject `[]`) stays text. Each file is written to
`<name>.tmp` and renamed over its name, so a kill leaves the previous file whole; the
temporary file is created anew (O_EXCL | O_NOFOLLOW), so a link planted at its name is
refused, never written through.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from gorgias_export.archive.site_data import decoded, json_columns
from gorgias_export.archive.site_files import make_parents, open_temporary
from gorgias_export.errors import OutputError
from gorgias_export.output.sqlite_store import RUN_COLUMN, STATE_TABLE, quote

# The entity tables keep nested fields as JSON text in columns with no declared type, where
# the database cannot tell them from text: these fields are objects or arrays by the API's
# definition (never free text), so they are decoded too. A nested field not listed here stays
# the JSON text the database holds.
NESTED_FIELDS: dict[str, frozenset[str]] = {
    table: frozenset(fields.split())
    for table, fields in {
        "account": "meta settings status",
        "account_settings": "data",
        "custom_fields": "definition",
        "customers": "channels data integrations meta",
        "events": "data",
        "integrations": "meta",
        "jobs": "info params",
        "macros": "actions",
        "satisfaction_surveys": "meta",
        "tags": "decoration",
        "teams": "decoration members",
        "users": "meta role",
        "views": "fields",
        "voice_call_events": "meta",
        "voice_calls": "summaries",
    }.items()
}


def dump_tables(database: Path, out_dir: Path) -> dict[str, int]:
    """Write `out_dir/<table>.jsonl` for every table of `database`; returns rows per table."""
    db = sqlite3.connect(database.resolve().as_uri() + "?mode=ro", uri=True)
    counts: dict[str, int] = {}
    try:
        # A real directory inside the data directory, never a link planted there.
        make_parents(out_dir.parent, out_dir / "-")
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
            if row[0] != STATE_TABLE
        ]
        for table in tables:
            counts[table] = _dump(db, table, out_dir / f"{table}.jsonl")
    except OSError as exc:
        raise OutputError(
            f"Could not write the JSONL files in {out_dir} "
            f"({exc.strerror or exc.__class__.__name__}); free some space, then run again."
        ) from None
    finally:
        db.close()
    return counts


def _dump(db: sqlite3.Connection, table: str, path: Path) -> int:
    cursor = db.execute(f"SELECT * FROM {quote(table)} ORDER BY rowid")
    names = [d[0] for d in cursor.description]
    keep = [i for i, name in enumerate(names) if name != RUN_COLUMN]
    exact = json_columns(db, table)
    nested = NESTED_FIELDS.get(table, frozenset()) - exact
    temporary = path.with_name(path.name + ".tmp")
    rows = 0
    fd = open_temporary(temporary)  # never through a link planted at the temporary name
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        for row in cursor:
            item = {names[i]: _value(names[i], row[i], exact, nested) for i in keep}
            line = json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=_text)
            # No reader may split a line on these (as the exporter's own JSONL).
            line = line.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
            handle.write(line.replace("\x85", "\\u0085") + "\n")
            rows += 1
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return rows


def _value(name: str, value: object, exact: frozenset[str], nested: frozenset[str]) -> object:
    if name in exact:
        return decoded(value)
    if name in nested and isinstance(value, str) and value[:1] in "[{":
        found = decoded(value)  # an object or array, or the text as it is
        return found if isinstance(found, list | dict) else value
    return value


def _text(value: object) -> str:
    """A BLOB (the API sends none; a table another tool added might): as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
