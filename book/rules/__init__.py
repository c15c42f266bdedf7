"""The accessibility rules of `book`, each with a stable id: one implementation, run by
``book build`` on each chapter's tree and by ``book check`` on each document of any EPUB.

Findings are data (:class:`Finding`), not exceptions: the build collects them all, prints them as
`file:line: [rule-id] message — hint`, and stops only when one is an error (or, with --strict, a
warning).  :data:`CATALOGUE` is the one list of rules; the README's table is made from it and
each id has a test that triggers it and one that does not.  A rule reports through a
:class:`Reporter`, which knows the document's file and finds the line of a finding in its text.

They add to DAISY Ace what it cannot see: alt text that is a file name or a placeholder
(WCAG 1.1.1 asks for a text alternative that serves the same purpose), headings skipped across
the documents of a book (axe checks one document at a time), vague link text (WCAG 2.4.4),
tables whose cells have no headers (axe's `td-has-header` does not run in Ace).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import printable, where
from ..render import tree as htmltree
from ..source.metadata import is_valid_language_tag, language_hint
from .locate import Locator

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    wcag: str
    summary: str


CATALOGUE: dict[str, Rule] = {r.id: r for r in [
    Rule("img-alt-missing", ERROR, "1.1.1", "An informative image has no text alternative."),
    Rule("img-alt-filename", WARNING, "1.1.1", "Alt text is a file name, not a description."),
    Rule("img-alt-placeholder", WARNING, "1.1.1", "Alt text is a placeholder word such as 'image'."),
    Rule("img-alt-long", WARNING, "1.1.1", "Alt text is over 150 characters; it needs a longer description."),
    Rule("img-format-webp", WARNING, "-", "A WebP image, which many e-ink readers cannot show, is converted to PNG."),
    Rule("svg-unsupported", WARNING, "-",
         "An SVG image uses a gradient, pattern, filter, mask or clip path, which common e-reader engines cannot draw."),
    Rule("heading-empty", ERROR, "2.4.6", "A heading has no text."),
    # An error, not a warning: axe's `heading-order` (run by Ace) fails such a page, so a book
    # with a skip could not pass its own accessibility check.
    Rule("heading-skip", ERROR, "1.3.1", "A heading skips a level (e.g. # then ###)."),
    Rule("link-empty", ERROR, "2.4.4", "A link has no text."),
    Rule("link-target-missing", ERROR, "2.4.4", "A link points to an id that no heading or element has."),
    Rule("link-vague", WARNING, "2.4.4", "Link text says nothing about where it goes ('click here')."),
    Rule("table-no-header", WARNING, "1.3.1", "A table has no header cells."),
    Rule("table-header-empty", WARNING, "1.3.1", "A table header cell is empty."),
    Rule("lang-invalid", ERROR, "3.1.2", "A part's language tag is not BCP 47."),
    Rule("id-duplicate", ERROR, "4.1.2", "Two elements in one chapter share an id."),
    Rule("footnote-unused", WARNING, "-", "A footnote is never referred to, so it is left out."),
    Rule("html-removed", WARNING, "-", "Unsafe or unsupported HTML was removed from the source."),
    # A page list that jumps back or names a page twice sends a reader citing "page 12" to the
    # wrong place (EPUB Accessibility Techniques 1.1 §4.1: the page list follows the print source).
    Rule("page-order", ERROR, "-", "A print page number is out of order or used twice."),
    Rule("page-source-missing", ERROR, "-", "Page numbers are marked but 'page-source' does not name their edition."),
]}

ALT_MAX = 150
_PLACEHOLDERS = {"image", "img", "photo", "picture", "graphic", "figure", "icon", "logo", "chart",
                 "diagram", "screenshot", "untitled", "alt", "alt text", "placeholder", "spacer",
                 "bild", "imagen", "foto", "画像", "صورة"}
_FILENAME = re.compile(r"^[\w.,() -]*\.(png|jpe?g|gif|svg|webp|bmp|tiff?)$|^(img|dsc|image|istockphoto)[_ -]?\d+",
                       re.IGNORECASE)
_VAGUE = {"click here", "here", "read more", "more", "link", "this link", "click", "this", "go",
          "learn more", "details", "more info", "aquí", "haga clic aquí", "ici", "cliquez ici", "hier"}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    file: str | None = None
    line: int | None = None
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{where(self.file, self.line)}{self.severity}: [{self.rule}] {self.message}"
        return printable(text + (f" — {self.hint}" if self.hint else ""))


def finding(rule_id: str, message: str, file: str | None, line: int | None, hint: str | None = None,
            severity: str | None = None) -> Finding:
    rule = CATALOGUE[rule_id]
    return Finding(rule_id, severity or rule.severity, message, file, line, hint)


class Reporter:
    """Where the rules put what they find about one document: `file` names it in messages and
    `locator` finds the line of a finding in its text."""

    def __init__(self, file: str, locator: Locator):
        self.file = file
        self.locator = locator
        self.findings: list[Finding] = []

    def finding(self, rule_id: str, message: str, *needles: str, hint: str | None = None,
                severity: str | None = None) -> None:
        """Add a finding of `rule_id`, on the first line that holds one of `needles`."""
        self.findings.append(finding(rule_id, message, self.file, self.locator.line(*needles), hint, severity))


MARKDOWN_ALT_HINT = ("describe it: ![What the picture shows.]({src}), or mark it ![]({src}){{.decorative}} "
                     "if it carries no information")


def check_image(ctx, img, alt: str, src: str, line: int | None, missing_hint: str = MARKDOWN_ALT_HINT) -> None:
    """Rules on one informative image (decorative ones are exempt: WCAG 1.1.1 decoration).
    `missing_hint`: how to add a description, in the syntax of what is being checked."""

    def add(rule_id, message, hint):
        ctx.findings.append(finding(rule_id, message, ctx.file, line, hint))

    if not alt:
        add("img-alt-missing", f"image '{src}' has no description", missing_hint.format(src=src))
        return
    low = alt.lower().strip(" .")
    # The file's own name, with or without its extension ("lalune" for lalune.jpg), says
    # nothing the file name did not: no description (WCAG 1.1.1, F30).
    name = src.rsplit("/", 1)[-1].split("?")[0].split("#")[0]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    if _FILENAME.search(alt.strip()) or (stem and alt.strip().lower() in (name.lower(), stem.lower())):
        add("img-alt-filename", f"the description of '{src}' is a file name: '{alt[:60]}'",
            "say what the picture shows")
    elif low in _PLACEHOLDERS:
        add("img-alt-placeholder", f"the description of '{src}' is only '{alt}'",
            "say what the picture shows, not that it is a picture")
    if len(alt) > ALT_MAX:
        add("img-alt-long", f"the description of '{src}' is {len(alt)} characters long",
            f"keep alt text under {ALT_MAX} characters and move the rest to an extended description: "
            "a block '::: description' … ':::' on the lines right after the image")
    if src.lower().endswith(".webp"):
        add("img-format-webp", f"'{src}' is WebP; the book gets a PNG copy, since many e-ink readers cannot show WebP",
            "save it as PNG or JPEG to choose the format yourself")


def check_svg(ctx, data: bytes, src: str, line: int | None) -> None:
    """An SVG picture must look the same in e-reader engines as in browsers, or it no longer shows
    what its description says (MuPDF paints a gradient as a solid black shape)."""
    from ..render.images import svg_unsupported

    found = svg_unsupported(data)
    if found:
        ctx.findings.append(finding(
            "svg-unsupported", f"SVG '{src}' uses {', '.join(found)}, which common e-reader engines "
            "(MuPDF, Adobe RMSDK) cannot draw: a gradient or pattern comes out solid black there, a filter, "
            "mask or clip path is left out", ctx.file, line,
            "draw it with flat fills (fill-opacity for a soft edge) and plain shapes, or export it as PNG"))


def check_lang(ctx, el, *needles: str) -> bool:
    """WCAG 3.1.2: a part's `lang` must be a BCP 47 tag for a screen reader to switch voices.
    True when it is; otherwise a `lang-invalid` finding, located by `needles`."""
    lang = el.get("lang")
    if is_valid_language_tag(lang):
        return True
    ctx.finding("lang-invalid", f"'{lang}' on <{el.tag}> is not a BCP 47 language tag", *needles,
                hint=language_hint(lang))
    return False


_SPACES = re.compile(r"\s+")
_URL_AS_TEXT = re.compile(r"(https?://|www\.)\S+")


def _text(el) -> str:
    return _SPACES.sub(" ", htmltree.text_content(el)).strip()


def check_tree(ctx, tree) -> None:
    """Rules on one chapter's rendered tree."""
    seen: dict[str, int] = {}
    where_ids: dict[str, list[int]] | None = None
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        ident = el.get("id")
        if ident:
            seen[ident] = seen.get(ident, 0) + 1
            if seen[ident] > 1:
                # The line of this very occurrence (the second, third, …): written {#id} in
                # Markdown, id="…" in raw HTML or in an EPUB's XHTML.
                if where_ids is None:
                    where_ids = _id_lines(ctx.locator)
                lines = where_ids.get(ident, [])
                line = lines[min(seen[ident], len(lines)) - 1] if lines else None
                ctx.findings.append(finding("id-duplicate", f"id '{ident}' is used twice in this chapter",
                                            ctx.file, line, "give each element its own id, or drop one {#id}"))
        if el.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            if not _text(el) and not any(i.get("alt") for i in el.iter("img")):
                ctx.finding("heading-empty", f"an empty {el.tag} heading", "#" * int(el.tag[1]) + " ",
                            f"<{el.tag}>", f"<{el.tag} ",
                            hint="give the heading text, or remove the line")
        elif el.tag == "a" and el.get("href") is not None:
            text = _text(el)
            label = el.get("aria-label") or el.get("title") or ""
            if not text and not label and not any(i.get("alt") for i in el.iter("img")):
                ctx.finding("link-empty", f"a link to '{el.get('href')}' has no text",
                            f"]({el.get('href')}", el.get("href"),
                            hint="write what the link leads to between the brackets: [text](url)")
            elif text.lower().strip(" .!:") in _VAGUE or _URL_AS_TEXT.fullmatch(text):
                ctx.finding("link-vague", f"link text '{text[:60]}' does not say where it goes",
                            f"[{text}]", text,
                            hint="write link text that makes sense alone, e.g. [the NHS page on back pain](…)")
        elif el.tag == "table":
            if not any(True for _ in el.iter("th")):
                first = next((_text(td) for td in el.iter("td")), "")
                ctx.finding("table-no-header", "a table has no header cells", first[:40] if first else "|",
                            "<table", hint="give the table a header row (the line above |---|)")
            for th in el.iter("th"):
                # axe `empty-table-header`: a header cell must say what it heads.  (An empty
                # corner cell of a table with row headers is not a header: book.render.structure
                # makes it a td.)
                if not _text(th) and not any(i.get("alt") for i in th.iter("img")):
                    texts = [_text(c) for c in el.iter("th") if _text(c)]
                    ctx.finding("table-header-empty", "a table has an empty header cell",
                                *(f"| {t}" for t in texts[:1]), *texts[:1], "<th></th>", "<th>", "|",
                                hint="write what the column holds in its header cell, e.g. | Week | Score |")
                    break


