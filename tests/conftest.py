from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SOURCES = ROOT / "tests" / "sources"
# The varied test books: every one must pass EPUBCheck and Ace.
VARIED = {
    "sample": ROOT / "content",
    "kitchen-sink": SOURCES / "kitchen-sink",
    "japanese": SOURCES / "japanese",
    "spanish": SOURCES / "spanish" / "libro.md",
    "arabic": SOURCES / "arabic" / "kitab.md",
}


def long_article(sections: int = 48, words: int = 400) -> str:
    """A long article with dozens of sections and subsections."""
    filler = ("Back pain has many causes and many treatments, and the evidence for each differs. " * (words // 14))
    out = ["---", "title: A Long Article", "lang: en", "author: Test Writer", "---", ""]
    for i in range(1, sections + 1):
        out += [f"# Section {i}", "", filler, "", f"## Part {i}.1", "", filler, "", f"### Detail {i}.1.1", "", filler, ""]
    return "\n".join(out)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, Path]:
    """Every varied source built once for the session (plus a long generated one)."""
    from book import build

    out = tmp_path_factory.mktemp("built")
    books = {}
    for name, src in VARIED.items():
        books[name] = build(src, out / f"{name}.epub").output
    long_src = out / "long.md"
    long_src.write_text(long_article(), "utf-8")
    books["long"] = build(long_src, out / "long.epub").output
    return books


def skip_or_fail(reason: str) -> None:
    """A missing tool skips a test on a developer's machine and fails it in CI (BOOK_REQUIRE_TOOLS=1)."""
    import os

    if os.environ.get("BOOK_REQUIRE_TOOLS") == "1":
        pytest.fail(f"BOOK_REQUIRE_TOOLS=1 but {reason}")
    pytest.skip(reason)


def require(tool: str) -> None:
    """Skip when a checker is not installed — or fail, under BOOK_REQUIRE_TOOLS=1 (CI sets it),
    so a broken install can never pass as a run of skipped tests."""
    from book.check import tools as checkers

    find = {"epubcheck": checkers.find_epubcheck, "ace": lambda: (checkers.find_ace(), checkers.find_chromium())}[tool]
    try:
        find()
    except checkers.ToolMissing as e:
        skip_or_fail(str(e))
