"""Issue 15, part 4: Ace-clean on any author's Markdown, not only ours.

tests/sources/corpus is every construct Python-Markdown and its extensions accept (setext and
ATX headings, every list and quote nesting, indented, fenced and tilde code — twenty blocks in
one chapter —, tables with alignment and an empty corner cell, footnotes, definition lists,
abbreviations, [TOC], reference links and images, autolinks, attribute lists), raw HTML blocks
(nested divs, tables, comments, `<hr id>`, inline elements, figures, details), extended
descriptions and print page numbers.  It must build, and EPUBCheck and DAISY Ace must find
nothing.  Code blocks are checked in 1, 2 and 20 per chapter (axe `landmark-unique`).
"""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT, SOURCES, require
from helpers import NS, Epub
from PIL import Image

from book import build
from book.check import tools as checkers


def draw(folder):
    (folder / "images").mkdir(exist_ok=True)
    Image.new("RGB", (60, 60), (20, 160, 20)).save(folder / "images" / "square.png")
    Image.new("RGB", (300, 200), "white").save(folder / "images" / "chart.png")
    Image.new("RGB", (400, 10), "gray").save(folder / "images" / "rule.png")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    shutil.copytree(SOURCES / "corpus", out / "corpus")
    draw(out / "corpus")
    return build(out / "corpus", out / "corpus.epub")


@pytest.fixture(scope="module")
def code_books(tmp_path_factory):
    """Chapters with 1, 2 and 20 code blocks, in a book of their own each."""
    out = tmp_path_factory.mktemp("code")
    books = {}
    for n in (1, 2, 20):
        src = out / f"code{n}.md"
        blocks = "\n\n".join(f"```\nprint({i})  # long enough to scroll sideways on a narrow e-reader screen\n```"
                             for i in range(1, n + 1))
        src.write_text(f"---\ntitle: {n} code blocks\nlang: en\n---\n\n# Code\n\n{blocks}\n\n## More\n\n"
                       f"```\nsecond section\n```\n", "utf-8")
        books[n] = build(src, out / f"code{n}.epub").output
    return books


def test_the_corpus_builds_with_everything_in_it(corpus):
    e = Epub(corpus.output)
    text = b"".join(e.files[n] for n in e.spine())
    for needle in (b"<dl>", b"<blockquote>", b"<table>", b'epub:type="footnote"', b"<abbr", b'class="toc"',
                   b'role="doc-pagebreak"', b"aria-details=", b'scope="row"', b'lang="fr"'):
        assert needle in text, needle
    # the warnings a careful author would get, and nothing else
    assert {f.rule for f in corpus.findings} <= {"link-vague", "table-no-header"}
    assert {"longDescription", "pageBreakMarkers", "pageNavigation"} <= set(corpus.discovery.features)


def test_code_blocks_have_names_of_their_own(code_books):
    e = Epub(code_books[20])
    names = e.xml("EPUB/text/ch001.xhtml").xpath("//x:pre/@aria-label", namespaces=NS)
    assert len(names) == 21 and len(set(names)) == 21 and names[0] == "Code example 1"


@pytest.mark.checkers
def test_epubcheck_and_ace_clean_on_the_corpus(corpus):
    require("epubcheck")
    require("ace")
    report = checkers.run_epubcheck(corpus.output)
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), [str(m) for m in report.messages]
    ace = checkers.run_ace(corpus.output, report_dir=ROOT / "test-artifacts" / "ace" / "corpus")
    assert ace.violations == (), [str(v) for v in ace.violations]


@pytest.mark.checkers
@pytest.mark.parametrize("n", [1, 2, 20])
def test_ace_clean_with_many_code_blocks(code_books, n):
    require("ace")
    ace = checkers.run_ace(code_books[n])
    assert ace.violations == (), [str(v) for v in ace.violations]
