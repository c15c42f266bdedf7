"""`book check --json` on EPUBs that the real DAISY Ace cannot process, and on ones book cannot
read at all: the documented exit code (book/errors.py), JSON on stdout that names the problem in
one line, and no traceback.

The broken EPUBs are a built book with one spine document removed, and with one cut in half
(not well-formed XML).  DAISY Ace 1.4.6 (from .tools, no mock) exits 1 on both without writing a
report ("Failed to parse EPUB"); EPUBCheck 5.3 reports them (RSC-001 file not found, RSC-016
fatal parse error), so the check fails with exit 3 ("the EPUB has errors"), not 4 (a checker
that failed to run).  And zip entry names that are not UTF-8: refused before any checker runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, require

from book import build

SOURCE = "---\ntitle: Broken\nlang: en\nauthor: Test Writer\n---\n# One\n\nHello there.\n\n# Two\n\nMore text.\n"


def check_json(epub: Path) -> tuple[int, dict, str]:
    r = subprocess.run([sys.executable, "-m", "book", "check", str(epub), "--json"], capture_output=True,
                       text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout), r.stderr


def _built(tmp_path: Path) -> Path:
    src = tmp_path / "a.md"
    src.write_text(SOURCE, "utf-8")
    return build(src, tmp_path / "good.epub").output


def _copy(good: Path, out: Path, edit) -> Path:
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info, data)
    return out


@pytest.mark.checkers
@pytest.mark.parametrize("how, says", [
    ("missing", "no such file or directory, open 'EPUB/text/ch001.xhtml'"),
    ("truncated", "unclosed xml tag"),
])
def test_ace_failing_on_a_broken_epub_fails_the_check_with_json(tmp_path, how, says):
    require("epubcheck")
    require("ace")
    good = _built(tmp_path)
    chapter = "EPUB/text/ch001.xhtml"

    def edit(name, data):
        if name != chapter:
            return data
        return None if how == "missing" else data[: len(data) // 2]

    bad = _copy(good, tmp_path / f"{how}.epub", edit)
    code, report, err = check_json(bad)
    assert code == 3, err  # EXIT_CHECK: the EPUB has errors
    assert report["ok"] is False
    assert report["epubcheck"]["errors"] + report["epubcheck"]["fatals"] > 0
    assert report["ace"] is None, "Ace gave no report on this EPUB"
    [skipped] = report["skipped"]
    assert skipped.startswith("DAISY Ace could not check this EPUB, which EPUBCheck found broken: "), skipped
    assert "Failed to parse EPUB" in skipped and says in skipped, skipped
    # One line, plain text: no colours from Ace's log, no path of the folder Ace unpacked into.
    assert "\n" not in skipped and "\x1b" not in skipped and "book-ace-" not in skipped, skipped


@pytest.mark.parametrize("how", ["not-a-zip", "no-package-document"])
def test_an_unreadable_epub_still_gives_json(tmp_path, how):
    """Before any checker runs: a truncated zip, or a container.xml naming a package document
    that is not there.  Exit 1 (the input has a problem), the one-line problem on stderr and the
    same in the JSON."""
    good = _built(tmp_path)
    bad = tmp_path / f"{how}.epub"
    if how == "not-a-zip":
        data = good.read_bytes()
        bad.write_bytes(data[: len(data) * 2 // 3])
        says = "not an EPUB (zip) file"
    else:
        _copy(good, bad, lambda name, data: None if name.endswith(".opf") else data)
        says = "not a readable EPUB"
    code, report, err = check_json(bad)
    assert code == 1, err
    assert report["ok"] is False and report["exit_code"] == 1 and report["epub"] == str(bad)
    [problem] = report["problems"]
    assert says in problem["message"] and problem["file"] == str(bad), problem
    assert len(err.strip().splitlines()) == 1 and says in err, err


def _with_raw_name(good: Path, out: Path, placeholder: str, raw: bytes) -> Path:
    """`good` plus an entry whose name is the bytes `raw`, as a ZIP tool of another system may
    write it: zipfile writes only UTF-8 names, so the entry is written under a `placeholder` of
    the same length in bytes, which is then replaced in the local header and the central
    directory (a name is not covered by the CRC).  An ASCII placeholder leaves the entry
    unmarked; a non-ASCII one makes zipfile mark it UTF-8 (flag bit 11, APPNOTE appendix D)."""
    assert len(placeholder.encode("utf-8")) == len(raw)
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
        zout.writestr(placeholder, b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p>x</p></body></html>')
    data = out.read_bytes()
    assert data.count(placeholder.encode("utf-8")) == 2
    out.write_bytes(data.replace(placeholder.encode("utf-8"), raw))
    if not placeholder.isascii():  # marked UTF-8 and is not: Python's own zipfile refuses it
        with pytest.raises(UnicodeDecodeError):
            zipfile.ZipFile(out)
    else:
        with zipfile.ZipFile(out) as z:
            last = z.infolist()[-1]
            assert not last.flag_bits & 0x800 and last.orig_filename.encode("cp437") == raw
    return out


@pytest.mark.parametrize("placeholder, raw", [
    ("EPUB/text/cafX.xhtml", b"EPUB/text/caf\xe9.xhtml"),  # Latin-1, not marked UTF-8
    # "/" as an overlong UTF-8 sequence, not marked: a lenient decoder reads "EPUB/../../evil.xhtml"
    ("EPUB/..XX..XXevil.xhtml", b"EPUB/..\xc0\xaf..\xc0\xafevil.xhtml"),
    ("EPUB/text/caf\u00e9.xhtml", b"EPUB/text/caf\xe9!.xhtml"),  # marked UTF-8, but Latin-1
])
def test_a_name_that_is_not_utf8_is_one_clear_error(tmp_path, placeholder, raw):
    (tmp_path / "src").mkdir()
    good = _built(tmp_path / "src")
    work = tmp_path / "work"
    work.mkdir()
    bad = _with_raw_name(good, work / "names.epub", placeholder, raw)
    before = sorted(p for p in tmp_path.rglob("*"))
    shown = raw.decode("utf-8", "backslashreplace")
    for extra in ([], ["--json"]):
        r = subprocess.run([sys.executable, "-m", "book", "check", str(bad), *extra], capture_output=True, text=True,
                           timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=work)
        assert "Traceback" not in r.stdout + r.stderr
        assert r.returncode == 1, r.stderr  # the input has a problem (book/errors.py EXIT_INPUT)
        assert r.stderr.count("\n") == 1, r.stderr
        assert r.stderr.startswith(f"book: {bad}: the EPUB has an entry whose name is not UTF-8 ('{shown}') — "
                                   "EPUB 3.3 §4.2.3 requires UTF-8 file names"), r.stderr
        if extra:
            [problem] = json.loads(r.stdout)["problems"]
            assert f"not UTF-8 ('{shown}')" in problem["message"]
        else:
            assert r.stdout == ""
    # Nothing was written: no file anywhere below the test's folder (nor above it) is new.
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert not list(tmp_path.parent.glob("evil*")) and not list(tmp_path.glob("evil*"))
