"""Issue 2: a valid, navigable EPUB 3 from Markdown — structure, navigation, determinism."""

from __future__ import annotations

import re
import zipfile

import pytest
from conftest import ROOT, VARIED, long_article
from helpers import NS, XML_LANG, Epub

from book import build


def _headings(markdown: str, max_level: int = 2) -> list[str]:
    """The `#`/`##` headings of a Markdown text, outside fenced code."""
    out, fenced = [], False
    for line in markdown.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m and not fenced and len(m.group(1)) <= max_level:
            out.append(m.group(2))
    return out


def _source_texts(src):
    if src.is_dir():
        import yaml

        meta = yaml.safe_load((src / "book.yaml").read_text("utf-8"))
        return [(src / c).read_text("utf-8") for c in meta["chapters"]]
    return [src.read_text("utf-8").split("---", 2)[2]]


def test_container_layout(built):
    """OCF §4.3: `mimetype` first, stored, no extra field; then container.xml."""
    for path in built.values():
        with zipfile.ZipFile(path) as z:
            first = z.infolist()[0]
            assert first.filename == "mimetype"
            assert first.compress_type == zipfile.ZIP_STORED
            assert z.read("mimetype") == b"application/epub+zip"
            assert "META-INF/container.xml" in z.namelist()


@pytest.mark.parametrize("name", sorted(VARIED))
def test_every_heading_in_nav_and_ncx(built, name):
    """Every `#` and `##` heading of the source appears in nav.xhtml and toc.ncx, in order, and
    every link resolves to an element that exists."""
    epub = Epub(built[name])
    toc, ncx = epub.toc_links(), epub.ncx_links()
    expected = [h for text in _source_texts(VARIED[name]) for h in _headings(text)]
    assert expected, "the source has headings"
    toc_titles = [t for t, _ in toc]
    ncx_titles = [t for t, _ in ncx]
    positions = [toc_titles.index(h) for h in expected]
    assert positions == sorted(positions), "TOC is in reading order"
    assert [t for t in ncx_titles] == toc_titles, "the NCX has the same entries as the nav"
    for text, target in toc + ncx:
        assert epub.resolves(target), f"TOC entry {text!r} → {target} does not resolve"


def test_long_article_navigation_and_size(built):
    epub = Epub(built["long"])
    titles = [t for t, _ in epub.toc_links()]
    for i in range(1, 49):
        assert f"Section {i}" in titles and f"Part {i}.1" in titles
    assert "Detail 1.1.1" not in titles, "### is left out at the default toc-depth"
    for name, data in epub.files.items():
        if name.endswith(".xhtml"):
            assert len(data) < 300_000, f"{name} is {len(data)} bytes"
    # split at level 1: one document per section, plus cover, title page and nav
    assert len(epub.spine()) == 48 + 3


def test_toc_depth_setting(tmp_path):
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\ntoc-depth: 3\n---\n# One\n\n## Two\n\n### Three\n\ntext\n", "utf-8")
    epub = Epub(build(src, tmp_path / "a.epub").output)
    assert [t for t, _ in epub.toc_links()] == ["One", "Two", "Three"]


def test_split_level_two(tmp_path):
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\nsplit-level: 2\n---\n# One\n\nx\n\n## Two\n\ny\n\n## Three\n\nz\n", "utf-8")
    epub = Epub(build(src, tmp_path / "a.epub").output)
    texts = [d for n, d in epub.documents().items() if "/ch" in n]
    assert len(texts) == 3


def test_reproducible_bytes(tmp_path):
    for name in ("sample", "kitchen-sink"):
        a = build(VARIED[name], tmp_path / f"{name}-a.epub").output.read_bytes()
        b = build(VARIED[name], tmp_path / f"{name}-b.epub").output.read_bytes()
        assert a == b, f"{name}: two builds differ"


def test_source_date_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    epub = Epub(build(VARIED["spanish"], tmp_path / "s.epub").output)
    assert epub.meta("dcterms:modified") == ["2023-11-14T22:13:20Z"]


