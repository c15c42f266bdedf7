"""The books laid out into pages by MuPDF (PyMuPDF), the third reading engine of these tests and
the one closest to e-ink readers (see mupdf_engine.py).

For every test book: the cover page is not blank and every page has something on it; each spine
document's pages show its visible text and pictures in source order and nothing else (no hidden
navigation); every picture is drawn, on its page, at its proportions, with no text beside it;
the sections come in the order of the Markdown source.  The first eight pages of each book are
saved as pictures in test-artifacts/e2e/mupdf/<book>/.

Three broken copies prove that the checks fail when the book is wrong: inline figures, a shown
landmarks list, and the cover markup that gave MuPDF five blank pages.  The sample's illustration
is drawn by MuPDF as by Chromium (its old gradient came out as a black disc).

Nothing is lost in a modern engine by what makes the book right in MuPDF: the same stylesheet
that fits the cover to a MuPDF page fits it to a Chromium window — whole on the screen, at its
own proportions, as large as the window allows, not scrolling, in a short wide window as in a
tall narrow one (a browser-based reader in scrolled mode) — and to the reader's page in epub.js.
"""

from __future__ import annotations

import re
import zipfile

import pytest
from conftest import skip_or_fail

from . import engine as reader_engine
from . import mupdf_engine as mupdf

pytestmark = pytest.mark.e2e

BOOKS = ["sample", "arabic", "japanese", "images", "own-cover"]

OWN_COVER = """\
---
title: A Book With Its Own Cover
lang: en
author: Cora Example
cover-image: images/cover.png
cover-alt: A small blue cover with a white square in the middle.
---
# Pictures inside other blocks

A quotation holds a figure with a caption.

> Words before the figure, inside the quotation.
>
> ![A green square.](images/green.png "A caption inside a quotation.")

A list holds a picture of its own.

- A first item, in words.
- ![A red bar.](images/red.png)

A wide band is made smaller to fit the page.

![A wide orange band.](images/wide.png)

The last paragraph comes after every picture.
"""


@pytest.fixture(scope="module", autouse=True)
def _pymupdf_installed():
    reason = mupdf.missing_reason()
    if reason:
        skip_or_fail(reason)


@pytest.fixture(scope="module")
def own_cover_book(tmp_path_factory):
    """A book with its own small cover picture, and pictures nested in a quotation and a list."""
    from PIL import Image, ImageDraw

    import book

    folder = tmp_path_factory.mktemp("own-cover")
    (folder / "images").mkdir()
    cover = Image.new("RGB", (300, 450), (30, 60, 140))
    ImageDraw.Draw(cover).rectangle([100, 175, 200, 275], fill="white")
    cover.save(folder / "images" / "cover.png")
    Image.new("RGB", (120, 120), (40, 160, 60)).save(folder / "images" / "green.png")
    Image.new("RGB", (200, 40), (200, 40, 40)).save(folder / "images" / "red.png")
    Image.new("RGB", (2400, 300), (240, 140, 30)).save(folder / "images" / "wide.png")
    (folder / "own-cover.md").write_text(OWN_COVER, "utf-8")
    book.build(folder / "own-cover.md", folder / "own-cover.epub")
    return folder / "own-cover.epub"


@pytest.fixture(scope="module")
def epubs(built_books, own_cover_book):
    return {**{name: b.epub for name, b in built_books.items()}, "own-cover": own_cover_book}


@pytest.fixture(scope="module")
def laid_out(epubs):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = mupdf.lay_out(epubs[name])
        return cache[name]
    return get


@pytest.mark.parametrize("name", BOOKS)
def test_every_page_renders_and_the_cover_is_not_blank(name, laid_out):
    assert mupdf.page_problems(laid_out(name)) == []


@pytest.mark.parametrize("name", BOOKS)
def test_text_and_pictures_in_reading_order(name, laid_out):
    assert mupdf.order_problems(laid_out(name)) == []


