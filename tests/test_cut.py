"""Issue 13: a long one-file book is cut at its split-level headings before it renders
(book.render.cut); the pieces render in parallel and are cached one by one.  The EPUB must be
the bytes of rendering the file whole — with and without the cut, with and without the cache —
on sources that put definitions far from their use, fenced code with `#` lines, repeated
headings, print page markers and extended descriptions; an edit to one section renders that
section only.  And `--jobs` bounds every pool a
build uses.  (Speed itself is measured by benchmarks/run.py.)"""

from __future__ import annotations

import concurrent.futures
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from book import BuildOptions, build
from book import cache as cachelib
from book.errors import BookError
from book.render import cut


@pytest.fixture(autouse=True)
def _private_key(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.delenv("BOOK_CACHE_DIR", raising=False)
    monkeypatch.setattr(cachelib, "_hmac_key", None)


def png(path, color):
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), color).save(buf, format="PNG")
    path.write_bytes(buf.getvalue())


FRONT = "---\ntitle: A Long Stressed Book\nlang: en\nauthor: T. Ester\n---\n"


def stress_text() -> str:
    """Six chapters that share what a Markdown file shares: notes defined at the end and in
    another chapter than their reference, link and abbreviation definitions far from their use,
    fenced code holding `#` lines (after a blank line, so they look like headings), a heading
    text used in every chapter, an explicit id that a later heading's text would also give,
    an unused note, an image, tables and lists."""
    out = ["Text before the first chapter, with a [link][far] and HTML in it.", "",
           "<https://example.org/autolink> at the start of a line, and <span lang=\"fr\">du texte</span>.", ""]
    for i in range(1, 7):
        out += [f"# Chapter {i}", "", f"Chapter {i} opens.[^n{i}] The WHO and HTML say so, see [the spec][far].", ""]
        out += ["## Summary", "", f"A summary of chapter {i}.", ""]
        if i == 2:
            out += ["```python", "# not a heading: a comment", "", "# nor this one", "x = 1", "```", "",
                    "~~~", "", "# Chapter 99 inside tilde fences", "~~~", "",
                    "[^n5]: Defined in chapter two, referred to in chapter five.", "",
                    "[near]: https://example.org/near \"Near\"", ""]
        if i == 3:
            out += ["## Intro", "", "Words.", "", "![A red square.](images/red.png \"Red\")", "",
                    "| A | B |", "|---|---|", "| 1 | 2 |", "", "- one", "- two", ""]
        if i == 4:
            out += ["A paragraph with an explicit id.", "{: #intro }", "", "See [near][near] and [chapter 3](#intro).", "",
                    "    # indented code, not a heading", "", "Text after the code.", ""]
        if i == 6:
            out += ["*[HTML]: Hypertext Markup Language", ""]
    out += ["[^n1]: Note one, defined at the very end.",
            "[^n2]: Note two.",
            "[^n3]: Note three, with *emphasis* and a [link][far].",
            "[^n4]: Note four.",
            "[^n6]: Note six.",
            "[^unused]: Nothing refers to this note.", "",
            "[far]: https://example.org/far",
            "*[WHO]: World Health Organization", ""]
    return "\n".join(out)


# Print page numbers need the edition they come from (the `page-source-missing` rule).
PAGED_FRONT = FRONT.replace("author: T. Ester\n", "author: T. Ester\npage-source: urn:isbn:978-0-306-40615-7\n")