def test_identifier_derived_and_stable(built):
    a = Epub(built["sample"]).dc("identifier")[0]
    assert a.startswith("urn:uuid:")
    b = Epub(build(VARIED["sample"], built["sample"].with_name("again.epub")).output).dc("identifier")[0]
    assert a == b


def test_language_everywhere(built):
    for name, path in built.items():
        epub = Epub(path)
        lang = epub.dc("language")[0]
        assert epub.opf.get(XML_LANG) == lang
        for doc_name, doc in epub.documents().items():
            assert doc.get("lang") and doc.get("lang") == doc.get(XML_LANG), doc_name


def test_right_to_left(built):
    epub = Epub(built["arabic"])
    assert epub.opf.get("dir") == "rtl"
    assert epub.opf.xpath("//opf:spine/@page-progression-direction", namespaces=NS) == ["rtl"]
    for doc in epub.documents().values():
        assert doc.get("dir") == "rtl"
    ltr = Epub(built["spanish"])
    assert ltr.opf.get("dir") is None
    assert not ltr.opf.xpath("//opf:spine/@page-progression-direction", namespaces=NS)


def test_title_is_text_never_markup(built):
    epub = Epub(built["kitchen-sink"])
    title = 'Kitchen <Sink> & "Friends" 📚'
    assert epub.dc("title")[0] == title
    tp = epub.xml("EPUB/text/titlepage.xhtml")
    assert "".join(tp.xpath("//x:h1", namespaces=NS)[0].itertext()) == title


def test_spine_order_and_disclaimer_first(built):
    epub = Epub(built["sample"])
    spine = epub.spine()
    assert spine[:4] == ["EPUB/text/cover.xhtml", "EPUB/text/titlepage.xhtml", "EPUB/text/disclaimer.xhtml",
                         "EPUB/nav.xhtml"]
    disclaimer = epub.xml("EPUB/text/disclaimer.xhtml")
    section = disclaimer.xpath("//x:section", namespaces=NS)[0]
    assert section.get("{http://www.idpf.org/2007/ops}type") == "notice"
    assert section.get("role") == "doc-notice"
    assert "not medical advice" in "".join(section.itertext())
    assert epub.toc_links()[0] == ("Disclaimer", "EPUB/text/disclaimer.xhtml")
    nav = epub.xml(epub.nav_path())
    landmarks = {a.get("{http://www.idpf.org/2007/ops}type"): a.get("href")
                 for a in nav.xpath("//x:nav[@epub:type='landmarks']//x:a", namespaces=NS)}
    assert landmarks == {"titlepage": "text/titlepage.xhtml", "notice": "text/disclaimer.xhtml",
                         "toc": "nav.xhtml#toc", "bodymatter": "text/ch001.xhtml"}


def test_sample_keeps_article_and_drops_junk(built):
    epub = Epub(built["sample"])
    text = " ".join("".join(d.itertext()) for d in epub.documents().values())
    for kept in ("Neuropathic Pain Management", "Realizing Long-Term Benefits", "sohilpiter",
                 "Gabapentin, a medication initially developed to treat seizures"):
        assert kept in text
    for junk in ("Gabapentin600", "800mg", "Leave a Reply", "VIN Verification", "istockphoto",
                 "Animation Courses", "What do you think?"):
        assert junk not in text
    assert epub.dc("creator") == ["sohilpiter"]


