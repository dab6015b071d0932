"""Every URL of a message: HTML attributes, CSS, Outlook conditional comments, the text part.

HTML is read with the stdlib ``html.parser`` (fast and tolerant of the broken markup mail
editors produce). Found: ``a``/``area``/``link`` href, ``img``/``input``/``source``/``video``
src and srcset, ``poster``, ``background`` attributes, ``form`` action, CSS ``url(...)`` and
``@import`` in style attributes and ``<style>`` blocks, and the same inside Outlook's
conditional comments (``<!--[if mso]>...<![endif]-->``, VML ``v:fill src``, ``v:roundrect
href``), which ``html.parser`` hands over as comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

_URL_ATTRIBUTES = {
    "href": "href",
    "src": "src",
    "action": "action",
    "background": "background",
    "poster": "poster",
    "data": "data",
    "longdesc": "longdesc",
    "cite": "cite",
}
_IMAGE_TAGS = frozenset({"img", "input", "v:fill", "v:image", "v:imagedata", "image"})
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE | re.DOTALL)
_CSS_IMPORT = re.compile(r"""@import\s+(['"])(.*?)\1""", re.IGNORECASE)
_TEXT_URL = re.compile(r"""(?:https?://|www\.)[^\s<>"'\]\)]+""", re.IGNORECASE)
_CONDITIONAL = re.compile(r"^\s*\[if [^\]]*\]>(.*?)<!\[endif\]\s*$", re.IGNORECASE | re.DOTALL)
_TRAILING = ".,;:!?»"


@dataclass(frozen=True, slots=True)
class UrlRef:
    """One URL and where it was found."""

    url: str
    where: str  # "a href", "img src", "style url()", "text", ...
    line: int
    part: str  # "html" or "text"
    anchor_text: str | None = None  # the visible text of an <a>, for mismatch checks
    image: bool = False


def _srcset(value: str) -> list[str]:
    # "a.png 1x, b.png 2x": candidates separated by commas, each URL then a descriptor.
    return [item.strip().split()[0] for item in value.split(",") if item.strip()]


class _Collector(HTMLParser):
    def __init__(self, line_offset: int = 0) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[UrlRef] = []
        self.line_offset = line_offset
        self._anchor: tuple[str, int, list[str]] | None = None
        self._in_style = False
        self.text_chunks = 0

    def _line(self) -> int:
        return self.getpos()[0] + self.line_offset

    def _add(self, url: str, where: str, *, image: bool = False) -> None:
        url = url.strip()
        if url:
            self.refs.append(UrlRef(url, where, self._line(), "html", image=image))

    def _css(self, css: str, where: str) -> None:
        for match in _CSS_URL.finditer(css):
            self._add(match.group(2), f"{where} url()", image=True)
        for match in _CSS_IMPORT.finditer(css):
            self._add(match.group(2), f"{where} @import")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        image = tag in _IMAGE_TAGS
        for name, value in attrs:
            if value is None:
                continue
            if name == "href" and tag == "a":
                if self._anchor is not None:
                    self._close_anchor()
                self._anchor = (value.strip(), self._line(), [])
            elif name in _URL_ATTRIBUTES:
                is_image = image or name in ("background", "poster")
                self._add(value, f"{tag} {name}", image=is_image)
            elif name == "srcset":
                for url in _srcset(value):
                    self._add(url, f"{tag} srcset", image=True)
            elif name == "style":
                self._css(value, f"{tag} style")
        if tag == "style":
            self._in_style = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "a":
            self._close_anchor()

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close_anchor()
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data, "style")
            return
        if data.strip():
            self.text_chunks += 1
        if self._anchor is not None:
            self._anchor[2].append(data)

    def handle_comment(self, data: str) -> None:
        match = _CONDITIONAL.match(data)
        if match:  # Outlook conditional comment: its body is markup Outlook renders
            inner = _Collector(self._line() - 1)
            inner.feed(match.group(1))
            inner.close()
            self.refs.extend(
                UrlRef(
                    r.url,
                    f"{r.where} (Outlook conditional)",
                    r.line,
                    "html",
                    r.anchor_text,
                    r.image,
                )
                for r in inner.refs
            )

    def _close_anchor(self) -> None:
        if self._anchor is None:
            return
        url, line, text = self._anchor
        self._anchor = None
        if url:
            anchor = " ".join("".join(text).split())
            self.refs.append(UrlRef(url, "a href", line, "html", anchor_text=anchor))

    def close(self) -> None:
        super().close()
        self._close_anchor()


def html_urls(html: str) -> list[UrlRef]:
    """Every URL in an HTML document, in document order (anchors when they close)."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.refs


def text_urls(text: str) -> list[UrlRef]:
    """URLs in a plain-text part (``http://``, ``https://`` and bare ``www.``)."""
    refs = []
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _TEXT_URL.finditer(line):
            url = match.group(0).rstrip(_TRAILING)
            refs.append(UrlRef(url, "text", number, "text"))
    return refs
