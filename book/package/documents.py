"""The documents `book` writes itself: the XHTML wrapper of every page, the navigation
document and the NCX (EPUB 3.3 §6.1, §7; the NCX for EPUB 2 reading systems)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from ..source.metadata import Metadata
from .l10n import labels, lang_attrs

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NCX_NS = "http://www.daisy.org/z3986/2005/ncx/"


def esc(text: str) -> str:
    return html.escape(text or "", quote=True)


def xhtml(title: str, body: str, *, lang: str, direction: str, css: str | None, body_type: str | None = None,
          html_class: str | None = None) -> bytes:
    """A complete XHTML content document (EPUB 3.3 §6.1): `lang` and `xml:lang` on `<html>`, a
    `<title>` that says which part of the book this is (WCAG 2.4.2).  `html_class` lets the
    stylesheet reach one kind of document from its root (the cover: `html.cover`)."""
    dir_attr = ' dir="rtl"' if direction == "rtl" else ""
    dir_attr = (f' class="{esc(html_class)}"' if html_class else "") + dir_attr
    link = f'\n<link rel="stylesheet" type="text/css" href="{esc(css)}"/>' if css else ""
    btype = f' epub:type="{body_type}"' if body_type else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
        f'lang="{esc(lang)}" xml:lang="{esc(lang)}"{dir_attr}>\n'
        f'<head>\n<meta charset="utf-8"/>\n<title>{esc(title)}</title>{link}\n</head>\n'
        f"<body{btype}>\n{body}\n</body>\n</html>\n"
    ).encode("utf-8")


@dataclass
class NavEntry:
    title: str
    href: str
    children: list[NavEntry] = field(default_factory=list)
    label: bool = False  # a label book writes (e.g. "Disclaimer"), not a heading of the book


def nest(entries: list[tuple[int, NavEntry]]) -> list[NavEntry]:
    """Flat (level, entry) in reading order → a tree; a skipped level nests under the last."""
    root: list[NavEntry] = []
    stack: list[tuple[int, NavEntry]] = []
    for level, entry in entries:
        while stack and stack[-1][0] >= level:
            stack.pop()
        (stack[-1][1].children if stack else root).append(entry)
        stack.append((level, entry))
    return root


PAGES_LABELS = {"en": "Pages", "es": "Páginas", "fr": "Pages", "de": "Seiten", "ar": "الصفحات", "ja": "ページ"}


def nav_document(meta: Metadata, toc: list[NavEntry], landmarks: list[tuple[str, str, str]], css: str,
                 pages: list[tuple[str, str]] = ()) -> bytes:
    """The EPUB navigation document (EPUB 3.3 §7): a nested `toc` nav and a `landmarks` nav,
    and a `page-list` nav when the text marks print page numbers (`pages`: (label, href) in
    reading order; book.render.pagebreaks).  A born-digital article has no print pages and gets
    no page-list (Ace's `epub-pagesource` fires on a page-list without a source)."""
    lab = labels(meta.primary_language)

    def ol(entries, depth=0):
        items = []
        for e in entries:
            child = ol(e.children, depth + 1) if e.children else ""
            lang = lang_attrs(meta.lang) if e.label else ""
            items.append(f'<li><a href="{esc(e.href)}"{lang}>{esc(e.title)}</a>{child}</li>')
        return "<ol>" + "".join(items) + "</ol>"

    land = "".join(f'<li><a epub:type="{t}" href="{esc(h)}"{lang_attrs(meta.lang)}>{esc(label)}</a></li>'
                   for t, h, label in landmarks)
    body = (
        f'<nav epub:type="toc" role="doc-toc" id="toc" aria-labelledby="toc-title">\n'
        f'<h1 id="toc-title"{lang_attrs(meta.lang)}>{esc(lab["contents"])}</h1>\n{ol(toc)}\n</nav>\n'
        f'<nav epub:type="landmarks" id="landmarks" aria-labelledby="landmarks-title" hidden="hidden">\n'
        f'<h2 id="landmarks-title"{lang_attrs(meta.lang)}>{esc(lab["landmarks"])}</h2>\n<ol>{land}</ol>\n</nav>'
    )
    if pages:
        # EPUB 3.3 §7.4.3 page-list (DPUB-ARIA doc-pagelist), hidden like the landmarks: reading
        # systems offer it as "go to page"; every entry is a page break (Ace
        # `epub-pagelist-broken`), every page break has an entry (`epub-pagelist-missing-pagebreak`).
        title = PAGES_LABELS.get(meta.primary_language)
        words = "" if title else ' lang="en" xml:lang="en"'
        entries = "".join(f'<li><a href="{esc(h)}">{esc(label)}</a></li>' for label, h in pages)
        body += (f'\n<nav epub:type="page-list" role="doc-pagelist" id="page-list" aria-labelledby="page-list-title" '
                 f'hidden="hidden">\n<h2 id="page-list-title"{words}>{esc(title or PAGES_LABELS["en"])}</h2>\n'
                 f'<ol>{entries}</ol>\n</nav>')
    # The entries are the book's headings, in the book's language; only the labels may fall back.
    return xhtml(lab["contents"], body, lang=meta.lang, direction=meta.direction, css=css,
                 body_type="frontmatter")


def ncx_document(meta: Metadata, toc: list[NavEntry]) -> bytes:
    """toc.ncx for EPUB 2 reading systems and older e-ink devices (EPUB 3.3 allows it as a
    non-nav resource); the same tree as the nav, with unique ids and play order.

    Written as text, in the layout lxml's pretty printer gives (the tests hold it to lxml's
    serialisation of the same tree): a book of 2,000 headings took ~12 ms through lxml
    elements, a tenth of a one-chapter rebuild in --watch (issue 13)."""
    def depth(entries):
        return 1 + max((depth(e.children) for e in entries), default=0) if entries else 0

    out = ["<?xml version='1.0' encoding='utf-8'?>\n",
           f'<ncx xmlns="{NCX_NS}" version="2005-1" xml:lang="{_attr(meta.lang)}">\n  <head>\n']
    for name, content in (("dtb:uid", meta.identifier), ("dtb:depth", str(max(1, depth(toc)))),
                          ("dtb:totalPageCount", "0"), ("dtb:maxPageNumber", "0")):
        out.append(f'    <meta name="{name}" content="{_attr(content)}"/>\n')
    out.append(f"  </head>\n  <docTitle>\n    <text>{_text(meta.title)}</text>\n  </docTitle>\n")
    counter = 0

    def add(entries, indent):
        nonlocal counter
        for e in entries:
            counter += 1
            out.append(f'{indent}<navPoint id="navpoint-{counter}" playOrder="{counter}">\n'
                       f"{indent}  <navLabel>\n{indent}    <text>{_text(e.title)}</text>\n{indent}  </navLabel>\n"
                       f'{indent}  <content src="{_attr(e.href.removeprefix("../"))}"/>\n')
            add(e.children, indent + "  ")
            out.append(f"{indent}</navPoint>\n")

    if toc:
        out.append("  <navMap>\n")
        add(toc, "    ")
        out.append("  </navMap>\n</ncx>\n")
    else:
        out.append("  <navMap/>\n</ncx>\n")
    return "".join(out).encode("utf-8")


# What XML 1.0 serialisation escapes (as libxml2 does): in text, & < > and CR (a CR would read
# back as a line feed, §2.11); in a double-quoted attribute value also " and the white space a
# parser would normalise to a space (§3.3.3).  (Chained replaces: faster than str.translate on
# short strings.)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _attr(value: str) -> str:
    return _text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
