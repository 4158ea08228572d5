"""The sanitiser on each way a message body tries to run script, load, submit or redirect."""

from __future__ import annotations

import re

import pytest

from gorgias_export.archive.sanitize import sanitize
from gorgias_sim.texts import HOSTILE_HTML_BODIES

# (markup, what must be gone from the output, what must still be there)
CASES = {
    "script": (
        "<p>a</p><script>document.title='x'</script><p>b</p>",
        ["<script", "title="],
        ["a", "b"],
    ),
    "script in uppercase": ("<SCRIPT SRC=//remote.example/x.js></SCRIPT>ok", ["script"], ["ok"]),
    "event handler": (
        '<img src=x onerror="alert(1)"><p onclick="x()">p</p>',
        ["onerror", "onclick"],
        ["p"],
    ),
    "remote image": (
        '<img src="http://remote.example/pixel.png" alt="logo">',
        ["<img"],
        ['href="http://remote.example/pixel.png"', "[image: logo]"],
    ),
    "remote srcset": (
        '<img srcset="http://remote.example/a.png 2x" src="data:image/png;base64,AA==">',
        ["srcset", "remote"],
        ["<img"],
    ),
    "form": (
        '<form action="http://remote.example/s"><input name=q><button>Go</button></form>',
        ["<form", "<input", "<button", "action"],
        ["Go"],
    ),
    "meta refresh": (
        '<meta http-equiv="refresh" content="0;url=http://remote.example/">hi',
        ["<meta", "refresh"],
        ["hi"],
    ),
    "javascript link": (
        '<a href="javascript:alert(1)">x</a><a href=" JaVaScRiPt:alert(1)">y</a>',
        ["javascript", "href"],
        ["x", "y"],
    ),
    "data link": (
        '<a href="data:text/html,<script>alert(1)</script>">d</a>',
        ["href", "data:"],
        ["d"],
    ),
    "vbscript link": ('<a href="vbscript:msgbox(1)">v</a>', ["vbscript", "href"], ["v"]),
    "iframe": (
        '<iframe src="http://remote.example/" srcdoc="<script>x</script>"></iframe>f',
        ["iframe", "srcdoc", "remote"],
        ["f"],
    ),
    "css url in style attribute": (
        '<div style="background:url(http://remote.example/b.png);color:red">c</div>',
        ["url(", "remote"],
        ["color:red", "c"],
    ),
    "style element": (
        "<style>body{background:url(http://remote.example/s.png)}</style>s",
        ["<style", "remote"],
        ["s"],
    ),
    "css import": (
        '<div style="@import url(http://remote.example/x.css)">i</div>',
        ["import", "remote"],
        ["i"],
    ),
    "svg with script": (
        "<svg onload=alert(1)><script>alert(1)</script>"
        "<image href=http://remote.example/x.png /></svg>ok",
        ["svg", "script", "remote", "onload"],
        ["ok"],
    ),
    "base href": (
        '<base href="http://remote.example/"><a href="rel">r</a>',
        ["<base", "remote", 'href="rel"'],
        ["r"],
    ),
    "relative file path": (
        '<img src="../../../etc/passwd"><a href="../secret.txt">s</a>',
        ["passwd", "secret"],
        ["s"],
    ),
    "object and embed": (
        '<object data="http://remote.example/o"></object><embed src="http://remote.example/e">e',
        ["object", "embed", "remote"],
        ["e"],
    ),
    "link stylesheet": (
        '<link rel="stylesheet" href="http://remote.example/x.css">l',
        ["<link", "remote"],
        ["l"],
    ),
    "noscript mutation": (
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></p></noscript>m',
        ["onerror", "<img"],
        ["m"],
    ),
    "math mutation": (
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        ["onerror", '<img src="x'],
        [],
    ),
    "video poster": (
        '<video poster="http://remote.example/p.png" src="http://remote.example/v.mp4"></video>v',
        ["video", "remote"],
        ["v"],
    ),
    "entity-encoded javascript": (
        '<a href="&#106;avascript:alert(1)">e</a>',
        ["avascript", "href"],
        ["e"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_hostile_case_is_made_inert(case: str) -> None:
    markup, gone, kept = CASES[case]
    cleaned = sanitize(markup)
    for text in gone:
        assert text.lower() not in cleaned.lower(), (case, cleaned)
    for text in kept:
        assert text in cleaned, (case, cleaned)


def test_no_output_has_a_handler_a_script_or_a_remote_source() -> None:
    """Whatever the case, nothing left can run or fetch: no on* attribute, no script-bearing
    element, and no src at all other than inline data: images."""
    markups = [markup for markup, _, _ in CASES.values()]
    markups += [markup for _, markup in HOSTILE_HTML_BODIES]  # what the simulator serves
    for markup in markups:
        cleaned = sanitize(markup)
        assert not re.search(r"\son\w+\s*=", cleaned, re.IGNORECASE), cleaned
        assert not re.search(
            r"<(script|iframe|object|embed|form|meta|base|link|style|svg)\b", cleaned, re.I
        ), cleaned
        for source in re.findall(r'\ssrc="([^"]*)"', cleaned):
            assert source.startswith("data:image/"), cleaned


def test_ordinary_email_html_keeps_its_formatting_and_safe_links() -> None:
    markup = (
        "<div><p>Hello &amp; <b>welcome</b> to &lt;Acme&gt;</p><ul><li>one</li></ul>"
        '<table><tr><td colspan="2">cell</td></tr></table>'
        '<a href="https://example.com/?a=1&amp;b=2">link</a> <a href="mailto:x@example.com">m</a>'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline"></div>'
    )
    cleaned = sanitize(markup)
    for kept in (
        "<b>welcome</b>",
        "&lt;Acme&gt;",
        "<li>one</li>",
        'colspan="2"',
        'href="https://example.com/?a=1&amp;b=2"',
        'href="mailto:x@example.com"',
        'src="data:image/png;base64,iVBORw0KGgo="',
        'rel="noopener noreferrer nofollow"',
    ):
        assert kept in cleaned, (kept, cleaned)


def test_text_that_only_looks_like_markup_stays_text() -> None:
    cleaned = sanitize("<p>5 &lt; 6 &amp;&amp; 7 &gt; 4; &lt;script&gt;alert(1)&lt;/script&gt;</p>")
    assert cleaned == "<p>5 &lt; 6 &amp;&amp; 7 &gt; 4; &lt;script&gt;alert(1)&lt;/script&gt;</p>"
