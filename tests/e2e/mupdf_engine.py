"""Lay EPUBs out into pages with MuPDF (through PyMuPDF) and ask what is on each page.

MuPDF is the engine of SumatraPDF and of several Android readers, and it stands in for the
e-ink class of engines (Adobe RMSDK, crengine): it lays XHTML out with its own CSS engine —
blocks and lines, no flexbox, grid or scripts — into fixed pages, where browser-based engines
(epub.js, foliate-js) hand the layout to Chromium.  What breaks there breaks on e-ink devices.

Like engine.py, the checks return *problems* (lists of strings) instead of asserting, so a test
can show that a check catches a deliberately broken book as well as that it passes a good one.

PyMuPDF is AGPL-licensed: a test-only dependency (the `test` extra), never imported by `book`.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e" / "mupdf"
INSTALL = "bash tests/e2e/install.sh (or: python -m pip install pymupdf)"

XHTML = "http://www.w3.org/1999/xhtml"
NS = {"x": XHTML, "opf": "http://www.idpf.org/2007/opf",
      "c": "urn:oasis:names:tc:opendocument:xmlns:container"}
IMAGE = "\ue000"  # stands for a picture in the text streams compared below
# Text MuPDF draws that is not in the document's text: list markers ("1.", "•").
_MARKERS = re.compile(r"^(?:\d+\.|[•◦▪■–·])*$")
# Elements whose text a reader never sees on the page.
_UNSEEN = {f"{{{XHTML}}}{t}" for t in ("head", "script", "style", "title")}


def missing_reason() -> str | None:
    try:
        import pymupdf  # noqa: F401
    except ImportError:
        return f"PyMuPDF is not installed (run: {INSTALL})"
    return None


def norm(text: str) -> str:
    """Text without white space or soft hyphens: MuPDF breaks lines (and hyphenates words, with a
    U+00AD at the break) where the source has none, so only the characters are compared."""
    return re.sub(r"[\s\u00ad]+", "", text)


@dataclass
class Block:
    kind: str  # "text" or "image"
    bbox: tuple[float, float, float, float]
    text: str = ""


@dataclass
class Page:
    number: int  # from 1
    document: str  # the spine document laid out on this page (path in the zip)
    blocks: list[Block]
    ink: float  # share of the page's pixels that are not background


@dataclass
class LaidOut:
    """An EPUB as MuPDF pages it (its default page: 400 × 600 pt, 11 pt text)."""

    path: Path
    spine: list[str]
    images: list[str]  # every picture in the manifest (paths in the zip)
    zip: zipfile.ZipFile
    doc: object  # the pymupdf.Document
    size: tuple[float, float] = (0.0, 0.0)  # of a page, in points
    pages: list[Page] = field(default_factory=list)

    def pages_of(self, document: str) -> list[Page]:
        return [p for p in self.pages if p.document == document]


def _package(z: zipfile.ZipFile) -> tuple[list[str], list[str]]:
    """(the spine's documents, the manifest's pictures), as paths in the zip."""
    container = etree.fromstring(z.read("META-INF/container.xml"))
    opf_path = container.xpath("//c:rootfile/@full-path", namespaces=NS)[0]
    opf = etree.fromstring(z.read(opf_path))
    items = opf.xpath("//opf:manifest/opf:item", namespaces=NS)
    base = posixpath.dirname(opf_path)
    path = {i.get("id"): posixpath.normpath(posixpath.join(base, i.get("href"))) for i in items}
    return ([path[r] for r in opf.xpath("//opf:spine/opf:itemref/@idref", namespaces=NS)],
            [path[i.get("id")] for i in items if i.get("media-type", "").startswith("image/")])


def _ink(page) -> float:
    """Share of pixels darker than near-white, at a low resolution (enough to tell a blank page)."""
    import pymupdf

    pix = page.get_pixmap(dpi=24, colorspace=pymupdf.csGRAY)
    samples = pix.samples
    return sum(1 for b in samples if b < 235) / max(1, len(samples))


def lay_out(path: Path) -> LaidOut:
    import pymupdf

    z = zipfile.ZipFile(path)
    doc = pymupdf.open(str(path))
    laid = LaidOut(Path(path), *_package(z), zip=z, doc=doc)
    if doc.page_count:
        laid.size = (doc[0].rect.width, doc[0].rect.height)
    for i in range(doc.page_count):
        page = doc[i]
        chapter = doc.location_from_page_number(i)[0]
        blocks = []
        for b in page.get_text("dict")["blocks"]:
            if b["type"] == 1:
                blocks.append(Block("image", tuple(b["bbox"])))
            else:
                text = "\n".join("".join(s["text"] for s in line["spans"]) for line in b["lines"])
                blocks.append(Block("text", tuple(b["bbox"]), text))
        # What a reader sees: top to bottom, then across (pages are one column).
        blocks.sort(key=lambda b: (round(b.bbox[1], 1), b.bbox[0]))
        laid.pages.append(Page(i + 1, laid.spine[chapter], blocks, _ink(page)))
    return laid


def save_pages(laid: LaidOut, name: str, count: int = 8, dpi: int = 72) -> list[Path]:
    """PNG pictures of the first `count` pages, for a person to look at (test-artifacts/)."""
    folder = ARTIFACTS / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("page-*.png"):
        old.unlink()
    out = []
    for i in range(min(count, len(laid.pages))):
        target = folder / f"page-{i + 1:02d}.png"
        laid.doc[i].get_pixmap(dpi=dpi).save(str(target))
        out.append(target)
    return out


# ---- the checks -----------------------------------------------------------------------------

def page_problems(laid: LaidOut) -> list[str]:
    """Every spine document gets pages, in spine order; no page is blank; the cover page is
    mostly picture; every picture lies on its page."""
    problems = []
    order = [laid.spine.index(p.document) for p in laid.pages]
    if order != sorted(order):
        problems.append(f"pages are not in spine order: documents {order}")
    for doc in laid.spine:
        if not laid.pages_of(doc):
            problems.append(f"{doc} has no page")
    width, height = laid.size
    for p in laid.pages:
        if p.ink < 0.002:
            problems.append(f"page {p.number} ({p.document}) is blank")
        for b in p.blocks:
            x0, y0, x1, y1 = b.bbox
            if b.kind == "image" and not (-1 <= x0 < x1 <= width + 1 and -1 <= y0 < y1 <= height + 1):
                problems.append(f"page {p.number}: a picture lies off the page at {[round(v) for v in b.bbox]}")
    cover = laid.pages[0] if laid.pages else None
    if cover is None or cover.ink < 0.2 or not any(b.kind == "image" for b in cover.blocks):
        problems.append(f"the cover page is blank or nearly so ({cover.ink if cover else 0:.0%} ink)")
    return problems


def _visible_stream(root) -> list[tuple[str, object]]:
    """The body's text nodes and pictures in document order, leaving out what no reader sees:
    `hidden` subtrees (the landmarks list) and the head."""
    out: list[tuple[str, object]] = []

    def walk(el):
        if not isinstance(el.tag, str) or el.tag in _UNSEEN or el.get("hidden") is not None:
            return
        if el.tag == f"{{{XHTML}}}img":
            out.append(("image", el))
        elif el.text and norm(el.text):
            out.append(("text", norm(el.text)))
        for child in el:
            walk(child)
            if child.tail and norm(child.tail):
                out.append(("text", norm(child.tail)))

    walk(root.find(f"{{{XHTML}}}body"))
    return out


def _hidden_only(root) -> list[str]:
    """Texts that appear only inside `hidden` elements."""
    visible = "".join(t for kind, t in _visible_stream(root) if kind == "text")
    texts = []
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("hidden") is not None:
            for t in el.itertext():
                if norm(t) and norm(t) not in visible and not _MARKERS.match(norm(t)):
                    texts.append(norm(t))
    return texts


def _aspect(laid: LaidOut, document: str, img) -> float | None:
    """Width / height of the picture an <img> shows, from its file."""
    from PIL import Image

    name = posixpath.normpath(posixpath.join(posixpath.dirname(document), img.get("src", "")))
    data = laid.zip.read(name)
    if data.lstrip().startswith((b"<?xml", b"<svg")):
        svg = etree.fromstring(data)
        box = (svg.get("viewBox") or "").replace(",", " ").split()
        if len(box) == 4:
            return float(box[2]) / float(box[3])
        w, h = svg.get("width"), svg.get("height")
        return float(re.sub(r"[a-z%]+$", "", w)) / float(re.sub(r"[a-z%]+$", "", h)) if w and h else None
    with Image.open(io.BytesIO(data)) as im:
        return im.width / im.height


def order_problems(laid: LaidOut) -> list[str]:
    """Per spine document, the pages show exactly its visible text and pictures, in source order:
    each text and picture of the XHTML is found on the pages after the one before it, nothing is
    left over but list markers (so no hidden text shows), no text stands beside a picture (a
    caption starts below its picture), and each picture is drawn at its own proportions.  Every
    picture of the manifest is on some page."""
    problems = []
    shown: set[str] = set()  # the pictures drawn, as paths in the zip
    for document in laid.spine:
        root = etree.fromstring(laid.zip.read(document))
        expected = _visible_stream(root)
        pages = laid.pages_of(document)
        stream, images = "", []  # the pages' text with IMAGE where each picture is drawn
        for p in pages:
            for b in p.blocks:
                if b.kind == "image":
                    stream += IMAGE
                    images.append((p, b))
                else:
                    stream += norm(b.text)
            problems += _beside(p, document)
        pos = 0
        for kind, value in expected:
            needle = IMAGE if kind == "image" else value
            at = stream.find(needle, pos)
            if at < 0:
                what = (f"the picture {value.get('src')!r}" if kind == "image" else repr(value[:60]))
                later = stream.find(needle)
                problems.append(f"{document}: {what} is " + ("missing" if later < 0 else
                                "out of order (drawn before the text that precedes it)"))
                continue
            gap = stream[pos:at]
            if not _MARKERS.match(gap):
                problems.append(f"{document}: text that is not in the document's visible text: {gap[:80]!r}")
            if kind == "image":
                page, block = images[stream.count(IMAGE, 0, at)]
                want = _aspect(laid, document, value)
                x0, y0, x1, y1 = block.bbox
                if want and abs((x1 - x0) / max(y1 - y0, 0.01) / want - 1) > 0.05:
                    problems.append(f"{document}: the picture {value.get('src')!r} is drawn at "
                                    f"{x1 - x0:.0f} × {y1 - y0:.0f} pt, not in its proportions")
                shown.add(posixpath.normpath(posixpath.join(posixpath.dirname(document), value.get("src", ""))))
            pos = at + len(needle)
        rest = stream[pos:]
        if not _MARKERS.match(rest):
            problems.append(f"{document}: text that is not in the document's visible text: {rest[:80]!r}")
        for text in _hidden_only(root):
            if text in stream:
                problems.append(f"{document}: hidden text is shown: {text[:60]!r}")
        if stream.count(IMAGE) != sum(1 for kind, _ in expected if kind == "image"):
            problems.append(f"{document}: {stream.count(IMAGE)} pictures drawn, "
                            f"{sum(1 for kind, _ in expected if kind == 'image')} in the document")
    problems += [f"the picture {name} is in the book but on no page" for name in laid.images if name not in shown]
    return problems


def _beside(page: Page, document: str) -> list[str]:
    """A text block that shares lines with a picture: in one-column text, a caption or paragraph
    beside a figure means the figure was laid out inline."""
    out = []
    for img in (b for b in page.blocks if b.kind == "image"):
        for b in page.blocks:
            if (b.kind == "text" and not _MARKERS.match(norm(b.text))  # a list item's bullet may
                    and b.bbox[1] < img.bbox[3] - 0.5 and b.bbox[3] > img.bbox[1] + 0.5):
                out.append(f"{document}, page {page.number}: {' '.join(b.text.split())[:40]!r} stands beside a picture")
    return out
