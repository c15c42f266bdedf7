"""`book preview`: the command serves the reader on 127.0.0.1, the page shows the book, and
Ctrl-C stops it.  The command runs as a real subprocess, the way a user starts it."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import skip_or_fail

from . import engine

pytestmark = pytest.mark.e2e


class Preview:
    """`python -m book preview ARGS` in the background; `url` once it listens."""

    def __init__(self, *args, env=None):
        self.proc = subprocess.Popen([sys.executable, "-m", "book", "preview", *map(str, args)],
                                     cwd=engine.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env={**os.environ, **(env or {})})
        # The first line names the URL (after a build); don't wait forever for it.
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline() if ready else ""
        m = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if not m:
            self.proc.kill()
            raise AssertionError(f"no URL in {line!r}; stderr: {self.proc.stderr.read()}")
        self.url = m[0]

    def interrupt(self) -> int:
        """Ctrl-C, as a user stops it; returns the exit code."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=10)
        finally:
            self.proc.kill()
            self.proc.stdout.close()
            self.proc.stderr.close()


def _wait_at(page, href: str) -> None:
    """Wait until the engine shows `href` (its location is empty while a page turns)."""
    page.wait_for_function("(h) => (reader.rendition.currentLocation().start || {}).href === h", arg=href,
                           timeout=10_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_preview_of_a_source_shows_the_first_page(site, browser_context):
    """`book preview content --no-open`: builds, serves, and the page renders the cover."""
    preview = Preview("content", "--no-open")
    page = browser_context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(preview.url)
        page.wait_for_function("() => window.reader")
        page.evaluate("() => reader.ready")
        # The first page of the spine is the cover: its picture is drawn.
        frame = page.frame_locator("#viewer iframe")
        cover = frame.locator("img[role=doc-cover]")
        cover.wait_for()
        assert cover.evaluate("img => img.complete && img.naturalWidth > 0")
        assert page.locator("#book-title").inner_text() == "The Top 5 Benefits of Using Gabapentin for Back Pain Relief"
        # The TOC sidebar lists the chapters; a click goes there.
        toc = page.locator("#toc a")
        assert toc.count() >= 8
        toc.filter(has_text="Conclusion").click()
        frame.get_by_role("heading", name="Conclusion").wait_for()
        # Next/previous buttons and the arrow keys turn pages.
        page.locator("#prev").click()
        _wait_at(page, "text/ch006.xhtml")
        page.keyboard.press("ArrowRight")
        _wait_at(page, "text/ch007.xhtml")
        page.locator("#prev").click()
        _wait_at(page, "text/ch006.xhtml")
        page.locator("#next").click()
        _wait_at(page, "text/ch007.xhtml")
        engine.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(engine.ARTIFACTS / "preview.png"))
        assert errors == []
    finally:
        page.close()
        assert preview.interrupt() == 0


def test_preview_of_an_epub_on_a_given_port(site, browser_context, built_books):
    port = _free_port()
    preview = Preview(built_books["arabic"].epub, "--no-open", "--port", port)
    page = browser_context.new_page()
    try:
        assert preview.url == f"http://127.0.0.1:{port}/"
        page.goto(preview.url)
        page.wait_for_function("() => window.reader")
        page.evaluate("() => reader.ready")
        assert page.evaluate("() => reader.direction") == "rtl"
        # In a right-to-left book the left arrow is "forward".
        page.keyboard.press("ArrowLeft")
        _wait_at(page, "text/titlepage.xhtml")  # from the cover to the next document
    finally:
        page.close()
        assert preview.interrupt() == 0


# ---- without a browser -------------------------------------------------------------------

def test_preview_says_how_to_install_a_missing_engine(tmp_path):
    r = subprocess.run([sys.executable, "-m", "book", "preview", "content", "--no-open"], cwd=engine.ROOT,
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "BOOK_READER_ENGINE": str(tmp_path / "nothing-here")})
    assert r.returncode == 4
    assert "npm install --prefix .tools/reader" in r.stderr and "epubjs@" in r.stderr


def test_preview_opens_the_browser(tmp_path, built_books):
    """Without --no-open, the URL goes to the user's browser (webbrowser honours $BROWSER)."""
    if not all(p.is_file() for p in engine.ENGINE_FILES.values()):
        skip_or_fail(f"the epub.js reading engine is not installed (run: {engine.INSTALL})")
    seen = tmp_path / "opened.txt"
    fake = tmp_path / "fake-browser"
    # Written aside and renamed, so the test never reads a half-written file.
    fake.write_text(f"#!/bin/sh\necho \"$1\" > {seen}.part && mv {seen}.part {seen}\n")
    fake.chmod(0o755)
    preview = Preview(built_books["sample"].epub, env={"BROWSER": f"{fake} %s"})
    try:
        deadline = time.monotonic() + 10
        while not seen.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert seen.read_text().strip() == preview.url
    finally:
        assert preview.interrupt() == 0


def test_preview_watch_reloads_the_page_where_it_was(site, browser_context, tmp_path):
    """`book preview FOLDER --watch`: a save rebuilds the book, and the open page reloads it,
    still at the chapter it showed, with the new text."""
    src = tmp_path / "book"
    src.mkdir()
    (src / "book.yaml").write_text("title: Watched\nlang: en\nauthor: A. Writer\nchapters: [one.md, two.md]\n", "utf-8")
    (src / "one.md").write_text("# One\n\nThe first chapter.\n", "utf-8")
    (src / "two.md").write_text("# Two\n\nThe second chapter.\n", "utf-8")
    preview = Preview(src, "--no-open", "--watch")
    page = browser_context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(preview.url)
        page.wait_for_function("() => window.reader")
        page.evaluate("() => reader.ready")
        page.locator("#toc a").filter(has_text="Two").click()
        frame = page.frame_locator("#viewer iframe")
        frame.get_by_text("The second chapter.").wait_for()
        with page.expect_navigation(timeout=20_000):  # the reload that follows the rebuild
            (src / "two.md").write_text("# Two\n\nThe second chapter, rewritten.\n", "utf-8")
        page.wait_for_function("() => window.reader")
        page.evaluate("() => reader.ready")
        frame = page.frame_locator("#viewer iframe")
        frame.get_by_text("The second chapter, rewritten.").wait_for(timeout=10_000)
        assert page.evaluate("() => reader.rendition.currentLocation().start.href").endswith("ch002.xhtml")
        assert errors == []
    finally:
        page.close()
        assert preview.interrupt() == 0


def test_preview_watch_of_an_epub_is_refused(built_books):
    r = subprocess.run([sys.executable, "-m", "book", "preview", str(built_books["sample"].epub), "--watch", "--no-open"],
                       cwd=engine.ROOT, capture_output=True, text=True, timeout=60)
    if "not installed" in r.stderr:
        skip_or_fail(f"the epub.js reading engine is not installed (run: {engine.INSTALL})")
    assert r.returncode == 2, r.stderr
    assert "--watch rebuilds a book from its source" in r.stderr