def paged_text() -> str:
    """The stress source with what a textbook adds (issue 15): print page markers in running
    text and on lines of their own — right before a split-level heading (its page break goes
    inside the heading, in the next piece), right after one, roman numerals before the first
    chapter — and extended descriptions in three chapters, two holding a level-1 heading (not
    a place to cut; in one after fenced code holding the description's closing line) and one a
    link."""
    t = stress_text()
    described = ('![A red square.](images/red.png "Red")\n\n::: description\n'
                 "A square, all red, 24 by 16 pixels.\n\n# Inside a description\n\n## Summary\n\n"
                 "| Channel | Value |\n|---|---|\n| Red | 200 |\n\nSee [the paragraph with an id](#intro).\n:::")
    for old, new in [
        ("Text before the first chapter,", "Text before{page=i} the first chapter,"),
        ("# Chapter 1\n", "{page=ii}\n\n# Chapter 1\n"),  # alone, right before a split-level heading
        ("A summary of chapter 1.", "A summary{page=1} of chapter 1."),
        ("# Chapter 2\n", "# Chapter 2\n\n{page=2}\n"),  # right after one
        ("Chapter 2 opens.", "Chapter 2 opens, {page=3} in the middle of a sentence."),
        ("# Chapter 3\n", "{page=4}\n\n\n# Chapter 3\n"),
        ('![A red square.](images/red.png "Red")', described),
        ("A summary of chapter 4.", "A summary of chapter 4.{page=5}\n\n![A chart.](images/red.png)\n\n"
                                    "::: description\nThe second description, with code:\n\n```\n:::\n```\n\n"
                                    "# Still the description\n:::"),
        ("Text after the code.", "Text after the code.\n\n   {page=6}  \n"),  # spaces around it, before # Chapter 5
        ("A summary of chapter 6.", "A summary of chapter 6.\n\n![A third chart.](images/red.png)\n\n"
                                    "::: description\nThe third description.\n:::\n\n{page=7}"),
    ]:
        assert old in t
        t = t.replace(old, new, 1)
    return t


def write_book(folder, text=None, front=FRONT):
    folder.mkdir(parents=True, exist_ok=True)
    png(folder / "images" / "red.png", (200, 0, 0))
    src = folder / "book.md"
    src.write_text(front + (text if text is not None else stress_text()), "utf-8")
    return src


def built(src, out, *, cut_at, merges=None, **options):
    """Build with cutting on (`cut_at` chars and longer) or off (None); the bytes, the stats and
    whether the pieces were merged (not rendered whole instead; `merges`: the list to keep
    that in, which outlives an error)."""
    old = cut.MIN_CUT_CHARS
    merges = [] if merges is None else merges
    merge = cut.merge

    def spy(plan, pieces, index, *more):
        result = merge(plan, pieces, index, *more)
        merges.append(result is not None)
        return result

    cut.MIN_CUT_CHARS = cut_at if cut_at is not None else 10 ** 12
    cut.merge = spy
    try:
        result = build(src, out, BuildOptions(**options))
    finally:
        cut.MIN_CUT_CHARS = old
        cut.merge = merge
    return out.read_bytes(), result.stats, merges


NS = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}


def texts(epub: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(epub)) as z:
        return {n: z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith("xhtml")}


def test_cut_gives_the_bytes_of_the_whole_file(tmp_path):
    src = write_book(tmp_path / "b")
    whole, stats, merges = built(src, tmp_path / "whole.epub", cut_at=None, cache=False, jobs=1)
    assert stats.chapters == 1 and merges == []
    pieces, stats, merges = built(src, tmp_path / "cut.epub", cut_at=0, cache=False, jobs=1)
    assert merges == [True], "the plan held: the pieces were merged, not rendered whole"
    assert stats.chapters == 7, "text before the first chapter, then six chapters"
    assert pieces == whole
    # What the stress is about is really in the book (the test proves something).
    docs = "\n".join(texts(whole).values())
    assert 'id="summary_5"' in docs and 'id="intro_1"' in docs and 'id="intro"' in docs
    assert "Hypertext Markup Language" in docs and "World Health Organization" in docs
    assert "# not a heading: a comment" in docs and "Chapter 99 inside tilde fences" in docs
    assert "Defined in chapter two, referred to in chapter five." in docs
    assert "https://example.org/far" in docs and "https://example.org/near" in docs


