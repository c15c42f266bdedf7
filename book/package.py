"""Step 4 of a build: put the parts, images, stylesheet and metadata into an EPUB 3 file.

ebooklib does the packaging.  Where ebooklib 0.20 does not do what EPUB 3.3, EPUBCheck or Ace
need (../EBOOKLIB.md), the fix is here, in :class:`_Writer` and :class:`_Document`, and nowhere
else:

* `xml:lang` (and `dir`) on `<package>` — Ace `epub-lang`; EPUB 3.3 §5.4.1.
* our own XHTML bytes for every document (ebooklib re-parses pages and drops `<head>`).
* our own nav document and NCX (ebooklib's page-list is bogus, its landmarks link the nav
  outside the spine — EPUBCheck RSC-011 — and its NCX cannot take our heading tree).
* one uid per creator (ebooklib reuses `creator` — EPUBCheck RSC-005).
* a fixed `dcterms:modified` and fixed zip timestamps, `mimetype` first and stored (OCF §4.3),
  so the same source gives the same bytes.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from dataclasses import dataclass, field

from ebooklib import epub
from lxml import etree

from . import __version__, ocfzip
from .a11y import Discovery, summary_language
from .l10n import labels, lang_attrs
from .metadata import Metadata
from .overlays import clock

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NCX_NS = "http://www.daisy.org/z3986/2005/ncx/"


def esc(text: str) -> str:
    return html.escape(text or "", quote=True)


def xhtml(title: str, body: str, *, lang: str, direction: str, css: str | None, body_type: str | None = None) -> bytes:
    """A complete XHTML content document (EPUB 3.3 §6.1): `lang` and `xml:lang` on `<html>`, a
    `<title>` that says which part of the book this is (WCAG 2.4.2)."""
    dir_attr = ' dir="rtl"' if direction == "rtl" else ""
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


class _Document(epub.EpubHtml):
    """A document whose bytes we made ourselves; ebooklib writes them as they are."""

    def __init__(self, uid: str, file_name: str, data: bytes, title: str, properties=()):
        super().__init__(uid=uid, file_name=file_name, title=title)
        self.media_type = "application/xhtml+xml"
        self._data = data
        self.properties = list(properties)

    def get_content(self, default=None):
        return self._data


class _Nav(epub.EpubNav):
    def __init__(self, data: bytes):
        super().__init__(uid="nav", file_name="nav.xhtml")
        self._data = data

    def get_content(self, default=None):
        return self._data


class _Writer(epub.EpubWriter):
    def __init__(self, fileobj, book, *, lang: str, direction: str, ncx: bytes, options, deflate_cache=None):
        super().__init__(fileobj, book, options)
        self._lang, self._direction, self._ncx = lang, direction, ncx
        self._deflate_cache = deflate_cache

    def _write_opf_file(self, root):
        root.set(XML_LANG, self._lang)
        if self._direction == "rtl":
            root.set("dir", "rtl")
        super()._write_opf_file(root)

    def _get_nav(self, item):
        return item.get_content()

    def _get_ncx(self):
        return self._ncx

    def write(self):
        # book.ocfzip: mimetype first and stored (OCF §4.2.3), fixed dates, the rest deflated
        # on all cores or taken from the cache.
        self.out = ocfzip.ZipOut(self.file_name, level=self.options["compresslevel"], cache=self._deflate_cache)
        self.out.writestr("mimetype", "application/epub+zip")
        self._write_container()
        self._write_opf()
        self._write_items()
        self.out.close()


def modified_time(meta: Metadata) -> _dt.datetime:
    """`dcterms:modified` (required by EPUB 3.3 §5.5.5): SOURCE_DATE_EPOCH when set (the
    reproducible-builds convention), else the book's own date, else a fixed day — never the clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc).replace(tzinfo=None)
    if meta.date:
        return _dt.datetime.fromisoformat(meta.date)
    return _dt.datetime(2000, 1, 1)


