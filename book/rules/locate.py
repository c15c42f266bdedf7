"""Where a finding is in its source: Python-Markdown keeps no line numbers, so a finding is
located by searching the text it came from — a chapter's Markdown at build time, a document's
XHTML in ``book check`` — for a piece of it ("needles")."""

from __future__ import annotations

import itertools
import re


class Locator:
    """Finds the source line of a piece of text, for `file:line` messages.  Python-Markdown keeps
    no line numbers, so the text it was made from is searched.  `line` gives the first line with the
    text; `next_line` and `heading_line` are for elements met in document order, so the second
    image with the same file, or the second heading with the same words, gets its own line."""

    def __init__(self, text: str, first_line: int = 1):
        self.first_line = first_line  # the line `text` starts on in its file
        self.lines = text.split("\n")
        self._cursors: dict[str, int] = {}  # needle -> index of the line after its last answer
        self._headings: list[tuple[int, str]] | None = None  # (index, line) of each `#` line
        self._exact: dict[str, list[int]] = {}  # heading text -> indexes of its `#` lines
        self._used_headings: set[int] = set()

    def heading_line(self, text: str) -> int | None:
        """Line of a heading: first a `#` line whose heading text is exactly `text`, then one that
        contains it, each line answered once; only `#` lines are searched, so finding every
        heading of a chapter stays linear in its length."""
        if self._headings is None:
            self._headings = [(i, ln) for i, ln in enumerate(self.lines) if ln.lstrip().startswith("#")]
            for i, ln in self._headings:
                self._exact.setdefault(_ATX.sub("", ln.strip()).strip(), []).append(i)
        if not text:
            return self.line(text)
        exact = self._exact.get(text, [])
        loose = (i for i, ln in self._headings if text in ln)
        first = None
        for i in itertools.chain(exact, loose):
            first = i if first is None else first
            if i not in self._used_headings:
                self._used_headings.add(i)
                return self.first_line + i
        return self.line(text) if first is None else self.first_line + first

    def next_line(self, *needles: str) -> int | None:
        """The line of the next occurrence of the first needle found, after the one this needle
        last answered; when there is no further one, the first (as `line`)."""
        for needle in needles:
            if not needle:
                continue
            for i in range(self._cursors.get(needle, 0), len(self.lines)):
                if needle in self.lines[i]:
                    self._cursors[needle] = i + 1
                    return self.first_line + i
        return self.line(*needles)

    def line(self, *needles: str) -> int | None:
        for needle in needles:
            if not needle:
                continue
            for i, text in enumerate(self.lines):
                if needle in text:
                    return self.first_line + i
        return None


# An ATX heading's markers and attribute list: "## Pain ## {#pain}" → "Pain".
_ATX = re.compile(r"^#+\s*|\s*#*\s*(?:\{[^}]*\})?\s*#*\s*$")
