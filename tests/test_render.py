"""book.render's prefiltered inline processor (issue 6) changes how fast Markdown renders, never
what it renders: the same HTML as Python-Markdown's own inline processor, on every book in the
repository and on random inline Markdown."""

from __future__ import annotations

import os
import sys
from xml.etree import ElementTree
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from book.render import markdown as render

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def _both(text: str) -> tuple[str, str]:
    return render.render(text, render.new_markdown(fast=True)), render.render(text, render.new_markdown(fast=False))


def _written_for_this_release():
    import markdown

    if not markdown.__version__.startswith(render.WRITTEN_FOR + "."):
        pytest.skip(f"the skip tables are written for Python-Markdown {render.WRITTEN_FOR}.x, this is "
                    f"{markdown.__version__}: patterns whose regex changed run unfiltered (same HTML, "
                    "tested below); update book/render/markdown.py's tables for speed")


def test_every_inline_pattern_of_this_python_markdown_is_prefiltered():
    """If a Python-Markdown upgrade changes a pattern, it silently runs the slow way; this says so."""
    _written_for_this_release()
    md = render.new_markdown()
    inline = md.treeprocessors["inline"]
    assert isinstance(inline, render._PrefilteredInline)
    inline.run(ElementTree.Element("div"))
    unknown = [type(p).__name__ for p, need in zip(inline._patterns, inline._needs) if need is None]
    assert len(inline._patterns) >= 15 and not unknown


def test_every_block_processor_with_a_known_need_is_prefiltered():
    _written_for_this_release()
    md = render.new_markdown()
    render.render("# a\n\nb", md)
    cells = dict(zip(md.parser.parseBlocks.__code__.co_freevars,
                     (c.cell_contents for c in md.parser.parseBlocks.__closure__)))
    names = {type(p).__name__: needs for p, needs in cells["chain"]}
    assert len(names) >= 16
    expected = {"TableProcessor", "HashHeaderProcessor", "SetextHeaderProcessor", "HRProcessor", "DefListProcessor",
                "BlockQuoteProcessor", "FootnoteBlockProcessor", "AbbrBlockprocessor", "ReferenceProcessor"}
    assert {n for n, needs in names.items() if needs} == expected


def test_a_pattern_that_is_not_known_still_runs():
    """An extension's own pattern (here, one that reuses a known name with another regex) is never
    skipped: `~~strike~~` renders although `~` is in no prefilter."""
    from markdown.inlinepatterns import SimpleTagInlineProcessor

    md = render.new_markdown()
    md.inlinePatterns.register(SimpleTagInlineProcessor(r"(~~)(.+?)~~", "del"), "link", 160)
    assert "<del>gone</del>" in render.render("a ~~gone~~ b", md)


def test_each_faster_search_finds_what_the_stock_regex_finds():
    """book's stand-ins for slow stock regexes (book.render.markdown._EQUIVALENT_SEARCH) give the
    same matches — spans and groups — on every string of up to 8 of the characters they look
    at (and one other), from every start position."""
    import itertools
    import re

    flags = re.DOTALL | re.UNICODE
    for stock, faster in render._EQUIVALENT_SEARCH.items():
        a, b = re.compile(stock, flags), re.compile(faster, flags)
        alphabet = "".join(sorted({c for c in stock + faster if c in "\\`[]!"})) + "x"
        for size in range(9 if len(alphabet) <= 4 else 8):
            for chars in itertools.product(alphabet, repeat=size):
                text = "".join(chars)
                for pos in range(size + 1):
                    found = [(m.span(), m.groups()) for m in a.finditer(text, pos)]
                    assert found == [(m.span(), m.groups()) for m in b.finditer(text, pos)], (stock, text, pos)


def test_the_faster_paths_are_taken_on_this_release():
    """The fast paths are in use (on another release they are not, and the HTML is still the same)."""
    _written_for_this_release()
    md = render.new_markdown()
    render.render("*a* [b](c)", md)
    inline = md.treeprocessors["inline"]
    if not render._LEAN:
        pytest.skip("the fast paths are written for another release of Python-Markdown")
    assert sum(r is not None for r in inline._search) == 4
    assert md.inlinePatterns["link"].getLink.__qualname__.startswith("_fast_get_link")
    assert md.inlinePatterns["em_strong"].handleMatch.__qualname__.startswith("_fast_emphasis")


