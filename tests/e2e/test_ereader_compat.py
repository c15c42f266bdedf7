"""What e-ink readers need beyond the EPUB 3 specification (no browser needed).

* the cover marked both ways: EPUB 3 `properties="cover-image"` and the EPUB 2
  `<meta name="cover">` that Kindle conversions, Kobo and many library apps still read;
* a toc.ncx with the same entries as the nav (EPUB 2 reading systems use only the NCX);
* every XHTML file under 300 KB (Adobe RMSDK-based readers — older Kobo, Nook, Sony, PocketBook —
  fail on or refuse larger files);
* images only in JPEG, PNG, SVG or GIF (WebP is EPUB 3.3 core but unsupported on many devices);
* CSS without `position: fixed`, `!important`, viewport units or `@import`, which e-ink
  renderers ignore, mishandle, or let override the reader's settings.
"""

from __future__ import annotations

import posixpath
import re
import zipfile

import pytest
from lxml import etree

import book
from book.errors import BookError

pytestmark = pytest.mark.e2e

BOOKS = ["sample", "arabic", "japanese", "images"]
NS = {"opf": "http://www.idpf.org/2007/opf", "ncx": "http://www.daisy.org/z3986/2005/ncx/",
      "x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops",
      "c": "urn:oasis:names:tc:opendocument:xmlns:container"}
MAX_XHTML = 300 * 1000  # bytes, with a margin under RMSDK's ~300 KiB
IMAGE_MAGIC = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",),
               "image/gif": (b"GIF87a", b"GIF89a"), "image/svg+xml": (b"<?xml", b"<svg")}


class Epub:
    """The parts of an EPUB these checks read; every href resolved to a path in the zip."""

    def __init__(self, path):
        self.zip = zipfile.ZipFile(path)
        container = etree.fromstring(self.zip.read("META-INF/container.xml"))
        self.opf_path = container.xpath("//c:rootfile/@full-path", namespaces=NS)[0]
        self.opf = etree.fromstring(self.zip.read(self.opf_path))
        self.items = [{"id": i.get("id"), "path": self.resolve(self.opf_path, i.get("href")),
                       "type": i.get("media-type"), "properties": (i.get("properties") or "").split()}
                      for i in self.opf.xpath("//opf:manifest/opf:item", namespaces=NS)]

    @staticmethod
    def resolve(base: str, href: str) -> str:
        path, _, frag = href.partition("#")
        full = posixpath.normpath(posixpath.join(posixpath.dirname(base), path))
        return full + ("#" + frag if frag else "")

    def item(self, prop: str) -> dict:
        return next(i for i in self.items if prop in i["properties"])

    def read(self, item: dict) -> bytes:
        return self.zip.read(item["path"])


def nav_toc(epub: Epub) -> list[tuple[int, str, str]]:
    """(depth, label, target) of the nav's toc, in order."""
    nav = epub.item("nav")
    root = etree.fromstring(epub.read(nav))
    toc = root.xpath("//x:nav[@epub:type='toc']", namespaces=NS)[0]
    return [(len(a.xpath("ancestor::x:ol", namespaces=NS)), re.sub(r"\s+", " ", a.xpath("string()")).strip(),
             epub.resolve(nav["path"], a.get("href"))) for a in toc.xpath(".//x:a", namespaces=NS)]


def ncx_toc(epub: Epub) -> list[tuple[int, str, str]]:
    spine_toc = epub.opf.xpath("//opf:spine/@toc", namespaces=NS)
    ncx = next(i for i in epub.items if i["type"] == "application/x-dtbncx+xml")
    assert spine_toc == [ncx["id"]], "the spine must name the NCX in its toc attribute"
    root = etree.fromstring(epub.read(ncx))
    points = root.xpath("//ncx:navMap//ncx:navPoint", namespaces=NS)
    orders = [int(p.get("playOrder")) for p in points]
    assert orders == sorted(orders) and len({p.get("id") for p in points}) == len(points)
    return [(len(p.xpath("ancestor-or-self::ncx:navPoint", namespaces=NS)),
             re.sub(r"\s+", " ", p.xpath("string(ncx:navLabel/ncx:text)", namespaces=NS)).strip(),
             epub.resolve(ncx["path"], p.xpath("string(ncx:content/@src)", namespaces=NS))) for p in points]


@pytest.mark.parametrize("name", BOOKS)
def test_cover_is_marked_both_ways(name, built_books):
    epub = Epub(built_books[name].epub)
    cover = epub.item("cover-image")
    assert cover["type"] in ("image/jpeg", "image/png")  # an SVG or GIF cover shows blank on some
    metas = epub.opf.xpath("//opf:metadata/opf:meta[@name='cover']/@content", namespaces=NS)
    assert metas == [cover["id"]]


@pytest.mark.parametrize("name", BOOKS)
def test_ncx_matches_the_nav(name, built_books):
    epub = Epub(built_books[name].epub)
    nav = nav_toc(epub)
    assert nav, "the nav has no TOC entries"
    assert ncx_toc(epub) == nav


# ---- document size ------------------------------------------------------------------------

def _paragraphs(seed: int, count: int) -> str:
    words = ("reading light chapter quiet margin paper ink lamp shelf page spine river morning "
             "window garden letter story harbour winter market bridge lantern").split()
    paras = []
    for p in range(count):
        paras.append(" ".join(words[(seed * 7 + p * 3 + i * i) % len(words)] for i in range(140)).capitalize() + ".")
    return "\n\n".join(paras)


