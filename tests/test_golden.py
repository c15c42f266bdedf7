"""Golden books: a small source in, the exact package document, nav, NCX and XHTML out.

A change to what `book` writes shows here as a readable diff.  When the change is intended,
regenerate the expected files and review them like code:

    BOOK_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from book import build

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "in.md").is_file())
TEXT = (".opf", ".xhtml", ".ncx")  # the stylesheet is styles/book.css itself, tested elsewhere


@pytest.mark.parametrize("name", CASES)
def test_golden(name, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    case = GOLDEN / name
    out = build(case / "in.md", tmp_path / "out.epub").output
    with zipfile.ZipFile(out) as z:
        produced = {n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(TEXT)}
    expected_dir = case / "out"
    if os.environ.get("BOOK_REGENERATE_GOLDEN") == "1":
        for n, text in produced.items():
            (expected_dir / n).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / n).write_text(text, "utf-8")
        pytest.skip("golden files regenerated: review them with git diff")
    expected = {p.relative_to(expected_dir).as_posix(): p.read_text("utf-8")
                for p in expected_dir.rglob("*") if p.is_file()}
    assert sorted(produced) == sorted(expected)
    for n in sorted(produced):
        assert produced[n] == expected[n], f"{name}/{n} differs from its golden copy"
