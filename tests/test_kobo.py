"""Issue 14: the Kobo edition (`book build --kobo` → NAME.kepub.epub beside the EPUB).

The edition must carry Kobo's markup — sentence spans numbered per paragraph, the two wrapper
divs — and otherwise be the same book: the same text in every document, the same package
document (accessibility metadata, cover, language), navigation document, NCX, pictures and
stylesheet.  EPUBCheck and DAISY Ace must pass it as they pass the EPUB.  (calibre and MuPDF
read it in tests/e2e/test_kobo_edition.py.)
"""

from __future__ import annotations

import re
import zipfile

import pytest
from lxml import etree

from book import build
from book.cli import main
from book.package.kobo import kepub_path, kobo_document

XHTML = "http://www.w3.org/1999/xhtml"
NS = {"x": XHTML}
SPAN_ID = re.compile(r"^kobo\.(\d+)\.(\d+)$")

ARTICLE = """\
---
title: Kobo Test
lang: en-GB
author: Kim Writer
---
# First part

One sentence here. Another one follows, with *emphasis in it.* A third?

![A red rectangle.](pic.png "A caption. It has two sentences.")

- A list item. Its second sentence.
- Another item.

| Head | Cell |
|---|---|
| One. Two. | Three |

Some `code` and a note.[^1]

# Second part

Dr. Smith writes e.g. this sentence as one.

[^1]: The note itself. It has two sentences too.
"""


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    from PIL import Image

    folder = tmp_path_factory.mktemp("kobo")
    Image.new("RGB", (40, 30), (200, 30, 30)).save(folder / "pic.png")
    (folder / "kobo.md").write_text(ARTICLE, "utf-8")
    result = build(folder / "kobo.md", folder / "kobo.epub", kobo=True)
    assert result.kepub == folder / "kobo.kepub.epub"
    return zipfile.ZipFile(result.output), zipfile.ZipFile(result.kepub)


def _documents(z: zipfile.ZipFile) -> list[str]:
    return [n for n in z.namelist() if n.endswith(".xhtml") and not n.endswith("nav.xhtml")]


def _text(data: bytes) -> str:
    body = etree.fromstring(data).find(f"{{{XHTML}}}body")
    return re.sub(r"\s+", " ", "".join(body.itertext())).strip()


def test_the_kobo_edition_is_named_for_kobo_devices():
    assert kepub_path("dist/my-book.epub").as_posix() == "dist/my-book.kepub.epub"
    assert kepub_path("out/Book.EPUB").name == "Book.kepub.epub"


def test_same_text_in_every_document(editions):
    epub, kepub = editions
    assert _documents(epub) == _documents(kepub) and len(_documents(epub)) == 4
    for name in _documents(epub):
        assert _text(kepub.read(name)) == _text(epub.read(name)), name


def test_everything_but_the_content_documents_is_the_same_bytes(editions):
    epub, kepub = editions
    assert kepub.namelist() == epub.namelist()
    assert kepub.namelist()[0] == "mimetype" and kepub.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
    same = [n for n in epub.namelist() if n not in _documents(epub)]
    assert "EPUB/content.opf" in same and "EPUB/nav.xhtml" in same and "EPUB/toc.ncx" in same
    for name in same:
        assert kepub.read(name) == epub.read(name), name


def test_language_and_direction_stay(editions):
    epub, kepub = editions
    for name in _documents(epub):
        a, b = etree.fromstring(epub.read(name)), etree.fromstring(kepub.read(name))
        assert dict(a.attrib) == dict(b.attrib), name


def test_spans_numbered_per_paragraph(editions):
    _, kepub = editions
    for name in _documents(kepub):
        root = etree.fromstring(kepub.read(name))
        # the body's content inside div#book-columns > div#book-inner, and nothing else
        body = root.find(f"{{{XHTML}}}body")
        assert [c.get("id") for c in body] == ["book-columns"] and [c.get("id") for c in body[0]] == ["book-inner"]
        assert root.xpath("//x:head/x:style[@id='kobostylehacks']", namespaces=NS)
        spans = root.xpath("//x:span[@class='koboSpan']", namespaces=NS)
        assert spans, name
        numbers = [tuple(int(n) for n in SPAN_ID.match(s.get("id")).groups()) for s in spans]
        # paragraphs count from 1 without a gap; sentences from 1 in each paragraph
        assert numbers[0] == (1, 1)
        for (p0, s0), (p1, s1) in zip(numbers, numbers[1:]):
            assert (p1, s1) in ((p0, s0 + 1), (p0 + 1, 1)), (name, (p0, s0), (p1, s1))
        for s in spans:
            # a span holds a sentence's text, or one picture
            children = list(s)
            assert (not children and s.text and s.text.strip() == s.text) or (
                len(children) == 1 and children[0].tag == f"{{{XHTML}}}img" and not s.text), etree.tostring(s)