@pytest.fixture(scope="module")
def long_book(tmp_path_factory):
    """48 sections of ~30 KB of text each (about 1.5 MB of XHTML), each with two subsections."""
    folder = tmp_path_factory.mktemp("long")
    parts = ["---\ntitle: A Long Book\nlang: en\nauthor: Long Writer\n---\n"]
    for s in range(48):
        parts.append(f"# Section {s + 1}\n\n{_paragraphs(s, 12)}\n\n## Part {s + 1}.1\n\n{_paragraphs(s + 1, 12)}\n\n"
                     f"## Part {s + 1}.2\n\n{_paragraphs(s + 2, 12)}\n")
    (folder / "long.md").write_text("\n".join(parts), "utf-8")
    book.build(folder / "long.md", folder / "long.epub")
    return folder / "long.epub"


def _oversized(epub_path) -> list[str]:
    epub = Epub(epub_path)
    sizes = {i["path"]: epub.zip.getinfo(i["path"]).file_size for i in epub.items
             if i["type"] == "application/xhtml+xml"}
    return [f"{p}: {n} bytes" for p, n in sizes.items() if n >= MAX_XHTML]


def test_long_book_documents_are_under_300_kb(long_book):
    epub = Epub(long_book)
    documents = [i for i in epub.items if i["type"] == "application/xhtml+xml"]
    assert len(documents) > 48
    assert sum(epub.zip.getinfo(i["path"]).file_size for i in documents) > 1_000_000
    assert _oversized(long_book) == []


@pytest.mark.parametrize("name", BOOKS)
def test_documents_are_under_300_kb(name, built_books):
    assert _oversized(built_books[name].epub) == []


def test_one_huge_section_is_split_under_300_kb(tmp_path):
    """Not only many sections: one section longer than 300 KB must be continued in more files."""
    text = "---\ntitle: One Long Section\nlang: en\nauthor: A\n---\n# Only\n\n" + _paragraphs(1, 400) + "\n"
    (tmp_path / "huge.md").write_text(text, "utf-8")
    book.build(tmp_path / "huge.md", tmp_path / "huge.epub")
    epub = Epub(tmp_path / "huge.epub")
    assert sum(i["path"].startswith("EPUB/text/ch") for i in epub.items) > 1
    assert _oversized(tmp_path / "huge.epub") == []


# ---- image formats --------------------------------------------------------------------------

def _bad_images(epub_path) -> list[str]:
    epub = Epub(epub_path)
    bad = []
    for i in epub.items:
        if not i["type"].startswith("image/"):
            continue
        data = epub.read(i)
        if i["type"] not in IMAGE_MAGIC:
            bad.append(f"{i['path']}: {i['type']} is not JPEG, PNG, SVG or GIF")
        elif not data.lstrip().startswith(IMAGE_MAGIC[i["type"]]):
            bad.append(f"{i['path']}: the bytes are not {i['type']}")
    return bad


@pytest.mark.parametrize("name", BOOKS)
def test_images_are_jpeg_png_svg_or_gif(name, built_books):
    assert _bad_images(built_books[name].epub) == []


def test_a_webp_source_image_does_not_reach_the_epub(tmp_path):
    from PIL import Image

    Image.new("RGB", (60, 40), "red").save(tmp_path / "red.webp")
    (tmp_path / "w.md").write_text("---\ntitle: W\nlang: en\nauthor: A\n---\n# One\n\n![A red rectangle.](red.webp)\n")
    try:
        book.build(tmp_path / "w.md", tmp_path / "w.epub")
    except BookError:
        return  # refusing it, with a message, is fine too
    assert _bad_images(tmp_path / "w.epub") == []


# ---- CSS --------------------------------------------------------------------------------------

CSS_RULES = {
    "position: fixed": re.compile(r"position\s*:\s*fixed", re.I),
    "!important": re.compile(r"!\s*important", re.I),
    "viewport units": re.compile(r"(?<![\w-])[\d.]+(?:vw|vh|vmin|vmax|[dsl]v[wh])\b", re.I),
    "@import": re.compile(r"@import\b", re.I),
}


def css_problems(css: str) -> list[str]:
    """What in `css` e-ink readers mishandle; comments do not count."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return [name for name, rule in CSS_RULES.items() if rule.search(css)]


def test_css_check_catches_what_it_should():
    assert css_problems("/* no position: fixed, !important, 10vh or @import here */ p { margin: 1em }") == []
    assert css_problems("@import url(x.css);\nnav { position : FIXED; height: 100vh; color: red ! important }") \
        == ["position: fixed", "!important", "viewport units", "@import"]


@pytest.mark.parametrize("name", BOOKS)
def test_css_avoids_what_e_readers_mishandle(name, built_books):
    epub = Epub(built_books[name].epub)
    found = {}
    for i in epub.items:
        if i["type"] == "text/css":
            found[i["path"]] = css_problems(epub.read(i).decode("utf-8"))
        elif i["type"] == "application/xhtml+xml":
            # Style elements and style attributes are CSS too.
            root = etree.fromstring(epub.read(i))
            inline = root.xpath("//x:style/text() | //@style", namespaces=NS)
            found[i["path"]] = css_problems("\n".join(inline))
    assert any(p.endswith(".css") for p in found), "no stylesheet in the book"
    assert {p: v for p, v in found.items() if v} == {}