@pytest.mark.parametrize("name", ["sample", "arabic", "japanese", "images"])
def test_sections_in_the_order_of_the_source(name, laid_out, built_books):
    """The Markdown source, not the XHTML, is the expectation here: each section's heading and
    its first sentence, in the order the author wrote them, on pages in turn."""
    laid = laid_out(name)
    stream = "".join(mupdf.norm(b.text) for p in laid.pages for b in p.blocks if b.kind == "text")
    pos = 0
    for heading, sentence in built_books[name].sections():
        heading, sentence = mupdf.norm(heading), mupdf.norm(sentence)
        at = stream.find(sentence, pos)
        assert at >= 0, f"{sentence!r} (section {heading!r}) is missing, or out of order"
        assert stream.rfind(heading, pos, at) >= 0, f"heading {heading!r} is not before {sentence!r}"
        pos = at + len(sentence)


@pytest.mark.parametrize("name", BOOKS)
def test_page_pictures_for_a_person_to_look_at(name, laid_out):
    laid = laid_out(name)
    saved = mupdf.save_pages(laid, name, count=8)
    assert len(saved) == min(8, len(laid.pages)) and all(p.stat().st_size > 1000 for p in saved)
    if name == "sample":
        assert len(saved) == 8


# ---- the checks themselves must catch broken books --------------------------------------------

def _broken(epub, out, *, css: str = "", cover=None):
    """A copy of `epub` with `css` added to its stylesheet and `cover(xhtml)` applied to its cover."""
    with zipfile.ZipFile(epub) as z, zipfile.ZipFile(out, "w") as w:
        for info in z.infolist():
            data = z.read(info)
            if info.filename.endswith(".css"):
                data += ("\n" + css + "\n").encode()
            elif cover and info.filename.endswith("cover.xhtml"):
                data = cover(data.decode("utf-8")).encode("utf-8")
            w.writestr(info, data)
    return out


def test_inline_figures_fail_the_reading_order_check(epubs, tmp_path):
    """What MuPDF 1.21 did with figures it did not know as blocks: the caption starts beside the
    picture (and runs on into the next paragraph)."""
    broken = _broken(epubs["images"], tmp_path / "inline.epub", css="figure, figcaption { display: inline; }")
    problems = mupdf.order_problems(mupdf.lay_out(broken))
    assert any("Figure 1: rising values." in p and "beside a picture" in p for p in problems), problems


def test_a_shown_landmarks_list_fails_the_reading_order_check(epubs, tmp_path):
    broken = _broken(epubs["sample"], tmp_path / "landmarks.epub", css="nav[hidden] { display: block; }")
    problems = mupdf.order_problems(mupdf.lay_out(broken))
    assert any(p.startswith("EPUB/nav.xhtml: hidden text is shown: 'Landmarks'") for p in problems), problems
    assert any("not in the document's visible text" in p and "Startofthetext" in p for p in problems), problems


def test_the_old_cover_markup_fails_the_page_check(epubs, tmp_path):
    """The cover before issue 14: a block <img> with width="1600" height="2400"."""
    def old_cover(xhtml):
        return re.sub(r'alt="([^"]*)"/>', r'alt="\1" width="1600" height="2400"/>', xhtml)

    broken = _broken(epubs["sample"], tmp_path / "cover.epub", css="section.cover img { display: block; }",
                     cover=old_cover)
    problems = mupdf.page_problems(mupdf.lay_out(broken))
    assert "page 2 (EPUB/text/cover.xhtml) is blank" in problems, problems
    assert any("a picture lies off the page" in p for p in problems), problems


# ---- the sample's illustration ------------------------------------------------------------------

def _dark_share(png: bytes) -> float:
    from PIL import Image
    import io

    with Image.open(io.BytesIO(png)) as im:
        grey = im.convert("L").resize((120, 84))
        return sum(grey.histogram()[:50]) / (120 * 84)  # pixels darker than 50 of 255


def _mean_difference(a: bytes, b: bytes) -> float:
    """Mean difference per channel (0–255) of two pictures scaled to the same small size."""
    from PIL import Image, ImageChops, ImageStat
    import io

    with Image.open(io.BytesIO(a)) as x, Image.open(io.BytesIO(b)) as y:
        x, y = x.convert("RGB").resize((120, 84)), y.convert("RGB").resize((120, 84))
        return sum(ImageStat.Stat(ImageChops.difference(x, y)).mean) / 3