@pytest.mark.parametrize("source", ["stress", "paged"])
def test_cut_in_processes_and_through_the_cache_gives_the_same_bytes(tmp_path, source):
    src = write_book(tmp_path / "b", *((paged_text(), PAGED_FRONT) if source == "paged" else ()))
    whole, _, _ = built(src, tmp_path / "whole.epub", cut_at=None, cache=False, jobs=1)
    # In worker processes: from a process of its own, where book forks them as the command line
    # does (a test session holds threads; see tests/test_perf_features.build_in_fresh_process).
    root = Path(__file__).resolve().parent.parent
    script = (f"import sys; sys.path.insert(0, {str(root)!r})\n"
              "from book import BuildOptions, build\nfrom book.render import cut\ncut.MIN_CUT_CHARS = 0\n"
              f"s = build({str(src)!r}, {str(tmp_path / 'cold.epub')!r}, BuildOptions(cache=True, "
              f"cache_dir={str(tmp_path / 'c')!r}, jobs=2)).stats\n"
              "print(s.workers, s.misses, s.stored)\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["2", "7", "7"], "two processes rendered the seven pieces and stored them"
    warm, stats, merges = built(src, tmp_path / "warm.epub", cut_at=0, cache=True, cache_dir=tmp_path / "c", jobs=1)
    assert merges == [True] and (stats.hits, stats.misses) == (7, 0)
    assert (tmp_path / "cold.epub").read_bytes() == whole and warm == whole


def test_page_numbers_and_extended_descriptions_cut_give_the_bytes_of_the_whole_file(tmp_path):
    src = write_book(tmp_path / "b", paged_text(), PAGED_FRONT)
    whole, _, _ = built(src, tmp_path / "whole.epub", cut_at=None, cache=False, jobs=1)
    pieces, stats, merges = built(src, tmp_path / "cut.epub", cut_at=0, cache=False, jobs=1)
    assert merges == [True] and stats.chapters == 7, "cut where the stress source is cut, and merged"
    assert pieces == whole
    docs = texts(whole)
    # The page list: every page in reading order, each in the document it landed in; page ii,
    # alone right before Chapter 1, is inside that chapter's heading (its piece's first thing).
    nav = etree.fromstring(docs["EPUB/nav.xhtml"].encode())
    entries = [(a.text, a.get("href")) for a in nav.xpath("//x:nav[@epub:type='page-list']//x:a", namespaces=NS)]
    assert entries == [("i", "text/ch001.xhtml#pagei"), ("ii", "text/ch002.xhtml#pageii"),
                       ("1", "text/ch002.xhtml#page1"), ("2", "text/ch003.xhtml#page2"),
                       ("3", "text/ch003.xhtml#page3"), ("4", "text/ch004.xhtml#page4"),
                       ("5", "text/ch005.xhtml#page5"), ("6", "text/ch006.xhtml#page6"),
                       ("7", "text/ch007.xhtml#page7")]
    chapter1 = etree.fromstring(docs["EPUB/text/ch002.xhtml"].encode())
    assert chapter1.xpath("//x:h1/x:span[@role='doc-pagebreak']/@aria-label", namespaces=NS) == ["ii"]
    assert chapter1.xpath("string(//x:h1)", namespaces=NS) == "Chapter 1"
    # The descriptions, numbered across the chapter: each image points to its link, the link to
    # its document, the document back to the image's.
    described = {"xd001-1.xhtml": ("ch004.xhtml", "A red square."), "xd001-2.xhtml": ("ch005.xhtml", "A chart."),
                 "xd001-3.xhtml": ("ch007.xhtml", "A third chart.")}
    assert sorted(n for n in docs if "/xd" in n) == [f"EPUB/text/{n}" for n in described]
    for n, (fname, (chapter, alt)) in enumerate(described.items(), 1):
        doc = etree.fromstring(docs[f"EPUB/text/{chapter}"].encode())
        img = doc.xpath("//x:img[@alt=$alt]", alt=alt, namespaces=NS)[0]
        assert img.get("aria-details") == f"c1-xd{n}-ref"
        link = doc.xpath("//x:p[@id=$i]/x:a", i=f"c1-xd{n}-ref", namespaces=NS)[0]
        assert link.get("href") == f"{fname}#c1-xd{n}"
        desc = etree.fromstring(docs[f"EPUB/text/{fname}"].encode())
        assert desc.xpath("//x:section/@id", namespaces=NS) == [f"c1-xd{n}"]
        assert desc.xpath("//x:a[@role='doc-backlink']/@href", namespaces=NS) == [f"{chapter}#c1-xd{n}-ref"]
    first = etree.fromstring(docs["EPUB/text/xd001-1.xhtml"].encode())
    # Its headings have the ids the whole file gives them (`Summary` is the file's third).
    assert first.xpath("//x:h1/@id | //x:h2/@id", namespaces=NS) == ["c1-xd1-title", "inside-a-description",
                                                                     "summary_3"]
    assert first.xpath("//x:a[text()='the paragraph with an id']/@href", namespaces=NS) == ["ch005.xhtml#intro"]


@pytest.mark.checkers
def test_a_cut_book_with_pages_and_descriptions_is_clean_in_epubcheck_and_ace(tmp_path):
    from conftest import ROOT, require

    from book.check import tools as checkers

    require("epubcheck")
    require("ace")
    src = write_book(tmp_path / "b", paged_text(), PAGED_FRONT)
    _data, _stats, merges = built(src, tmp_path / "cut.epub", cut_at=0, cache=False, jobs=1)
    assert merges == [True]
    report = checkers.run_epubcheck(tmp_path / "cut.epub")
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), [str(m) for m in report.messages]
    ace = checkers.run_ace(tmp_path / "cut.epub", report_dir=ROOT / "test-artifacts" / "ace" / "cut-pages")
    assert ace.violations == (), [str(v) for v in ace.violations]
    assert ace.properties.get("hasPageBreaks") is True