def test_semantics_and_roles(built):
    epub = Epub(built["kitchen-sink"])
    docs = epub.documents()
    ch1 = docs["EPUB/text/ch001.xhtml"]
    section = ch1.xpath("//x:section", namespaces=NS)[0]
    assert (section.get("{http://www.idpf.org/2007/ops}type"), section.get("role")) == ("chapter", "doc-chapter")
    refs = ch1.xpath("//x:a[@epub:type='noteref']", namespaces=NS)
    assert refs and all(a.get("role") == "doc-noteref" for a in refs)
    notes = ch1.xpath("//x:aside[@epub:type='footnote']", namespaces=NS)
    assert len(notes) == 2 and all(n.get("role") == "doc-footnote" for n in notes)
    for a in refs:
        assert epub.resolves("EPUB/text/ch001.xhtml" + a.get("href"))
    # a link to a heading in another chapter file is rewritten to that document
    link = ch1.xpath("//x:blockquote//x:a", namespaces=NS)[0]
    assert link.get("href") == "ch002.xhtml#images" and epub.resolves("EPUB/text/ch002.xhtml#images")
    assert ch1.xpath("//x:p[@lang='fr']", namespaces=NS)[0].get(XML_LANG) == "fr"


def test_images_figures_and_manifest(built):
    epub = Epub(built["kitchen-sink"])
    ch2 = epub.xml("EPUB/text/ch002.xhtml")
    imgs = ch2.xpath("//x:img", namespaces=NS)
    alts = [i.get("alt") for i in imgs]
    assert alts[0].startswith("A bar chart with five blue bars")
    assert alts[2] == "" and imgs[2].get("role") == "presentation"
    fig = ch2.xpath("//x:figure", namespaces=NS)[0]
    assert fig.xpath("./x:figcaption/text()", namespaces=NS) == ["Five bars"]
    types = {i["href"]: i["media-type"] for i in epub.manifest().values()}
    assert types["images/bars.png"] == "image/png"
    assert types["images/circle.svg"] == "image/svg+xml"
    for img in imgs:
        assert epub.full(img.get("src"), "EPUB/text/ch002.xhtml") in epub.files


def test_cover_given_and_generated(built):
    given = Epub(built["kitchen-sink"])
    cover = [i for i in given.manifest().values() if "cover-image" in i.get("properties", "")]
    assert len(cover) == 1 and cover[0]["media-type"] == "image/jpeg"
    assert given.opf.xpath("//opf:meta[@name='cover']/@content", namespaces=NS) == [cover[0]["id"]]
    page = given.xml("EPUB/text/cover.xhtml")
    assert page.xpath("//x:img/@alt", namespaces=NS) == ["A yellow circle on a dark blue background."]

    generated = Epub(built["sample"])
    cover = [i for i in generated.manifest().values() if "cover-image" in i.get("properties", "")]
    assert cover[0]["media-type"] == "image/png"
    from PIL import Image
    import io

    im = Image.open(io.BytesIO(generated.files[generated.full(cover[0]["href"])]))
    assert im.size == (1600, 2400)
    alt = generated.xml("EPUB/text/cover.xhtml").xpath("//x:img/@alt", namespaces=NS)[0]
    assert "The Top 5 Benefits of Using Gabapentin" in alt and "sohilpiter" in alt


def test_stylesheet_respects_reader(built):
    css = Epub(built["sample"]).files["EPUB/styles/book.css"].decode()
    body = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    assert "font-family:" not in body.replace("font-family: monospace", "")
    assert not re.search(r"\d+(px|pt)\b", body.replace("1px solid", "")), "only relative units for text"
    assert not re.search(r"(?<![-\w])color:\s*#|background(-color)?:\s*#", body), "no fixed colours"
    assert "!important" not in body and "position: fixed" not in body


def test_cli_default_output(tmp_path, monkeypatch):
    from book.cli import main

    monkeypatch.chdir(tmp_path)
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: Hello, World!\nlang: en\n---\n# Hi\n\ntext\n", "utf-8")
    assert main(["build", "a.md", "-q"]) == 0
    assert (tmp_path / "dist" / "hello-world.epub").is_file()


