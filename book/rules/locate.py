"""Where a finding is in its source: Python-Markdown keeps no line numbers, so a finding is
located by searching the text it came from — a chapter's Markdown at build time, a document's
XHTML in ``book check`` — for a piece of it ("needles")."""

from __future__ import annotations

import bisect
import re


class Locator:
    """Finds the source line of a piece of text, for `file:line` messages.  Python-Markdown keeps
    no line numbers, so the text it was made from is searched.  `line` gives the first line with the
    text; `next_line` and `heading_line` are for elements met in document order, so the second
    image with the same file, or the second heading with the same words, gets its own line.

    Searches run in C over the whole text (`str.find`) and a line is found from an offset by
    bisection, so a long chapter with many findings is not searched line by line in Python
    (issue 13).  A needle never spans lines: one holding a line break is found nowhere."""

    def __init__(self, text: str, first_line: int = 1):
        self.first_line = first_line  # the line `text` starts on in its file
        self.text = text
        self.lines = text.split("\n")
        self._starts: list[int] | None = None  # offset of each line's start
        self._cursors: dict[str, int] = {}  # needle -> index of the line after its last answer
        self._headings: list[tuple[int, str]] | None = None  # (index, line) of each `#` line
        self._exact: dict[str, list[int]] = {}  # heading text -> indexes of its `#` lines
        self._exact_next: dict[str, int] = {}  # heading text -> first entry of _exact not yet checked
        self._used_headings: set[int] = set()

    def _index_of(self, offset: int) -> int:
        if self._starts is None:
            starts, at = [0], 0
            for ln in self.lines[:-1]:
                at += len(ln) + 1
                starts.append(at)
            self._starts = starts
        return bisect.bisect_right(self._starts, offset) - 1

    def _find(self, needle: str, from_index: int = 0) -> int | None:
        """Index of the first line at or after `from_index` that holds `needle`."""
        if not needle or "\n" in needle:
            return None
        start = 0
        if from_index:
            if from_index >= len(self.lines):
                return None
            self._index_of(0)
            start = self._starts[from_index]
        at = self.text.find(needle, start)
        return None if at < 0 else self._index_of(at)

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
        # Exact lines are answered in order, so those before the cursor are all used: a book with
        # a thousand "Summary" headings does not look at the first one a thousand times.
        k = self._exact_next.get(text, 0)
        while k < len(exact) and exact[k] in self._used_headings:
            k += 1
        self._exact_next[text] = k
        if k < len(exact):
            self._used_headings.add(exact[k])
            return self.first_line + exact[k]
        loose = (i for i, ln in self._headings if text in ln)
        first = exact[0] if exact else None
        for i in loose:
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
            i = self._find(needle, self._cursors.get(needle, 0))
            if i is not None:
                self._cursors[needle] = i + 1
                return self.first_line + i
        return self.line(*needles)

    def line(self, *needles: str) -> int | None:
        for needle in needles:
            i = self._find(needle)
            if i is not None:
                return self.first_line + i
        return None


# An ATX heading's markers and attribute list: "## Pain ## {#pain}" → "Pain".
_ATX = re.compile(r"^#+\s*|\s*#*\s*(?:\{[^}]*\})?\s*#*\s*$")
