"""Writing files whole or not at all: the one atomic writer of `book`.

Every file `book` writes that someone may read while it is being written — the EPUB, a cache
entry, a downloaded image, the signing key — goes through :func:`atomic_file`: the bytes go to
a temporary file in the same folder, which is renamed over the target only once complete.  A
rename within one file system is atomic (POSIX rename(2)), so a reader sees the old file or the
new one, never half of one, and a build that fails or is killed leaves the old file untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, *, mode: int = 0o644, durable: bool = False,
                replace: bool = True) -> Iterator[tuple[BinaryIO, Path]]:
    """Yield ``(file, temporary path)`` for writing `path`.  When the block ends normally the
    temporary file becomes `path`; when it raises, the temporary file is removed and `path`
    is as it was.

    `durable`: flush it to the disk first (fsync), for the EPUB itself.  `replace=False`: keep
    a file that appeared at `path` meanwhile (another process made it first) instead of
    replacing it.  OSError reaches the caller, who knows what it means for its file."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    # The file is made under a name clean_stale never touches, locked, and only then given its
    # `.tmp` name: so a cleaner never finds a `.tmp` file that a live writer has not locked yet.
    # The lock is held until the file is closed (or the process dies): how clean_stale tells a
    # file being written from one a killed build left behind.
    fd, init = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=_INIT, dir=parent)
    f = os.fdopen(fd, "wb")
    tmp = init
    try:
        with f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            tmp = init[: -len(_INIT)] + f".tmp{path.suffix}"
            os.rename(init, tmp)
            yield f, Path(tmp)
            f.flush()
            if durable:
                os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)
            # Renamed while still open and locked: a cleaner can never take the finished file
            # for a dead build's between the last write and the rename.
            if replace:
                os.replace(tmp, path)
            else:
                try:
                    os.link(tmp, path)  # fails, rather than replaces, when `path` exists
                except FileExistsError:
                    pass
                os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_INIT = ".init"  # the name a temporary file has for the moment before it is locked
_INIT_AGE = 600  # seconds after which an unlocked `.init` file is a killed build's too


def clean_stale(path: str | os.PathLike) -> int:
    """Remove the temporary files that builds of `path` killed mid-write left beside it (named
    `.STEM.XXXXXXXX.tmpSUFFIX` by :func:`atomic_file`).  One that a running build still writes
    is kept: its writer holds a lock on it, which the system releases when a writer dies.
    Returns how many were removed."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    pattern = re.compile(re.escape(f".{path.stem}.") + r"[a-z0-9_]{8}(" + re.escape(f".tmp{path.suffix}") + "|"
                         + re.escape(_INIT) + ")$")
    return _remove_dead(parent, pattern)


# Any temporary file of atomic_file's: `.STEM.XXXXXXXX.tmpSUFFIX` or `.STEM.XXXXXXXX.init`
# (tempfile.mkstemp's eight random characters are [a-z0-9_]).
_ANY_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}(\.tmp(\.[^./]*)?|" + re.escape(_INIT) + ")$")


def clean_stale_folder(folder: str | os.PathLike) -> int:
    """:func:`clean_stale` for every target in `folder` at once (a cache folder, whose entries
    each have a name of their own): one listing of the folder, not one per entry."""
    return _remove_dead(Path(folder), _ANY_TEMPORARY)


def _remove_dead(parent: Path, pattern: re.Pattern) -> int:
    removed = 0
    try:
        names = [n for n in os.listdir(parent) if pattern.match(n)]
    except OSError:
        return 0
    for name in names:
        candidate = parent / name
        try:
            fd = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                continue
            if name.endswith(_INIT) and time.time() - st.st_mtime < _INIT_AGE:
                continue  # maybe made a moment ago, and about to be locked

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its writer lives
            os.unlink(candidate)
            removed += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def write_atomic(path: str | os.PathLike, data: bytes, **how) -> None:
    """`data` into `path` through :func:`atomic_file` (same keyword arguments)."""
    with atomic_file(path, **how) as (f, _tmp):
        f.write(data)
