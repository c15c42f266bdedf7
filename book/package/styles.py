"""Where the default stylesheet comes from.

In a wheel it ships inside the package (`book/styles/`); in a source checkout it is the
project's top-level `styles/` folder.  Either way the build finds it from any folder.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # book/


@lru_cache(maxsize=None)
def stylesheet(name: str = "book.css") -> bytes:
    for folder in (_PACKAGE / "styles", _PACKAGE.parent / "styles"):
        path = folder / name
        if path.is_file():
            return path.read_bytes()
    raise FileNotFoundError(f"the stylesheet {name} is missing from this installation of book")