def _outcome(src, out, cut_at, merges):
    try:
        return built(src, out, cut_at=cut_at, merges=merges, cache=False, jobs=1)[0]
    except BookError as e:
        return str(e)


def _line(text: str, needle: str) -> int:
    """The line of the file `write_book` writes that holds `needle` (the first)."""
    return 1 + PAGED_FRONT.count("\n") + next(i for i, ln in enumerate(text.split("\n")) if needle in ln)


@pytest.mark.parametrize("merged", [True, False])
def test_page_numbers_out_of_order_or_twice_are_reported_as_for_the_whole_file(tmp_path, merged):
    """The `page-order` rule compares the pages of the whole chapter: the merged list, with
    the file's lines.  The same page twice in two pieces gives one id twice (reported by the
    whole chapter, so it renders whole); twice in one piece, and out of order, merge."""
    t = paged_text().replace("Chapter 2 opens, {page=3}", "Chapter 2 opens, {page=30}")  # 4 comes after 30
    if merged:
        t = t.replace("A summary of chapter 6.", "A summary of chapter 6.{page=8} and again{page=8}.")
    else:
        t = t.replace("A summary of chapter 6.", "A summary of chapter 6.{page=1}")
    src = write_book(tmp_path / "b", t, PAGED_FRONT)
    whole_merges: list = []
    cut_merges: list = []
    whole = _outcome(src, tmp_path / "w.epub", None, whole_merges)
    pieces = _outcome(src, tmp_path / "c.epub", 0, cut_merges)
    assert whole == pieces and whole_merges == [] and cut_merges == [merged]
    assert f"book.md:{_line(t, '{page=4}')}: error: [page-order] page 4 comes after page 30" in whole
    if merged:
        assert f"book.md:{_line(t, 'again{page=8}')}: error: [page-order] page 8 is marked twice (first at " \
               f"{src}:{_line(t, 'again{page=8}')})" in whole
    else:
        assert f"book.md:{_line(t, 'chapter 6.{page=1}')}: error: [page-order] page 1 is marked twice (first at " \
               f"{src}:{_line(t, 'summary{page=1}')})" in whole


