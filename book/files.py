"""Writing files whole or not at all: the one atomic writer of `book`.

Every file `book` writes that someone may read while it is being written — the EPUB, a cache
entry, a downloaded image, the signing key — goes through :func:`atomic_file`: the bytes go to
a temporary file in the same folder, which is renamed over the target only once complete.  A
rename within one file system is atomic (POSIX rename(2)), so a reader sees the old file or the
new one, never half of one, and a build that fails or is killed leaves the old file untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f, Path(tmp)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
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


def write_atomic(path: str | os.PathLike, data: bytes, **how) -> None:
    """`data` into `path` through :func:`atomic_file` (same keyword arguments)."""
    with atomic_file(path, **how) as (f, _tmp):
        f.write(data)
