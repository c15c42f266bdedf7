"""Issue 15, parts 2 and 3: extended descriptions (``::: description`` after an image) and print
page numbers (``{page=N}`` with the ``page-source`` front-matter key)."""

from __future__ import annotations

import re

import pytest
from helpers import NS, Epub
from PIL import Image

from book import build
from book.check.statement import package_metadata, statement
from book.errors import BookError

CHART = ("![Pain scores fell every week.](chart.png \"Weekly pain scores\")\n\n::: description\n"
         "Eight bars, one per week, falling from 7 to 3.\n\n| Week | Score |\n|---|---|\n| 1 | 7 |\n| 8 | 3 |\n"
         "\nSee also [the start](#start).\n:::\n")


def _build(tmp_path, body: str, front: str = "", split: str = ""):
    src = tmp_path / "a.md"
    src.write_text(f"---\ntitle: Retail\nlang: en\n{front}{split}---\n\n# Start\n\n{body}\n", "utf-8")
    Image.new("RGB", (300, 200), "white").save(tmp_path / "chart.png")
    return build(src, tmp_path / "a.epub")


def _statement(e: Epub) -> dict:
    return {f.heading: f.statements for f in statement(package_metadata(e.files[e.opf_path]))}


def test_extended_description_pattern(tmp_path):
    e = Epub(_build(tmp_path, "Before.\n\n" + CHART + "\nAfter.").output)
    chapter = e.xml("EPUB/text/ch001.xhtml")
    img = chapter.xpath("//x:img[@aria-details]", namespaces=NS)[0]
    # aria-details points to the visible link right after the image's figure
    target = chapter.xpath(f"//*[@id='{img.get('aria-details')}']", namespaces=NS)[0]
    assert target.getprevious().tag.endswith("figure")
    link = target.xpath("./x:a", namespaces=NS)[0]
    assert link.text == "Extended description"
    doc_name = e.full(link.get("href"), "EPUB/text/ch001.xhtml")
    fragment = link.get("href").split("#")[1]
    assert e.resolves(f"{doc_name}#{fragment}")
    # its own document: heading, decorative copy of the image, the description, a way back
    desc = e.xml(doc_name)
    assert desc.xpath("string(//x:h1)", namespaces=NS) == "Extended description"
    copy = desc.xpath("//x:img", namespaces=NS)[0]
    assert (copy.get("alt"), copy.get("role")) == ("", "presentation")
    assert desc.xpath("//x:table", namespaces=NS) and "falling from 7 to 3" in "".join(desc.itertext())
    back = desc.xpath("//x:a[@role='doc-backlink']", namespaces=NS)[0]
    assert e.full(back.get("href"), doc_name) == "EPUB/text/ch001.xhtml"
    assert back.get("href").endswith("#" + img.get("aria-details"))
    # a link inside the description reaches the chapter
    inner = desc.xpath("//x:a[text()='the start']", namespaces=NS)[0]
    assert e.resolves(e.full(inner.get("href"), doc_name) + "#start")
    # spine: right after its chapter, linear="no"; in no table of contents
    refs = e.opf.xpath("//opf:spine/opf:itemref", namespaces=NS)
    items = e.manifest()
    names = [e.full(items[r.get("idref")]["href"]) for r in refs]
    i = names.index(doc_name)
    assert refs[i].get("linear") == "no" and names[i - 1] == "EPUB/text/ch001.xhtml"
    assert all(r.get("linear") is None for j, r in enumerate(refs) if j != i)
    assert doc_name not in {t for _, t in e.toc_links()} | {t.split("#")[0] for _, t in e.toc_links()}
    assert doc_name not in {t.split("#")[0] for _, t in e.ncx_links()}
    assert "longDescription" in e.meta("schema:accessibilityFeature")
    assert "Complex images also have an extended description" in e.meta("schema:accessibilitySummary")[0]
    fields = _statement(e)
    assert "Has extended descriptions" in fields["Ways of reading"]
    assert "Information-rich images are described by extended descriptions" in fields["Rich content"]


def test_no_description_no_claim(tmp_path):
    e = Epub(_build(tmp_path, "![Pain scores fell every week.](chart.png)").output)
    assert "longDescription" not in e.meta("schema:accessibilityFeature")
    assert "Has extended descriptions" not in _statement(e)["Ways of reading"]
    assert not e.opf.xpath("//opf:itemref[@linear='no']", namespaces=NS)


@pytest.mark.parametrize("body, message", [
    ("Text.\n\n::: description\nOf nothing.\n:::\n", "must come right after the image"),
    ("![A chart.](chart.png)\n\n::: description\nNever closed.\n", "never closed"),
    ("![](chart.png){.decorative}\n\n::: description\nOf a decoration.\n:::\n", "decorative image"),
    ("![A chart.](chart.png)\n\n::: description\nOuter.\n\n::: description\nInner.\n:::\n:::\n", "another one"),
])
def test_description_mistakes_name_their_line(tmp_path, body, message):
    with pytest.raises(BookError) as err:
        _build(tmp_path, "Intro.\n\n" + body)
    text = str(err.value.problems[0])
    assert message in text and re.match(r"^(.*/)?a\.md:1[02]: ", text), text


