"""Extended descriptions of complex images (charts, diagrams, anatomy figures).

Alt text is a short substitute for an image (WCAG 1.1.1; `img-alt-long` warns past 150
characters).  A chart or a diagram needs more: what it shows, its data, the point it makes.
The Markdown syntax is a fenced block right after the image::

    ![Pain scores fell every week for eight weeks.](images/chart.png "Weekly pain scores")

    ::: description
    A bar chart of the average pain score (0 to 10) in each of eight weeks. It falls from 7.2
    in week 1 to 3.1 in week 8, fastest in the first three weeks.

    | Week | Score |
    |------|-------|
    | 1    | 7.2   |
    :::

Anything Markdown can say goes inside (paragraphs, lists, tables, images).  It is rendered with
the DAISY Knowledge Base's "extended descriptions" pattern, in a document of its own
(kb.daisy.org/publishing/docs/html/extended-descriptions.html, "Linking to an external
document"):

* the image gets ``aria-details`` pointing to a visible link "Extended description" placed
  right after it, so a screen reader announces that details exist and a sighted reader sees
  the link (``aria-details`` may only point inside the same document, hence the link);
* the description is an XHTML document of its own (book.package.assemble): a heading, a
  decorative copy of the image (``alt=""``: the text is the description), the description, and
  a ``doc-backlink`` back to the image; it is in the spine with ``linear="no"`` (EPUB 3.3
  §5.4.2.3: reached by its link, skipped by straight-through reading) and in no table of
  contents;
* the package claims ``longDescription`` (and the ONIX record code 15) only when the book has
  at least one (book.package.a11y).

The block processor turns the fence into ``<div data-book-description>`` (a data attribute:
book.render.sanitize keeps those and nothing of the author's can pass for book's own roles); the
``descriptions`` pass (:func:`pass_descriptions`) takes each out of the chapter.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from lxml import etree
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension

from ..errors import SourceError
from . import tree as htmltree

DATA = "data-book-description"
UNCLOSED = "data-book-description-unclosed"
_OPEN = re.compile(r"^:::[ ]*description[ ]*$")
_CLOSE = re.compile(r"^:::[ ]*$")

# The visible link after the image, and the words of the description document, in the book's
# language (the other languages' words are those of their own e-readers' "description" UI).
LABELS = {
    "en": ("Extended description", "Back to the image"),
    "es": ("Descripción extendida", "Volver a la imagen"),
    "fr": ("Description détaillée", "Retour à l’image"),
    "de": ("Ausführliche Beschreibung", "Zurück zum Bild"),
    "ar": ("وصف مفصل", "العودة إلى الصورة"),
    "ja": ("詳細な説明", "画像に戻る"),
}


def labels(lang: str) -> tuple[str, str, str]:
    """(link text, back-link text, language of those words) for a book in `lang`."""
    primary = lang.split("-")[0].lower()
    if primary in LABELS:
        return (*LABELS[primary], lang)
    return (*LABELS["en"], "en")


@dataclass(frozen=True)
class Description:
    """One extended description, ready for book.package.assemble to lay out."""

    id: str  # the description document's section id
    ref_id: str  # the paragraph with the link after the image: aria-details target, back-link target
    file: str  # its document, inside text/ (beside the chapter's documents)
    alt: str  # the image's short description
    src: str  # the image (an IMAGE placeholder of book.render.passes)
    width: str | None
    height: str | None
    body: str  # serialised XHTML, with IMAGE/LINK placeholders
    line: int | None


class _DescriptionBlock(BlockProcessor):
    """``::: description`` … ``:::`` → ``<div data-book-description>`` holding the parsed
    Markdown in between; the blank lines inside do not end it."""

    def test(self, parent, block):
        # _OPEN needs the block to start with `:::`: asked first, before the block is split
        return block.startswith(":::") and bool(_OPEN.match(block.split("\n", 1)[0]))

    def run(self, parent, blocks):
        first = blocks.pop(0)
        inner: list[str] = []
        rest = first.split("\n", 1)[1] if "\n" in first else ""
        pending = [rest] if rest else []
        closed = False
        while pending or blocks:
            block = pending.pop(0) if pending else blocks.pop(0)
            lines = block.split("\n")
            for i, line in enumerate(lines):
                if _CLOSE.match(line):
                    if i:
                        inner.append("\n".join(lines[:i]))
                    after = "\n".join(lines[i + 1:])
                    if after.strip():
                        blocks.insert(0, after)
                    closed = True
                    break
            if closed:
                break
            inner.append(block)
        div = ET.SubElement(parent, "div")
        div.set(DATA, "")
        if not closed:
            div.set(UNCLOSED, "")
        self.parser.parseChunk(div, "\n\n".join(inner))


class DescriptionExtension(Extension):
    """Registers the ``::: description`` block.  Priority 105: before paragraphs (10) and
    every other block syntax, after none that could start with ``:::``."""

    NAME = "book_description"

    def extendMarkdown(self, md):  # noqa: N802
        md.parser.blockprocessors.register(_DescriptionBlock(md.parser), self.NAME, 105)


def names(index: int, n: int) -> tuple[str, str, str]:
    """The ids and file of chapter `index`'s `n`-th description (numbered per chapter; the
    chapter's number keeps two chapters' apart): the description document's section id, the
    id of the paragraph with the link after the image, and the document's file name."""
    return f"c{index}-xd{n}", f"c{index}-xd{n}-ref", f"xd{index:03d}-{n}.xhtml"


