"""The cover fits one screen in Chromium as it fits one page in MuPDF (test_mupdf.py): the same
stylesheet sizes it in both (html.cover in styles/book.css), so nothing is lost in a modern
engine by what makes it right in an e-ink-class one.

* Opened as a page in a browser window — what a browser-based reader in scrolled mode shows —
  the picture is whole on the screen, at its own proportions, as large as the window allows, and
  the page does not scroll: in a short, wide window as in a tall, narrow one.
* In epub.js (paginated, a short window), the picture is inside the reader's page.
"""

from __future__ import annotations

import zipfile

import pytest

from . import engine

pytestmark = pytest.mark.e2e

BOOKS = ["sample", "arabic", "japanese", "images"]
WINDOWS = [(900, 400), (400, 800), (1280, 720)]

_MEASURE = """() => {
  const img = document.querySelector("img[role=doc-cover]");
  const r = img.getBoundingClientRect();
  const root = document.documentElement;
  return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, complete: img.complete,
           natural: img.naturalWidth / img.naturalHeight,
           scrollWidth: root.scrollWidth, scrollHeight: root.scrollHeight };
}"""


@pytest.mark.parametrize("name", BOOKS)
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
        opened = engine.open_book(context, site.add(built_books["sample"].epub, "cover-short"))
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
