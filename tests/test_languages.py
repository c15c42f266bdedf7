"""Books in German, Hindi, Chinese and Hebrew (tests/sources/): the title page's date and the
authors as readers of the language write them (CLDR, through Babel), the generated pages'
labels and accessibility summary in the book's language (the W3C Display Guide's own words
where book has no sentences of its own), the direction of the text (CLDR's likely script,
through langcodes), the read-aloud sentences (pysbd), and EPUBCheck and DAISY Ace clean."""

from __future__ import annotations

import pytest
from conftest import ROOT, SOURCES, require
from helpers import NS, Epub

from book import build
from book.check import tools as checkers

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

BOOKS = {
    # name: (source, date shown, authors shown, "Contents", first sentences of the first chapter, direction)
    "german": (SOURCES / "german" / "artikel.md", "14. März 2024", "Anna Schmidt und Jonas Weber", "Inhalt",
               ["Rückenschmerzen sind weit verbreitet.", "Dr. Müller empfiehlt z. B. regelmäßige Bewegung.",
                "Die meisten Beschwerden bessern sich innerhalb weniger Wochen."], "ltr"),
    "hindi": (SOURCES / "hindi" / "lekh.md", "14 मार्च 2024", "अनीता शर्मा और राहुल वर्मा", "विषय-सूची",
              ["पीठ दर्द बहुत आम है।", "ज़्यादातर लोग कुछ हफ़्तों में ठीक हो जाते हैं।", "क्या आपको लंबे समय से दर्द है?",
               "डॉक्टर से सलाह लें।"], "ltr"),
    "chinese": (SOURCES / "chinese", "2024年3月14日", "王芳和李明", "目录",
                ["背痛很常见。", "大多数人几周内会好转！", "你需要看医生吗？", "如果疼痛持续，请咨询医生。"], "ltr"),
    "hebrew": (SOURCES / "hebrew" / "maamar.md", "14 במרץ 2024", "נועה כהן ודוד לוי", "תוכן העניינים",
               ["כאבי גב נפוצים מאוד.", "רוב האנשים מחלימים תוך כמה שבועות.", "האם כדאי לפנות לרופא?",
                "כן, אם הכאב נמשך."], "rtl"),
}


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    out = tmp_path_factory.mktemp("languages")
    return {name: build(spec[0], out / f"{name}.epub").output for name, spec in BOOKS.items()}


@pytest.mark.parametrize("name", BOOKS)
def test_title_page_date_and_authors_as_the_language_writes_them(books, name):
    _src, date, authors, *_ = BOOKS[name]
    page = Epub(books[name]).xml("EPUB/text/titlepage.xhtml")
    time_ = page.xpath("//x:time", namespaces=NS)[0]
    assert time_.get("datetime") == "2024-03-14" and time_.text == date
    assert page.xpath("//x:p[@class='author']", namespaces=NS)[0].text == authors


@pytest.mark.parametrize("name", BOOKS)
def test_labels_are_in_the_book_language(books, name):
    _src, _date, _authors, contents, *_ = BOOKS[name]
    epub = Epub(books[name])
    nav = epub.xml(epub.nav_path())
    assert nav.xpath("//x:nav[@epub:type='toc']/x:h1", namespaces=NS)[0].text == contents
    lang = epub.dc("language")[0]
    # No label fell back to English: nothing in the generated pages is marked as another language.
    for doc in ("EPUB/text/cover.xhtml", "EPUB/text/titlepage.xhtml", "EPUB/text/disclaimer.xhtml", epub.nav_path()):
        root = epub.xml(doc)
        assert root.get("lang") == lang, doc
        assert not [el.get("lang") for el in root.iter() if el.get("lang") not in (None, lang)], doc
    # The generated accessibility summary is in the book's language, not marked as English.
    summary = epub.opf.xpath("//opf:meta[@property='schema:accessibilitySummary']", namespaces=NS)[0]
    assert summary.get(XML_LANG) is None
    assert not summary.text.startswith("This publication"), summary.text