def nav_document(meta: Metadata, toc: list[NavEntry], landmarks: list[tuple[str, str, str]], css: str) -> bytes:
    """The EPUB navigation document (EPUB 3.3 §7): a nested `toc` nav and a `landmarks` nav.
    No page-list: a born-digital article has no print pages (EPUB Accessibility 1.1 §4; Ace's
    `epub-pagesource` fires on a page-list without a source)."""
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
    # The entries are the book's headings, in the book's language; only the labels may fall back.
    return xhtml(lab["contents"], body, lang=meta.lang, direction=meta.direction, css=css,
                 body_type="frontmatter")


def ncx_document(meta: Metadata, toc: list[NavEntry]) -> bytes:
    """toc.ncx for EPUB 2 reading systems and older e-ink devices (EPUB 3.3 allows it as a
    non-nav resource); the same tree as the nav, with unique ids and play order."""
    root = etree.Element(f"{{{NCX_NS}}}ncx", nsmap={None: NCX_NS}, version="2005-1")
    root.set(XML_LANG, meta.lang)
    head = etree.SubElement(root, f"{{{NCX_NS}}}head")

    def depth(entries):
        return 1 + max((depth(e.children) for e in entries), default=0) if entries else 0

    for name, content in (("dtb:uid", meta.identifier), ("dtb:depth", str(max(1, depth(toc)))),
                          ("dtb:totalPageCount", "0"), ("dtb:maxPageNumber", "0")):
        etree.SubElement(head, f"{{{NCX_NS}}}meta", name=name, content=content)
    title = etree.SubElement(etree.SubElement(root, f"{{{NCX_NS}}}docTitle"), f"{{{NCX_NS}}}text")
    title.text = meta.title
    nav_map = etree.SubElement(root, f"{{{NCX_NS}}}navMap")
    counter = [0]

    def add(parent, entries):
        for e in entries:
            counter[0] += 1
            point = etree.SubElement(parent, f"{{{NCX_NS}}}navPoint", id=f"navpoint-{counter[0]}",
                                     playOrder=str(counter[0]))
            label = etree.SubElement(etree.SubElement(point, f"{{{NCX_NS}}}navLabel"), f"{{{NCX_NS}}}text")
            label.text = e.title
            etree.SubElement(point, f"{{{NCX_NS}}}content", src=e.href.removeprefix("../"))
            add(point, e.children)

    add(nav_map, toc)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


@dataclass
class PackageItem:
    file_name: str  # inside the EPUB folder, e.g. "text/ch001.xhtml"
    data: bytes
    media_type: str
    title: str = ""
    properties: tuple[str, ...] = ()
    in_spine: bool = False
    uid: str = ""
    media_overlay: str | None = None  # id of the SMIL document narrating this one


