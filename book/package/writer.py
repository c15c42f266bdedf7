"""The last step of a build: the documents, images, stylesheet and metadata into an EPUB 3 file.

ebooklib does the packaging.  Where ebooklib 0.20 does not do what EPUB 3.3, EPUBCheck or Ace
need, the fix is here, in :class:`_Writer` and :class:`_Document`, and nowhere
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
from dataclasses import dataclass

from ebooklib import epub

from .. import __version__
from ..source.metadata import Metadata
from . import ocfzip
from .a11y import Discovery, summary_language
from .documents import XML_LANG

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
    def __init__(self, fileobj, book, *, lang: str, direction: str, ncx: bytes, options, deflate_cache=None,
                 threads: int | None = None, record: bytes | None = None):
        super().__init__(fileobj, book, options)
        self._lang, self._direction, self._ncx = lang, direction, ncx
        self._deflate_cache, self._threads = deflate_cache, threads
        self._record = record

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
        # book.package.ocfzip: mimetype first and stored (OCF §4.2.3), fixed dates, the rest deflated
        # on all cores or taken from the cache.
        self.out = ocfzip.ZipOut(self.file_name, level=self.options["compresslevel"], cache=self._deflate_cache,
                                threads=self._threads)
        self.out.writestr("mimetype", "application/epub+zip")
        self._write_container()
        self._write_opf()
        self._write_items()
        if self._record is not None:
            # A linked record (EPUB 3.3 §5.5.6: `link rel="record"`) is not a publication
            # resource: it is in the container but not in the manifest (EPUBCheck OPF-067).
            self.out.writestr(f"{self.book.FOLDER_NAME}/{RECORD_FILE}", self._record)
        self.out.close()


def modified_time(meta: Metadata, source_date_epoch: int | None = None) -> _dt.datetime:
    """`dcterms:modified` (required by EPUB 3.3 §5.5.5): `source_date_epoch` when given (the
    reproducible-builds convention, from SOURCE_DATE_EPOCH: book.options.resolve), else the
    book's own date, else a fixed day — never the clock."""
    if source_date_epoch is not None:
        return _dt.datetime.fromtimestamp(source_date_epoch, tz=_dt.timezone.utc).replace(tzinfo=None)
    if meta.date:
        return _dt.datetime.fromisoformat(meta.date)
    return _dt.datetime(2000, 1, 1)


# The ONIX record inside the EPUB (`book build --onix=embed`), beside the package document.
RECORD_FILE = "onix.xml"


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
    linear: bool = True  # False: in the spine with linear="no" (an extended description, reached by its link)


@dataclass(frozen=True)
class Claim:
    """A conformance claim (EPUB Accessibility 1.1 §3): what the book conforms to and who
    certifies it; written as `dcterms:conformsTo` and `a11y:certifiedBy`."""

    conforms_to: str
    certified_by: str
    certifier_credential: str = ""
    certifier_report: str = ""


@dataclass(frozen=True)
class Overlays:
    """What the package document says of the Media Overlays (Media Overlays 3.3 §3.2)."""

    durations: dict[str, float]  # seconds, by the id of each SMIL item
    narrator: str
    active_class: str


def write_epub(fileobj, meta: Metadata, items: list[PackageItem], *, ncx: bytes,
               discovery: Discovery, claim: Claim | None, cover_id: str | None,
               guide: list[tuple[str, str, str]], overlays: Overlays | None = None, deflate_cache=None,
               source_date_epoch: int | None = None, threads: int | None = None, record: bytes | None = None) -> None:
    """Write the EPUB to `fileobj` (an open binary file).  Spine order is the order of `items`
    with `in_spine` (the nav document, ``nav.xhtml``, among them).  `threads` bounds the
    threads that compress the entries (book.package.ocfzip).  `record`: an ONIX record to
    embed as a linked record (book.package.onix)."""
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
    if claim:
        book.add_prefix("a11y", "http://www.idpf.org/epub/vocab/package/a11y/#")
        book.add_metadata(None, "meta", claim.conforms_to, {"property": "dcterms:conformsTo", "id": "conformance"})
        if claim.certified_by:
            book.add_metadata(None, "meta", claim.certified_by, {"property": "a11y:certifiedBy", "id": "certifier"})
            if claim.certifier_credential:
                book.add_metadata(None, "meta", claim.certifier_credential,
                                  {"property": "a11y:certifierCredential", "refines": "#certifier"})
        if claim.certifier_report:
            book.add_metadata(None, "link", "", {"rel": "a11y:certifierReport", "href": claim.certifier_report})
    if meta.page_source and "pageBreakMarkers" in discovery.features:
        # Where the page breaks come from (W3C "Page Source Identification": `pageBreakSource`,
        # accepted by EPUBCheck and read by Ace's `epub-pagesource`), and the print edition as
        # the book's dc:source (EPUB Accessibility Techniques 1.1 §4.1.2).  Only with markers:
        # a born-digital book claims no print source.
        book.add_metadata(None, "meta", meta.page_source, {"property": "pageBreakSource"})
        if meta.page_source != "none":
            book.add_metadata("DC", "source", meta.page_source)
    if record is not None:
        book.add_metadata(None, "link", "", {"rel": "record", "properties": "onix", "href": RECORD_FILE,
                                             "media-type": "application/xml"})
    if meta.accessibility.exemption:
        book.add_prefix("a11y", "http://www.idpf.org/epub/vocab/package/a11y/#")
        book.add_metadata(None, "meta", meta.accessibility.exemption, {"property": "a11y:exemption"})
    if overlays:
        from ..narrate.overlays import clock  # read aloud only: book.narrate loads with it

        # Media Overlays 3.3 §3.2: a duration for each overlay and for the whole publication
        # (the sum), the class reading systems put on the sentence being read, the narrator.
        for uid, seconds in overlays.durations.items():
            book.add_metadata(None, "meta", clock(seconds), {"property": "media:duration", "refines": "#" + uid})
        book.add_metadata(None, "meta", clock(sum(overlays.durations.values())), {"property": "media:duration"})
        book.add_metadata(None, "meta", overlays.narrator, {"property": "media:narrator"})
        book.add_metadata(None, "meta", overlays.active_class, {"property": "media:active-class"})
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
            spine.append(doc if it.linear else (doc, "no"))
    book.add_item(epub.EpubNcx())
    book.spine = spine
    book.guide = [{"type": t, "href": h, "title": title} for t, h, title in guide]
    options = {"epub3_pages": False, "epub3_landmark": False, "epub2_guide": True,
               "mtime": modified_time(meta, source_date_epoch), "raise_exceptions": True, "compresslevel": 6}
    writer = _Writer(fileobj, book, lang=meta.lang, direction=meta.direction, ncx=ncx, options=options,
                     deflate_cache=deflate_cache, threads=threads, record=record)
    writer.process()
    writer.write()
