"""The archive's HTML: one page per ticket, and the index. Pure functions, text in, text out.

Every page carries a Content-Security-Policy that loads nothing but the page itself, inline
styles, `data:` images and local files: no script on ticket pages at all, and on the index only
the one inline script below, allowed by its hash. So even HTML the sanitiser let through by
mistake cannot run script, reach the network, submit a form or change the base URL. Everything
the data says is escaped, or sanitised (message bodies, sanitize.py); the index's rows are built
with `textContent`, never parsed as HTML.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from gorgias_export.archive.sanitize import sanitize
from gorgias_export.archive.site_data import Attachment, Conversation

# Attachments a browser opens as a document that may run script (from file://, without the
# pages' policy): named on the page, never linked.
ACTIVE_EXTENSIONS = frozenset(
    {
        "html",
        "htm",
        "shtml",
        "xhtml",
        "xht",
        "svg",
        "svgz",
        "xml",
        "xsl",
        "mht",
        "mhtml",
        "js",
        "mjs",
    }
)
ACTIVE_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
     "multipart/related", "message/rfc822", "text/javascript", "application/javascript"}
)  # fmt: skip
# The index shows at most this many matching rows: the DOM stays small at any account size, and
# the filter narrows the rest down.
SHOWN_ROWS = 500
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;
text-align:left;vertical-align:top}#filter{width:100%;font-size:1.1rem;padding:.4rem}
.message{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.customer{background:#fff}.agent{background:#eef5ff;margin-left:3rem}
.note{background:#fff8d6;border-style:dashed}.who{font-weight:600}.meta{color:#666;font-size:.85rem}
.label{background:#c90;color:#fff;border-radius:3px;padding:0 .3rem;font-size:.8rem}
.body{overflow-wrap:anywhere;overflow-x:auto}.missing{color:#a00}.plain{white-space:pre-wrap}
"""
# The index's filter: rows from the inline JSON block, matched on every word typed.
INDEX_SCRIPT = """
"use strict";
const rows = JSON.parse(document.getElementById("tickets-data").textContent);
const body = document.getElementById("rows");
const count = document.getElementById("count");
const box = document.getElementById("filter");
const limit = SHOWN_ROWS;
const text = rows.map(r => r.slice(1, 7).join(" ").toLowerCase());
function cell(tr, value, href) {
  const td = document.createElement("td");
  if (href) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = value;
    td.appendChild(a);
  } else {
    td.textContent = value;
  }
  tr.appendChild(td);
}
function render() {
  const words = box.value.toLowerCase().split(/\\s+/).filter(w => w);
  const shown = [];
  let matches = 0;
  for (let i = 0; i < rows.length; i++) {
    if (words.every(w => text[i].includes(w))) {
      matches++;
      if (shown.length < limit) shown.push(rows[i]);
    }
  }
  const fragment = document.createDocumentFragment();
  for (const r of shown) {
    const tr = document.createElement("tr");
    cell(tr, String(r[0]), r[7]);
    cell(tr, r[1], r[7]);
    for (let k = 2; k < 7; k++) cell(tr, r[k]);
    fragment.appendChild(tr);
  }
  body.replaceChildren(fragment);
  count.textContent = matches === shown.length
    ? matches + " of " + rows.length + " tickets"
    : "first " + shown.length + " of " + matches + " matching tickets (" + rows.length +
      " in all): type more to narrow";
}
box.addEventListener("input", render);
render();
""".replace("SHOWN_ROWS", str(SHOWN_ROWS))


def script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def csp(script: str | None = None) -> str:
    """Nothing remote, ever: only local images (data: and files), inline style, and the one
    script (by hash) where the page has one."""
    scripts = script_hash(script) if script is not None else "'none'"
    return (
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
        f"script-src {scripts}; base-uri 'none'; form-action 'none'"
    )


