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


# ---------------------------------------------------------------------------------------------
# Language tags without langcodes: book.source.subtags answers `en` or `pt-BR` from a snapshot of
# langcodes' own answers, and must answer exactly as langcodes does.


def _langcodes_valid(tag) -> bool:
    """book's check as it was before book.source.subtags: RFC 5646's syntax, then langcodes."""
    import langcodes

    from book.source.metadata import _BCP47

    if not isinstance(tag, str) or not _BCP47.match(tag):
        return False
    try:
        return langcodes.tag_is_valid(tag)
    except (ValueError, LookupError):
        return False


def _langcodes_direction(tag) -> str:
    import langcodes

    from book.source.metadata import _RTL_SCRIPTS

    if not _langcodes_valid(tag):
        return "ltr"
    try:
        script = langcodes.Language.get(tag).maximize().script or ""
    except (ValueError, LookupError):
        return "ltr"
    return "rtl" if script.lower() in _RTL_SCRIPTS else "ltr"


def test_the_subtag_lists_are_langcodes_answers_for_every_tag_they_answer():
    """Every tag book.source.subtags answers — each of its languages alone and with each of its
    regions, some 60,000 — is valid for langcodes, read by it as that language and region and
    nothing else (so the CLDR locale and the checks that follow are the same), and written in
    the direction of the script langcodes' likely subtags give it; and the lists hold every
    two-letter language and every region langcodes accepts as written, as their docstring says."""
    import string

    import langcodes

    from book.source import subtags
    from book.source.metadata import _RTL_SCRIPTS

    def read(tag):
        t = langcodes.Language.get(tag)
        return (t.language, t.script, t.territory, t.extlangs, t.variants, t.extensions, t.private)

    def as_written(tag):
        return langcodes.tag_is_valid(tag) and str(langcodes.Language.get(tag)) == tag

    assert subtags.LANGUAGES == {a + b for a in string.ascii_lowercase for b in string.ascii_lowercase
                                 if as_written(a + b)}
    regions = [a + b for a in string.ascii_uppercase for b in string.ascii_uppercase] + [f"{n:03}" for n in range(1000)]
    assert subtags.REGIONS == {r for r in regions if as_written(f"en-{r}")}

    disagree = []
    for language in sorted(subtags.LANGUAGES):
        for region in [None, *sorted(subtags.REGIONS)]:
            tag = language if region is None else f"{language}-{region}"
            script = (langcodes.Language.get(tag).maximize().script or "").lower()
            if (subtags.simple(tag) != (language, region) or not langcodes.tag_is_valid(tag)
                    or read(tag) != (language, None, region, None, None, None, None)
                    or subtags.direction(language, region) != ("rtl" if script in _RTL_SCRIPTS else "ltr")):
                disagree.append(tag)
            # Tags are case-insensitive (RFC 5646 §2.1.1): read the same, so maximized the same.
            odd = tag.swapcase()
            if (subtags.simple(odd) != (language, region) or not langcodes.tag_is_valid(odd)
                    or read(odd) != read(tag)):
                disagree.append(odd)
    assert disagree == []


# Tags of every kind: the usual, odd case, deprecated and replaced subtags, scripts, extlangs,
# variants, extensions, private use, grandfathered tags, long ones, and not tags at all.
ODD_TAGS = [
    "en", "EN", "eN", "en-GB", "en-gb", "EN-gb", "pt-BR", "es-419", "es-XL", "zh-CN", "zh-TW", "ar", "ar-EG", "he",
    "fa-IR", "pa", "pa-PK", "pa-pk", "ug", "ug-KZ", "az-IR", "ha-CM", "ku", "ku-LB", "yi", "dv", "ae", "en-001",
    "en-150", "en-000", "en-999", "en-1", "en-12", "en-USA", "en-U", "en-AA", "en-QM", "en-XK", "en-ZZ", "en-EU",
    "en-UN", "en-SU", "en-YU", "en-UK", "en-QU", "de-DD", "iw", "in", "ji", "jw", "mo", "sh", "tl", "tw", "jp",
    "xx", "zz", "qa", "", "e", "english", "English", "en_US", "en-", "-en", "en--GB", "en-GB-", " en", "en ",
    "en\n", "en-GB\x00", "und", "und-US", "und-Arab", "mis", "mul", "zxx", "qaa", "qtz", "qaa-US", "aaa", "eng",
    "deu", "ger", "zho", "fil", "haw", "yue", "ckb", "ast", "kmr", "arb", "abcd", "abcde", "abcdefgh",
    "abcdefghi", "zh-Hant", "zh-hant-tw", "zh-Hans-CN", "ZH-HANS", "sr-Latn", "sr-Cyrl-RS", "az-Arab",
    "ku-Arab", "pa-Arab", "uz-Arab-AF", "ar-Latn", "en-Latn-US", "en-Latnx", "en-Qaaa", "en-Zzzz", "he-Latn",
    "ur-Aran", "cu-Cyrs", "zh-yue", "zh-yue-HK", "zh-cmn-Hans", "zh-min-nan", "zh-min", "sgn-ase", "ar-arb",
    "sgn-ase-bfi", "en-abc-def-ghi-jkl", "de-1901", "de-1901-1901", "sl-rozaj-biske", "en-GB-oxendict",
    "en-GB-oxenfree", "hy-arevela", "ca-valencia", "ca-ES-valencia", "de-CH-1996", "en-a-bbb-c-ddd",
    "en-a-bbb-a-ddd", "de-u-co-phonebk", "ja-u-ca-japanese", "en-t-zh", "en-x-pig-latin", "qaa-x-foo", "x-whatever",
    "X-Private", "x-a", "x-", "x-toolongprivate", "i-klingon", "I-KLINGON", "i-default", "i-enochian", "i-bnn",
    "en-GB-oed", "EN-gb-OED", "sgn-BE-FR", "art-lojban", "zh-guoyu", "no-bok", "cel-gaulish",
    "en-" + "-".join(["abcdefgh"] * 20),
    "en-Latn-US-1901-x-" + "-".join(["abcdefgh"] * 5), "zh-Hant-TW-u-nu-hanidec-x-private", "a" * 300,
    # Not ASCII: "ſ".upper() is "S" and the Kelvin sign's lower() is "k"; none is a tag.
    "en-ſT", "en-\u212aZ", "\u212aK", "ẹn", "en-İD", "en-ıd", "ſv",
]