def write_epub(fileobj, meta: Metadata, items: list[PackageItem], *, nav: bytes, ncx: bytes,
               discovery: Discovery, conformance: dict[str, str] | None, cover_id: str | None,
               guide: list[tuple[str, str, str]], media: dict | None = None, deflate_cache=None) -> None:
    """Write the EPUB to `fileobj` (an open binary file).  Spine order is the order of `items`
    with `in_spine`; the nav document goes in the spine after the items marked before it."""
    book = epub.EpubBook()
    # ebooklib's own generator line; ours says which tool made the book.
    book.metadata[epub.NAMESPACES["OPF"]] = {}
    book.add_metadata(None, "meta", "", {"name": "generator", "content": f"book {__version__}"})
    book.set_identifier(meta.identifier)
    book.set_title(meta.title)
    book.set_language(meta.lang)
    if meta.direction == "rtl":
        book.set_direction("rtl")
    for i, author in enumerate(meta.authors, 1):
        uid = f"creator{i}"
        book.add_metadata("DC", "creator", author, {"id": uid})
        book.add_metadata(None, "meta", "aut", {"refines": "#" + uid, "property": "role", "scheme": "marc:relators"})
    for key, value in (("publisher", meta.publisher), ("rights", meta.rights), ("description", meta.description)):
        if value:
            book.add_metadata("DC", key, value)
    if meta.subtitle:
        book.add_metadata("DC", "title", meta.subtitle, {"id": "subtitle"})
        book.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})
    for subject in meta.subjects:
        book.add_metadata("DC", "subject", subject)
    if meta.date:
        book.add_metadata("DC", "date", meta.date)
    if meta.source:
        # EPUB 3.3 §5.5.3.2: dc:source names the resource the publication is derived from.
        book.add_metadata("DC", "source", meta.source)

    # Discovery metadata, EPUB Accessibility 1.1 §2 (schema.org properties in `meta` elements).
    for mode in discovery.access_modes:
        book.add_metadata(None, "meta", mode, {"property": "schema:accessMode"})
    for modes in discovery.access_modes_sufficient:
        book.add_metadata(None, "meta", ",".join(modes), {"property": "schema:accessModeSufficient"})
    for feature in discovery.features:
        book.add_metadata(None, "meta", feature, {"property": "schema:accessibilityFeature"})
    for hazard in discovery.hazards:
        book.add_metadata(None, "meta", hazard, {"property": "schema:accessibilityHazard"})
    summary_attrs = {"property": "schema:accessibilitySummary"}
    if summary_language(meta) != meta.lang:
        # A generated summary falls back to English for languages it does not speak yet; say so,
        # so a screen reader reads it with an English voice (WCAG 3.1.2).
        summary_attrs[XML_LANG] = summary_language(meta)
    book.add_metadata(None, "meta", discovery.summary, summary_attrs)
    if conformance:
        book.add_prefix("a11y", "http://www.idpf.org/epub/vocab/package/a11y/#")
        book.add_metadata(None, "meta", conformance["conforms-to"], {"property": "dcterms:conformsTo", "id": "conformance"})
        if conformance.get("certified-by"):
            book.add_metadata(None, "meta", conformance["certified-by"],
                              {"property": "a11y:certifiedBy", "id": "certifier"})
            if conformance.get("certifier-credential"):
                book.add_metadata(None, "meta", conformance["certifier-credential"],
                                  {"property": "a11y:certifierCredential", "refines": "#certifier"})
        if conformance.get("certifier-report"):
            book.add_metadata(None, "link", "", {"rel": "a11y:certifierReport",
                                                 "href": conformance["certifier-report"]})
    if meta.accessibility.exemption:
        book.add_prefix("a11y", "http://www.idpf.org/epub/vocab/package/a11y/#")
        book.add_metadata(None, "meta", meta.accessibility.exemption, {"property": "a11y:exemption"})
    if media:
        # Media Overlays 3.3 §3.2: a duration for each overlay and for the whole publication
        # (the sum), the class reading systems put on the sentence being read, the narrator.
        for uid, seconds in media["durations"].items():
            book.add_metadata(None, "meta", clock(seconds), {"property": "media:duration", "refines": "#" + uid})
        book.add_metadata(None, "meta", clock(sum(media["durations"].values())), {"property": "media:duration"})
        book.add_metadata(None, "meta", media["narrator"], {"property": "media:narrator"})
        book.add_metadata(None, "meta", media["active_class"], {"property": "media:active-class"})
    if cover_id:
        # EPUB 2 readers (and many e-ink libraries) find the cover through this meta; EPUB 3 ones
        # through the `cover-image` manifest property.  Both, so the library tile is never blank.
        book.add_metadata(None, "meta", "", {"name": "cover", "content": cover_id})

    spine = []
    for n, it in enumerate(items):
        uid = it.uid or f"item{n + 1}"
        if it.media_type == "application/xhtml+xml" and it.file_name == "nav.xhtml":
            doc = _Nav(it.data)
        elif it.media_type == "application/xhtml+xml":
            doc = _Document(uid, it.file_name, it.data, it.title, it.properties)
            doc.media_overlay = it.media_overlay
        else:
            doc = epub.EpubItem(uid=uid, file_name=it.file_name, media_type=it.media_type, content=it.data)
            if it.properties:
                doc.properties = list(it.properties)
        book.add_item(doc)
        if it.in_spine:
            spine.append(doc)
    book.add_item(epub.EpubNcx())
    book.spine = spine
    book.guide = [{"type": t, "href": h, "title": title} for t, h, title in guide]
    options = {"epub3_pages": False, "epub3_landmark": False, "epub2_guide": True,
               "mtime": modified_time(meta), "raise_exceptions": True, "compresslevel": 6}
    writer = _Writer(fileobj, book, lang=meta.lang, direction=meta.direction, ncx=ncx, options=options,
                     deflate_cache=deflate_cache)
    writer.process()
    writer.write()
