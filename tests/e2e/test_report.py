"""`book check BOOK.epub --html REPORT.html`, opened in Chromium (Playwright): the report of the
sample book and of a book with findings opens, logs no console error, and every picture in it
loads — both engines' pages, Chromium's and MuPDF's.  And a hostile EPUB cannot make the report
run its script or reach the network while its pages are drawn."""

from __future__ import annotations

import http.server
import io
import os
import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, require, skip_or_fail

from . import engine

pytestmark = [pytest.mark.e2e, pytest.mark.checkers]
PAGES = 4  # the report draws the first four spine documents


def _need_engines():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("Playwright for Python is not installed (bash tests/e2e/install.sh)")
    try:
        import pymupdf  # noqa: F401
    except ImportError:
        skip_or_fail("PyMuPDF is not installed (pip install -e '.[test]')")
    if not engine.CHROMIUM.is_file():
        skip_or_fail(f"Chromium is not at {engine.CHROMIUM} (bash .ci/install-tools)")


def check_html(epub: Path, report: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "book", "check", str(epub), "--html", str(report), *extra],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def open_report(browser, report: Path) -> dict:
    """The report in Chromium (the session's browser, tests/e2e/conftest.py): its console
    errors, its pictures (loaded?, width), its text."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        errors, requests = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri(), wait_until="load")
        images = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth, i.alt])")
        scripts = page.evaluate("document.scripts.length")
        text = page.inner_text("body")
        engine.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(engine.ARTIFACTS / f"report-{report.stem}.png"), full_page=True)
    finally:
        page.close()
    return {"errors": errors, "images": images, "scripts": scripts, "text": text,
            "requests": [u for u in requests if not u.startswith(("file:", "data:"))]}


def _assert_opens_cleanly(seen: dict) -> None:
    assert seen["errors"] == [], seen["errors"]
    assert seen["scripts"] == 0
    assert seen["requests"] == [], "the report loads nothing from outside itself"
    # Every page drawn by both engines, and every picture loaded.
    assert len(seen["images"]) == 2 * PAGES, seen["images"]
    for complete, width, alt in seen["images"]:
        assert complete and width > 0, alt
        assert alt.startswith("EPUB/"), alt
    assert sum("Chromium draws it" in alt for *_x, alt in seen["images"]) == PAGES
    assert sum("MuPDF draws it" in alt for *_x, alt in seen["images"]) == PAGES


def test_report_of_the_sample(tmp_path, browser):
    _need_engines()
    require("epubcheck")
    require("ace")
    from book import build

    epub = build(ROOT / "content", tmp_path / "sample.epub").output
    report = tmp_path / "sample-report.html"
    r = check_html(epub, report)
    assert r.returncode == 0, r.stderr
    assert f"wrote {report}" in r.stdout and "warning" not in r.stderr
    seen = open_report(browser, report)
    _assert_opens_cleanly(seen)
    text = seen["text"]
    assert "PASS" in text
    for heading in ("Ways of reading", "Conformance", "Navigation", "Hazards", "Accessibility summary"):
        assert heading in text
    assert re.search(r"EPUBCheck 5\.3\.\d+: 0 fatal, 0 error\(s\), 0 warning\(s\)", text), text
    assert re.search(r"DAISY Ace [\d.]+: 0 violation\(s\)", text), text
    assert "No findings." in text


def _with_findings(tmp_path: Path, spy_url: str) -> Path:
    """A built book made worse after the build, as an EPUB from elsewhere may be: an image without
    alt text and a skipped heading level in the first chapter; a script, a request to a server
    and a file outside the EPUB on its title page."""
    from book import build

    src = tmp_path / "a.md"
    src.write_text("---\ntitle: 'A <b>bold</b> & \"quoted\" title'\nlang: en\n---\n# One\n\nClick [here](#one).\n\n"
                   "| a | b |\n|---|---|\n| 1 | 2 |\n", "utf-8")
    built = build(src, tmp_path / "built.epub").output
    bad = tmp_path / "findings.epub"
    with zipfile.ZipFile(built) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "EPUB/text/ch001.xhtml":
                data = data.replace(b"</section>", b'<h4>Deep</h4><p><img src="../images/none.png"/></p></section>', 1)
            if info.filename == "EPUB/text/titlepage.xhtml":
                data = data.replace(b"</section>", (f'<p><img alt="spy" src="{spy_url}"/><img alt="passwd" '
                                                    'src="file:///etc/passwd"/></p><script>document.title="ran"'
                                                    "</script></section>").encode(), 1)
            zout.writestr(info, data, compress_type=zipfile.ZIP_STORED if info.filename == "mimetype"
                          else zipfile.ZIP_DEFLATED)
    return bad


class _Spy(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802
        _Spy.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_report_of_a_book_with_findings(tmp_path, browser):
    _need_engines()
    require("epubcheck")
    require("ace")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Spy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        epub = _with_findings(tmp_path, f"http://127.0.0.1:{server.server_port}/spy.png")
        report = tmp_path / "findings-report.html"
        r = check_html(epub, report)
        assert r.returncode == 3, (r.returncode, r.stderr)  # the check fails ...
        assert report.is_file()  # ... and the report is written all the same
    finally:
        server.shutdown()
    assert _Spy.hits == [], "drawing the pages of an EPUB never reaches the network"

    seen = open_report(browser, report)
    _assert_opens_cleanly(seen)
    text = seen["text"]
    assert "FAIL" in text
    assert 'A <b>bold</b> & "quoted" title' in text, "the title is text, not markup"
    # book's rules, each with its place.
    assert re.search(r"error\s+img-alt-missing\s.*EPUB/text/ch001\.xhtml:\d+", text), text
    assert re.search(r"error\s+heading-skip\s", text), text
    assert re.search(r"warning\s+link-vague\s.*EPUB/text/ch001\.xhtml:\d+", text), text
    # EPUBCheck (the missing image, the remote one, the script) and Ace (the image without alt).
    assert re.search(r"EPUBCheck 5\.3\.\d+: \d+ fatal, [1-9]\d* error\(s\)", text), text
    assert "RSC-007" in text  # the referenced image is not in the EPUB
    assert re.search(r"DAISY Ace [\d.]+: [1-9]\d* violation\(s\)", text), text
    assert "image-alt" in text


def test_a_folder_as_the_report_is_refused(tmp_path):
    epub = tmp_path / "x.epub"
    from book import build

    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\n---\n# H\n\nText.\n", "utf-8")
    build(src, epub)
    r = check_html(epub, tmp_path, "--no-ace", "--no-epubcheck")
    assert r.returncode == 5 and "is a folder" in r.stderr and "--html report.html" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_report_is_self_contained_and_escapes_the_book(tmp_path):
    """Without the browser: the HTML itself has no script, loads nothing, escapes every text."""
    from book.check import CheckReport
    from book.check.report import CSP, render_html
    from book.check.pages import Page
    from book.rules import Finding

    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    epub = tmp_path / "x.epub"
    with zipfile.ZipFile(epub, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
    rep = CheckReport(epub, None, None, [Finding("link-vague", "warning", evil, evil, 3, evil)], [])
    out = render_html(rep, [Page("EPUB/" + evil, b"\x89PNG fake", None)], [evil])
    assert "<script" not in out and "onerror=alert" not in out.replace("onerror=alert(2)&gt;", "")
    assert f'content="{CSP}"' in out
    assert re.findall(r'src="([^"]+)"', out) and all(s.startswith("data:image/png;base64,")
                                                    for s in re.findall(r'src="([^"]+)"', out))
    assert out.count("not drawn") == 1
    assert io.StringIO(out).read().startswith("<!DOCTYPE html>")


def test_without_the_engines_the_report_says_so(tmp_path, monkeypatch):
    """No PyMuPDF and no Chromium: the report is still written, with a note for each engine and
    'not drawn' where its pictures would be; the command says so in one warning line each."""
    import builtins

    from book import build
    from book.check import pages as pageslib
    from book.check import tools

    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\n---\n# H\n\nText.\n", "utf-8")
    epub = build(src, tmp_path / "a.epub").output
    real_import = builtins.__import__

    def no_pymupdf(name, *args, **kwargs):
        if name == "pymupdf":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    def no_chromium():
        raise tools.ToolMissing("Chromium is not installed")

    monkeypatch.setattr(builtins, "__import__", no_pymupdf)
    monkeypatch.setattr(tools, "find_chromium", no_chromium)
    drawn, missing = pageslib.pages(epub, 4)
    assert len(drawn) == 4 and all(p.chromium is None and p.mupdf is None for p in drawn)
    assert len(missing) == 2 and any("PyMuPDF" in m and "book[report]" in m for m in missing), missing

    from book.check import CheckReport
    from book.check.report import write_html

    out = tmp_path / "r.html"
    assert write_html(CheckReport(epub, None, None, [], []), out) == missing
    html_text = out.read_text("utf-8")
    assert html_text.count("not drawn") == 8 and "book[report]" in html_text
