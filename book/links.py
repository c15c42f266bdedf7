"""Links to a local path: another chapter (`other.md#id`, `parts/other.md`), or a path on the web
site the text comes from (`/about`, `url/`, `/script?x=1`).

An EPUB may only link to resources inside it, or to absolute remote addresses: a relative link to a
file the package does not hold is EPUBCheck RSC-007 ("Referenced resource could not be found"),
and one that climbs out of the container is RSC-026 ("URL leaks outside the container").  So each
such link is, at build time,

* a chapter of the book → the spine document that holds it, and for `#id` the document that
  holds that id (with `split-level` one chapter can be several documents): `chNNN.xhtml#id`;
* anything else, when the front matter's `source` gives the address of the page the text comes
  from → that link resolved against it (RFC 3986 §5), an ordinary web link;
* otherwise a `link-target-missing` error with its file:line, saying what to do.

The disclaimer's links are resolved and checked the same way, relative to the book's folder.

transform.py marks such links while rendering (`href="\\ue000L\\ue000<path>"`: a placeholder, as
for `#id` links), so chapters stay renderable on their own and cacheable; this module resolves
them once every chapter is known.  The one place links to paths are decided.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

# book.transform.MARK (U+E000, removed from every source text): a placeholder's value starting
# with it is a path, not an id.  Not imported, so transform can import this module.
PATH = "\ue000"
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def placeholder(href: str) -> str | None:
    """The placeholder value for an `<a href>` while rendering: `id` for `#id`, MARK + href for a
    local path; None for what stays as written (http:, mailto:, …, or an empty href)."""
    if href.startswith("#"):
        return href[1:] if len(href) > 1 else None
    if href.startswith("\ue000"):  # a placeholder book made itself (book.render.passes.DIRECT)
        return None
    if not href or _SCHEME.match(href):
        return None
    return PATH + href


def part_files(chapters) -> list[list[str]]:
    """The spine document of each part of each rendered chapter, in reading order."""
    out, n = [], 0
    for ch in chapters:
        names = []
        for _part in ch.parts:
            n += 1
            names.append(f"text/ch{n:03d}.xhtml")
        out.append(names)
    return out


class Targets:
    """Where the local links of a book go: built once per build from its chapters."""

    def __init__(self, source, chapters):
        self.root = source.root.resolve()
        url = getattr(source.meta, "source", None) or ""
        self.base = url if re.match(r"^https?://", url, re.I) else None
        files = part_files(chapters)
        self.by_path: dict[Path, list[tuple[object, str]]] = {}
        for chapter, rendered, names in zip(source.chapters, chapters, files):
            self.by_path[chapter.path.resolve()] = list(zip(rendered.parts, names))

    def resolve(self, chapter, raw: str) -> tuple[str | None, str | None, str | None]:
        """(href relative to the text/ folder, None, None), or (None, problem, hint)."""
        parts = urllib.parse.urlsplit(raw)
        path = urllib.parse.unquote(parts.path)
        frag = urllib.parse.unquote(parts.fragment)
        if path and not path.startswith("/") and not raw.startswith("//") and not parts.query:
            target = (chapter.path.parent / path).resolve()
            if target in self.by_path:
                docs = self.by_path[target]
                if not frag:
                    return docs[0][1].removeprefix("text/"), None, None
                for part, name in docs:
                    if frag in part.ids:
                        return f"{name.removeprefix('text/')}#{frag}", None, None
                return None, f"the link to '{raw}' leads nowhere: {path} has no heading or element with id '{frag}'", (
                    f"link to one of its headings' ids, or add {{#{frag}}} to the element it should reach")
            if target.suffix.lower() in (".md", ".markdown") and (target == self.root or self.root in target.parents):
                return None, f"the link to '{raw}' is to a file that is not a chapter of this book", (
                    "add it to chapters: in book.yaml, or link a chapter that is")
        if self.base:
            return urllib.parse.urljoin(self.base, raw), None, None
        return None, f"the link to '{raw}' is not a chapter of this book, nor a web address", (
            "link a chapter (other.md or other.md#id), write the full https:// address, or give the address of "
            "the page the text comes from as source: in the front matter, so links relative to it resolve there")
