"""Issue 5: no input crashes the builder.  Arbitrary Markdown (with random HTML fragments and any
Unicode) and arbitrary metadata strings either build an EPUB or raise BookError — never anything
else — and a sample of the books built pass EPUBCheck.

CI runs a few hundred examples; for a larger run by hand:
    BOOK_FUZZ_EXAMPLES=5000 BOOK_FUZZ_SAMPLES=60 python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from book import build
from book.errors import BookError

EXAMPLES = int(os.environ.get("BOOK_FUZZ_EXAMPLES", "300"))
SAMPLES = int(os.environ.get("BOOK_FUZZ_SAMPLES", "8"))  # built books that EPUBCheck then checks
SAMPLE_EVERY = max(1, EXAMPLES // (SAMPLES * 3 // 4 or 1))

TAGS = ["p", "div", "span", "em", "b", "script", "iframe", "img", "a", "table", "tr", "td", "th", "li", "ul",
        "Myths", "svg", "math", "form", "input", "style", "h2", "blockquote", "pre", "code", "br", "hr",
        "object", "video", "section", "aside", "figure", "sup", "x-custom", "p:weird"]
ATTRS = ["id", "class", "onclick", "href", "src", "style", "lang", "title", "role", "epub:type", "1bad",
         "data-x", "aria-label", "tabindex", "alt", "xmlns"]
VALUES = st.sampled_from(["x", "javascript:alert(1)", "#top", "a.png", "en", "zz-!!", "", "\"q\"", "<&>",
                          "https://example.org/", "0", "-1"])


@st.composite
def html_fragment(draw):
    tag = draw(st.sampled_from(TAGS))
    attrs = draw(st.lists(st.tuples(st.sampled_from(ATTRS), VALUES), max_size=3))
    inner = draw(st.text(max_size=20))
    close = draw(st.booleans())
    attr_text = "".join(f' {k}="{v}"' for k, v in attrs)
    return f"<{tag}{attr_text}>{inner}" + (f"</{tag}>" if close else "")


MARKDOWN_BITS = st.one_of(
    st.text(max_size=60),
    html_fragment(),
    st.sampled_from(["# ", "## ", "### ", "- ", "1. ", "> ", "```\n", "\n\n", "| a | b |\n|---|---|\n| c | d |\n",
                     "[^1]", "\n[^1]: note\n", "![alt](a.png)", "![](a.png){.decorative}", "[x](#nowhere)",
                     "{#dup}", "{lang=fr}", "*", "**", "`", "<!-- c -->", "&amp;", "&#0;", "&nbsp;", "\t", "\r",
                     "\ufeff", "\u202e", "\ue000L", "😀", "مرحبا", "日本語"]),
)


def _write(folder: Path, title: str, lang: str, author: str, body: str) -> Path:
    front = yaml.safe_dump({"title": title, "lang": lang, "author": author}, allow_unicode=True)
    src = folder / "a.md"
    src.write_text(f"---\n{front}---\n{body}", "utf-8")
    return src


built_samples: list[Path] = []
_keep = Path(tempfile.mkdtemp(prefix="book-fuzz-"))
_png = None


def _image(folder: Path):
    global _png
    if _png is None:
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (0, 100, 0)).save(buf, format="PNG")
        _png = buf.getvalue()
    (folder / "a.png").write_bytes(_png)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    title=st.text(min_size=0, max_size=40),
    lang=st.one_of(st.sampled_from(["en", "ar", "ja", "es-419", "zh-Hant-TW"]), st.text(max_size=8)),
    author=st.text(max_size=20),
    bits=st.lists(MARKDOWN_BITS, max_size=25),
)
def test_any_input_builds_or_fails_cleanly(title, lang, author, bits):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        _image(folder)
        src = _write(folder, title, lang, author, "".join(bits))
        out = folder / "out.epub"
        try:
            build(src, out)
        except BookError as e:
            assert e.problems and all(str(p) for p in e.problems)
            assert not out.exists()
            return
        assert out.is_file()
        if len(built_samples) < SAMPLES and (len(built_samples) == 0 or hash((title, tuple(bits))) % SAMPLE_EVERY == 0):
            keep = _keep / f"{len(built_samples)}.epub"
            shutil.copy(out, keep)
            built_samples.append(keep)


@pytest.mark.checkers
def test_sample_of_fuzzed_books_pass_epubcheck():
    from book.check import tools as checkers

    if not built_samples:
        pytest.skip("run together with test_any_input_builds_or_fails_cleanly")
    try:
        checkers.run_epubcheck(built_samples[0])
    except checkers.ToolMissing as e:
        pytest.skip(str(e))
    for path in built_samples:
        report = checkers.run_epubcheck(path)
        assert report.fatals == 0 and report.errors == 0 and report.warnings == 0, (
            path, [str(m) for m in report.messages])


# -- the NCX written as text is lxml's serialisation of the same tree --------------------------

def _ncx_by_lxml(meta, toc) -> bytes:
    """toc.ncx built as lxml elements and pretty-printed: how book wrote it before it wrote the
    text itself (book.package.documents.ncx_document), the reference the text must equal."""
    from lxml import etree

    from book.package.documents import NCX_NS, XML_LANG

    root = etree.Element(f"{{{NCX_NS}}}ncx", nsmap={None: NCX_NS}, version="2005-1")
    root.set(XML_LANG, meta.lang)
    head = etree.SubElement(root, f"{{{NCX_NS}}}head")

    def depth(entries):
        return 1 + max((depth(e.children) for e in entries), default=0) if entries else 0

    for name, content in (("dtb:uid", meta.identifier), ("dtb:depth", str(max(1, depth(toc)))),
                          ("dtb:totalPageCount", "0"), ("dtb:maxPageNumber", "0")):
        etree.SubElement(head, f"{{{NCX_NS}}}meta", name=name, content=content)
    etree.SubElement(etree.SubElement(root, f"{{{NCX_NS}}}docTitle"), f"{{{NCX_NS}}}text").text = meta.title
    nav_map = etree.SubElement(root, f"{{{NCX_NS}}}navMap")
    counter = [0]

    def add(parent, entries):
        for e in entries:
            counter[0] += 1
            point = etree.SubElement(parent, f"{{{NCX_NS}}}navPoint", id=f"navpoint-{counter[0]}",
                                     playOrder=str(counter[0]))
            label = etree.SubElement(etree.SubElement(point, f"{{{NCX_NS}}}navLabel"), f"{{{NCX_NS}}}text")
            label.text = e.title
            etree.SubElement(point, f"{{{NCX_NS}}}content", src=e.href.removeprefix("../"))
            add(point, e.children)

    add(nav_map, toc)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


# Text as headings and metadata hold it after book.source.metadata.xml_safe: any character XML
# allows, markup characters and white space often.
_XML_TEXT = st.text(st.one_of(st.sampled_from(list("&<>\"' \t\n\r#/.é\u00a0\u2028\U0001f600]>")),
                              st.characters(blacklist_categories=("Cs",), blacklist_characters="\ue000\ufffe\uffff",
                                            min_codepoint=0x20)), max_size=12)


@st.composite
def _nav_tree(draw, depth=0):
    from book.package.documents import NavEntry

    count = draw(st.integers(0, 3 if depth < 3 else 0))
    return [NavEntry(draw(_XML_TEXT), draw(st.sampled_from(["", "../"])) + "text/" + draw(_XML_TEXT),
                     draw(_nav_tree(depth + 1))) for _ in range(count)]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(title=_XML_TEXT, lang=st.sampled_from(["en", "pt-BR", "x\"<&"]), uid=_XML_TEXT, toc=_nav_tree())
def test_the_ncx_text_is_lxml_serialisation_of_the_same_tree(title, lang, uid, toc):
    from dataclasses import replace

    from book.package.documents import ncx_document
    from book.source.metadata import Metadata

    meta = replace(Metadata(title="t", lang="en"), title=title, lang=lang, identifier=uid)
    assert ncx_document(meta, toc) == _ncx_by_lxml(meta, toc)
