"""The Kobo edition: `NAME.kepub.epub` beside `NAME.epub` (`book build --kobo`).

A Kobo e-reader opens a file named `*.kepub.epub` with its own "kepub" reading engine — the one
that shows the books of the Kobo store — instead of the Adobe RMSDK engine it uses for plain
EPUB.  With it a reader gets Kobo's reading statistics (time left in the chapter and the book,
pages per chapter), highlights and notes, and quicker page turns.  That engine finds its way in
a document through markup the Kobo store adds to every book, which this module adds too:

* `<span class="koboSpan" id="kobo.P.S">` around every sentence: P counts the paragraphs (each
  heading, paragraph, list item, table cell, caption … and each picture) of the document from 1,
  S the sentences of that paragraph from 1.  Kobo anchors reading positions, highlights and
  statistics to these spans.  A span holds text only, inside whatever inline element holds the
  text (`<em><span …>…</span></em>`); a picture gets a span of its own around the `<img>`.
* `div#book-columns > div#book-inner` around the body's content, which Kobo's engine styles to
  lay out its columns and pages, and the `kobostylehacks` style Kobo books carry for it.

This is how Kobo's own books are marked up, and how the open tools do it (kepubify,
calibre's KoboTouchExtended driver and its kepubify module); learned from them, not copied.

The Kobo edition is made from the finished EPUB's documents — the chapters are not rendered a
second time — and changes nothing else: the package document (accessibility metadata, cover,
language, spine), the navigation document, the NCX, the pictures and the stylesheet are the same
bytes, so the edition stays EPUBCheck-valid and as accessible as the EPUB.  It is written to a
temporary file and renamed into place, so there is never a half-written `.kepub.epub`.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from pathlib import Path

from lxml import etree

from ..errors import OutputError
from ..files import atomic_file, clean_stale
from ..narrate.overlays import LEAF_BLOCKS, XHTML, split_text

SPAN_CLASS = "koboSpan"
OUTER_ID, INNER_ID = "book-columns", "book-inner"
STYLE_ID = "kobostylehacks"
# Kobo's own books reset the margins of the wrapper with this style (as kepubify does); the
# book's stylesheet keeps everything else.  The wrappers also join the cover's chain of 100%
# heights (html.cover in styles/book.css), so the cover still fits one page inside them.
STYLE = ("div#book-inner { margin-top: 0; margin-bottom: 0; }\n"
         "html.cover div#book-columns, html.cover div#book-inner { height: 100%; margin: 0; padding: 0; }")
# Text Kobo leaves as it is (kepubify and calibre skip the same): code keeps its spacing, SVG and
# MathML are not HTML text.
_SKIP = {f"{{{XHTML}}}{t}" for t in ("script", "style", "pre", "audio", "video")} | {
    "{http://www.w3.org/2000/svg}svg", "{http://www.w3.org/1998/Math/MathML}math"}
_BLOCKS = LEAF_BLOCKS | {f"{{{XHTML}}}{t}" for t in
                         "body div section aside blockquote ul ol dl table thead tbody tfoot tr figure nav "
                         "header footer article main".split()}
_IMG = f"{{{XHTML}}}img"
_OPF = "http://www.idpf.org/2007/opf"


def kepub_path(epub: str | Path) -> Path:
    """`dist/book.epub` → `dist/book.kepub.epub`: the name Kobo devices recognise."""
    epub = Path(epub)
    stem = epub.name[:-5] if epub.name.lower().endswith(".epub") else epub.name
    return epub.with_name(stem + ".kepub.epub")


def write_kepub(epub: str | Path, out: str | Path | None = None) -> Path:
    """Write the Kobo edition of the finished EPUB `epub` (by default beside it); returns its path."""
    epub = Path(epub)
    target = Path(out) if out else kepub_path(epub)
    entries = kepubify(epub.read_bytes())
    try:
        clean_stale(target)
        with atomic_file(target, durable=True) as (f, _tmp):  # whole or not at all, like the EPUB
            _write_zip(f, entries)
    except OSError as e:
        raise OutputError(f"cannot write '{target}' ({e.strerror})", file=str(target),
                          hint="choose another -o path or fix the folder's permissions") from None
    return target


def kepubify(epub_bytes: bytes) -> list[tuple[str, bytes]]:
    """The EPUB's entries, in their order, with Kobo's markup added to its content documents."""
    with zipfile.ZipFile(io.BytesIO(epub_bytes)) as z:
        names = z.namelist()
        documents = _content_documents(z)
        return [(name, kobo_document(z.read(name)) if name in documents else z.read(name)) for name in names]


def _content_documents(z: zipfile.ZipFile) -> set[str]:
    """The XHTML documents of the spine, except the navigation document (kept as it is: reading
    systems read its lists, which must stay exactly as EPUB 3.3 §7 has them)."""
    container = etree.fromstring(z.read("META-INF/container.xml"))
    opf_path = container.find(".//{urn:oasis:names:tc:opendocument:xmlns:container}rootfile").get("full-path")
    opf = etree.fromstring(z.read(opf_path))
    base = posixpath.dirname(opf_path)
    items = {i.get("id"): i for i in opf.iter(f"{{{_OPF}}}item")}
    out = set()
    for ref in opf.iter(f"{{{_OPF}}}itemref"):
        item = items.get(ref.get("idref"))
        if (item is not None and item.get("media-type") == "application/xhtml+xml"
                and "nav" not in (item.get("properties") or "").split()):
            out.add(posixpath.normpath(posixpath.join(base, item.get("href"))))
    return out


def kobo_document(data: bytes) -> bytes:
    """One XHTML content document with Kobo's style, wrappers and sentence spans."""
    root = etree.fromstring(data)
    head = root.find(f"{{{XHTML}}}head")
    body = root.find(f"{{{XHTML}}}body")
    style = etree.SubElement(head, f"{{{XHTML}}}style", type="text/css", id=STYLE_ID)
    style.text = STYLE
    style.tail = "\n"
    _wrap_body(body)
    taken = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    # Sentences end where the document's language ends them (book.narrate.sentences).
    _add_spans(body, taken, root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or "en")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")


