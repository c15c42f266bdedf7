"""No page crashes `book import`: arbitrary nestings of the elements and attributes web pages
use (junk boxes, lazy pictures, notes, tables, links of every kind) either import — and then the
folder builds or stops with a BookError — or the import raises a BookError; never anything else.

    BOOK_FUZZ_EXAMPLES=2000 python -m pytest tests/test_import_fuzz.py   # a larger run by hand
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from book import build
from book.errors import BookError
from book.webimport import ImportOptions, import_pages

EXAMPLES = int(os.environ.get("BOOK_FUZZ_EXAMPLES", "150"))
PICTURE = (Path(__file__).parent / "sources" / "web" / "plain-tables" / "hedgehogs_files" / "hedgehog.jpg").read_bytes()

TAGS = ["p", "div", "span", "em", "b", "strong", "a", "img", "picture", "source", "noscript", "figure", "figcaption",
        "table", "caption", "thead", "tr", "td", "th", "ul", "ol", "li", "dl", "dt", "dd", "h1", "h2", "h3", "h5",
        "blockquote", "pre", "code", "br", "hr", "sup", "aside", "header", "footer", "nav", "section", "article",
        "main", "script", "form", "font", "center", "time", "q"]
ATTRS = ["id", "class", "href", "src", "srcset", "data-src", "data-lazy-src", "alt", "itemprop", "role", "width",
         "height", "style", "datetime", "title", "lang"]
VALUES = st.sampled_from(["x", "share", "entry-content", "related-posts", "author-box", "footnotes", "fn:1", "#fn:1",
                          "#x", "pic.jpg", "pic.jpg 800w, gone.jpg 1600w", "../outside.jpg", "/site/path",
                          "https://example.org/a", "javascript:alert(1)", "data:image/gif;base64,R0lGOD", "",
                          "articleBody", "1", "600", "IMG_2041", "istockphoto 1 612x612 1", "A described picture.",
                          "doc-noteref", "display:none", "other.html#x", "mailto:a@b.c", "\"q\" <&>"])
WORDS = st.sampled_from(["Gabapentin600", "text", "Words of the article, long enough.", "©", "By Someone",
                         "Buy pills online without prescription", "300 mg a day", "الزيت", "\u00a0", "*", "#",
                         "1.", "[x]", "<b>", "`", "|", "Share"])


@st.composite
def element(draw, depth=0):
    tag = draw(st.sampled_from(TAGS))
    attrs = "".join(f' {k}="{v.replace(chr(34), "&quot;")}"'
                    for k, v in draw(st.lists(st.tuples(st.sampled_from(ATTRS), VALUES), max_size=3)))
    inner = []
    for _ in range(draw(st.integers(0, 3 if depth < 3 else 0))):
        inner.append(draw(element(depth + 1)) if draw(st.booleans()) else draw(WORDS))
    return f"<{tag}{attrs}>{' '.join(inner)}</{tag}>"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(element(), min_size=1, max_size=6), st.sampled_from(["", "en", "ar", "xx-!!"]))
def test_no_page_crashes_the_import(parts, lang):
    folder = Path(tempfile.mkdtemp(prefix="book-import-fuzz-"))
    try:
        (folder / "page").mkdir()
        (folder / "page" / "pic.jpg").write_bytes(PICTURE)
        body = "<p>" + "A paragraph of the article, long enough to be found by the import. " * 3 + "</p>"
        page = folder / "page" / "p.html"
        page.write_text(f"<!DOCTYPE html><html lang='{lang}'><head><title>T – Site</title></head><body>"
                        f"<article><h1>T</h1>{body}{''.join(parts)}</article></body></html>", "utf-8")
        try:
            result = import_pages(page, folder / "book", ImportOptions(drop_spam=True))
        except BookError:
            assert not (folder / "book").exists()  # nothing half-written
            return
        md = (folder / "book" / result.chapters[0]).read_text("utf-8")
        assert "\ue001" not in md and "\ue002" not in md  # every report marker was taken out
        assert "<script" not in md and "<form" not in md and "javascript:" not in md
        assert all(p.line for p in result.needs_description)
        try:
            build(folder / "book", folder / "out.epub")
        except BookError:
            pass
    finally:
        shutil.rmtree(folder, ignore_errors=True)