def test_editing_one_chapter_renders_only_that_piece(tmp_path):
    src = write_book(tmp_path / "b")
    built(src, tmp_path / "a.epub", cut_at=0, cache=True, cache_dir=tmp_path / "c", jobs=1)
    text = src.read_text("utf-8")
    # Chapter 3 grows by a paragraph: the pieces after it move down, but are not rendered again.
    src.write_text(text.replace("A summary of chapter 3.", "A summary of chapter 3.\n\nA new paragraph."), "utf-8")
    edited, stats, merges = built(src, tmp_path / "b.epub", cut_at=0, cache=True, cache_dir=tmp_path / "c", jobs=1)
    assert merges == [True]
    assert stats.miss_names == ["b/book.md#4"] or [n.rsplit("/", 1)[-1] for n in stats.miss_names] == ["book.md#4"]
    assert stats.hits == 6 and stats.misses == 1
    whole, _, _ = built(src, tmp_path / "w.epub", cut_at=None, cache=False, jobs=1)
    assert edited == whole
    assert "A new paragraph." in "\n".join(texts(edited).values())


def counting_looks(monkeypatch) -> list:
    """The texts cut.look reads (planning reads a piece only when it does not know it)."""
    looked: list = []
    look = cut.look

    def spy(piece):
        looked.append(piece)
        return look(piece)

    monkeypatch.setattr(cut, "look", spy)
    return looked


def test_planning_after_an_edit_reads_only_the_edited_piece(tmp_path, monkeypatch):
    looked = counting_looks(monkeypatch)
    src = write_book(tmp_path / "b")
    first, _, merges = built(src, tmp_path / "a.epub", cut_at=0, cache=True, cache_dir=tmp_path / "c", jobs=1)
    assert merges == [True] and len(looked) == 7, "a cold plan reads every piece"
    looked.clear()
    again, stats, _ = built(src, tmp_path / "a2.epub", cut_at=0, cache=True, cache_dir=tmp_path / "c", jobs=1)
    assert looked == [] and stats.hits == 7 and again == first, "an unchanged file: nothing is read again"
    src.write_text(src.read_text("utf-8").replace("A summary of chapter 3.", "A summary of chapter 3.\n\nMore."),
                   "utf-8")
    edited, _, merges = built(src, tmp_path / "b.epub", cut_at=0, cache=True, cache_dir=tmp_path / "c", jobs=1)
    assert merges == [True] and len(looked) == 1 and "More." in looked[0]
    whole, _, _ = built(src, tmp_path / "w.epub", cut_at=None, cache=False, jobs=1)
    assert edited == whole
    # An edit that adds a definition the other pieces use: the plan still sees it (the edited
    # piece is read), and the result is the whole file's.
    looked.clear()
    src.write_text(src.read_text("utf-8").replace("More.", "More, see [the note][late].\n\n[late]: https://example.org/late"),
                   "utf-8")
    edited, _, _ = built(src, tmp_path / "c.epub", cut_at=0, cache=True, cache_dir=tmp_path / "c", jobs=1)
    whole, _, _ = built(src, tmp_path / "w2.epub", cut_at=None, cache=False, jobs=1)
    assert len(looked) == 1 and edited == whole and "https://example.org/late" in "\n".join(texts(edited).values())