def test_summaries_use_the_display_guides_words(books):
    """Hindi, Chinese and Hebrew: book has no sentences of its own; the summary is the W3C Display
    Guide's translated statements of the book's metadata."""
    expected = {"hindi": "नेविगेशन: कॉन्टेंट की टेबल।", "chinese": "导航：目录。", "hebrew": "ניווט: תוכן העניינים."}
    for name, words in expected.items():
        summary = Epub(books[name]).meta("schema:accessibilitySummary")[0]
        assert words in summary, (name, summary)
    assert Epub(books["german"]).meta("schema:accessibilitySummary")[0].startswith("Diese Publikation ist Text")


@pytest.mark.parametrize("name", BOOKS)
def test_direction(books, name):
    direction = BOOKS[name][5]
    epub = Epub(books[name])
    spine = epub.opf.xpath("//opf:spine", namespaces=NS)[0]
    assert (spine.get("page-progression-direction") == "rtl") == (direction == "rtl")
    for doc in ("EPUB/text/titlepage.xhtml", "EPUB/text/ch001.xhtml", epub.nav_path()):
        assert (epub.xml(doc).get("dir") or "ltr") == direction, doc


@pytest.mark.parametrize("name", BOOKS)
def test_read_aloud_sentences(books, name):
    """The first paragraph of the text, split into the sentences read aloud and highlighted: the
    danda ends a Hindi sentence, "。" a Chinese one without a space, "Dr." and "z. B." end none."""
    from book.narrate.overlays import segment

    epub = Epub(books[name])
    lang = epub.dc("language")[0]
    narrated = segment("EPUB/text/ch001.xhtml", epub.files["EPUB/text/ch001.xhtml"], 1, lang)
    first_paragraph = BOOKS[name][4]
    # The chapter heading is read first, then the paragraph's sentences.
    assert [s.text for s in narrated.sentences[1:1 + len(first_paragraph)]] == first_paragraph


@pytest.mark.checkers
@pytest.mark.parametrize("name", BOOKS)
def test_epubcheck_and_ace_clean(books, name):
    require("epubcheck")
    require("ace")
    report = checkers.run_epubcheck(books[name])
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), [str(m) for m in report.messages]
    ace = checkers.run_ace(books[name], report_dir=ROOT / "test-artifacts" / "ace" / name)
    assert ace.violations == (), [str(v) for v in ace.violations]


def test_text_after_an_inline_element_runs_on_in_its_sentence():
    """"Nobody came to the *kitchen* that morning.": the text after the emphasis starts with a
    space, which is not a sentence of its own."""
    from book.narrate.sentences import split

    assert split(" that morning.", "en") == [(" that morning.", True)]
    assert split("Nobody came to the ", "en") == [("Nobody came to the ", False)]


def test_a_long_paragraph_is_given_to_pysbd_in_bounded_pieces(monkeypatch):
    """pysbd's time grows with the square of the text: a hostile 30,000-character paragraph is
    split in pieces of at most CHUNK characters, and an ordinary long one exactly as a whole."""
    from book.narrate import sentences

    seen = []
    real = sentences._segmenter

    class Recording:
        def __init__(self, inner):
            self.inner = inner

        def segment(self, text):
            seen.append(len(text))
            return self.inner.segment(text)

    monkeypatch.setattr(sentences, "_segmenter", lambda rules: Recording(real(rules)))
    hostile = "a. " * 10000
    pieces = sentences.split(hostile, "en")
    assert "".join(p for p, _ in pieces) == hostile
    assert max(seen) <= sentences.CHUNK + 2  # (+ the probe after a last piece)
    seen.clear()
    paragraph = " ".join(f"Sentence {i} is here, with Dr. Who and e.g. more." for i in range(100))
    pieces = sentences.split(paragraph, "en")
    assert "".join(p for p, _ in pieces) == paragraph
    assert sum(ends for _p, ends in pieces) == 100, "every sentence ends once, none after Dr. or e.g."
    assert max(seen) <= sentences.CHUNK + 2
