"""`book build --watch`: build, then build again every time a file of the book changes.

An author edits a chapter and wants the EPUB: a separate `book build` pays ~0.3 s before it
reads a line (starting Python, importing the libraries, reading the chapter cache from disk).
The watcher pays that once; afterwards a rebuild re-renders only what changed (book.cache), keeps
the rendered chapters and compressed entries of the last build in memory, and writes the EPUB as
atomically as every build does, so a reader that reopens it never sees half a book.

Whether a file changed is decided by comparing the size and modification time of every file
under the book's folder (one `stat` each: about a millisecond for a 200-chapter book).  The
operating system wakes the watcher as soon as a file in one of those folders is written —
watchfiles (Rust `notify`: inotify on Linux, FSEvents on macOS, ReadDirectoryChangesW on
Windows) — so a save is seen at once and nothing runs while nothing changes; where it cannot
(watchfiles missing, the system's limit of watches reached) the files are looked at a few
times a second.  A build that fails prints its problems and the watcher waits for the next
change; Ctrl-C stops it.
"""

from __future__ import annotations

import gc
import html
import os
import posixpath
import re
import sys
import time
from pathlib import Path
from urllib.parse import unquote

from ..errors import BookError, printable

# Seconds between two looks at the files without the operating system's notifications: short
# enough that a save shows up at once, long enough to cost nothing.  With them, a look happens on
# each wake-up, and at least this often anyway (a folder made while the watcher waits is watched
# from the next look on).
INTERVAL = 0.1
NOTIFY_INTERVAL = 1.0
SETTLE = 0.01  # after a wake-up, until the writes stop (an editor saves in several steps)
# Folders never watched: the caches book writes, version control, dependencies.
_SKIP_DIRS = {"node_modules", "__pycache__"}


