"""A second, independent reading system: calibre.  Its EPUB input plugin is what calibre's
viewer, its e-reader sync and its format conversions (e.g. to Kindle formats) all go through."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

import pytest
from conftest import skip_or_fail
from PIL import Image

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _calibre_installed():
    if not (shutil.which("ebook-convert") and shutil.which("ebook-meta")):
        skip_or_fail("calibre is not installed (run: bash tests/e2e/install.sh)")

BOOKS = ["sample", "arabic", "japanese", "images"]
# calibre names languages by ISO 639-2/B code.
ISO639_2 = {"en": "eng", "ar": "ara", "ja": "jpn"}


def _calibre(*args: str) -> str:
    # A UTF-8 locale for non-Latin titles; no display (Qt offscreen); calibre's settings in a
    # throwaway folder rather than the user's.
    env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
           "CALIBRE_CONFIG_DIRECTORY": os.path.join(tempfile.gettempdir(), "book-e2e-calibre")}
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, f"{' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("name", BOOKS)
def test_text_in_reading_order(name, built_books, tmp_path):
    built = built_books[name]
    _calibre("ebook-convert", str(built.epub), str(tmp_path / "book.txt"))
    text = _norm((tmp_path / "book.txt").read_text("utf-8"))
    pos = 0
    for heading, sentence in built.sections():
        heading, sentence = _norm(heading), _norm(sentence)
        # The section's sentence comes after everything before it, with its heading in between
        # (the heading alone is not enough: it is in the Contents page too).
        at = text.find(sentence, pos)
        assert at >= 0, f"{sentence!r} (section {heading!r}) is missing, or out of order"
        assert text.rfind(heading, pos, at) >= 0, f"heading {heading!r} is not before {sentence!r}"
        pos = at + len(sentence)


def _fields(report: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in report.splitlines()) if v}


@pytest.mark.parametrize("name", BOOKS)
def test_metadata_and_cover(name, built_books, tmp_path):
    built = built_books[name]
    fields = _fields(_calibre("ebook-meta", str(built.epub)))
    assert fields["Title"] == built.title
    assert fields["Author(s)"] == " & ".join(built.authors)
    assert fields["Languages"] == ISO639_2[built.lang.split("-")[0]]
    cover = tmp_path / "cover.png"
    _calibre("ebook-meta", f"--get-cover={cover}", str(built.epub))
    with Image.open(cover) as im:
        assert im.width >= 500 and im.height > im.width  # a real, portrait cover