def test_a_lone_file_rebuilt_in_memory_renders_only_the_edited_piece(tmp_path, monkeypatch):
    """`book build --watch` of a lone Markdown file without a cache folder (no BOOK_CACHE_DIR):
    the process's memory keeps the pieces and what planning found, so an edit renders and reads
    one piece (a temporary folder for remote images, new on each build, once made every
    piece's cache key new)."""
    monkeypatch.delenv("BOOK_CACHE_DIR", raising=False)
    looked = counting_looks(monkeypatch)
    src = write_book(tmp_path / "b")
    memory = cachelib.Memory()
    _, stats, _ = built(src, tmp_path / "a.epub", cut_at=0, memory=memory, jobs=1)
    assert stats.misses == 7 and len(looked) == 7
    assert not (tmp_path / "b" / ".cache").exists(), "nothing is written beside a lone file"
    looked.clear()
    src.write_text(src.read_text("utf-8").replace("A summary of chapter 3.", "A summary of chapter 3.\n\nMore."),
                   "utf-8")
    rewritten: list = []
    placeholder = cut._ID_PLACEHOLDER

    class Spy:  # the bodies whose ids merge rewrites
        def sub(self, repl, body):
            rewritten.append(body)
            return placeholder.sub(repl, body)

        def fullmatch(self, text):
            return placeholder.fullmatch(text)

    monkeypatch.setattr(cut, "_ID_PLACEHOLDER", Spy())
    edited, stats, merges = built(src, tmp_path / "b.epub", cut_at=0, memory=memory, jobs=1)
    assert merges == [True] and (stats.hits, stats.misses) == (6, 1) and len(looked) == 1
    # The pieces after the edit moved down a line: their headings' lines change, their bodies
    # are the ones merged last time.  Only the edited piece's body is rewritten.
    assert len(rewritten) == 1 and "More." in rewritten[0]
    whole, _, _ = built(src, tmp_path / "w.epub", cut_at=None, cache=False, jobs=1)
    assert edited == whole
    # The same memory, the file as it was: the pieces come back as they were merged then.
    src.write_text(src.read_text("utf-8").replace("A summary of chapter 3.\n\nMore.", "A summary of chapter 3."),
                   "utf-8")
    rewritten.clear()
    again, _, _ = built(src, tmp_path / "c.epub", cut_at=0, memory=memory, jobs=1)
    first, _, _ = built(src, tmp_path / "d.epub", cut_at=None, cache=False, jobs=1)
    assert again == first and len(rewritten) == 1


def test_an_error_names_the_line_of_the_file(tmp_path):
    src = write_book(tmp_path / "b", stress_text().replace("images/red.png", "images/missing.png"))
    messages = []
    for cut_at in (None, 0):
        with pytest.raises(BookError) as e:
            built(src, tmp_path / "x.epub", cut_at=cut_at, cache=False, jobs=1)
        messages.append(str(e.value))
    assert messages[0] == messages[1]
    line = 1 + FRONT.count("\n") + stress_text().split("\n").index("![A red square.](images/red.png \"Red\")")
    assert f"book.md:{line}: image 'images/missing.png'" in messages[0]


@pytest.mark.parametrize("change", [
    # A note referred to twice: which reference gets the note depends on the whole tree.
    lambda t: t.replace("Chapter 5 opens.[^n5]", "Chapter 5 opens.[^n5] Again.[^n1]"),
    # A reference inside a code span of another chapter: the plan guesses it, the piece tells.
    lambda t: t.replace("A summary of chapter 2.", "A summary of chapter 2, `[^n6]` in code."),
    # A reference inside a note.
    lambda t: t.replace("[^n2]: Note two.", "[^n2]: Note two, see also [^n4]."),
    # Raw HTML blocks and comments are not cut.
    lambda t: t.replace("A summary of chapter 2.", "<div>\n\n# Inside a div\n\n</div>"),
    # A heading that starts a table, not a section.
    lambda t: t.replace("# Chapter 4\n", "# Chapter 4 | x\n--- | ---\na | b\n"),
    # A page marker or an extended description inside a note: the whole chapter meets them in
    # its notes block at its end, a piece at the piece's end.
    lambda t: t.replace("[^n2]: Note two.", "[^n2]: Note two,{page=9} on a page of its own."),
    lambda t: t.replace("[^n2]: Note two.", "[^n2]: Note two.\n\n    ![A chart.](images/red.png)\n\n"
                                            "    ::: description\n    A chart in a note.\n    :::"),
    # A page marker alone in a paragraph that the plan does not see as one (an attribute list
    # under it) right before a chapter: the whole chapter puts its page break inside the
    # heading, the piece before it cannot (it reports it: rendered whole).
    lambda t: t.replace("# Chapter 4\n", "{page=9}\n{: .print }\n\n# Chapter 4\n"),
    # A heading whose id is a page break's: the whole chapter reports the id twice.
    lambda t: t.replace("A summary of chapter 2.", "A summary of chapter 2.{page=9}\n\n## Page9"),
    # The same page marked in two chapters: two page breaks with one id, reported by the whole.
    lambda t: t.replace("A summary of chapter 2.", "A summary of chapter 2.{page=9}").replace(
        "A summary of chapter 5.", "A summary of chapter 5.{page=9}"),
    # An id given twice in two chapters, and a reference definition inside a list.
    lambda t: t.replace("A summary of chapter 1.", "A summary.\n{: #intro }").replace(
        "- two", "- two\n\n    [near]: https://example.org/other"),
])
def test_what_the_cut_cannot_promise_renders_whole_with_the_same_bytes(tmp_path, change):
    src = write_book(tmp_path / "b", change(stress_text()), PAGED_FRONT)
    outcomes = []
    for cut_at in (None, 0):
        merges: list = []
        try:
            outcomes.append(built(src, tmp_path / f"{cut_at}.epub", cut_at=cut_at, merges=merges,
                                  cache=False, jobs=1)[0])
        except BookError as e:
            outcomes.append(str(e))
    assert outcomes[0] == outcomes[1]
    assert True not in merges, "rendered whole"