def test_the_inline_walk_is_linear_and_gives_the_stock_html(monkeypatch):
    """The inline processor's walk over a chapter takes its next element from a deque, not with
    `list.pop(0)` (which made a chapter of 240,000 inline elements quadratic): the same HTML as
    Python-Markdown's own walk on a chapter of many paragraphs whose inline elements have tails,
    nested inline elements, lists, quotes, tables and raw inline HTML."""
    if not render._LEAN:
        pytest.skip("the lean walk is written for another release of Python-Markdown")
    walks = []
    lean = render._PrefilteredInline._run_in_linear_time
    monkeypatch.setattr(render._PrefilteredInline, "_run_in_linear_time",
                        lambda self, *a: walks.append(1) or lean(self, *a))
    paragraph = ("[a *b* c](#x) tail `d` and **e [f](g) _h_** i <span>j</span> k[^1] "
                 "*l **m** n* o  \nbreak ![p](q.png) r")
    text = "\n\n".join([paragraph] * 60 + ["- " + paragraph + "\n    - *nested* [x](y)", "> " + paragraph,
                                            "| *a* | [b](c) |\n|---|---|\n| `d` | **e** |", "[^1]: a *note* [z](w)"])
    fast, plain = _both(text)
    assert walks and fast == plain and fast.count("<a ") >= 120
    # A block element's tail with inline markup (no extension of book's makes one, Python-
    # Markdown's walk handles it): its elements go right after that element, in both walks.
    from xml.etree import ElementTree as ET

    def walked(md):
        root = ET.Element("div")
        for k in range(3):
            p = ET.SubElement(root, "p")
            p.text, p.tail = f"a{k} *b*", f"c{k} *d* [e](f) g"
        md.reset()
        return ET.tostring(md.treeprocessors["inline"].run(root), encoding="unicode")

    lean_tree, stock_tree = walked(render.new_markdown(fast=True)), walked(render.new_markdown(fast=False))
    assert lean_tree == stock_tree and lean_tree.count("<em>") == 6 and len(walks) >= 2


