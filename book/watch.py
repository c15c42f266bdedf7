"""`book build --watch`: build, then build again every time a file of the book changes.

An author edits a chapter and wants the EPUB: a separate `book build` pays ~0.3 s before it
reads a line (starting Python, importing the libraries, reading the chapter cache from disk).
The watcher pays that once; afterwards a rebuild re-renders only what changed (book.cache), keeps
the rendered chapters and compressed entries of the last build in memory, and writes the EPUB as
atomically as every build does, so a reader that reopens it never sees half a book.

Changes are found by polling (the size and modification time of every file under the book's
folder, a few times a second): no extra dependency, the same on every system, and cheap —
a 200-chapter book is one `stat` per file.  A build that fails prints its problems and the
watcher waits for the next change; Ctrl-C stops it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .errors import BookError

# Seconds between two looks at the files: short enough that a save shows up at once, long
# enough to cost nothing (the stat calls of one look take about a millisecond).
INTERVAL = 0.1
# Folders never watched: the caches book writes, version control, dependencies.
_SKIP_DIRS = {"node_modules", "__pycache__"}


def snapshot(root: Path, output: Path | None) -> dict[str, tuple[int, int]]:
    """(modification time, size) of every file a build may read under `root`: not hidden files
    or folders (.cache/, .git/, editor swap files), not EPUBs, not the output."""
    seen: dict[str, tuple[int, int]] = {}
    skip = {os.path.realpath(output)} if output else set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS]
        for name in files:
            if name.startswith(".") or name.endswith((".epub", "~")):
                continue
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except OSError:
                continue  # removed while we looked: the next look sees it gone
            if path not in skip and os.path.realpath(path) not in skip:
                seen[path] = (st.st_mtime_ns, st.st_size)
    return seen


def watch(source: str, run_build, *, say, interval: float = INTERVAL, output: str | None = None,
          stop=None) -> int:
    """Build `source` with `run_build()` (which returns a line to print), then again after every
    change, until Ctrl-C (or `stop()`, for tests, returns True).  `say(line, error=False)`
    prints.  Returns the exit status: 0 when stopped."""
    from . import cache as cachelib
    from . import source as sourcelib

    path = Path(source)
    root = path if path.is_dir() else path.parent
    out = Path(output).resolve() if output else None
    memory = cachelib.Memory()  # the last build's chapters and compressed entries (book.cache)
    say(f"watching {sourcelib.display(root)}/ for changes (Ctrl-C to stop)")
    try:
        before = snapshot(root, out)
        while True:
            _once(run_build, memory, say)
            while True:
                if stop is not None and stop():
                    return 0
                time.sleep(interval)
                now = snapshot(root, out)
                if now != before:
                    changed = sorted(set(now) ^ set(before) | {p for p in now if before.get(p) != now[p]})
                    names = ", ".join(os.path.relpath(p, root) for p in changed[:3])
                    say(f"changed: {names}" + (f" and {len(changed) - 3} more" if len(changed) > 3 else ""))
                    before = now
                    break
    except KeyboardInterrupt:
        say("stopped watching")
        return 0


def _once(run_build, memory, say) -> None:
    from . import parallel

    start = time.perf_counter()
    try:
        with parallel.options(memory=memory):
            line = run_build()
    except BookError as e:
        for problem in e.problems:
            say(str(problem), error=True)
        say("the build failed; fix the problems above and save: it builds again", error=True)
        return
    say(f"{line} in {time.perf_counter() - start:.2f} s")
