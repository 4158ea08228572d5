"""Message HTML made safe to show in the archive: what customers typed and e-mails carried.

A body is hostile. It is cleaned by nh3 (the Python binding of ammonia, a maintained Rust HTML
sanitiser that parses like a browser, html5ever), with an allow-list: plain formatting tags and
attributes, links only to `http`, `https` and `mailto`, no relative URL (on `file://` it would
reach the reader's own files), no `style` property that can name a URL. Then images: a remote
one is never loaded (a tracking pixel would tell the sender that the archive was opened, from
where), so each `<img>` whose source is not an inline `data:image/...` becomes a link to it, or
its text. The archive's pages also carry a Content-Security-Policy that loads nothing remote
(site_pages.py), so a sanitiser miss still cannot reach the network.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nh3

TAGS = frozenset(
    {
        *("a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite"),
        *("code", "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em"),
        *("figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins"),
        *("kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike"),
        *("strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead"),
        *("tr", "tt", "u", "ul", "var", "wbr"),
    }
)
_CELL = frozenset({"colspan", "rowspan", "align", "valign"})
ATTRIBUTES: dict[str, set[str]] = {
    "*": {"title", "lang", "dir", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": set(_CELL),
    "th": set(_CELL),
    "ol": {"start"},
}
# Layout and colour only: none of these takes a url(), so no style can load anything.
STYLE_PROPERTIES = frozenset(
    {
        *("color", "background-color", "font-weight", "font-style", "font-size"),
        *("text-align", "text-decoration", "vertical-align", "white-space", "direction"),
        *("margin", "margin-left", "margin-right", "padding", "padding-left", "border"),
    }
)
URL_SCHEMES = frozenset({"http", "https", "mailto", "data"})
_INLINE_IMAGE = re.compile(r"data:image/(png|gif|jpeg|webp);", re.IGNORECASE)


def _attribute(element: str, attribute: str, value: str) -> str | None:
    """Keep `data:` only for an image's own bytes (never a link to a data: document)."""
    if attribute == "href" and not value.lower().startswith(("http:", "https:", "mailto:")):
        return None
    return value


def sanitize(body: str) -> str:
    """The body as HTML that runs nothing, loads nothing remote and submits nothing."""
    cleaned = nh3.clean(
        body,
        tags=set(TAGS),
        clean_content_tags={"script", "style", "template", "noscript", "title", "textarea"},
        attributes=ATTRIBUTES,
        attribute_filter=_attribute,
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
        url_schemes=set(URL_SCHEMES),
        filter_style_properties=set(STYLE_PROPERTIES),
        url_relative="deny",
    )
    if "<img" not in cleaned:
        return cleaned
    return _RemoteImages.rewrite(cleaned)


class _RemoteImages(HTMLParser):
    """Reads nh3's output (well-formed, every value quoted) back and writes it again, with
    every image that is not an inline `data:image` replaced by a link to it (or its alt text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    @classmethod
    def rewrite(cls, cleaned: str) -> str:
        parser = cls()
        parser.feed(cleaned)
        parser.close()
        return "".join(parser.out)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self._image(attrs) if tag == "img" else _tag(tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))

    @staticmethod
    def _image(attrs: list[tuple[str, str | None]]) -> str:
        found = dict(attrs)
        source = found.get("src") or ""
        if _INLINE_IMAGE.match(source):
            return _tag("img", attrs)
        label = html.escape(f"[image: {found.get('alt') or 'not loaded'}]", quote=False)
        if source.lower().startswith(("http:", "https:")):
            href = html.escape(source, quote=True)
            return f'<a href="{href}" rel="noopener noreferrer nofollow" class="remote">{label}</a>'
        return f'<span class="remote">{label}</span>'


def _tag(tag: str, attrs: list[tuple[str, str | None]]) -> str:
    parts = [tag]
    for name, value in attrs:
        parts.append(name if value is None else f'{name}="{html.escape(value, quote=True)}"')
    return "<" + " ".join(parts) + ">"