def _wrap_body(body) -> None:
    outer = etree.Element(f"{{{XHTML}}}div", id=OUTER_ID)
    inner = etree.SubElement(outer, f"{{{XHTML}}}div", id=INNER_ID)
    inner.text, body.text = body.text, "\n"
    for child in list(body):
        inner.append(child)  # moves it, with its tail
    outer.tail = "\n"
    body.append(outer)


class _Counter:
    """kobo.P.S: a new P for each paragraph that has text (or for a picture), S from 1 in it."""

    def __init__(self, taken: set[str], lang: str = "en"):
        self.taken = taken
        self.lang = lang
        self.para = 0
        self.seg = 0
        self.owner = None  # the block whose text the last span held

    def next_id(self, owner) -> str:
        if owner is not self.owner or owner is None:
            self.para += 1
            self.seg = 0
            self.owner = owner
        while True:
            self.seg += 1
            ident = f"kobo.{self.para}.{self.seg}"
            if ident not in self.taken:  # an author's own {#kobo.1.1} keeps its id
                return ident


def _block_of(el):
    for node in (el, *el.iterancestors()):
        if node.tag in _BLOCKS:
            return node
    return None


def _span(ident: str, text: str):
    span = etree.Element(f"{{{XHTML}}}span", {"class": SPAN_CLASS, "id": ident})
    span.text = text
    return span


def _pieces(text: str, lang: str = "en") -> list[tuple[str, str, str]]:
    """Text → [(white space before, sentence, white space after)]; the spaces stay outside the
    spans, so the text reads and wraps exactly as before."""
    out = []
    for piece, _ends in split_text(text, lang):
        body = piece.strip()
        if not body:
            if out:
                out[-1] = (out[-1][0], out[-1][1], out[-1][2] + piece)
            else:
                out.append((piece, "", ""))
            continue
        lead = piece[: len(piece) - len(piece.lstrip())]
        trail = piece[len(piece.rstrip()):]
        out.append((lead, body, trail))
    return out


def _spans_for(text: str, owner, counter: _Counter) -> tuple[str, list]:
    """(text before the first span, [spans with their tails]) for a run of text."""
    before, spans = "", []
    for lead, sentence, trail in _pieces(text, counter.lang):
        if not sentence:
            before += lead
            continue
        if spans:
            spans[-1].tail = (spans[-1].tail or "") + lead
        else:
            before += lead
        span = _span(counter.next_id(owner), sentence)
        span.tail = trail
        spans.append(span)
    return before, spans


def _add_spans(body, taken: set[str], lang: str = "en") -> None:
    counter = _Counter(taken, lang)

    def walk(el):
        if el.tag in _SKIP:
            return
        children = list(el)  # before the spans go in: they are not walked again
        if el.text and el.text.strip():
            before, spans = _spans_for(el.text, _block_of(el), counter)
            el.text = before or None
            for i, span in enumerate(spans):
                el.insert(i, span)
        for child in children:
            if not isinstance(child.tag, str):
                continue
            if child.tag == _IMG:
                # A picture is a paragraph of its own, its span around the <img>.
                span = etree.Element(f"{{{XHTML}}}span", {"class": SPAN_CLASS, "id": counter.next_id(None)})
                counter.owner = None
                child.addprevious(span)
                span.tail, child.tail = child.tail, None
                span.append(child)
                tail_holder = span
            else:
                walk(child)
                tail_holder = child
            if tail_holder.tail and tail_holder.tail.strip():
                before, spans = _spans_for(tail_holder.tail, _block_of(el), counter)
                tail_holder.tail = before or None
                for span in reversed(spans):
                    tail_holder.addnext(span)

    walk(body)


def _write_zip(f, entries: list[tuple[str, bytes]]) -> None:
    from .ocfzip import ZipOut

    out = ZipOut(f)
    for name, data in entries:
        out.writestr(name, data)  # `mimetype` first and stored, as in the EPUB
    out.close()
