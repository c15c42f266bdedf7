"""Step 2 of a build: Markdown → HTML text, one chapter at a time.

Python-Markdown with the extensions the contract names.  Two deliberate changes to its defaults:

* Raw HTML whose tag is not an HTML element (``<Myths>`` in a heading, ``<insert name>`` in a
  draft) is escaped so it reads as text, as the author wrote it, instead of becoming an unknown
  element that EPUBCheck rejects and that a screen reader would skip.
* Footnote ids use ``-`` instead of ``:``, so each is a valid XML ``ID`` in XHTML (EPUB 3.3 §6.1.3
  requires XHTML content documents to be well-formed XML).
"""

from __future__ import annotations

import re

import markdown
from markdown.postprocessors import Postprocessor

from .metadata import xml_safe
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


def _slugify(value: str, separator: str) -> str:
    """Heading ids that keep non-Latin letters (a Japanese or Arabic heading gets a readable id
    instead of an empty one), lower-cased, spaces to `separator`."""
    value = re.sub(r"[^\w\s-]", "", value, flags=re.UNICODE).strip().lower()
    value = re.sub(r"[\s_-]+", separator, value)
    # An XML ID must not start with a digit (XML 1.0 Name production).
    if not value or not (value[0].isalpha()):
        value = "h" + separator + value if value else "section"
    return value


def new_markdown() -> markdown.Markdown:
    md = markdown.Markdown(
        extensions=EXTENSIONS,
        extension_configs={
            "footnotes": {"SEPARATOR": "-", "BACKLINK_TEXT": "\u21a9\ufe0e"},
            "toc": {"slugify": _slugify, "permalink": False},
        },
        output_format="xhtml",
    )
    md.postprocessors.register(_EscapeUnknownTags(md), "book_escape_unknown_tags", 35)
    return md


def clean_text(text: str) -> str:
    """Characters XML 1.0 forbids (§2.2), and U+E000 kept for book.transform's placeholders,
    never reach an XHTML file: the same cleaning as every metadata value gets."""
    return xml_safe(text)


def render(text: str, md: markdown.Markdown | None = None) -> str:
    """Markdown text → an HTML fragment (a string)."""
    md = md or new_markdown()
    md.reset()
    return md.convert(clean_text(text))