def test_a_description_fence_in_code_is_text(tmp_path):
    r = _build(tmp_path, "```\n::: description\n:::\n```\n\n    ::: description\n")
    assert "longDescription" not in r.discovery.features


def test_page_list(tmp_path):
    body = ("One{page=11} two.\n\nThree{page=12}.\n\n{page=13}\n\n# Next chapter\n\nFour.\n\n{page=14}\n")
    r = _build(tmp_path, body, "page-source: urn:isbn:978-0-306-40615-7\n")
    e = Epub(r.output)
    nav = e.xml(e.nav_path())
    page_list = nav.xpath("//x:nav[@epub:type='page-list']", namespaces=NS)[0]
    assert page_list.get("role") == "doc-pagelist" and page_list.get("hidden") == "hidden"
    entries = [(a.text, e.full(a.get("href"), e.nav_path()) + "#" + a.get("href").split("#")[1])
               for a in page_list.xpath(".//x:a", namespaces=NS)]
    assert [label for label, _ in entries] == ["11", "12", "13", "14"]
    for label, target in entries:
        name, frag = target.split("#")
        el = e.xml(name).xpath(f"//*[@id='{frag}']", namespaces=NS)[0]
        assert (el.get("role"), el.get("{http://www.idpf.org/2007/ops}type"), el.get("aria-label"), frag) == (
            "doc-pagebreak", "pagebreak", label, f"page{label}")
        assert not "".join(el.itertext())  # shows nothing: its label says the number
    # page 13 starts with the next chapter's heading: it is in that chapter's document
    assert entries[2][1].startswith("EPUB/text/ch002.xhtml")
    assert e.xml("EPUB/text/ch002.xhtml").xpath("//x:h1/x:span[@role='doc-pagebreak']", namespaces=NS)
    assert {"pageBreakMarkers", "pageNavigation"} <= set(e.meta("schema:accessibilityFeature"))
    assert e.meta("pageBreakSource") == ["urn:isbn:9780306406157"]
    assert e.dc("source") == ["urn:isbn:9780306406157"]
    assert "Page numbers are marked in the text" in e.meta("schema:accessibilitySummary")[0]
    fields = _statement(e)
    assert "Go to page" in fields["Navigation"] and "Page numbers identical to print" in fields["Navigation"]
    assert fields["Additional accessibility information"] == ("Page breaks included",)


def test_page_numbers_of_no_print_edition(tmp_path):
    e = Epub(_build(tmp_path, "One{page=1} two.", "page-source: none\n").output)
    assert e.meta("pageBreakSource") == ["none"] and e.dc("source") == []
    fields = _statement(e)
    assert "Go to page" in fields["Navigation"] and "Page numbers identical to print" not in fields["Navigation"]


def test_no_markers_no_page_list(tmp_path):
    e = Epub(_build(tmp_path, "One two, and `{page=3}` in code.", "page-source: urn:isbn:9780306406157\n").output)
    assert not e.xml(e.nav_path()).xpath("//x:nav[@epub:type='page-list']", namespaces=NS)
    assert not {"pageBreakMarkers", "pageNavigation"} & set(e.meta("schema:accessibilityFeature"))
    assert e.meta("pageBreakSource") == [] and e.dc("source") == []
    assert "Page numbers identical to print" not in _statement(e).get("Navigation", ())


@pytest.mark.parametrize("value, ok", [("urn:isbn:9780306406157", True), ("none", True), ("NONE", True),
                                        ("urn:isbn:123", False), ("the paperback", False)])
def test_page_source_values(tmp_path, value, ok):
    if ok:
        _build(tmp_path, "One{page=1}.", f"page-source: {value}\n")
        return
    with pytest.raises(BookError) as err:
        _build(tmp_path, "One{page=1}.", f"page-source: {value}\n")
    assert "a.md:4: " in str(err.value.problems[0]) and "page-source" in str(err.value.problems[0])


def test_roman_then_arabic_is_in_order(tmp_path):
    r = _build(tmp_path, "i{page=i} ii{page=ii} iv{page=iv} one{page=1} two{page=2}", "page-source: none\n")
    assert not [f for f in r.findings if f.rule == "page-order"]


@pytest.mark.skipif(__import__("shutil").which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_read_aloud_marks_page_numbers_skippable(tmp_path, monkeypatch):
    """With --read-aloud, each page number is read where its page begins, in a SMIL `par`
    marked epub:type="pagebreak" so a reading system can skip it."""
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: Pages\nlang: en\npage-source: none\n---\n\n# One\n\nA sentence.{page=5} Another.\n\n"
                   "{page=6}\n\n## Two\n\nMore.\n", "utf-8")
    e = Epub(build(src, tmp_path / "a.epub", read_aloud=True).output)
    smil = e.xml("EPUB/smil/ch001.smil")
    ns = {"s": "http://www.w3.org/ns/SMIL", "epub": "http://www.idpf.org/2007/ops"}
    marked = smil.xpath("//s:par[@epub:type='pagebreak']/s:text/@src", namespaces=ns)
    assert [m.split("#")[1] for m in marked] == ["page5", "page6"]
    others = smil.xpath("//s:par[not(@epub:type)]/s:text/@src", namespaces=ns)
    assert all("#page" not in o for o in others)
