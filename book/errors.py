"""The one exception root of `book`, and the shape of every message a user sees.

Every problem with the *input* (a bad front matter key, a missing image, an image without a
description) is a :class:`BookError`.  The command line turns it into one line per problem::

    content/article.md:12: image 'images/x.png' has no description — add alt text ...

and a documented exit code, never a traceback.  Findings of the accessibility rules are data
(:class:`book.rules.Finding`), not exceptions; they become a :class:`BuildFailed` only when they
stop the build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Exit codes, documented in the README and in `book --help`.
EXIT_OK = 0
EXIT_INPUT = 1  # the source has a problem: fix it and build again
EXIT_USAGE = 2  # the command line itself is wrong (argparse uses 2 as well)
EXIT_CHECK = 3  # `book check`: the EPUB has errors or accessibility violations
EXIT_TOOL = 4  # a checker (Java, EPUBCheck, Ace, Chromium) is missing or failed to run
EXIT_OUTPUT = 5  # the EPUB could not be written
EXIT_INTERNAL = 70  # a bug in book (BSD sysexits EX_SOFTWARE): --debug shows the traceback
EXIT_INTERRUPTED = 130  # stopped with Ctrl-C (128 + SIGINT, as shells report it)


# Characters that must never reach a terminal as they are: C0 and C1 controls (ESC starts the
# sequences that clear a screen, set a window title or hide text; a newline would forge a
# second `book:` line) and the bidirectional overrides and isolates that reorder what a line
# shows (the "Trojan Source" attack, CVE-2021-42574).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character shown as an escape (``\\x1b``, ``\\n``, ``\\u202e``),
    so a file name or front-matter key from a hostile source prints as what it is."""
    def escape(m: re.Match) -> str:
        c = m.group()
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c) or (
            f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
    return _UNPRINTABLE.sub(escape, text)


def where(file: str | None, line: int | None) -> str:
    """The `file:line: ` prefix every message starts with (just `file: ` without a line)."""
    if not file:
        return ""
    return f"{file}:{line}: " if line else f"{file}: "


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None
    hint: str | None = None

    def __str__(self) -> str:
        return self.labelled("")

    def labelled(self, label: str) -> str:
        """The message with a severity after its place, as rule findings have one:
        ``book.yaml:8: warning: unknown front-matter key …``."""
        return printable(where(self.file, self.line) + label + self.message + (f" — {self.hint}" if self.hint else ""))


class BookError(Exception):
    """Root of every error `book` reports to a user.  Carries one or more :class:`Problem`."""

    exit_code = EXIT_INPUT

    def __init__(
        self,
        message: str | None = None,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        if problems is None:
            problems = [Problem(message or "error", str(file) if file else None, line, hint)]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class SourceError(BookError):
    """The Markdown, front matter or a file it names is wrong."""


class BuildFailed(BookError):
    """Accessibility rules found errors (or warnings under --strict)."""


class UsageError(BookError):
    """The command line asks for something that cannot be done."""

    exit_code = EXIT_USAGE


class OutputError(BookError):
    exit_code = EXIT_OUTPUT


class ToolError(BookError):
    """A checker could not run: it is not installed, or it crashed."""

    exit_code = EXIT_TOOL