def _page(title: str, body: str, script: str | None = None) -> str:
    script_tag = f"<script>{script}</script>" if script is not None else ""
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp(script)}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f'<meta name="viewport" content="width=device-width">\n<title>{_e(title)}</title>\n'
        f"<style>{STYLE}</style></head>\n<body>\n{body}\n{script_tag}</body></html>\n"
    )


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def ticket_href(ticket_id: int) -> str:
    """A ticket's page, relative to DIR: a folder per thousand ids, so none holds a million."""
    return f"tickets/{ticket_id // 1000}/{ticket_id}.html"


def _person(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    name, email = value.get("name") or "", value.get("email") or value.get("address") or ""
    return f"{name} <{email}>" if name and email else str(name or email)


def _tags(ticket: dict[str, Any]) -> str:
    tags = ticket.get("tags")
    if not isinstance(tags, list):
        return ""
    return ", ".join(str(t.get("name")) for t in tags if isinstance(t, dict) and t.get("name"))


def _day(value: Any) -> str:
    return str(value or "")[:16].replace("T", " ")


def index_row(ticket: dict[str, Any]) -> list[Any]:
    """One ticket as the index's script reads it (an array: a third of the bytes of objects)."""
    return [
        ticket["id"],
        ticket.get("subject") or "(no subject)",
        _person(ticket.get("customer")),
        ticket.get("status") or "",
        _tags(ticket),
        _day(ticket.get("created_datetime")),
        _day(ticket.get("updated_datetime")),
        ticket_href(ticket["id"]),
    ]


def index_page(rows: Sequence[list[Any]]) -> str:
    """The whole index at once (tests, small accounts); site.py streams the same bytes."""
    head, tail = index_frame()
    return head + ",".join(index_row_json(row) for row in rows) + tail


def index_frame() -> tuple[str, str]:
    """The index around its rows: the rows, comma-separated, go between the two parts, in an
    inline JSON block (data, never run) that INDEX_SCRIPT draws. Streamed between the two, the
    rows of a million tickets never sit in memory together."""
    body = (
        "<h1>Gorgias archive</h1>\n<p>Works offline: open this file in any browser.</p>\n"
        '<input id="filter" type="search" placeholder="Filter: subject, customer, status, tag, '
        'date…" autofocus>\n<p id="count"></p>\n<table><thead><tr><th>id</th><th>subject</th>'
        "<th>customer</th><th>status</th><th>tags</th><th>created</th><th>updated</th></tr>"
        '</thead><tbody id="rows"></tbody></table>\n'
        '<script type="application/json" id="tickets-data">[@@ROWS@@]</script>'
    )
    head, _, tail = _page("Gorgias archive", body, INDEX_SCRIPT).partition("@@ROWS@@")
    return head, tail


def index_row_json(row: list[Any]) -> str:
    """One row of the JSON block, `<` escaped so that no value can close the block early (a
    subject holding `</script>`)."""
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def ticket_page(conversation: Conversation, attachments: Sequence[Sequence[Attachment]]) -> str:
    """A ticket's conversation, oldest first; `attachments[i]` are message i's."""
    ticket = conversation.ticket
    subject = ticket.get("subject") or "(no subject)"
    facts = [
        ("customer", _person(ticket.get("customer"))),
        ("status", ticket.get("status")),
        ("channel", ticket.get("channel")),
        ("assignee", _person(ticket.get("assignee_user"))),
        ("tags", _tags(ticket)),
        ("created", _day(ticket.get("created_datetime"))),
        ("updated", _day(ticket.get("updated_datetime"))),
        ("closed", _day(ticket.get("closed_datetime"))),
        ("spam", "yes" if ticket.get("spam") in (1, True) else ""),
        ("trashed", _day(ticket.get("trashed_datetime"))),
    ]
    parts = [
        '<p><a href="../../index.html">← all tickets</a></p>',
        f"<h1>{_e(subject)}</h1>",
        "<table>"
        + "".join(f"<tr><th>{k}</th><td>{_e(v)}</td></tr>" for k, v in facts if v)
        + f"<tr><th>satisfaction</th><td>{_e(_satisfaction(conversation.survey))}</td></tr>"
        + "</table>",
    ]
    for message, files in zip(conversation.messages, attachments, strict=True):
        parts.append(_message(message, files))
    if not conversation.messages:
        parts.append("<p>No messages.</p>")
    return _page(f"#{ticket['id']} {subject}", "\n".join(parts))


def _satisfaction(survey: dict[str, Any] | None) -> str:
    if survey is None:
        return "no survey"
    if survey.get("score") is None:
        return "survey sent, not answered"
    comment = survey.get("body_text")
    return f"{survey['score']} / 5" + (f": {comment}" if comment else "")


def _message(message: dict[str, Any], files: Sequence[Attachment]) -> str:
    note = message.get("public") in (0, False)
    role = "note" if note else ("agent" if message.get("from_agent") else "customer")
    author = _person(message.get("sender")) or _person(
        (message.get("source") or {}).get("from")
        if isinstance(message.get("source"), dict)
        else None
    )
    label = {"note": "internal note", "agent": "agent", "customer": "customer"}[role]
    head = (
        f'<div class="meta"><span class="label">{label}</span> '
        f'<span class="who">{_e(author or "unknown")}</span> · '
        f"{_e(_day(message.get('created_datetime')))} · {_e(message.get('channel'))}</div>"
    )
    return (
        f'<div class="message {role}" id="m{_e(message["id"])}">{head}'
        f'<div class="body">{_body(message)}</div>{_attachments(files)}</div>'
    )


def _body(message: dict[str, Any]) -> str:
    markup = message.get("body_html")
    if isinstance(markup, str) and markup.strip():
        return sanitize(markup)
    text = message.get("body_text") or message.get("stripped_text") or ""
    return f'<div class="plain">{_e(text)}</div>'


def _attachments(files: Sequence[Attachment]) -> str:
    if not files:
        return ""
    items = []
    for f in files:
        size = f" ({f.size:,} bytes)" if f.size is not None else ""
        if f.status == "ok" and f.path and _is_inside(f.path) and _is_active(f):
            # Opened from file://, such a file is a page of its own, without our policy: its
            # script would run with the reader's file access. Named, never linked.
            items.append(
                f"<li>{_e(f.name)}{_e(size)} (saved as {_e(f.path)}; opens as a web page, "
                "so not linked)</li>"
            )
        elif f.status == "ok" and f.path and _is_inside(f.path):
            href = "../../" + quote(f.path)
            items.append(f'<li><a href="{_e(href)}">{_e(f.name)}</a>{_e(size)}</li>')
        else:
            why = (f.status or "not downloaded").replace("_", " ")
            items.append(
                f'<li>{_e(f.name)}{_e(size)} <span class="missing">({_e(why)})</span></li>'
            )
    return '<ul class="attachments">' + "".join(items) + "</ul>"


def _is_active(attachment: Attachment) -> bool:
    """A file a browser would run as a document (HTML, SVG, XML, MHTML) or script, by its
    stored name's extension or its content type."""
    extension = attachment.path.rsplit(".", 1)[-1].lower() if attachment.path else ""
    named = attachment.name.rsplit(".", 1)[-1].lower() if "." in attachment.name else ""
    kind = attachment.content_type.split(";")[0].strip().lower()
    return (
        extension in ACTIVE_EXTENSIONS
        or named in ACTIVE_EXTENSIONS
        or kind in ACTIVE_TYPES
        or kind.endswith(("+xml", "/xml"))
    )


def _is_inside(path: str) -> bool:
    """A manifest path that stays inside DIR (the manifest is ours; a check is cheap)."""
    parts = path.replace("\\", "/").split("/")
    return not path.startswith("/") and ".." not in parts and ":" not in parts[0]