def test_small_files_and_folders_are_not_cut(tmp_path):
    src = write_book(tmp_path / "b")
    assert len(src.read_text("utf-8")) < cut.MIN_CUT_CHARS
    _data, stats, merges = built(src, tmp_path / "a.epub", cut_at=cut.MIN_CUT_CHARS, cache=False, jobs=1)
    assert stats.chapters == 1 and merges == []


class _CountingPool(concurrent.futures.ThreadPoolExecutor):
    sizes: list = []

    def __init__(self, max_workers=None, *args, **kwargs):
        _CountingPool.sizes.append(max_workers)
        super().__init__(max_workers, *args, **kwargs)


def test_jobs_bounds_the_zip_deflate_threads(tmp_path, monkeypatch):
    from book.package import ocfzip

    monkeypatch.setattr(ocfzip, "ThreadPoolExecutor", _CountingPool)
    # Over a megabyte to deflate, in several documents: the writer uses threads.
    words = " ".join(f"word{i}" for i in range(40_000))
    src = write_book(tmp_path / "b", "\n\n".join(f"# Part {i}\n\n{words}" for i in range(1, 5)))
    _CountingPool.sizes = []
    build(src, tmp_path / "a.epub", BuildOptions(jobs=3, cache=False))
    assert _CountingPool.sizes == [3]
    _CountingPool.sizes = []
    one = build(src, tmp_path / "b.epub", BuildOptions(jobs=1, cache=False))
    assert _CountingPool.sizes == [], "--jobs 1: no thread pool at all"
    assert one.output.read_bytes() == (tmp_path / "a.epub").read_bytes()


def test_jobs_bounds_the_speech_threads(tmp_path, monkeypatch):
    import shutil

    from book.narrate import overlays

    if not shutil.which("espeak-ng"):
        pytest.skip("eSpeak NG is not installed (.ci/install-tools)")
    pytest.importorskip("lameenc")
    monkeypatch.setattr(overlays, "ThreadPoolExecutor", _CountingPool)
    src = write_book(tmp_path / "b", "# One\n\nA sentence. Another one.\n\n# Two\n\nA third sentence.\n")
    for jobs in (1, 2):
        _CountingPool.sizes = []
        build(src, tmp_path / f"{jobs}.epub", BuildOptions(jobs=jobs, read_aloud=True, cache=False))
        assert _CountingPool.sizes == [jobs]


