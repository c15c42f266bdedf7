"""Print page numbers: ``{page=12}`` in the Markdown marks where page 12 of the print edition
begins.

The marker may stand anywhere in running text (``...the end of one page{page=13} and the
start...``) or on a line of its own.  It becomes an EPUB page break (EPUB 3.3 SSV `pagebreak`,
DPUB-ARIA `doc-pagebreak`) that says its number to assistive technology and shows nothing on
screen::

    <span epub:type="pagebreak" role="doc-pagebreak" id="page12" aria-label="12"></span>

and an entry of the navigation document's `page-list` (book.package.documents), so a reader
can "go to page 12" — what a class using the print and the digital edition together needs
(EPUB Accessibility Techniques 1.1 §4.1, WCAG technique H99).  A label is a page number as
printed: digits, roman numerals or letters, with ``.``, ``-`` or ``_`` (``{page=xii}``,
``{page=A-3}``).

Two steps: a Python-Markdown inline pattern turns the marker into a neutral
``<span data-book-page="12">`` (``role`` and ``epub:type`` from the source are never trusted:
book.render.sanitize removes them), and the ``pages`` pass (:func:`pass_pages`, registered in
book.render.passes) makes it a page break once the chapter is sanitized.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

from . import tree as htmltree

# A page label: what the print edition prints as its number, and safe inside an XML ID.
LABEL = r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}"
PATTERN = r"\{page=(" + LABEL + r")\}"
DATA = "data-book-page"


class _PageMarker(InlineProcessor):
    def handleMatch(self, m, data):  # noqa: N802 (Python-Markdown's name)
        el = ET.Element("span")
        el.set(DATA, m.group(1))
        return el, m.start(0), m.end(0)


class PageBreakExtension(Extension):
    """Registers the ``{page=N}`` pattern.  Priority 175: after backticks (190) and escapes
    (180), so ``\\{page=1}`` and `` `{page=1}` `` stay text, and before links and attribute
    lists can take the braces."""

    NAME = "book_pagebreak"

    def extendMarkdown(self, md):  # noqa: N802
        md.inlinePatterns.register(_PageMarker(PATTERN, md), self.NAME, 175)


def page_id(label: str) -> str:
    return f"page{label}"


def _marker_lines(ctx) -> dict[str, list[int]]:
    """Label → the source lines of its markers, in order: one pass over the chapter, so a book
    with thousands of page numbers is not searched once per marker."""
    found: dict[str, list[int]] = {}
    marker = re.compile(PATTERN + "|" + DATA + r'="(' + LABEL + ')"')
    for i, text in enumerate(ctx.locator.lines):
        if "{page=" in text or DATA in text:
            for m in marker.finditer(text):
                found.setdefault(m.group(1) or m.group(2), []).append(ctx.locator.first_line + i)
    for lines in found.values():
        lines.reverse()  # popped from the end, in order
    return found


def pass_pages(tree, ctx) -> None:
    """Every ``span[data-book-page]`` becomes a page break; ``ctx.pages`` gets (id, label,
    line) in reading order, for the page list and the `page-order` rule."""
    lines = None
    for span in tree.iter("span"):
        if span.get(DATA) is not None:
            lines = _marker_lines(ctx)
            break
    if lines is None:
        return
    for span in list(tree.iter("span")):
        label = span.get(DATA)
        if label is None:
            continue
        del span.attrib[DATA]
        if not re.fullmatch(LABEL, label):  # raw HTML with a label we cannot make an id of
            htmltree.drop_tag(span)
            continue
        for child in list(span):  # a page break holds nothing (DPUB-ARIA: its label names it)
            htmltree.drop_tag(child)
        span.text = None
        span.set("id", page_id(label))
        span.set("epub:type", "pagebreak")
        span.set("role", "doc-pagebreak")
        # Ace `pagebreak-label`: a page break needs an accessible name, its number.
        span.set("aria-label", label)
        found = lines.get(label)
        line = found.pop() if found else None
        ctx.pages.append((page_id(label), label, line))
        parent = span.getparent()
        # A marker on a line of its own makes a paragraph with nothing to read: the page break
        # takes the paragraph's place, so no empty paragraph adds space or a stop for a
        # screen reader.
        if (parent is not None and parent.tag == "p" and len(parent) == 1 and not (parent.text or "").strip()
                and not (span.tail or "").strip()):
            grand = parent.getparent()
            if grand is not None:
                span.tail = parent.tail
                grand.replace(parent, span)
                nxt = span.getnext()
                if nxt is not None and nxt.tag in ("h1", "h2", "h3", "h4", "h5", "h6") and not (span.tail or "").strip():
                    # The new page starts with this heading: the break goes inside it, so it
                    # lands in the heading's document when the chapter is split there, and
                    # "go to page" shows the heading.
                    span.tail = nxt.text
                    nxt.text = None
                    nxt.insert(0, span)
                elif ctx.facts is not None and grand is tree and all(
                        el.tag == "div" and "footnote" in el.get("class", "").split() for el in span.itersiblings()):
                    # The last thing of a piece of a chapter (book.render.cut): in the whole
                    # chapter the next piece's heading may follow it, and take this page break
                    # (cut.merge then has the chapter rendered whole).
                    ctx.facts["trailing_page_break"] = True
