"""`book build --watch`: build, then build again every time a file of the book changes.

An author edits a chapter and wants the EPUB: a separate `book build` pays ~0.3 s before it
reads a line (starting Python, importing the libraries, reading the chapter cache from disk).
The watcher pays that once; afterwards a rebuild re-renders only what changed (book.cache), keeps
the rendered chapters and compressed entries of the last build in memory, and writes the EPUB as
atomically as every build does, so a reader that reopens it never sees half a book.

Whether a file changed is decided by comparing the size and modification time of every file
under the book's folder (one `stat` each: about a millisecond for a 200-chapter book).  On Linux
the kernel's inotify wakes the watcher as soon as a file in one of those folders is written, so a
save is seen at once and nothing runs while nothing changes; elsewhere the files are looked at a
few times a second.  A build that fails prints its problems and the watcher waits for the next
change; Ctrl-C stops it.
"""

from __future__ import annotations

import gc
import html
import os
import posixpath
import re
import select
import sys
import time
from pathlib import Path
from urllib.parse import unquote

from ..errors import BookError

# Seconds between two looks at the files without inotify: short enough that a save shows up at
# once, long enough to cost nothing.  With inotify, a look happens on each wake-up, and at least
# this often anyway (a folder made after the watcher started is not watched until then).
INTERVAL = 0.1
INOTIFY_INTERVAL = 1.0
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
    wake = _Inotify.open()
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
                if wake is None:
                    time.sleep(interval)
                else:
                    for folder in folders:
                        wake.watch_tree(folder)
                    for parent in {f.parent for f in files}:  # a lone article's folder, not below it
                        wake.watch_tree(parent, recursive=False)
                    wake.wait(max(interval, INOTIFY_INTERVAL) if stop is None else interval)
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
        if wake is not None:
            wake.close()
        gc.unfreeze()  # the caller's collector as it was (see _settle_memory)


class _Inotify:
    """Linux inotify(7) through the C library: wakes the watcher when a file in a watched
    folder is written, created, moved or removed.  Only a wake-up: what changed is still
    decided by `snapshot`, so an event the watcher does not care about (the build writing its
    own cache) costs one look and no build."""

    _MASK = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200  # MODIFY ATTRIB CLOSE_WRITE MOVED_FROM/TO CREATE DELETE

    def __init__(self, libc, fd: int):
        self.libc, self.fd = libc, fd
        self.watched: set[tuple[str, int]] = set()  # (folder, inode): a folder made again is watched again

    @classmethod
    def open(cls) -> _Inotify | None:
        if not sys.platform.startswith("linux"):
            return None
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        return cls(libc, fd) if fd >= 0 else None

    def watch_tree(self, root: Path, recursive: bool = True) -> None:
        """Watch `root` and, if `recursive`, the folders below it."""
        for folder, _dirs, _files in (_folders(root) if recursive else [(str(root), [], [])]):
            try:
                key = (folder, os.stat(folder).st_ino)
            except OSError:
                continue
            if key not in self.watched and self.libc.inotify_add_watch(
                    self.fd, os.fsencode(folder), self._MASK) >= 0:
                self.watched.add(key)

    def wait(self, timeout: float) -> bool:
        """True when woken by an event (and the writes have settled), False on timeout."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return False
        while select.select([self.fd], [], [], SETTLE)[0]:
            self._drain()
        return True

    def _drain(self) -> None:
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        os.close(self.fd)


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