# Blocks that touch what a cut must respect; a random file of them, cut or whole, gives the
# same bytes (or the same error), whether the pieces merged or the file rendered whole.
_BLOCKS = [
    "# Chapter {n}", "## Summary", "# Chapter {n} {{#chapter-one}}", "#Hashtag heading {n}",
    "Plain text {n} with *emphasis* and a [link][r{n}].", "A note.[^f{n}]", "Another note.[^f{m}]",
    "[^f{n}]: The note {n}.", "[^f{n}]: A note\n    with a second line.", "[r{n}]: https://example.org/{n}",
    "*[WHO]: World Health Organization", "The WHO says {n}.", "```\n# code {n}\n\n# more\n```",
    "~~~python\n\n# Chapter in code\n~~~", "    # indented code {n}", "- item {n}\n- item\n\n    # in the item",
    "| A | B |\n|---|---|\n| {n} | x |", "# a | b\n--- | ---\n1 | 2", "Text `[^f{n}]` in code.",
    "Setext {n}\n========", "A paragraph.\n{{: #summary }}", "> quote {n}\n\n# After a quote",
    # Print page markers ({p}: the block's place, so most books number their pages in order)
    # and extended descriptions.
    "{{page={p}}}", "{{page={p}}}\n\n# Chapter {n}", "Text{{page={p}}} on a page.", "Page {{page={n}}} again.",
    "{{page=x{n}}}", "![A chart {n}.](images/red.png)\n\n::: description\nDescribed {n}.\n\n# Heading {n}\n:::",
    "![A chart.](images/red.png \"Chart\")\n\n::: description\n- point {n}\n:::",
    "- ![A chart {n}.](images/red.png)\n\n    ::: description\n    In a list {n}.\n    :::",
]


def _random_file(draw_blocks) -> str:
    return "\n\n".join(b.format(n=n, m=(n * 7) % 5, p=k + 1) for k, (n, b) in enumerate(draw_blocks)) + "\n"


try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    given = None

if given is not None:
    @settings(max_examples=int(__import__("os").environ.get("BOOK_FUZZ_EXAMPLES", "60")) // 5 or 1,
              deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(_BLOCKS)), min_size=1, max_size=40))
    def test_random_files_give_the_same_bytes_cut_or_whole(tmp_path_factory, blocks):
        folder = tmp_path_factory.mktemp("fuzz")
        src = write_book(folder, _random_file(blocks), PAGED_FRONT)
        outcomes = []
        for cut_at in (None, 0):
            try:
                outcomes.append(built(src, folder / "out.epub", cut_at=cut_at, cache=False, jobs=1)[0])
            except BookError as e:
                outcomes.append(str(e))
        assert outcomes[0] == outcomes[1]


def test_a_file_that_starts_with_definitions_only(tmp_path):
    # Found by the random test: the text before the first chapter renders to nothing, and
    # must add no document (the whole file has none there).
    src = write_book(tmp_path / "b", "[r0]: https://example.org/0\n\n# Chapter 0\n\nSee [r0].\n\n# Chapter 1\n\nText.\n")
    whole, _, _ = built(src, tmp_path / "w.epub", cut_at=None, cache=False, jobs=1)
    pieces, _, merges = built(src, tmp_path / "c.epub", cut_at=0, cache=False, jobs=1)
    assert merges == [True] and pieces == whole


@pytest.mark.parametrize("level", [2, 3])
def test_deeper_split_levels_cut_at_their_headings(tmp_path, level):
    src = tmp_path / "b" / "book.md"
    write_book(tmp_path / "b")
    src.write_text(FRONT.replace("author: T. Ester\n", f"author: T. Ester\nsplit-level: {level}\n")
                   + stress_text(), "utf-8")
    whole, _, _ = built(src, tmp_path / "w.epub", cut_at=None, cache=False, jobs=1)
    pieces, stats, merges = built(src, tmp_path / "c.epub", cut_at=0, cache=False, jobs=1)
    assert merges == [True] and stats.chapters == 14, "each chapter and its Summary section"
    assert pieces == whole