def _sentences(kepub, name) -> dict[str, list[str]]:
    """The spans' texts by paragraph number."""
    root = etree.fromstring(kepub.read(name))
    out: dict[str, list[str]] = {}
    for s in root.xpath("//x:span[@class='koboSpan']", namespaces=NS):
        out.setdefault(s.get("id").split(".")[1], []).append(s.text or "<img>")
    return out


def test_one_span_per_sentence_one_paragraph_per_block(editions):
    _, kepub = editions
    paras = list(_sentences(kepub, "EPUB/text/ch001.xhtml").values())
    assert paras == [
        ["First part"],
        # the spaces between sentences stay outside the spans; an inline element splits a span
        ["One sentence here.", "Another one follows, with", "emphasis in it.", "A third?"],
        ["<img>"],
        ["A caption.", "It has two sentences."],
        ["A list item.", "Its second sentence."],
        ["Another item."],
        ["Head"], ["Cell"], ["One.", "Two."], ["Three"],
        ["Some", "code", "and a note.", "1"],
        ["1.", "The note itself.", "It has two sentences too."],  # the note's back link, then its text
    ]
    # an abbreviation's full stop does not end a sentence (the rules of --read-aloud)
    assert list(_sentences(kepub, "EPUB/text/ch002.xhtml").values()) == [
        ["Second part"], ["Dr. Smith writes e.g. this sentence as one."]]


def test_the_cover_picture_is_its_own_paragraph(editions):
    _, kepub = editions
    assert list(_sentences(kepub, "EPUB/text/cover.xhtml").values()) == [["<img>"]]


def test_a_document_with_kobo_ids_of_its_own_keeps_them():
    doc = (b'<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title>'
           b'</head><body><p id="kobo.1.1">One. Two.</p></body></html>')
    root = etree.fromstring(kobo_document(doc))
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids)) and "kobo.1.1" in ids and "kobo.1.2" in ids


def test_cli_writes_both_and_says_so(tmp_path, capsys):
    (tmp_path / "a.md").write_text("---\ntitle: A\nlang: en\n---\n# One\n\nText.\n", "utf-8")
    assert main(["build", str(tmp_path / "a.md"), "-o", str(tmp_path / "a.epub"), "--kobo"]) == 0
    assert (tmp_path / "a.epub").is_file() and (tmp_path / "a.kepub.epub").is_file()
    assert "and the Kobo edition" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []  # no temporary file left


def test_without_kobo_no_kobo_edition(tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: A\nlang: en\n---\n# One\n\nText.\n", "utf-8")
    result = build(tmp_path / "a.md", tmp_path / "a.epub")
    assert result.kepub is None and not (tmp_path / "a.kepub.epub").exists()


def test_a_failed_build_leaves_the_earlier_kobo_edition(tmp_path):
    from book.errors import BookError

    (tmp_path / "a.md").write_text("---\ntitle: A\nlang: en\n---\n# One\n\nText.\n", "utf-8")
    build(tmp_path / "a.md", tmp_path / "a.epub", kobo=True)
    before = (tmp_path / "a.kepub.epub").read_bytes()
    (tmp_path / "a.md").write_text("---\ntitle: A\nlang: en\n---\n# One\n\n![](missing.png)\n", "utf-8")
    with pytest.raises(BookError):
        build(tmp_path / "a.md", tmp_path / "a.epub", kobo=True)
    assert (tmp_path / "a.kepub.epub").read_bytes() == before


@pytest.mark.checkers
def test_epubcheck_and_ace_pass_the_kobo_edition_of_the_sample(tmp_path):
    from conftest import ROOT, require

    from book.check import tools as checkers

    require("epubcheck")
    require("ace")
    result = build(ROOT / "content", tmp_path / "sample.epub", kobo=True)
    report = checkers.run_epubcheck(result.kepub)
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), [str(m) for m in report.messages]
    ace = checkers.run_ace(result.kepub)
    assert ace.violations == [] or list(ace.violations) == [], [str(v) for v in ace.violations]