def test_the_sample_illustration_draws_in_mupdf_as_in_chromium(browser):
    """The picture must show what its description says in every engine: MuPDF painted the old
    radial-gradient glow as a solid black disc over the spine."""
    import pymupdf

    svg = mupdf.ROOT / "content" / "images" / "back-pain.svg"
    in_mupdf = pymupdf.open(str(svg))[0].get_pixmap(dpi=96).tobytes("png")
    page = browser.new_page(viewport={"width": 600, "height": 420})
    try:
        page.goto(svg.as_uri())
        in_chromium = page.screenshot()
    finally:
        page.close()
    (mupdf.ARTIFACTS / "sample").mkdir(parents=True, exist_ok=True)
    (mupdf.ARTIFACTS / "sample" / "illustration-mupdf.png").write_bytes(in_mupdf)
    (mupdf.ARTIFACTS / "sample" / "illustration-chromium.png").write_bytes(in_chromium)
    assert _dark_share(in_mupdf) < 0.01, "MuPDF draws a dark area the browser does not"
    assert _mean_difference(in_mupdf, in_chromium) < 6


# ---- the same cover in Chromium -----------------------------------------------------------------

GENERATED_COVERS = ["sample", "arabic", "japanese", "images"]
WINDOWS = [(900, 400), (400, 800), (1280, 720)]

_MEASURE = """() => {
  const img = document.querySelector("img[role=doc-cover]");
  const r = img.getBoundingClientRect();
  const root = document.documentElement;
  return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, complete: img.complete,
           natural: img.naturalWidth / img.naturalHeight,
           scrollWidth: root.scrollWidth, scrollHeight: root.scrollHeight };
}"""


@pytest.mark.parametrize("name", GENERATED_COVERS)
def test_the_cover_fits_a_browser_window(name, built_books, browser, tmp_path):
    folder = tmp_path / "book"
    with zipfile.ZipFile(built_books[name].epub) as z:
        z.extractall(folder)
    for width, height in WINDOWS:
        page = browser.new_page(viewport={"width": width, "height": height})
        try:
            page.goto((folder / "EPUB" / "text" / "cover.xhtml").as_uri())
            page.wait_for_function("() => document.querySelector('img').complete")
            m = page.evaluate(_MEASURE)
        finally:
            page.close()
        where = f"{name} in a {width}×{height} window: {m}"
        assert m["left"] >= -0.5 and m["top"] >= -0.5 and m["right"] <= width + 0.5 and m["bottom"] <= height + 0.5, where
        assert m["scrollWidth"] <= width and m["scrollHeight"] <= height, "the cover page scrolls: " + where
        w, h = m["right"] - m["left"], m["bottom"] - m["top"]
        assert abs(w / h / m["natural"] - 1) < 0.02, "the cover is distorted: " + where
        assert w >= 0.98 * width or h >= 0.98 * height, "the cover does not fill the window: " + where


def test_the_cover_fits_the_page_in_epub_js(site, browser, built_books):
    context = browser.new_context(viewport={"width": 900, "height": 400})
    try:
        opened = reader_engine.open_book(context, site.add(built_books["sample"].epub, "cover-short"))
        opened.show("text/cover.xhtml")
        m = opened.page.evaluate("""() => {
          const c = reader.rendition.getContents().find((c) => c.document.querySelector("img[role=doc-cover]"));
          const img = c.document.querySelector("img[role=doc-cover]");
          const f = c.document.defaultView.frameElement.getBoundingClientRect();
          const r = img.getBoundingClientRect();
          const box = reader.rendition.manager.container.getBoundingClientRect();
          return { img: [r.left + f.left, r.top + f.top, r.right + f.left, r.bottom + f.top],
                   box: [box.left, box.top, box.right, box.bottom], width: r.width, height: r.height };
        }""")
        opened.page.close()
    finally:
        context.close()
    (x0, y0, x1, y1), (bx0, by0, bx1, by1) = m["img"], m["box"]
    assert m["width"] > 100 and m["height"] > 100, m
    assert y0 >= by0 - 0.5 and y1 <= by1 + 0.5, f"the cover is taller than the reader's page: {m}"
    assert x0 >= bx0 - 0.5 and x1 <= bx1 + 0.5, f"the cover is wider than the reader's page: {m}"
