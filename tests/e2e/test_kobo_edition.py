"""The Kobo edition (NAME.kepub.epub, `book build --kobo`) in two reading systems: calibre reads
the same metadata, cover and text as from the EPUB, and MuPDF lays it out as well as the EPUB (no
blank page, the text and pictures in source order, nothing hidden shown).  Its markup and its
validity (EPUBCheck, Ace) are tested in tests/test_kobo.py."""

from __future__ import annotations

import shutil

import pytest
from conftest import skip_or_fail

from book.package.kobo import write_kepub

from . import mupdf_engine as mupdf
from .test_calibre import _calibre, _fields, _norm

pytestmark = pytest.mark.e2e

BOOKS = ["sample", "images"]


@pytest.fixture(scope="module")
def kepubs(built_books, tmp_path_factory):
    out = tmp_path_factory.mktemp("kepub")
    return {name: write_kepub(built_books[name].epub, out / f"{name}.kepub.epub") for name in BOOKS}


@pytest.mark.parametrize("name", BOOKS)
def test_calibre_reads_the_same_book(name, built_books, kepubs, tmp_path):
    if not (shutil.which("ebook-convert") and shutil.which("ebook-meta")):
        skip_or_fail("calibre is not installed (run: bash tests/e2e/install.sh)")
    built, kepub = built_books[name], kepubs[name]
    assert _fields(_calibre("ebook-meta", str(kepub))) == _fields(_calibre("ebook-meta", str(built.epub)))
    _calibre("ebook-meta", f"--get-cover={tmp_path / 'cover.png'}", str(kepub))
    assert (tmp_path / "cover.png").stat().st_size > 1000
    texts = []
    for path in (built.epub, kepub):
        _calibre("ebook-convert", str(path), str(tmp_path / "book.txt"))
        texts.append(_norm((tmp_path / "book.txt").read_text("utf-8")))
    assert texts[1] == texts[0]
    assert all(_norm(sentence) in texts[1] for _heading, sentence in built.sections())


@pytest.mark.parametrize("name", BOOKS)
def test_mupdf_lays_it_out_as_well_as_the_epub(name, kepubs):
    reason = mupdf.missing_reason()
    if reason:
        skip_or_fail(reason)
    laid = mupdf.lay_out(kepubs[name])
    assert mupdf.page_problems(laid) == []
    assert mupdf.order_problems(laid) == []
    mupdf.save_pages(laid, f"{name}-kobo", count=3)