def test_cli_builds_sample_by_default(tmp_path, monkeypatch):
    import subprocess
    import sys

    out = tmp_path / "s.epub"
    r = subprocess.run([sys.executable, "-m", "book", "build", "-o", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "book", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and "build" in r.stdout and "exit status" in r.stdout


def test_long_article_generator_is_long():
    assert len(long_article().split()) > 40_000


def test_wheel_ships_the_stylesheet(tmp_path):
    """`pip install .` must give a `book` that works from any folder: the stylesheet is inside."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(ROOT),
                        "-w", str(tmp_path)], capture_output=True, text=True)
    if r.returncode != 0 and "hatchling" in r.stderr:
        r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(tmp_path)],
                           capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    wheel = next(tmp_path.glob("book-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "book/styles/book.css" in names
        assert z.read("book/styles/book.css") == (ROOT / "styles" / "book.css").read_bytes()


def test_very_long_section_is_continued_in_small_documents(tmp_path):
    """E-readers choke on XHTML documents over ~300 KB: a long section continues in more files."""
    paragraph = "A sentence about the spine and the muscles around it, repeated for length. " * 20
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\n---\n# Only section\n\n" + "\n\n".join([paragraph] * 600)
                   + "\n\n# Second\n\nEnd.\n", "utf-8")
    epub = Epub(build(src, tmp_path / "a.epub").output)
    docs = [n for n in epub.spine() if "/ch" in n]
    assert len(docs) >= 4
    assert all(len(epub.files[n]) < 300_000 for n in docs)
    assert [t for t, _ in epub.toc_links()] == ["Only section", "Second"]
    text = "".join("".join(epub.xml(n).itertext()) for n in docs)
    assert text.count("repeated for length") == 600 * 20


def test_footnotes_stay_with_their_section(tmp_path):
    """Python-Markdown puts every note at the end of the file; each goes back to the document
    of the section that refers to it, so the pop-up finds it."""
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\n---\n# One\n\nFirst.[^a]\n\n# Two\n\nSecond.[^b]\n\n"
                   "[^a]: Note for one.\n[^b]: Note for two.\n", "utf-8")
    epub = Epub(build(src, tmp_path / "a.epub").output)
    one, two = (epub.xml(f"EPUB/text/ch00{i}.xhtml") for i in (1, 2))
    assert [a.get("id") for a in one.xpath("//x:aside", namespaces=NS)] == ["c1-fn-a"]
    assert [a.get("id") for a in two.xpath("//x:aside", namespaces=NS)] == ["c1-fn-b"]
    for doc, name in ((one, "ch001"), (two, "ch002")):
        for ref in doc.xpath("//x:a[@epub:type='noteref']", namespaces=NS):
            assert epub.resolves(f"EPUB/text/{name}.xhtml" + ref.get("href"))


@pytest.mark.parametrize("lang, shown", [
    ("en", "14 March 2024"), ("en-US", "March 14, 2024"), ("es", "14 de marzo de 2024"), ("fr", "14 mars 2024"),
    ("de", "14. März 2024"), ("ar", "14 مارس 2024"), ("he", "14 במרץ 2024"), ("ja", "2024年3月14日"),
    ("hi", "14 मार्च 2024"), ("zh", "2024年3月14日"), ("sw", "14 Machi 2024"), ("pt-BR", "14 de março de 2024"),
    ("ain", "2024-03-14"),  # a registered language CLDR has no month names for: the ISO date, which is neutral
])
def test_the_title_page_shows_the_date_as_readers_of_the_language_write_it(tmp_path, lang, shown):
    """A date reads well on the page and aloud (a speech engine says an ISO date digit group by
    digit group); the machine-readable date stays in <time datetime>."""
    src = tmp_path / "a.md"
    src.write_text(f"---\ntitle: T\nlang: {lang}\ndate: 2024-03-14\n---\n# H\n\nText.\n", "utf-8")
    out = build(src, tmp_path / "a.epub").output
    time_ = Epub(out).xml("EPUB/text/titlepage.xhtml").xpath("//x:time", namespaces=NS)[0]
    assert time_.get("datetime") == "2024-03-14" and time_.text == shown