def _folders(root: Path):
    """os.walk of `root` without hidden folders and dependencies."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS]
        yield folder, dirs, files


def snapshot(root: Path, output: Path | None) -> dict[str, tuple[int, int]]:
    """(modification time, size) of every file a build may read under `root`: not hidden files
    or folders (.cache/, .git/, editor swap files), not EPUBs, not the output."""
    seen: dict[str, tuple[int, int]] = {}
    skip = {os.path.realpath(output)} if output else set()
    for folder, _dirs, files in _folders(root):
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


# Where a Markdown article names other files: link and image targets, reference definitions,
# src/href in raw HTML, and the cover picture in its front matter.
_REFERENCES = re.compile(r"""\]\(\s*<?([^)\s>]+)|^\s*\[[^\]]+\]:\s*<?([^\s>]+)|(?:src|href)\s*=\s*["']([^"']+)["']"""
                         r"""|^cover-image:\s*["']?([^"'\s#]+)""", re.M)


def article_scope(article: Path) -> tuple[set[Path], set[Path]]:
    """What a lone article's build may read: (files, folders to watch whole).  The article and
    the files it names; for a name inside a folder (`images/fig.png`), that whole top folder,
    so an image that does not exist yet is seen when it appears.  The rest of the article's
    folder — other articles, downloads — is not the article's business."""
    root = article.parent
    files, folders = {article}, set()
    try:
        text = article.read_text("utf-8", "replace")
    except OSError:
        return files, folders
    for m in _REFERENCES.finditer(text):
        ref = unquote(html.unescape(next(g for g in m.groups() if g))).split("#")[0].split("?")[0]
        if not ref or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", ref) or ref.startswith(("/", "\\")):
            continue  # an address, a link inside the page, an absolute path (refused by the build)
        parts = posixpath.normpath(ref).split("/")
        if parts[0] in ("..", ".", ""):
            continue  # outside the article's folder: refused by the build
        if len(parts) == 1:
            files.add(root / parts[0])
        else:
            folders.add(root / parts[0])
    return files, folders


def scope(path: Path) -> tuple[set[Path], set[Path]]:
    """What a build of `path` may read: (files, folders to watch whole).  A book folder is the
    book, all of it; a lone article, see `article_scope`."""
    return (set(), {path}) if path.is_dir() else article_scope(path)


def _look(files: set[Path], folders: set[Path], output: Path | None) -> dict[str, tuple[int, int]]:
    """The snapshot of a `scope` (a missing file counts, so its appearing is a change)."""
    seen: dict[str, tuple[int, int]] = {}
    for folder in sorted(folders):
        seen.update(snapshot(folder, output))
    for f in files:
        try:
            st = os.stat(f)
            seen[str(f)] = (st.st_mtime_ns, st.st_size)
        except OSError:
            seen[str(f)] = (-1, -1)
    return seen


def watch(source: str, run_build, *, say, interval: float = INTERVAL, output: str | None = None,
          stop=None, first_build: bool = True) -> int:
    """Build `source` with `run_build(memory)` (which returns a line to print; `memory` is what
    the process keeps between builds, book.cache.Memory), then again after every change, until Ctrl-C (or `stop()`, for tests, returns True).  `say(line, error=False)`
    prints.  Returns the exit status of the last build (0: it wrote the EPUB).  `first_build`:
    False when the caller has just built it (book preview)."""
    from .. import cache as cachelib
    from .. import source as sourcelib

    path = Path(source)
    root = path if path.is_dir() else path.parent
    out = Path(output).resolve() if output else None
    memory = cachelib.Memory()  # the last build's chapters and compressed entries (book.cache)
    say(f"watching {sourcelib.display(root)}/ for changes (Ctrl-C to stop)")
    wake = _Wake(stop)
    status = 0
    try:
        files, folders = scope(path)
        before = _look(files, folders, out)
        while True:
            if first_build:
                status = _once(run_build, memory, say)
                # What a lone article names may have changed with the edit that made this build:
                # looked for after it, so a save reaches the EPUB without waiting for a scan of
                # the article (half a second for a 1,000,000-word one; issue 13).  Files still in
                # scope keep the state the build saw, so an edit made meanwhile is not missed.
                files, folders = scope(path)
                before = {p: before.get(p, state) for p, state in _look(files, folders, out).items()}
            first_build = True
            while True:
                if stop is not None and stop():
                    return status
                # Each folder of the scope on its own (not recursively): the folders below a
                # book's, and a lone article's folder but nothing below it but what it names.
                watched = {d for folder in folders for d, _dirs, _files in _folders(folder)}
                watched |= {str(f.parent) for f in files if f.parent.is_dir()}
                wake.wait(watched, max(interval, NOTIFY_INTERVAL) if stop is None else interval, interval)
                now = _look(files, folders, out)
                if now != before:
                    changed = sorted(set(now) ^ set(before) | {p for p in now if before.get(p) != now[p]})
                    names = ", ".join(os.path.relpath(p, root) for p in changed[:3])
                    say(f"changed: {names}" + (f" and {len(changed) - 3} more" if len(changed) > 3 else ""))
                    before = now
                    break
    except KeyboardInterrupt:
        say("stopped watching")
        # As for any build: 0 only when the last build wrote the EPUB (a failed one left the
        # EPUB of the build before, or none).
        return status
    finally:
        wake.close()
        gc.unfreeze()  # the caller's collector as it was (see _settle_memory)


class _Stop:
    """watchfiles asks its `stop_event` `is_set()` between two looks; the tests' `stop()`."""

    def __init__(self, stop):
        self.is_set = stop


class _Wake:
    """Sleeps until a file in one of the watched folders is written, created, moved or
    removed (watchfiles: the operating system's notifications), or `timeout` seconds pass.
    Only a wake-up: what changed is still decided by `snapshot`, so an event the watcher does
    not care about (the build writing its own cache) costs one look and no build."""

    def __init__(self, stop=None):
        self.stop = _Stop(stop) if stop is not None else None
        self.folders: frozenset[str] | None = None
        self.events = None  # the watchfiles generator for `self.folders`
        self.broken = False  # notifications failed once: look every `interval` from then on

    def wait(self, folders: set[str], timeout: float, interval: float) -> None:
        folders = frozenset(f for f in folders if os.path.isdir(f))
        if self.broken or not folders:
            time.sleep(interval)
            return
        if folders != self.folders:  # a folder made or removed: watch the new set
            self.close()
            try:
                import watchfiles
            except ImportError:
                self.broken = True
                time.sleep(interval)
                return
            self.folders = folders
            # No filter: `snapshot` decides what counts; `step` is how long the writes of one
            # save may take to settle; `recursive=False`, since the folders below are listed.
            self.events = watchfiles.watch(*sorted(folders), watch_filter=None, step=round(SETTLE * 1000),
                                           stop_event=self.stop, rust_timeout=max(1, round(timeout * 1000)),
                                           yield_on_timeout=True, recursive=False, raise_interrupt=True)
        try:
            next(self.events, None)
        except (OSError, RuntimeError):
            # The system's limit of watched folders reached, a folder gone while it was added
            # (watchfiles raises either): look at the files instead, as without notifications.
            self.close()
            self.broken = True
            time.sleep(interval)

    def close(self) -> None:
        if self.events is not None:
            self.events.close()
        self.events = self.folders = None


def _once(run_build, memory, say) -> int:
    """One build; its exit status (0: the EPUB was written)."""
    start = time.perf_counter()
    try:
        line = run_build(memory)
    except BookError as e:
        for problem in e.problems:
            say(str(problem), error=True)
        say("the build failed; fix the problems above and save: it builds again", error=True)
        status = e.exit_code
    else:
        say(f"{line} in {time.perf_counter() - start:.2f} s")
        status = 0
    _settle_memory()
    return status


def console(quiet: bool = False, out=print):
    """The `say` of a watcher on a terminal: problems to stderr as `book: …` lines (always),
    the rest through `out` (not with `quiet`)."""
    def say(line: str, error: bool = False) -> None:
        line = printable(line)  # file names from the watched folder: text, never terminal codes
        if error:
            print(f"book: {line}", file=sys.stderr, flush=True)
        elif not quiet:
            out(line)
            sys.stdout.flush()
    return say


def _settle_memory() -> None:
    """Between builds, while nothing else happens: collect what the last build left (a failed
    build's traceback holds cycles), then exempt what is kept for the next build from the
    cyclic garbage collector, which would otherwise walk all of it during the next rebuild."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