def test_language_tags_are_judged_as_langcodes_judges_them():
    """book's validity check and direction agree with langcodes on tags of every kind, and on
    thousands of tags put together at random from real and made-up subtags in any case."""
    import random

    from book.source import subtags
    from book.source.metadata import is_valid_language_tag, text_direction

    rng = random.Random(13)
    pieces = [*rng.sample(sorted(subtags.LANGUAGES), 40), *rng.sample(sorted(subtags.REGIONS), 40), "Latn", "Arab",
              "Hant", "Cyrl", "Hebr", "yue", "cmn", "fil", "und", "1901", "valencia", "x", "u", "a", "ca", "i",
              "klingon", "qaa", "419", "000", "12", "SU", "UK", "iw", "tl", "abcdefghi", ""]
    tags = list(ODD_TAGS)
    for _ in range(5000):
        parts = [rng.choice(pieces) for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 4)))]
        tag = "-".join(parts)
        tags.append("".join(c.swapcase() if rng.random() < 0.3 else c for c in tag))
    wrong = [(tag, is_valid_language_tag(tag), text_direction(tag)) for tag in tags
             if (is_valid_language_tag(tag), text_direction(tag)) != (_langcodes_valid(tag), _langcodes_direction(tag))]
    assert wrong == []
    assert is_valid_language_tag(None) is False and subtags.simple(None) is None  # type: ignore[arg-type]
    assert sum(map(_langcodes_valid, tags)) > 1000 and sum(not _langcodes_valid(t) for t in tags) > 1000


def test_the_locale_for_dates_and_names_is_langcodes_reading_of_the_tag():
    """The CLDR locale of the title page's date and list of authors is the one langcodes'
    reading of the tag gives, for the tags book reads itself and for those it leaves to
    langcodes."""
    import langcodes
    from babel import Locale, UnknownLocaleError

    from book.package.l10n import _babel_locale

    def before(lang):  # book.package.l10n._babel_locale as it was, all through langcodes
        try:
            tag = langcodes.Language.get(lang)
        except (ValueError, LookupError):
            return None
        language = (tag.language or "").lower()
        if not language:
            return None
        if language == "en" and not tag.territory:
            return Locale("en", "001")
        for script, territory in ((tag.script, tag.territory), (tag.script, None), (None, tag.territory),
                                  (None, None)):
            try:
                return Locale(language, territory=territory, script=script)
            except (UnknownLocaleError, ValueError, TypeError):
                continue
        return None

    from book.source import subtags

    tags = ODD_TAGS + [f"{lang}-{region}" for lang in sorted(subtags.LANGUAGES)
                       for region in ("US", "GB", "BR", "CN", "IN", "PK", "419", "ZZ")] + sorted(subtags.LANGUAGES)
    assert [str(_babel_locale(t)) for t in tags] == [str(before(t)) for t in tags]


def test_the_display_guides_translation_is_the_one_langcodes_would_choose():
    """The Display Guide's translation used for a book's accessibility summary: book picks it
    without langcodes when the guide has at most one translation in the tag's language — for
    every two-letter language, the guide's tags langcodes reads in that language are those
    written with it — and the choice is langcodes' on tags of every kind."""
    import langcodes

    from book.check.display_words import _chosen_by_langcodes
    from book.check.display_words import _languages, vocabulary_for
    from book.source import subtags

    for language in subtags.LANGUAGES:
        assert ({t for t in _languages() if langcodes.Language.get(t).language == language}
                == {t for t in _languages() if t.split("-")[0] == language}), language
    tags = ODD_TAGS + sorted(subtags.LANGUAGES) + [
        f"{lang}-{region}" for lang in sorted(subtags.LANGUAGES)
        for region in ("US", "GB", "BR", "PT", "CN", "TW", "MX", "CA", "IN", "PH", "419", "ZZ")]
    assert [vocabulary_for(t) for t in tags] == [_chosen_by_langcodes(t) for t in tags]
    assert vocabulary_for("it") == "it-IT" and vocabulary_for("pt") == _chosen_by_langcodes("pt")
    assert vocabulary_for("xh") is None