SOURCES = sorted(p for p in (ROOT / "content").rglob("*.md")) + sorted((ROOT / "tests" / "sources").rglob("*.md"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_html_on_the_books_in_the_repository(path):
    fast, plain = _both(path.read_text("utf-8"))
    assert fast == plain


def test_same_html_on_a_synthetic_chapter(tmp_path):
    import synth

    book = synth.generate(tmp_path / "b", words=20_000, chapters=4, images=2)
    for ch in book.chapters:
        fast, plain = _both(ch.read_text("utf-8"))
        assert fast == plain and "<strong>" in fast and "<a " in fast and "<code>" in fast


INLINE_BITS = st.sampled_from([
    "*", "**", "***", "_", "__", "`", "``", "\\", "\\*", "\\`", "[", "]", "(", ")", "![", "[^1]", "[^x]",
    "<", ">", "&", "&amp;", "&#65;", "&nosuch;", "  \n", "\n", "\n\n", "http://example.org", "<http://a.b/c>",
    "<me@example.org>", "@", "<b>", "</b>", "<span lang=\"fr\">", "{.x}", "[a]: http://x\n", "[a]", "![i](a.png)",
    "[l](#x)", "word", " ", "é", "日本", "\u00a0", "- ", "1. ", "# ", "> ", "|", "~", "\ufeff",
    # block syntax
    "\n---\n", "\n***\n", "\n===\n", "\nTitle\n-----\n", "\nTerm\n: Definition\n", "\n*[HTML]: Hyper Text\n",
    "\n    code\n", "\n| a | b |\n|---|:-:|\n| c | d |\n", "\n|x|\n|-|\n", "\n[^1]: a note\n    more\n",
    "\n> quote\n> > nested\n", "\n```\nfenced\n```\n", "\n## Head ##\n", "\n<div>raw</div>\n", "\t", "1) ",
    "\n[ref]: http://example.org 'T'\n",
    # what book's fast paths for emphasis and links take, and what they must leave to the stock
    # code (book.render.markdown._fast_emphasis, _fast_get_text, _fast_get_link)
    "*a*", "**b c**", "_d_", "__e__", "***f***", "*g**", "**h*", "*i *", "* j*", "k*l*m", "n_o_p",
    "*q*.", "(*r*)", "**s**,", "*t_u*", "_v*w_", "*x`*`y*", "`*z*`", "\\*a\\*", "*b\\*", "*[c](d)*",
    "**[e](f)**", "[*g*](h)", "*i[^1]*", "[^1].", ".[^x]", "*j*[^1]", "[k](l)", "[m](n \"T\")", "[o](p 'T')",
    "[q](<r s> \"T\")", "[t](u(v)w)", "[x [y] z](a)", "[b](c \"d)", "[e](f' g)", "[h]()", "[i] (j)", "[k]",
    "[l][ref]", "[m][]", "![n](o)", "![p](q \"r\")", "[s](t\\))", "[u](&amp;v)", "[w\\]](x)", "[](y)", "![](z)", "[]", "](", ")(",
    "\nT\n:\tD\n", "a: b", "::: description\n", "\n:::\n", "*a `*b*` c*", "**`[d](e)`**", "[`*f*`](g)", "*h &amp; `&lt;`*", "_i `\\*j\\*` k_",
])


@settings(max_examples=int(os.environ.get("BOOK_FUZZ_EXAMPLES", "300")), deadline=None)
@given(st.lists(st.one_of(INLINE_BITS, st.text(max_size=8)), max_size=40).map("".join))
def test_same_html_on_random_inline_markdown(text):
    fast, plain = _both(text + "\n\n[^1]: a note\n[^x]: another *one*\n")
    assert fast == plain


@pytest.mark.parametrize("text", [
    "plain ASCII\nwith lines\tand tabs\r\n", "a \x01 control", "\x00\x08\x0b\x0c\x0e\x1f", "é, “quotes” and — dashes",
    "é and a placeholder \ue000", "non-characters \ufffe and \uffff", "a lone surrogate \ud800 here", "\U0001F600 emoji",
    "ASCII with \x7f (allowed: XML 1.0 Char includes it)", "", "\ue000", "mixed é \x02 and \x03",
])
def test_xml_safe_removes_exactly_what_the_expression_removes(text):
    from book.source.metadata import _XML_ILLEGAL, xml_safe

    assert xml_safe(text) == _XML_ILLEGAL.sub("", text)


def test_fenced_code_joins_the_renderer_when_a_text_first_has_a_fence():
    """book's converter gets Python-Markdown's fenced_code extension the first time a text may
    hold fenced code (book.render.markdown.with_fences): the same HTML as a converter built with
    it, on texts with and without fences, in any order, and the converter keeps it."""
    import markdown

    texts = ["# A\n\nPlain *text* with `code`.\n", "```python\nx = 1\n```\n\nafter\n",
             "~~~\n# not a heading\n~~~\n", "text ``` in a line, not a fence\n", "# B {: #b }\n\n```{.py}\ny\n```\n",
             "    ```\n    indented: code, not a fence\n", "Plain again.\n"]
    lazy = render.new_markdown()
    assert "fenced_code_block" not in lazy.preprocessors
    for fast in (True, False):
        reference = render.with_fences(render.new_markdown(fast=fast))
        for text in texts:
            assert render.render(text, lazy) == render.render(text, reference), text
    assert "fenced_code_block" in lazy.preprocessors
    assert [p.name for p in lazy.preprocessors._priority] == [p.name for p in reference.preprocessors._priority]
    # And Python-Markdown's own converter, built with every extension book names, agrees.
    stock = markdown.Markdown(extensions=render.EXTENSIONS, output_format="xhtml")
    fresh = render.new_markdown()
    for text in texts[:4]:
        stock.reset()
        assert render.render(text, fresh).count("<pre>") == stock.convert(text).count("<pre>"), text
