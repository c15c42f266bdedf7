"""Issue 15: in a real reading engine (epub.js in Chromium), a reader follows an image's
"Extended description" link to its document and the back link returns to the image; the page
list takes "go to page" to the page break."""

from __future__ import annotations

import pytest
from PIL import Image

import book

from . import engine

pytestmark = pytest.mark.e2e

SOURCE = """---
title: Described Pictures
lang: en
author: Test Writer
page-source: urn:isbn:9780306406157
---

# A chart

Some text before the chart.{page=7}

![Pain scores fell every week for eight weeks.](chart.png "Weekly pain scores")

::: description
Eight bars, one per week. The average score falls from 7 in week 1 to 3 in week 8, fastest in
the first three weeks.
:::

{page=8}

# After the chart

The text goes on.
"""

# Runs in the reader page: click a link inside the book's iframe as a person would (epub.js
# listens to clicks on the links of the content it renders), then wait until the engine has
# moved to another document.
_FOLLOW = r"""
async ([path, selector]) => {
  const r = window.reader;
  const section = r.book.spine.get(path);
  const contents = r.rendition.getContents().find((c) => c.sectionIndex === section.index);
  const link = contents.document.querySelector(selector);
  if (!link) return { error: `no ${selector} in ${path}` };
  const before = r.rendition.currentLocation().start.href;
  const moved = new Promise((ok) => r.rendition.once("relocated", ok));
  link.click();
  await Promise.race([moved, new Promise((ok) => setTimeout(ok, 5000))]);
  await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
  const loc = r.rendition.currentLocation();
  const now = loc.start.href;
  const shown = r.rendition.getContents().find((c) => c.sectionIndex === r.book.spine.get(now).index);
  return { before, now, text: shown.document.body.textContent.replace(/\s+/g, " ").trim(), label: link.textContent };
}
"""


@pytest.fixture(scope="module")
def described(site, browser_context, tmp_path_factory):
    folder = tmp_path_factory.mktemp("described")
    (folder / "a.md").write_text(SOURCE, "utf-8")
    Image.new("RGB", (300, 200), "white").save(folder / "chart.png")
    epub = book.build(folder / "a.md", folder / "described.epub").output
    opened = engine.open_book(browser_context, site.add(epub, "described"))
    yield opened
    opened.page.close()


def test_follow_the_extended_description_and_come_back(described):
    chapter = "text/ch001.xhtml"
    described.show(chapter)
    there = described.page.evaluate(_FOLLOW, [chapter, "p.extended-description a"])
    assert "error" not in there, there
    assert there["label"] == "Extended description"
    assert there["before"] == chapter and there["now"].startswith("text/xd001-1.xhtml"), there
    assert "Eight bars, one per week" in there["text"] and there["text"].startswith("Extended description")
    back = described.page.evaluate(_FOLLOW, [there["now"], "a[role='doc-backlink']"])
    assert "error" not in back, back
    assert back["now"] == chapter, back
    # back at the image: its link is on the page the engine shows
    seen = described.page.evaluate("(h) => e2e.visit({label: 'Extended description', href: h})",
                                   chapter + "#c1-xd1-ref")
    assert seen.get("targetSeen"), seen
    assert described.errors == []


def test_the_description_is_not_in_the_reading_order_or_the_toc(described):
    assert all("xd001" not in h for h in described.page.evaluate("() => e2e.spine()"))  # linear="no"
    assert all("xd001" not in e["href"] for e in described.toc())


def test_go_to_page(described):
    # epub.js reads the navigation document's page-list into book.pageList
    pages = described.page.evaluate("() => reader.book.pageList.pageList.map((p) => [p.page, p.href])")
    assert pages == [[7, "text/ch001.xhtml#page7"], [8, "text/ch002.xhtml#page8"]], pages  # epub.js makes numbers of them
    res = described.page.evaluate("(h) => e2e.visit({label: '', href: h})", "text/ch002.xhtml#page8")
    # A page break is an empty span (its label names it): what must be on the page is the text
    # where print page 8 begins — the heading it was marked before.
    assert "error" not in res and res["shown"] == "text/ch002.xhtml", res
    assert res["visible"].startswith("After the chart"), res
