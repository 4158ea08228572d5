"""The pages' own text: data escaped everywhere, the policy's hash is the index script's."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from gorgias_export.archive.site_data import Attachment, Conversation
from gorgias_export.archive.site_pages import index_page, index_row, ticket_page

EVIL = "</script><script>document.title='pwned'</script><!--"


def test_no_value_can_close_the_index_s_json_block() -> None:
    ticket = {"id": 7, "subject": EVIL, "customer": {"name": EVIL, "email": "a@b"}, "tags": []}
    page = index_page([index_row(ticket)])
    block = page.split('<script type="application/json" id="tickets-data">')[1]
    data, _, rest = block.partition("</script>")
    assert json.loads(data)[0][1] == EVIL  # the value intact once parsed
    assert "<" not in data
    assert rest.lstrip().startswith("<script>")  # the next thing is the page's own script


def test_the_policy_allows_exactly_the_index_s_one_script() -> None:
    page = index_page([])
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert policy is not None
    assert f"script-src 'sha256-{digest}';" in policy.group(1)
    assert "default-src 'none'" in policy.group(1) and "base-uri 'none'" in policy.group(1)


def test_a_ticket_page_escapes_what_it_shows_and_has_no_script() -> None:
    ticket = {"id": 9, "subject": EVIL, "customer": {"name": EVIL}, "tags": [{"name": EVIL}]}
    message = {
        "id": 1,
        "public": 0,
        "from_agent": 1,
        "sender": {"name": EVIL, "email": "x@y"},
        "body_html": None,
        "body_text": EVIL,
        "channel": EVIL,
        "created_datetime": "2024-01-01T00:00:00Z",
    }
    attachment = Attachment(name=EVIL, content_type="x", size=1, url="u", path=None, status="gone")
    page = ticket_page(Conversation(ticket, [message], survey=None), [[attachment]])
    assert "<script" not in page
    assert "script-src 'none'" in page
    assert page.count("&lt;/script&gt;&lt;script&gt;") >= 6  # title, h1, facts, body, …
    assert '<span class="label">internal note</span>' in page


def test_an_attachment_that_opens_as_a_web_page_is_named_not_linked() -> None:
    def page_with(name: str, content_type: str, path: str) -> str:
        attachment = Attachment(name, content_type, 10, "u", path=path, status="ok")
        message = {"id": 1, "body_text": "hi", "created_datetime": None}
        return ticket_page(Conversation({"id": 3}, [message]), [[attachment]])

    for name, content_type in [
        ("invoice.html", "text/html"),
        ("logo.SVG", "image/svg+xml"),
        ("a.xhtml", "application/octet-stream"),
        ("feed.xml", ""),
        ("page.mht", ""),
        ("x.js", ""),
        ("report", "text/html; charset=utf-8"),
        ("data", "application/xhtml+xml"),
    ]:
        page = page_with(name, content_type, f"files/1/{name}")
        assert f'href="../../files/1/{name}"' not in page, name
        assert f"saved as files/1/{name}" in page, name
    assert 'href="../../files/1/photo.png"' in page_with(
        "photo.png", "image/png", "files/1/photo.png"
    )