def _described_image(div):
    """The image a description follows: the last informative image of the element right
    before it (a paragraph holding the image, or the figure a captioned image became)."""
    prev = div.getprevious()
    if prev is None or prev.tag not in ("p", "figure"):
        return None
    imgs = list(prev.iter("img"))
    return imgs[-1] if imgs else None


def pass_descriptions(tree, ctx) -> None:
    """Every ``div[data-book-description]`` leaves the chapter: the image before it gets
    ``aria-details`` and a link, the description goes to ``ctx.descriptions``."""
    from .passes import DIRECT, LINK, MARK, _element

    link_text, _back, words_lang = labels(ctx.lang)
    for div in list(tree.iter("div")):
        if div.get(DATA) is None or div.getparent() is None:
            continue
        n = len(ctx.descriptions) + 1
        line = ctx.locator.next_line("::: description", ":::")

        def fail(message, hint):
            raise SourceError(message, file=ctx.chapter.name, line=line, hint=hint)

        if any(inner.get(DATA) is not None for inner in div.iter("div") if inner is not div):
            fail("an extended description cannot hold another one", "close the first with ::: before the next")
        if div.get(UNCLOSED) is not None:
            fail("this extended description is never closed",
                 "end it with ::: on a line of its own")
        img = _described_image(div)
        if img is None:
            fail("an extended description must come right after the image it describes",
                 "put ::: description on the line after ![Short description.](image.png) and a blank line")
        if img.get("role") == "presentation":
            fail("a decorative image has no information to describe",
                 "remove {.decorative} from the image, or remove the description")
        if img.get("aria-details"):
            fail("this image already has an extended description", "merge the two descriptions into one")
        if ctx.facts is None:
            ident, ref, fname = names(ctx.index, n)
        else:
            # A piece of a chapter (book.render.cut) cannot know how many descriptions the pieces
            # before it hold: placeholders, numbered on across the pieces by cut.merge.
            ident, ref, fname = (f"{MARK}{kind}{n}{MARK}" for kind in "XRF")
        img.set("aria-details", ref)
        # The link right after the image (its paragraph or figure), in the reading order.
        para = _element("p", {"id": ref, "class": "extended-description"})
        # Marked as book's own, so the link pass leaves it as it is (not a path of the author's).
        a = _element("a", {"href": f"{DIRECT}{fname}#{ident}"})
        a.text = link_text
        if words_lang != ctx.lang:
            a.set("lang", words_lang)
            a.set("{http://www.w3.org/XML/1998/namespace}lang", words_lang)
        para.append(a)
        block = div.getprevious()
        block.addnext(para)
        para.tail = None
        # Links to ids inside the book keep working from the description's own document.
        for link in div.iter("a"):
            href = link.get("href", "")
            if href.startswith("#") and len(href) > 1:
                link.set("href", LINK + href[1:])
        body = "\n".join(etree.tostring(el, encoding="unicode", method="xml", with_tail=False)
                         + (html.escape(el.tail, quote=False) if el.tail and el.tail.strip() else "")
                         for el in div)
        if (div.text or "").strip():
            body = f"<p>{html.escape(div.text, quote=False)}</p>\n" + body
        ctx.descriptions.append(Description(ident, ref, fname, (img.get("alt") or "").strip(),
                                            img.get("src", ""), img.get("width"), img.get("height"),
                                            body, line))
        htmltree.drop_tree(div)
