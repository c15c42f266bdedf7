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

from ..errors import where
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
    Rule("heading-empty", ERROR, "2.4.6", "A heading has no text."),
    # An error, not a warning: axe's `heading-order` (run by Ace) fails such a page, so a book
    # with a skip could not pass its own accessibility check.
    Rule("heading-skip", ERROR, "1.3.1", "A heading skips a level (e.g. # then ###)."),
    Rule("link-empty", ERROR, "2.4.4", "A link has no text."),
    Rule("link-target-missing", ERROR, "2.4.4", "A link points to an id that no heading or element has."),
    Rule("link-vague", WARNING, "2.4.4", "Link text says nothing about where it goes ('click here')."),
    Rule("table-no-header", WARNING, "1.3.1", "A table has no header cells."),
    Rule("lang-invalid", ERROR, "3.1.2", "A part's language tag is not BCP 47."),
    Rule("id-duplicate", ERROR, "4.1.2", "Two elements in one chapter share an id."),
    Rule("footnote-unused", WARNING, "-", "A footnote is never referred to, so it is left out."),
    Rule("html-removed", WARNING, "-", "Unsafe or unsupported HTML was removed from the source."),
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
        return text + (f" — {self.hint}" if self.hint else "")


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
    if _FILENAME.search(alt.strip()):
        add("img-alt-filename", f"the description of '{src}' is a file name: '{alt[:60]}'",
            "say what the picture shows")
    elif low in _PLACEHOLDERS:
        add("img-alt-placeholder", f"the description of '{src}' is only '{alt}'",
            "say what the picture shows, not that it is a picture")
    if len(alt) > ALT_MAX:
        add("img-alt-long", f"the description of '{src}' is {len(alt)} characters long",
            f"keep alt text under {ALT_MAX} characters and put the full description in the text "
            "or a caption next to the image")
    if src.lower().endswith(".webp"):
        add("img-format-webp", f"'{src}' is WebP; the book gets a PNG copy, since many e-ink readers cannot show WebP",
            "save it as PNG or JPEG to choose the format yourself")


def check_lang(ctx, el, *needles: str) -> bool:
    """WCAG 3.1.2: a part's `lang` must be a BCP 47 tag for a screen reader to switch voices.
    True when it is; otherwise a `lang-invalid` finding, located by `needles`."""
    lang = el.get("lang")
    if is_valid_language_tag(lang):
        return True
    ctx.finding("lang-invalid", f"'{lang}' on <{el.tag}> is not a BCP 47 language tag", *needles,
                hint=language_hint(lang))
    return False


def _text(el) -> str:
    return re.sub(r"\s+", " ", htmltree.text_content(el)).strip()


def check_tree(ctx, tree) -> None:
    """Rules on one chapter's rendered tree."""
    seen: dict[str, str] = {}
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        ident = el.get("id")
        if ident:
            if ident in seen:
                ctx.finding("id-duplicate", f"id '{ident}' is used twice in this chapter", f"#{ident}",
                            hint="give each element its own id, or drop one {#id}")
            seen[ident] = el.tag
        if el.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            if not _text(el) and not any(i.get("alt") for i in el.iter("img")):
                ctx.finding("heading-empty", f"an empty {el.tag} heading", "#" * int(el.tag[1]) + " ",
                            hint="give the heading text, or remove the line")
        elif el.tag == "a" and el.get("href") is not None:
            text = _text(el)
            label = el.get("aria-label") or el.get("title") or ""
            if not text and not label and not any(i.get("alt") for i in el.iter("img")):
                ctx.finding("link-empty", f"a link to '{el.get('href')}' has no text",
                            f"]({el.get('href')}", el.get("href"),
                            hint="write what the link leads to between the brackets: [text](url)")
            elif text.lower().strip(" .!:") in _VAGUE or re.fullmatch(r"(https?://|www\.)\S+", text):
                ctx.finding("link-vague", f"link text '{text[:60]}' does not say where it goes",
                            f"[{text}]", text,
                            hint="write link text that makes sense alone, e.g. [the NHS page on back pain](…)")
        elif el.tag == "table":
            if not any(True for _ in el.iter("th")):
                first = next((_text(td) for td in el.iter("td")), "")
                ctx.finding("table-no-header", "a table has no header cells", first[:40] if first else "|",
                            hint="give the table a header row (the line above |---|)")


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


def heading_order_in_book(source, chapters) -> list[Finding]:
    """`heading-skip` across the whole reading order, chapter files included."""
    ordered = [(h.level, h.text, chapter.name, h.line)
               for ch, chapter in zip(chapters, source.chapters) for part in ch.parts for h in part.headings]
    return check_heading_order(ordered)


def link_targets_in_book(source, chapters) -> list[Finding]:
    """A `[text](#id)` whose id exists nowhere in the book would be a dead link in every reading
    system (EPUBCheck RSC-012)."""
    known = {i for ch in chapters for part in ch.parts for i in part.ids}
    out = []
    for ch, chapter in zip(chapters, source.chapters):
        loc = None  # made only for a chapter with a dead link: a one-file book is one long text
        for part in ch.parts:
            for target in sorted(part.links - known):
                loc = loc or Locator(chapter.text, chapter.first_line)
                out.append(finding("link-target-missing", f"the link to '#{target}' leads nowhere",
                                   chapter.name, loc.line(f"(#{target}", f"#{target}"),
                                   "link to a heading's id (shown in the table of contents) or add {#"
                                   + target + "} to the element it should reach"))
    return out


# Every book-wide rule, by name, in the order they run: the one list of them.
BOOK_RULES = [
    ("heading-order", heading_order_in_book),
    ("link-targets", link_targets_in_book),
]
