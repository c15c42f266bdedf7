"""One chapter's HTML → XHTML parts ready to package.

One pass per concern, registered by name in :data:`PASSES`, in this order:

1. ``sanitize``     — untrusted markup out (book.render.sanitize)
2. ``images``       — resolve, verify and describe every image; figures for captions
3. ``descriptions`` — extended descriptions of images out to documents of their own
                      (book.render.longdesc)
4. ``pages``        — print page-break markers (book.render.pagebreaks)
5. ``footnotes``    — DPUB-ARIA notes that e-readers show as pop-ups
6. ``tables``       — row headers when the header row starts empty (book.render.structure)
7. ``semantics``    — languages of parts, focusable and distinctly named code blocks
8. ``rules``        — the accessibility rules on the chapter's tree (book.rules)
9. ``split``        — one spine document per heading at or above the split level

A chapter's result (:class:`RenderedChapter`) holds only strings and small records, so chapters
can render in parallel processes and be cached; links and image paths inside it are
placeholders that the packager resolves once every chapter is known.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .. import links, rules
from ..errors import SourceError
from ..rules.locate import Locator
from ..source import Chapter, resolve_inside
from . import bounds, cut
from . import images as imagelib
from . import tree as htmltree
from .longdesc import Description, pass_descriptions
from .pagebreaks import DATA as PAGE_DATA
from .pagebreaks import pass_pages
from .structure import name_code_blocks, pass_tables
from .markdown import new_markdown, render
from .sanitize import repair, sanitize

# Placeholders in serialised parts.  U+E000 (private use) is removed from every source text
# (book.render.clean_text), so no text of the author's can collide with them.
MARK = "\ue000"
LINK = MARK + "L"  # href="\ue000L<id>"      → "<file>#<id>" once every part has its file name
IMAGE = MARK + "I"  # src="\ue000I<relpath>" → "../images/<name>"
DIRECT = MARK + "D"  # href="\ue000D<href>"  → "<href>": a link book made itself (to a description)
_PLACEHOLDER = re.compile('"' + MARK + '([LID])([^"]*)"')

EPUB_TYPE = "epub:type"
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    id: str
    line: int | None = None  # in the chapter's source file, for messages (found while rendering)


@dataclass(frozen=True)
class ImageUse:
    """An image file a chapter uses (relative to the book's root)."""

    relpath: str
    media_type: str
    width: int | None
    height: int | None


@dataclass
class Part:
    """One spine document: serialised body content and what the nav needs."""

    title: str
    body: str
    headings: list[Heading] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    links: set[str] = field(default_factory=set)  # ids this part links to ("#id"), or MARK + a local path
    continued: bool = False  # the rest of a section too long for one document
    size: int = 0


@dataclass
class RenderedChapter:
    parts: list[Part]
    images: list[ImageUse]
    findings: list[rules.Finding]
    informative_images: int = 0
    described_images: int = 0
    decorative_images: int = 0
    descriptions: list[Description] = field(default_factory=list)  # extended descriptions
    pages: list[tuple[str, str, int | None]] = field(default_factory=list)  # (id, label, line) of page breaks
    facts: dict | None = None  # a piece of a chapter: what its rendering saw (book.render.cut.merge)


@dataclass
class Context:
    root: Path
    chapter: Chapter
    index: int  # chapter number, for ids unique across the book
    split_level: int
    book_title: str
    lang: str
    allow_remote: bool = False
    remote_dir: Path | None = None  # where remote images are kept (book.render.images.fetch)
    allow_private: bool = False  # remote images from this machine's or private networks too
    locator: Locator = None  # type: ignore[assignment]
    findings: list = field(default_factory=list)
    images: dict = field(default_factory=dict)
    stats: dict = field(default_factory=lambda: {"informative": 0, "described": 0, "decorative": 0})
    parts: list = field(default_factory=list)  # the spine documents, made by the last pass
    descriptions: list = field(default_factory=list)  # book.render.longdesc.Description
    pages: list = field(default_factory=list)  # (id, label, line) of each print page break
    facts: dict | None = None  # rendering a piece of a chapter (book.render.cut): what it saw

    def __post_init__(self):
        self.locator = Locator(self.chapter.text, self.chapter.first_line)

    @property
    def file(self) -> str:
        return self.chapter.name

    # The rules' reporter (book.rules.Reporter): a finding, located in the chapter's text.
    finding = rules.Reporter.finding


_element = htmltree.element


# ---------------------------------------------------------------------------------------------
# Passes


def _pass_sanitize(tree, ctx: Context) -> None:
    def report(message, hint, needle):
        ctx.finding("html-removed", message, f"<{needle}", needle, hint=hint)

    sanitize(tree, report)
    repair(tree)


def _pass_images(tree, ctx: Context) -> None:
    for img in list(tree.iter("img")):
        src = img.get("src", "")
        alt = (img.get("alt") or "").strip()
        classes = img.get("class", "").split()
        decorative = "decorative" in classes
        # An image without a description is found by `![](`: not the line of an earlier image
        # of the same file that has one.
        needles = (f"]({src}", src, alt[:40]) if alt else (f"![]({src}", f"]({src}", src)
        line = ctx.locator.next_line(*needles)
        if not src:
            raise SourceError("an image has no file name", file=ctx.chapter.name, line=line,
                              hint="write ![description](images/picture.png)")
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", src):
            if not ctx.allow_remote:
                raise SourceError(
                    f"image '{src[:80]}' is not a file in the book", file=ctx.chapter.name, line=line,
                    hint="download it into the book's folder and link it by a relative path (EPUB 3.3 "
                         "§3.6 wants every image inside the publication, so it shows offline), or build "
                         "with --allow-remote-images to have book download it")
            path = imagelib.fetch(html.unescape(src), ctx.remote_dir, file=ctx.chapter.name, line=line,
                                  allow_private=ctx.allow_private)
        else:
            path = resolve_inside(ctx.root, ctx.chapter.path, html.unescape(src), what="image",
                                  file=ctx.chapter.name, line=line)
        info = imagelib.inspect(path, ref=src, file=ctx.chapter.name, line=line)
        if info.media_type == imagelib.SVG:
            rules.check_svg(ctx, path.read_bytes(), src, line)
        # Relative to the book's folder; a downloaded image may sit in a cache folder elsewhere
        # (BOOK_CACHE_DIR), and is then known by its absolute path.
        rel = path.relative_to(root) if path.is_relative_to(root := ctx.root.resolve()) else path
        rel = rel.as_posix()
        ctx.images[rel] = ImageUse(rel, info.media_type, info.width, info.height)
        img.set("src", IMAGE + rel)
        # Width and height let a reading system reserve space before the image loads; CSS keeps
        # the image within the page (max-width), so these never force a size (WCAG 1.4.10).
        if info.width and info.height and not img.get("width"):
            img.set("width", str(info.width))
            img.set("height", str(info.height))
        if decorative:
            # WCAG 1.1.1 (decoration): empty alt hides it from assistive technology, and it is
            # left out of what the accessibility metadata claims.
            img.set("alt", "")
            img.set("role", "presentation")
            ctx.stats["decorative"] += 1
        else:
            ctx.stats["informative"] += 1
            if alt:
                ctx.stats["described"] += 1
            rules.check_image(ctx, img, alt, src, line)
        title = img.attrib.pop("title", None)
        parent = img.getparent()
        alone = parent is not None and parent.tag == "p" and len(parent) == 1 and not (
            (parent.text or "").strip() or (img.tail or "").strip())
        if title and alone:
            parent.tag = "figure"
            parent.attrib.clear()
            cap = etree.SubElement(parent, "figcaption")
            cap.text = title
        elif title:
            img.set("title", title)


def _pass_footnotes(tree, ctx: Context) -> None:
    """Python-Markdown's `div.footnote > ol > li` becomes one `aside` per note (EPUB 3.3 SSV
    `footnote`, DPUB-ARIA `doc-footnote`), which e-readers such as Apple Books and Kobo show as a
    pop-up; note references get `noteref`/`doc-noteref`.  Ids get the chapter number, so notes of
    two chapter files never share an id once split into parts."""
    prefix = f"c{ctx.index}-"
    first_with_id: dict[str, object] = {}
    for el in tree.iter():
        if isinstance(el.tag, str) and (ident := el.get("id")):
            if ident.startswith(("fn-", "fnref")):
                ident = prefix + ident
                el.set("id", ident)
            first_with_id.setdefault(ident, el)
    first_with_href: dict[str, object] = {}
    for a in tree.iter("a"):
        href = a.get("href", "")
        if href.startswith(("#fn-", "#fnref")):
            href = "#" + prefix + href[1:]
            a.set("href", href)
        first_with_href.setdefault(href, a)
        if "footnote-ref" in a.get("class", ""):
            a.set(EPUB_TYPE, "noteref")
            a.set("role", "doc-noteref")

    def find(index, query, value):
        """The first element in document order with this id (or href): from the map made above
        (one pass, instead of a search of the whole chapter per note), or by searching when that
        element has since left the tree."""
        el = index.get(value)
        if el is not None and _in_tree(el, tree):
            return el
        found = tree.xpath(query, v=value)
        return found[0] if found else None

    blocks = tree.xpath('//div[contains(concat(" ", @class, " "), " footnote ")]')
    if ctx.facts is not None:
        _note_facts(tree, blocks, ctx, prefix)
    # Where each top-level element's section ends: the next heading at the split level or
    # footnote block after it.  Found in one walk of the chapter, so placing a note costs the
    # depth of its reference, not a search of the chapter (issue 13: 10,000 notes).
    boundary = _section_boundaries(tree, ctx.split_level)
    for block in blocks:
        number = 0
        for li in block.xpath("./ol/li"):
            backs = [a for a in li.iter("a") if "footnote-backref" in a.get("class", "")]
            target = backs[0].get("href") if backs else None
            ref = find(first_with_id, "//*[@id=$v]", target[1:]) if target and target.startswith("#") else None
            if target and ref is None:
                # Python-Markdown keeps a note that nothing refers to, with a back link to
                # nowhere; a reader could never reach it, so it is left out.
                label = li.get("id", "").rsplit("fn-", 1)[-1]
                ctx.finding("footnote-unused", f"footnote [^{label}] is never referred to and was left out",
                            f"[^{label}]:", hint=f"refer to it with [^{label}] in the text, or delete it")
                continue
            number += 1
            aside = _element("aside", {"id": li.get("id"), EPUB_TYPE: "footnote",
                                       "role": "doc-footnote", "class": "footnote"})
            for a in backs:
                htmltree.drop_tree(a)
            for child in list(li):
                aside.append(child)
            if li.text and li.text.strip():
                p = _element("p")
                p.text = li.text
                aside.insert(0, p)
            first = aside[0] if len(aside) and aside[0].tag == "p" else None
            if first is None:
                first = _element("p")
                aside.insert(0, first)
            back = _element("a", {"href": target or "#", "role": "doc-backlink",
                                  "class": "footnote-number"})
            # The number the reader saw at the reference (Python-Markdown counts definitions).
            shown = find(first_with_href, "//a[@href=$v]", "#" + li.get("id", ""))
            back.text = f"{(htmltree.text_content(shown).strip() if shown is not None else '') or number}."
            back.tail = " " + (first.text or "")
            first.text = None
            first.insert(0, back)
            if not target:
                back.tag = "span"
                del back.attrib["href"]
                del back.attrib["role"]
            if ref is not None and not _in_tree(ref, tree):  # it was inside this very note
                ref = find(first_with_id, "//*[@id=$v]", target[1:])
            _place_note(tree, boundary, block, aside, ref)
        htmltree.drop_tree(block)


def _note_facts(tree, blocks, ctx: Context, prefix: str) -> None:
    """For a piece of a chapter (book.render.cut): the notes its text refers to, and whether
    its notes do anything whose result depends on the rest of the chapter — a reference or a
    heading inside a note, a note without a back link (an empty one)."""
    inside = {id(el) for block in blocks for el in block.iter()}
    refs = []
    odd = False
    start = "#" + prefix + "fn-"
    for a in tree.iter("a"):
        if "footnote-ref" in a.get("class", "") and a.get("href", "").startswith(start):
            odd |= id(a) in inside
            refs.append(a.get("href")[len(start):])
    for block in blocks:
        odd |= any(el.tag in HEADINGS for el in block.iter())
        odd |= any(not any("footnote-backref" in a.get("class", "") for a in li.iter("a"))
                   for li in block.xpath("./ol/li"))
    ctx.facts["refs"] = refs
    ctx.facts["odd_notes"] = odd


def _in_tree(el, tree) -> bool:
    while el is not None and el is not tree:
        el = el.getparent()
    return el is tree


def _section_boundaries(tree, split_level: int) -> dict:
    """For each top-level element of `tree`, the first element after it that ends its section:
    a heading at or above the split level, or a footnote block (None: the end of the chapter)."""
    boundary: dict = {}
    following = None
    for el in reversed(tree):  # the dict holds every proxy, so lxml hands out the same ones again
        boundary[el] = following
        if (el.tag in HEADINGS and int(el.tag[1]) <= split_level) or (
                el.tag == "div" and "footnote" in el.get("class", "").split()):
            following = el
    return boundary


def _place_note(tree, boundary: dict, block, aside, ref) -> None:
    """Put a note at the end of the section that refers to it (before the next heading at the
    split level), so it lands in the same spine document as its reference and a reading system
    can show it as a pop-up there; a note whose reference was not found goes where the notes
    block was.  `ref`: the note's reference (None: not found)."""
    if ref is None:
        block.addprevious(aside)
        return
    top = ref
    while top.getparent() is not tree:
        top = top.getparent()
    end = boundary[top]
    while end is not None and end.getparent() is not tree:  # a notes block already placed and dropped
        end = boundary[end]
    if end is None:
        tree.append(aside)
    else:
        end.addprevious(aside)
    boundary[aside] = end  # a note referred to from inside this one goes after it


def _pass_semantics(tree, ctx: Context) -> None:
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        lang = el.get("lang")
        if lang is not None:
            if rules.check_lang(ctx, el, f"lang={lang}", lang):
                # XHTML needs xml:lang too (EPUB 3.3 §6.1.4 follows HTML: both, same value).
                el.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
            else:
                del el.attrib["lang"]
    # Code blocks: focusable (WCAG 2.1.1) and each with a name of its own (book.render.structure).
    name_code_blocks(tree, ctx.lang)


def _pass_rules(tree, ctx: Context) -> None:
    rules.check_tree(ctx, tree)


# ---------------------------------------------------------------------------------------------
# Splitting and serialising


def _heading_text(h) -> str:
    parts = []
    for node in h.iter():
        if node is not h and node.tag == "a" and node.get("role") == "doc-noteref":
            if node.tail:
                parts.append(node.tail)
            continue
        if node is h:
            parts.append(node.text or "")
        else:
            parent_ref = any(p.get("role") == "doc-noteref" for p in node.iterancestors() if p is not h)
            if not parent_ref:
                parts.append(node.text or "")
            parts.append(node.tail or "")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _serialise(elements, ctx: Context) -> str:
    out = []
    for el in elements:
        out.append(etree.tostring(el, encoding="unicode", method="xml", with_tail=False))
        if el.tail and el.tail.strip():
            out.append(html.escape(el.tail, quote=False))
    return "\n".join(out)


# E-readers (older Kobo and Kindle firmware, and ADE) slow down or fail on XHTML documents over
# about 300 KB; a section longer than this is continued in a further spine document.
MAX_DOCUMENT_BYTES = 250_000


def _pass_split(tree, ctx: Context) -> None:
    """The last pass: the chapter's parts (spine documents), with their headings, ids and links."""
    ctx.parts = _split(tree, ctx)


def _split(tree, ctx: Context) -> list[Part]:
    groups: list[list] = [[]]
    for child in list(tree):
        if child.tag in HEADINGS and int(child.tag[1]) <= ctx.split_level and groups[-1]:
            groups.append([])
        groups[-1].append(child)
    if tree.text and tree.text.strip():
        p = _element("p")
        p.text = tree.text
        groups[0].insert(0, p)

    parts = []
    for group in groups:
        if not group:
            continue
        first = group[0]
        title = None
        chunk: list[str] = []
        part = None
        for el in group:
            # One walk of the element (lxml makes a Python object for each node it yields; four
            # walks made four), before and after it is serialised.
            nodes = [node for node in el.iter() if isinstance(node.tag, str)]
            for node in nodes:
                if node.tag in HEADINGS:
                    if not node.get("id"):
                        ctx.stats["auto_ids"] = ctx.stats.get("auto_ids", 0) + 1
                        if ctx.facts is None:
                            node.set("id", f"c{ctx.index}-h{ctx.stats['auto_ids']}")
                        else:  # numbered on across the pieces of the chapter (book.render.cut.merge)
                            node.set("id", f"{cut.PIECE_MARK}A{ctx.stats['auto_ids']}{cut.PIECE_MARK}")
                elif node.tag == "a":
                    # `#id` and local paths (`other.md#id`, `/about`) are resolved by book.links
                    # once every chapter is known.
                    target = links.placeholder(node.get("href", ""))
                    if target is not None:
                        node.set("href", LINK + target)
            text = _serialise([el], ctx)
            if part is None or (chunk and part.size + len(text) > MAX_DOCUMENT_BYTES):
                if part is not None:
                    part.body = "\n".join(chunk)
                    chunk = []
                part = Part(title or ctx.book_title, "", continued=part is not None)
                parts.append(part)
            chunk.append(text)
            part.size += len(text) + 1
            for node in nodes:
                ident = node.get("id")
                if ident:
                    part.ids.add(ident)
                if node.tag in HEADINGS:
                    text_ = _heading_text(node)
                    heading = Heading(int(node.tag[1]), text_, ident, ctx.locator.heading_line(text_))
                    part.headings.append(heading)
                    if title is None and el is first and node is el:
                        title = heading.text or ctx.book_title
                        part.title = title
                elif node.tag == "a":
                    href = node.get("href", "")
                    if href.startswith(LINK):
                        part.links.add(href[len(LINK):])
        part.body = "\n".join(chunk)
    return parts


# Every pass of a chapter, by name, in the order they run: the one list of them.
PASSES: list[tuple[str, object]] = [
    ("sanitize", _pass_sanitize),
    ("images", _pass_images),
    ("descriptions", pass_descriptions),
    ("pages", pass_pages),
    ("footnotes", _pass_footnotes),
    ("tables", pass_tables),
    ("semantics", _pass_semantics),
    ("rules", _pass_rules),
    ("split", _pass_split),
]

_local = threading.local()


def _markdown():
    """One Markdown converter per thread, reset before each chapter (book.render.markdown.render):
    building one costs about as much as rendering a short chapter, and a converter holds the
    state of the chapter it renders, so threads (a batch on a thread pool, a Dask worker) never
    share one."""
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = new_markdown()
    return md


def render_chapter(chapter: Chapter, *, root: Path, index: int, split_level: int, book_title: str,
                   lang: str, allow_remote: bool = False, remote_dir: Path | None = None,
                   allow_private: bool = False, piece: cut.Shared | None = None) -> RenderedChapter:
    """Markdown of one chapter → parts, images and findings.  Pure: same input, same output
    (with `allow_remote`, remote images are downloaded once, kept in `remote_dir`).  `piece`:
    the chapter is one piece of a longer one (book.render.cut), and this is what it shares with
    the rest; the result then carries what its rendering saw, for cut.merge."""
    ctx = Context(root=root, chapter=chapter, index=index, split_level=split_level, book_title=book_title,
                  lang=lang, allow_remote=allow_remote, remote_dir=remote_dir, allow_private=allow_private)
    bounds.check(chapter)
    try:
        with bounds.time_limit(chapter):
            if piece is None:
                fragment = render(chapter.text, _markdown())
            else:
                fragment, ctx.facts = cut.render_piece(chapter.text, _markdown(), piece)
            # A chapter that renders to nothing still gets a document; a piece of one (only
            # definitions before the first heading, say) adds none, as it adds none to the whole.
            tree = htmltree.parse_fragment(fragment or ("<p></p>" if piece is None else ""))
            if ctx.facts is not None:
                # A piece may start with a print page marker on a line of its own right before
                # its heading (cut.plan cuts before it): the `pages` pass puts that page break
                # inside the heading, as it does in the whole chapter.
                first = 1 if _lone_page_break(tree) else 0
                ctx.facts["starts_with_page_break"] = bool(first)
                ctx.facts["starts_with_heading"] = bool(
                    len(tree) > first and tree[first].tag in HEADINGS and int(tree[first].tag[1]) <= split_level
                    and not (tree.text or "").strip())
            for _name, run in PASSES:
                run(tree, ctx)
    except RecursionError:
        # bounds.check keeps nesting well below Python's recursion limit; this is the backstop.
        raise SourceError("the chapter is nested too deeply to render", file=chapter.name,
                          hint=f"keep lists and quotes under {bounds.MAX_NESTING} levels") from None
    if ctx.facts is not None:
        ctx.facts["auto_ids"] = ctx.stats.get("auto_ids", 0)
    return RenderedChapter(
        parts=ctx.parts, images=list(ctx.images.values()), findings=ctx.findings,
        informative_images=ctx.stats["informative"], described_images=ctx.stats["described"],
        decorative_images=ctx.stats["decorative"], descriptions=ctx.descriptions, pages=ctx.pages,
        facts=ctx.facts,
    )


def _lone_page_break(tree) -> bool:
    """Whether the tree starts with a paragraph that holds one page marker and nothing else
    (what book.render.pagebreaks makes a page break of, in the place of the paragraph)."""
    if not len(tree) or tree[0].tag != "p" or len(tree[0]) != 1 or (tree[0].text or "").strip():
        return False
    span = tree[0][0]
    return span.tag == "span" and span.get(PAGE_DATA) is not None and not (span.tail or "").strip()


_TO_ESCAPE = re.compile("[&<>\"']")  # what html.escape(quote=True) changes


def resolve_placeholders(body: str, link_target, image_href) -> str:
    """Replace LINK/IMAGE placeholders once every part has its file name."""

    def sub(m):
        # (A long book has thousands: escaped only when there is something to.)
        kind, value = m.group(1), html.unescape(m.group(2))
        target = link_target(value) if kind == "L" else image_href(value) if kind == "I" else value
        return '"' + (html.escape(target, quote=True) if _TO_ESCAPE.search(target) else target) + '"'

    return _PLACEHOLDER.sub(sub, body)