# Where an id is written: `{#id}` (or `{: #id .class}`) in Markdown, id="id" in (X)HTML.
_ID_WRITTEN = re.compile(r"""\{[^}\n]*?#([^\s}]+)[^}\n]*\}|\bid\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")


def _id_lines(locator) -> dict[str, list[int]]:
    """id → the lines it is written on, in order; one pass over the text (a chapter with
    thousands of duplicate ids is not searched once per id)."""
    out: dict[str, list[int]] = {}
    for i, text in enumerate(locator.lines):
        if "#" in text or "id" in text:
            for m in _ID_WRITTEN.finditer(text):
                ident = next(g for g in m.groups() if g is not None)
                out.setdefault(ident, []).append(locator.first_line + i)
    return out


def check_heading_order(headings) -> list[Finding]:
    """Book-wide: a heading may go at most one level deeper than the one before it (WCAG 1.3.1).
    axe checks one document at a time; a book split into documents needs it across all of them.
    `headings` is [(level, text, file, line)] in reading order."""
    out = []
    previous = 0
    for level, text, file, line in headings:
        if previous and level > previous + 1:
            out.append(finding("heading-skip", f"heading '{text[:60]}' is level {level} after level {previous}",
                               file, line, hint="use " + "#" * (previous + 1) + " for it, or add the level between"))
        previous = level
    return out


# ---------------------------------------------------------------------------------------------
# Book-wide rules: they need every chapter, so they run once the chapters have rendered.


def heading_order_in_book(source, chapters, disclaimer=None) -> list[Finding]:
    """`heading-skip` across the whole reading order, chapter files included."""
    ordered = [(h.level, h.text, chapter.name, h.line)
               for ch, chapter in zip(chapters, source.chapters) for part in ch.parts for h in part.headings]
    return check_heading_order(ordered)


def link_targets_in_book(source, chapters, disclaimer=None) -> list[Finding]:
    """A `[text](#id)` whose id exists nowhere in the book would be a dead link in every reading
    system (EPUBCheck RSC-012); a link to a path that is no chapter, one the package does not hold
    (RSC-007, book.links).  The disclaimer's links (book.yaml's `disclaimer:`, or the front
    matter's) are checked as a chapter's: they may reach its own ids or any chapter's, and are
    located in the file and lines the disclaimer comes from."""
    from .. import links
    from ..source import Chapter

    known = {i for ch in chapters for part in ch.parts for i in part.ids}
    targets = links.Targets(source, chapters)
    documents = [(ch, chapter, known) for ch, chapter in zip(chapters, source.chapters)]
    if disclaimer is not None:
        # As book.build renders it: its Markdown from the line after its key, its links relative
        # to the book's folder (where book.yaml is).
        at = Chapter(source.root / "book.yaml", source.meta_file, source.meta.disclaimer or "",
                     source.key_lines.get("disclaimer", 0) + 1)
        own = {i for part in disclaimer.parts for i in part.ids}
        documents.insert(0, (disclaimer, at, known | own))
    out = []
    for ch, chapter, reachable in documents:
        loc = None  # made only for a chapter with a dead link: a one-file book is one long text
        for part in ch.parts:
            for target in sorted(part.links - reachable):
                loc = loc or Locator(chapter.text, chapter.first_line)
                if target.startswith(links.PATH):  # a chapter file or a path on the web (book.links)
                    raw = target[len(links.PATH):]
                    _href, problem, hint = targets.resolve(chapter, raw)
                    if problem:
                        out.append(finding("link-target-missing", problem, chapter.name,
                                           loc.next_line(f"]({raw}", raw), hint))
                    continue
                out.append(finding("link-target-missing", f"the link to '#{target}' leads nowhere",
                                   chapter.name, loc.line(f"(#{target}", f"#{target}"),
                                   "link to a heading's id (shown in the table of contents) or add {#"
                                   + target + "} to the element it should reach"))
    return out


_ROMAN = re.compile(r"^(?=[mdclxvi]+$)m{0,4}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$", re.IGNORECASE)


def _page_value(label: str) -> tuple[str, int] | None:
    """(numbering system, value) of a page label: arabic or roman numerals; None for others
    (``A-3``), whose order is the print edition's own business."""
    if label.isdigit():
        return "arabic", int(label)
    if _ROMAN.match(label):
        values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
        total, low = 0, label.lower()
        for a, b in zip(low, low[1:] + " "):
            total += -values[a] if values.get(b, 0) > values[a] else values[a]
        return "roman", total
    return None


def page_numbers_in_book(source, chapters, disclaimer=None) -> list[Finding]:
    """`page-order`: print page numbers ({page=N}) in reading order go up within each
    numbering system (front matter in roman numerals, then arabic) and none comes twice;
    `page-source-missing`: marked page numbers need the edition they come from (EPUB
    Accessibility 1.1 §4.1 `pageBreakSource`; Ace `epub-pagesource`)."""
    out: list[Finding] = []
    first_at: dict[str, tuple[str, int | None]] = {}
    last: dict[str, tuple[int, str]] = {}
    marks = [(chapter.name, label, line) for ch, chapter in zip(chapters, source.chapters)
             for _id, label, line in getattr(ch, "pages", ())]
    for file, label, line in marks:
        if label in first_at:
            f0, l0 = first_at[label]
            out.append(finding("page-order", f"page {label} is marked twice (first at {where(f0, l0).rstrip(': ')})",
                               file, line, "remove one of the two {page=" + label + "} markers"))
            continue
        first_at[label] = (file, line)
        value = _page_value(label)
        if value is None:
            continue
        system, n = value
        if system in last and n <= last[system][0]:
            out.append(finding("page-order", f"page {label} comes after page {last[system][1]}",
                               file, line, "put the {page=…} markers in the order of the print edition"))
        last[system] = (n, label)
    if marks and not getattr(source.meta, "page_source", None):
        file, label, line = marks[0]
        out.append(finding("page-source-missing", "the book marks print page numbers but does not say which "
                                                  "edition they come from", file, line,
                           "add page-source: urn:isbn:<the print edition's ISBN> to the front matter "
                           "(or page-source: none for page numbers of no print edition)"))
    return out


# Every book-wide rule, by name, in the order they run: the one list of them.  Each is called
# with the source, its rendered chapters and its rendered disclaimer (None when it has none).
BOOK_RULES = [
    ("heading-order", heading_order_in_book),
    ("link-targets", link_targets_in_book),
    ("page-numbers", page_numbers_in_book),
]
