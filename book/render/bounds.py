"""Bounded work for every chapter, whoever wrote it.

Python-Markdown is a recursive, regular-expression parser: some inputs make it recurse past
Python's limit (a list nested 250 levels deep) or take time that grows with the square of a
paragraph's length (a paragraph of 20,000 `[`: minutes).  A source may come from someone
hostile, so before a chapter renders :func:`check` refuses what is known to be too deep or too
slow, naming its line, and :func:`time_limit` stops any other chapter that takes longer than
:data:`MAX_SECONDS` with a clear message instead of holding the build (or a batch worker)
forever.  The limits are far beyond what an article needs; the README lists them
("Reliability").
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading

from markdown.extensions.footnotes import FootnoteBlockProcessor

from ..errors import SourceError

MAX_NESTING = 100  # list or quote levels (Python-Markdown recursed past Python's limit at ~250)
MAX_BRACKETS = 5_000  # `[` in one paragraph (link parsing is quadratic: 4,000 took 3 s)
MAX_SECONDS = 60  # to render one chapter (a 20 MB chapter takes about 5 s)

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
# A footnote definition, found with Python-Markdown's own expression (its footnote block
# processor's): every such line starts a note of its own, parsed on its own.
_DEFINITION = FootnoteBlockProcessor.RE
_LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]")
_QUOTES = re.compile(r"^(?:[ \t]{0,3}>)+")


def check(chapter) -> None:
    """Refuse a chapter whose nesting or paragraphs are beyond the limits, naming the line."""
    fence = None
    brackets, block_start = 0, None
    for number, line in enumerate(chapter.text.split("\n"), chapter.first_line):
        m = _FENCE.match(line)
        if fence is not None:  # inside fenced code: text, never parsed as Markdown
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        if not line.strip():
            brackets, block_start = 0, None
            continue
        if _DEFINITION.match(line):
            # A footnote definition starts a block of its own, even right under another one:
            # the 10,000 notes of a long article, defined line after line, are not one paragraph.
            brackets, block_start = 0, number
        block_start = block_start or number
        depth = 0
        if (q := _QUOTES.match(line)) is not None:
            depth = q.group().count(">")
        elif (item := _LIST_ITEM.match(line)) is not None:
            depth = len(item.group(1).expandtabs(4)) // 4 + 1
        if depth > MAX_NESTING:
            raise SourceError(f"a list or quote nested {depth} levels deep", file=chapter.name, line=number,
                              hint=f"book renders at most {MAX_NESTING} levels; flatten it")
        brackets += line.count("[")
        if brackets > MAX_BRACKETS:
            raise SourceError(f"a paragraph with more than {MAX_BRACKETS:,} '['", file=chapter.name,
                              line=block_start, hint="split it into paragraphs, or write the brackets as \\[")


@contextlib.contextmanager
def time_limit(chapter, seconds: float | None = None):
    """Stop rendering `chapter` after `seconds`, with a SourceError that says so.  A timer signal
    can interrupt only the main thread, so in other threads (a thread pool, a Dask worker's
    thread) this does nothing and :func:`check` is the only bound; in the command line and in
    its worker processes, rendering always runs in a main thread."""
    seconds = MAX_SECONDS if seconds is None else seconds
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def expired(_signum, _frame):
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Expired:
        raise SourceError(f"rendering took more than {seconds:g} s and was stopped", file=chapter.name,
                          line=_busiest_line(chapter),
                          hint="this paragraph holds text Python-Markdown handles very slowly (thousands of "
                               "'[', '<' or '!['); split it or escape them") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Expired(Exception):
    pass


def _busiest_line(chapter) -> int | None:
    """The first line of the paragraph with the most of the characters that make Markdown slow."""
    best, best_line, count, start = 0, None, 0, None
    for number, line in enumerate(chapter.text.split("\n"), chapter.first_line):
        if not line.strip():
            count, start = 0, None
            continue
        start = start or number
        count += line.count("[") + line.count("<")
        if count > best:
            best, best_line = count, start
    return best_line
