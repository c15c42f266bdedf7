"""Built books open and read correctly in epub.js, a real browser-based EPUB reading engine.

Each book is opened once (a module-scoped page per book) and then questioned: metadata, every
TOC entry, every image, text direction, console errors.  A screenshot per book goes to
test-artifacts/e2e/ for a person to look at.
"""

from __future__ import annotations

import posixpath
import re
import zipfile

import pytest

from . import engine

pytestmark = pytest.mark.e2e

BOOKS = ["sample", "arabic", "japanese", "images"]


@pytest.fixture(scope="module", params=BOOKS)
def reading(request, site, browser_context, built_books):
    """(BuiltBook, OpenBook): pytest runs every test of this module for one book, then the next."""
    built = built_books[request.param]
    opened = engine.open_book(browser_context, site.add(built.epub, built.name))
    yield built, opened
    opened.page.close()


def test_opens_with_front_matter_metadata(reading):
    built, opened = reading
    meta = opened.metadata()
    assert meta["title"] == built.title
    # epub.js reports the first dc:creator only.
    assert meta["creator"] == built.authors[0]
    assert meta["language"] == built.lang
    assert opened.page.evaluate("() => e2e.spine().length") >= 3


def test_every_toc_entry_navigates_to_its_heading(reading):
    built, opened = reading
    entries, problems = opened.check_toc()
    assert not problems, "\n".join(problems)
    # The TOC is complete: every `#` and `##` heading of the source is in it, in order.
    labels = [e["label"] for e in entries]
    headings = [re.sub(r"\s+", " ", h) for h, _ in built.sections()]
    assert [h for h in labels if h in headings] == headings


def test_every_image_loads_and_has_the_source_alt_text(reading):
    built, opened = reading
    images = opened.images()
    broken = [f"{i['src']} in {i['doc']}" for i in images if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"images that did not load: {broken}"
    covers = [i for i in images if i["cover"]]
    assert len(covers) == 1 and covers[0]["alt"], "the cover page needs one image with a description"
    rendered = [(posixpath.basename(i["src"]), i["alt"]) for i in images if not i["cover"]]
    assert rendered == engine.source_images(built.markdown)
    for i in images:
        if i["alt"] == "":  # decorative: hidden from assistive technology as well
            assert i["role"] == "presentation", i


def test_text_direction(reading):
    built, opened = reading
    last = opened.page.evaluate("() => e2e.spine()")[-1]
    d = opened.direction(last)
    if built.rtl:
        assert d == {"engine": "rtl", "dir": "rtl", "computed": "rtl"}
    else:
        assert d["engine"] in (None, "", "ltr") and d["computed"] == "ltr", d


def test_screenshot_and_no_console_errors(reading):
    built, opened = reading
    first_text = next(e for e in opened.toc() if "disclaimer" not in e["href"])
    opened.show(first_text["href"])
    assert opened.screenshot(built.name).stat().st_size > 0
    # Collected over everything this book's page did in the tests before this one.
    assert opened.errors == []


# ---- the TOC check itself must catch broken books -----------------------------------------

def _break_nav(epub, out):
    """Copy `epub` with three TOC links broken: a missing anchor, a missing file, and a link
    to the wrong heading.  Returns the labels of the broken entries."""
    with zipfile.ZipFile(epub) as z:
        nav_name = next(n for n in z.namelist() if n.endswith("nav.xhtml"))
        nav = z.read(nav_name).decode("utf-8")
        toc, rest = nav.split("</nav>", 1)  # the toc nav comes first; landmarks stay intact
        links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', toc)
        (h1, l1), (h2, l2), (h3, l3), (h4, _) = links[1], links[2], links[3], links[4]
        toc = (toc.replace(f'href="{h1}"', f'href="{h1.split("#")[0]}#no-such-anchor"')
                  .replace(f'href="{h2}"', 'href="text/no-such-file.xhtml"')
                  .replace(f'href="{h3}"', f'href="{h4}"'))
        with zipfile.ZipFile(out, "w") as w:
            for info in z.infolist():
                data = (toc + "</nav>" + rest).encode() if info.filename == nav_name else z.read(info)
                w.writestr(info, data)
    return l1, l2, l3


def test_toc_check_reports_broken_entries(site, browser_context, built_books, tmp_path):
    broken = tmp_path / "broken.epub"
    missing_anchor, missing_file, wrong_heading = _break_nav(built_books["sample"].epub, broken)
    opened = engine.open_book(browser_context, site.add(broken, "broken"))
    try:
        _, problems = opened.check_toc()
    finally:
        opened.page.close()
    report = "\n".join(problems)
    assert len(problems) == 3, report
    assert f"TOC entry {missing_anchor!r}" in problems[0] and 'no element with id "no-such-anchor"' in problems[0]
    assert f"TOC entry {missing_file!r}" in problems[1] and "cannot display" in problems[1]
    assert f"TOC entry {wrong_heading!r}" in problems[2] and "points at" in problems[2]
