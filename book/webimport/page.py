"""Reading a web page: a saved file or, with --allow-remote, an http(s) address.

A page is untrusted input.  It is read as bytes with a size limit, decoded by the rules of the
HTML standard's encoding sniffing (WHATWG HTML §13.2.3.2: a byte-order mark first, then a
`<meta charset>` or `http-equiv` declaration in the first 1024 bytes, then a default), and
parsed by libxml2's HTML parser with no network access.  Nothing in it is ever executed.
"""

from __future__ import annotations

import codecs
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ..errors import SourceError

MAX_PAGE_BYTES = 10 * 1024 * 1024  # the largest saved articles we have seen are ~2 MB of HTML
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # as book.images.MAX_DOWNLOAD
MAX_IMAGES = 200  # pictures taken from one page
USER_AGENT = "book-import (+https://example.invalid/book)"

# "Save Page As" in Chromium-based browsers and Internet Explorer writes the page's address in
# a "mark of the web" comment: <!-- saved from url=(0052)https://… -->.
_SAVED_FROM = re.compile(rb"<!--\s*saved from url=\(\d+\)(\S+?)\s*-->", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]+)""", re.I)


class NotFound(SourceError):
    """The server says there is nothing at that address (HTTP 404 or 410)."""


@dataclass
class Page:
    """One page, decoded and parsed."""

    name: str  # as the user sees it, for messages
    path: Path | None  # the saved file (None for a download)
    folder: Path | None  # where its pictures may be (the saved file's folder)
    url: str | None  # the page's address when known (download, or saved-from comment)
    text: str
    tree: object  # lxml root element (<html>)


def _decode(data: bytes, name: str) -> str:
    """Bytes → text by the HTML standard's sniffing order; an encoding we cannot honour, or bytes
    that are not in the declared one, stop the import with one clear line."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                     (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(enc, errors="strict")
    declared = None
    m = _META_CHARSET.search(data[:1024])
    if m:
        declared = m.group(1).decode("ascii", "replace").lower()
    encoding = declared or "utf-8"
    # WHATWG Encoding §4.2: "latin1", "iso-8859-1" and "us-ascii" labels mean windows-1252, and a
    # declared UTF-16 in a file without a BOM means UTF-8.
    if encoding in ("latin1", "iso-8859-1", "iso8859-1", "us-ascii", "ascii", "l1"):
        encoding = "cp1252"
    if encoding.startswith("utf-16"):
        encoding = "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise SourceError(f"the page declares the encoding '{declared}', which book cannot read", file=name,
                          line=data[: m.start()].count(b"\n") + 1 if m else None,
                          hint="save the page again as UTF-8 (in the browser: Save Page As, Web Page, complete)") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        how = f"declared as {declared}" if declared else "with no <meta charset>, so read as UTF-8"
        raise SourceError(f"the page is not valid {encoding} (byte 0x{data[e.start]:02x}; {how})", file=name,
                          line=line, hint="add <meta charset=\"…\"> naming its real encoding, or save it as UTF-8") from None


def parse(data: bytes, name: str, *, path: Path | None = None, url: str | None = None) -> Page:
    if len(data) > MAX_PAGE_BYTES:
        raise SourceError(f"the page is {len(data) / 1048576:.0f} MB, more than book imports "
                          f"({MAX_PAGE_BYTES // 1048576} MB)", file=name, hint="save only the article's page")
    text = _decode(data, name)
    if "\x00" in text:
        raise SourceError("the file contains NUL bytes: it is not a web page", file=name)
    if not url:
        m = _SAVED_FROM.search(data[:4096])
        if m:
            candidate = m.group(1).decode("ascii", "replace")
            if candidate.lower().startswith(("http://", "https://")):
                url = candidate
    # libxml2's HTML parser: no network, no entities beyond HTML's own, comments dropped.
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, huge_tree=False,
                              recover=True, default_doctype=False)
    tree = etree.fromstring(text.replace("\r\n", "\n").replace("\r", "\n"), parser)
    if tree is None or not len(tree):
        raise SourceError("the file holds no HTML", file=name, hint="give a web page saved from a browser (.html)")
    return Page(name=name, path=path, folder=path.parent.resolve() if path else None, url=url, text=text,
                tree=tree)


def read_file(path: Path, name: str) -> Page:
    from ..source.reader import read_bytes

    data = read_bytes(path, name, MAX_PAGE_BYTES, "book imports", "save only the article's page")
    return parse(data, name, path=path)


def is_url(text: str) -> bool:
    return bool(re.match(r"^https?://", text, re.I))


def check_url(url: str, *, file: str | None, line: int | None = None) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SourceError(f"'{url[:80]}' is not an http(s) address", file=file, line=line,
                          hint="only http:// and https:// pages and pictures are downloaded")


def download(url: str, limit: int, *, file: str | None, line: int | None = None, what: str = "page",
             allow_private: bool = False) -> bytes:
    """GET `url` under book.net's policy (http(s) only, redirects, timeouts and a deadline, at
    most `limit` bytes, public addresses unless `allow_private`: importing an untrusted page on a
    server must not become a way into that server's network), the same as for remote images."""
    from .. import net

    check_url(url, file=file, line=line)
    try:
        return net.download(url, limit=limit, allow_private=allow_private, user_agent=USER_AGENT)
    except net.DownloadError as e:
        kind = NotFound if e.status in (404, 410) else SourceError
        hint = ("book downloads only from public addresses; add --allow-private-network if you trust the page"
                if "private network" in str(e) else "check the address, or save the page from a browser and "
                "import the file")
        raise kind(f"cannot download the {what} '{url[:80]}' ({e})", file=file, line=line, hint=hint) from None


def read_url(url: str, *, allow_private: bool = False) -> Page:
    data = download(url, MAX_PAGE_BYTES, file=url, allow_private=allow_private)
    return parse(data, url, url=url)

