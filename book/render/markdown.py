"""Step 2 of a build: Markdown → HTML text, one chapter at a time.

Python-Markdown with the extensions the contract names.  Two deliberate changes to its defaults:

* Raw HTML whose tag is not an HTML element (``<Myths>`` in a heading, ``<insert name>`` in a
  draft) is escaped so it reads as text, as the author wrote it, instead of becoming an unknown
  element that EPUBCheck rejects and that a screen reader would skip.
* Footnote ids use ``-`` instead of ``:``, so each is a valid XML ``ID`` in XHTML (EPUB 3.3 §6.1.3
  requires XHTML content documents to be well-formed XML).

And changes to how it runs, not to what it gives (issue 6: Python-Markdown was three quarters of
a large book's build): :class:`_PrefilteredInline` skips an inline pattern, and
:func:`_prefilter_blocks` a block processor, when the text cannot contain a match; a tag's
block-level answer is remembered.  tests/test_render.py holds them to Python-Markdown's own output.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

import markdown
from markdown import inlinepatterns, treeprocessors, util
from markdown.extensions.footnotes import FootnoteInlineProcessor
from markdown.postprocessors import Postprocessor

from ..source.metadata import xml_safe
from .longdesc import DescriptionExtension
from .pagebreaks import PATTERN as PAGE_PATTERN
from .pagebreaks import PageBreakExtension
from .sanitize import HTML_ELEMENTS

EXTENSIONS = ["tables", "footnotes", "def_list", "fenced_code", "attr_list", "abbr", "toc", "sane_lists"]

_TAG = re.compile(r"^\s*<\s*/?\s*([A-Za-z][A-Za-z0-9:_-]*)")


class _EscapeUnknownTags(Postprocessor):
    """Runs before Python-Markdown puts raw HTML back (priority 30): a stashed chunk that starts
    with a tag that is not an HTML element is turned back into text."""

    def run(self, text: str) -> str:
        stash = self.md.htmlStash.rawHtmlBlocks
        for i, chunk in enumerate(stash):
            m = _TAG.match(chunk)
            if m and m.group(1).lower() not in HTML_ELEMENTS:
                stash[i] = chunk.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return text


# The Python-Markdown release the tables below were written against (their regexes are its).
# Under another release, a pattern whose regex differs is simply not skipped.
WRITTEN_FOR = "3.11"

# What a pattern's regular expression must find in the text to match at all: (regex, substrings).
# A pattern is skipped only when its compiled regex is exactly the one listed here and none of
# the substrings is in the text — so another version of Python-Markdown, or an extension that
# replaces a pattern, just runs that pattern the slow way (tests/test_render.py checks that every
# pattern of the installed version is listed, and that the output is unchanged).
_NEEDS = {
    "backtick": (r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)", ("`",)),
    "escape": (r"\\(.)", ("\\",)),
    "footnote": (r"\[\^([^\]]*)\]", ("[^",)),
    "reference": (r"(?<!\!)\[", ("[",)),
    "link": (r"(?<!\!)\[", ("[",)),
    "image_link": (r"\!\[", ("![",)),
    "image_reference": (r"\!\[", ("![",)),
    "short_reference": (r"(?<!\!)\[", ("[",)),
    "short_image_ref": (r"\!\[", ("![",)),
    "autolink": (r"<([A-Za-z][A-Za-z0-9+.-]*://[^<>]*)>", ("<",)),
    "automail": (r"<([^<> !]+@[^@<> ]+)>", ("<",)),
    "linebreak": (r"  \n", ("  \n",)),
    "entity": (r"(&(?:\#[0-9]+|\#x[0-9a-fA-F]+|[a-zA-Z0-9]+);)", ("&",)),
    # book's own: print page numbers, {page=12} (book.render.pagebreaks)
    PageBreakExtension.NAME: (PAGE_PATTERN, ("{page=",)),
}


def _needs(name: str, pattern) -> frozenset[str] | None:
    """The substrings one of which a text must contain for `pattern` to match; None: unknown
    (always run it)."""
    if not isinstance(pattern, inlinepatterns.InlineProcessor):
        return None
    regex = pattern.compiled_re.pattern
    delimiters = getattr(inlinepatterns, "DelimiterProcessor", None)  # Python-Markdown ≥ 3.11
    if delimiters is not None and isinstance(pattern, delimiters):
        # `*`/`_` emphasis: its regex is the tokens joined with `|`.
        ok = regex == "|".join(map(re.escape, pattern.tokens))
        return frozenset(pattern.tokens) if ok else None
    if isinstance(pattern, inlinepatterns.HtmlInlineProcessor) and name == "html" and regex.startswith("(<"):
        return frozenset("<")  # raw inline HTML always starts with `<` (the regex varies by version)
    known = _NEEDS.get(name)
    return frozenset(known[1]) if known and known[0] == regex else None


class _PrefilteredInline(treeprocessors.InlineProcessor):
    """Python-Markdown's inline processor, which tries every inline pattern (15 of them) on every
    piece of text, one regex search and several Python calls each, although most patterns cannot
    match: a paragraph without `[` has no link.  This one skips a pattern whose required
    substring is not in the text — exactly what the pattern's own failed search would have done
    (no match: next pattern, from the start of the text), so the HTML is the same."""

    def run(self, tree, ancestors=None):
        reg = self.md.inlinePatterns
        self._patterns = [reg[i] for i in range(len(reg))]  # in priority order, looked up once
        names = {reg.get_index_for_name(name): name for name in (*_NEEDS, "html") if name in reg}
        self._needs = [_needs(names.get(i, ""), p) for i, p in enumerate(self._patterns)]
        self._triggers = frozenset().union(*(n for n in self._needs if n))
        return super().run(tree, ancestors)

    # Overrides InlineProcessor.__handleInline (name-mangled); same contract.
    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if isinstance(data, util.AtomicString):
            return data
        patterns, needs = self._patterns, self._needs
        # Looked up once: a match only ever replaces text with a placeholder (STX, letters,
        # digits, ETX), so no substring appears later that was not there now.
        present = {t for t in self._triggers if t in data}
        apply = self._InlineProcessor__applyPattern
        start = 0
        while patternIndex < len(patterns):
            need = needs[patternIndex]
            if need is not None and need.isdisjoint(present):
                patternIndex, start = patternIndex + 1, 0
                continue
            data, matched, start = apply(patterns[patternIndex], data, patternIndex, start)
            if not matched:
                patternIndex += 1
        return data


# The same for block processors: what a block must contain for the processor to take it.  Each
# is checked against the processor's own regular expression (its `RE`), as above; the table
# processor has none, but its test splits rows at `|` and needs two cells or a border pipe.
_BLOCK_NEEDS = {
    "table": (None, ("|",)),
    "hashheader": (r"(?:^|\n)(?P<level>#{1,6})(?P<header>(?:\\.|[^\\#]|#+(?=[^#\n]))*?)#*(?:\n|$)", ("#",)),
    "setextheader": (r"^.*?\n(?:=+|-+)[ ]*(\n|$)", ("\n=", "\n-")),
    "hr": (r"^[ ]{0,3}(?=(?P<atomicgroup>(-+[ ]{0,2}){3,}|(_+[ ]{0,2}){3,}|(\*+[ ]{0,2}){3,}))(?P=atomicgroup)[ ]*$",
           ("-", "_", "*")),
    "deflist": (r"(^|\n)[ ]{0,3}:[ ]{1,3}(.*?)(\n|$)", (":",)),
    "quote": (r"(^|\n)[ ]{0,3}>[ ]?(.*)", (">",)),
    # These three test every block and give it back from run() when their RE does not match.
    "footnote": (r"^[ ]{0,3}\[\^([^\]]*)\]:[ ]*(.*)$", ("[^",)),
    "abbr": (r"^[*]\[(?P<abbr>[^\\]*?)\][ ]?:[ ]*\n?[ ]*(?P<title>.*)$", ("*[",)),
    "reference": (r"""^[ ]{0,3}\[([^\[\]]*)\]:[ ]*(?:\n[ ]*)?([^\s]+)[ ]*(?:\n[ ]*)?((["\'])(.*)\4[ ]*|\((.*)\)[ ]*)?$""",
                  ("]:",)),
}


def _block_needs(name: str, processor) -> tuple[str, ...] | None:
    known = _BLOCK_NEEDS.get(name)
    if known is None:
        return None
    regex, needs = known
    if regex is None:
        from markdown.extensions.tables import TableProcessor

        return needs if type(processor) is TableProcessor else None
    own = getattr(processor, "SEARCH_RE", None) or getattr(processor, "RE", None)  # HR tests with SEARCH_RE
    return needs if getattr(own, "pattern", own) == regex else None


def _prefilter_blocks(md: markdown.Markdown) -> None:
    """Python-Markdown's block parser offers every block to each block processor in turn (16 of
    them, a test each, most a regex search); this one does not offer a block to a processor
    whose required text it lacks — the processor's test would have said no (or its run would
    have given the block back), so the tree is the same."""
    parser = md.parser
    chain: list = []

    def parse_blocks(parent, blocks) -> None:
        if not chain:
            reg = parser.blockprocessors
            names = {reg.get_index_for_name(n): n for n in _BLOCK_NEEDS if n in reg}
            chain.extend((p, _block_needs(names.get(i, ""), p)) for i, p in enumerate(reg))
        while blocks:
            for processor, needs in chain:
                block = blocks[0]
                if needs is not None and not any(n in block for n in needs):
                    continue
                if processor.test(parent, block):
                    if processor.run(parent, blocks) is not False:  # True or None: taken
                        break

    parser.parseBlocks = parse_blocks


class _NumberedFootnoteRefs(FootnoteInlineProcessor):
    """Python-Markdown's footnote reference, numbered without its quadratic work: the stock
    pattern makes a list of every footnote label and searches it for each reference
    (`list(keys()).index(id)`), and checks a list for each label it has seen — for an article
    of 10,000 notes, 10^8 steps (issue 13).  Here the numbers are a dict made once per
    document; the element made is the stock one (tests/test_render.py compares the HTML).

    `numbers`, when set, gives the number of each label that may be referred to: a piece of a
    chapter rendered on its own (book.render.cut) numbers its notes as the whole chapter does."""

    numbers: dict | None = None

    def __init__(self, stock: FootnoteInlineProcessor):
        super().__init__(stock.compiled_re.pattern, stock.footnotes)
        self._cache: tuple = (None, -1, {})
        self._seen: tuple = (None, set())

    def _numbers(self) -> dict:
        if self.numbers is not None:
            return self.numbers
        notes = self.footnotes.footnotes  # labels in definition order; only ever added to
        known, size, numbers = self._cache
        if known is not notes or size != len(notes):
            numbers = {label: n for n, label in enumerate(notes, 1)}
            self._cache = (notes, len(notes), numbers)
        return numbers

    def handleMatch(self, m, data):
        fn = self.footnotes
        if not fn.getConfig("USE_DEFINITION_ORDER"):
            return super().handleMatch(m, data)  # numbered by reference: the stock way
        label = m.group(1)
        number = self._numbers().get(label)
        if number is None:
            return None, None, None
        order = fn.footnote_order  # what addFootnoteRef keeps, with a set beside it
        known, seen = self._seen
        if known is not order:
            seen = set(order)
            self._seen = (order, seen)
        if label not in seen:
            seen.add(label)
            order.append(label)
        sup = etree.Element("sup")
        a = etree.SubElement(sup, "a")
        sup.set("id", fn.makeFootnoteRefId(label, found=True))
        a.set("href", "#" + fn.makeFootnoteId(label))
        a.set("class", "footnote-ref")
        a.text = fn.getConfig("SUPERSCRIPT_TEXT").format(number)
        return sup, m.start(0), m.end(0)


def _slugify(value: str, separator: str) -> str:
    """Heading ids that keep non-Latin letters (a Japanese or Arabic heading gets a readable id
    instead of an empty one), lower-cased, spaces to `separator`."""
    value = re.sub(r"[^\w\s-]", "", value, flags=re.UNICODE).strip().lower()
    value = re.sub(r"[\s_-]+", separator, value)
    # An XML ID must not start with a digit (XML 1.0 Name production).
    if not value or not (value[0].isalpha()):
        value = "h" + separator + value if value else "section"
    return value


def new_markdown(fast: bool = True) -> markdown.Markdown:
    """The configured renderer; `fast=False`: Python-Markdown running as it comes, without the
    skips and the remembered block-level answers below (tests compare the two)."""
    md = markdown.Markdown(
        # book's own syntax: ::: description blocks and {page=N} markers
        extensions=EXTENSIONS + [DescriptionExtension(), PageBreakExtension()],
        extension_configs={
            "footnotes": {"SEPARATOR": "-", "BACKLINK_TEXT": "\u21a9\ufe0e"},
            "toc": {"slugify": _slugify, "permalink": False},
        },
        output_format="xhtml",
    )
    md.postprocessors.register(_EscapeUnknownTags(md), "book_escape_unknown_tags", 35)
    if fast:
        md.treeprocessors.register(_PrefilteredInline(md), "inline", 20)  # same name and priority
        stock = md.inlinePatterns["footnote"]
        if type(stock) is FootnoteInlineProcessor:
            md.inlinePatterns.register(_NumberedFootnoteRefs(stock), "footnote", 175)  # same place
        # Python-Markdown asks whether a tag is block-level ~230 times per 1,000 words, each a
        # search of a list of 60 names; the answer for a tag does not change once the
        # extensions are loaded (above), so it is remembered.
        block_level = frozenset(md.block_level_elements)
        known: dict = {}

        def is_block_level(tag) -> bool:
            answer = known.get(tag)
            if answer is None:
                answer = known[tag] = isinstance(tag, str) and tag.lower().rstrip("/") in block_level
            return answer
        md.is_block_level = is_block_level
        _prefilter_blocks(md)
    return md


def clean_text(text: str) -> str:
    """Characters XML 1.0 forbids (§2.2), and U+E000 kept for book.render.passes' placeholders,
    never reach an XHTML file: the same cleaning as every metadata value gets."""
    return xml_safe(text)


def render(text: str, md: markdown.Markdown | None = None) -> str:
    """Markdown text → an HTML fragment (a string)."""
    md = md or new_markdown()
    md.reset()
    return convert(md, clean_text(text))


def convert(md: markdown.Markdown, text: str) -> str:
    """`md.convert(text)`, without the `toc` extension's search for its ``[TOC]`` marker when
    the text does not hold it: that search joins the text of every element of the document
    with every element after it (a fifth of a book's time in its passes, issue 13), and only a
    paragraph whose text is the marker can match — which needs the marker in the source, since
    escapes and entities are still placeholders when `toc` runs."""
    toc = md.treeprocessors["toc"] if "toc" in md.treeprocessors else None
    marker = getattr(toc, "marker", None)
    if not marker or marker in text:
        return md.convert(text)
    toc.marker = ""
    try:
        return md.convert(text)
    finally:
        toc.marker = marker
