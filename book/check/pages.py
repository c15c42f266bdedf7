"""The first pages of an EPUB as two reading engines draw them, for `book check --html`: the
browser engine (Chromium, through Playwright: what epub.js, Readium and Thorium build on) and
MuPDF (through PyMuPDF: the engine of KOReader, SumatraPDF and many e-ink readers).  A broken
cover, a figure out of order or text in the wrong direction is seen at a glance when both are
side by side.

The EPUB may come from anyone, so neither engine is given a way out of it:

- Chromium runs with scripts off, reads every file through a request handler that answers only
  from inside the EPUB (http://book.invalid/…, nothing on disk, nothing from the network: every
  other request is refused), and each page has a time limit.
- MuPDF parses the EPUB in a child process with a time limit and a memory limit, so a file
  made to crash it or to loop costs that process, never `book`.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import posixpath
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

WIDTH, HEIGHT = 480, 720  # CSS pixels of a page: a 6-inch e-reader's proportions
PAGE_TIMEOUT_MS = 15_000  # Chromium: loading one page, its images and styles
MUPDF_TIMEOUT_S = 60  # MuPDF: laying out and drawing the pages, all together
MUPDF_MEMORY = 2 << 30  # bytes of address space the MuPDF process may use
ENTRY_LIMIT = 64 << 20  # bytes: a larger entry (a zip bomb) is not read
ORIGIN = "http://book.invalid"  # .invalid can never resolve (RFC 2606); requests never leave


class EngineMissing(Exception):
    """An engine is not installed: its message says what to install."""


@dataclass(frozen=True)
class Page:
    document: str  # the spine document, as a path inside the EPUB
    chromium: bytes | None = None  # PNG
    mupdf: bytes | None = None  # PNG


def spine_documents(epub: Path, count: int) -> list[str]:
    """The first `count` documents of the spine, as paths inside the EPUB."""
    from . import _spine
    from .epubfile import EpubFile

    with EpubFile(epub) as z:  # within the bounds of any EPUB read (book.check.epubfile)
        _opf_path, _opf, spine = _spine(z)
    return spine[:count]


def chromium_pages(epub: Path, documents: list[str]) -> list[bytes]:
    """A PNG of the first screen of each document, as Chromium lays it out at WIDTH × HEIGHT.
    Run in a thread of its own: Playwright's synchronous API refuses a thread whose asyncio
    loop is running (a caller inside asyncio, or another Playwright session)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_chromium_pages, epub, documents).result()


def _chromium_pages(epub: Path, documents: list[str]) -> list[bytes]:
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise EngineMissing("Playwright for Python is not installed: pip install 'book[report]'") from None
    from . import tools

    try:
        chromium = tools.find_chromium()
    except tools.ToolMissing as e:
        raise EngineMissing(str(e)) from None
    shots = []
    with zipfile.ZipFile(epub) as z:
        names = set(z.namelist())

        def answer(route):
            url = urlsplit(route.request.url)
            name = posixpath.normpath(unquote(url.path).lstrip("/"))
            if f"{url.scheme}://{url.netloc}" != ORIGIN or name not in names or name.startswith(".."):
                route.abort()
                return
            info = z.getinfo(name)
            if info.file_size > ENTRY_LIMIT:
                route.abort()
                return
            with z.open(info) as f:
                body = f.read(ENTRY_LIMIT + 1)
            if len(body) > ENTRY_LIMIT:
                route.abort()
                return
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if name.endswith((".xhtml", ".xht")):
                kind = "application/xhtml+xml"
            route.fulfill(status=200, body=body, content_type=kind)

        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(chromium),
                                             args=[f for f in tools.CHROMIUM_FLAGS if f != "--headless"])
                try:
                    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT},
                                                  java_script_enabled=False, offline=False)
                    context.route("**/*", answer)
                    page = context.new_page()
                    for doc in documents:
                        try:
                            page.goto(f"{ORIGIN}/{doc}", wait_until="load", timeout=PAGE_TIMEOUT_MS)
                            shots.append(page.screenshot(timeout=PAGE_TIMEOUT_MS))
                        except PlaywrightError:
                            shots.append(b"")  # this page would not load in time: shown as missing
                finally:
                    browser.close()
        except PlaywrightError as e:
            raise EngineMissing(f"Chromium could not be started through Playwright ({str(e).splitlines()[0]})") from None
    return shots


def mupdf_pages(epub: Path, documents: list[str]) -> list[bytes]:
    """A PNG of the first page of each document as MuPDF lays the book out at WIDTH × HEIGHT,
    drawn in a child process (see the module's notes)."""
    try:
        import pymupdf  # noqa: F401
    except ImportError:
        raise EngineMissing("PyMuPDF is not installed: pip install 'book[report]'") from None

    def limit():  # in the child, before it runs: no more memory than MUPDF_MEMORY
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (MUPDF_MEMORY, MUPDF_MEMORY))
        except (ImportError, ValueError, OSError):
            pass

    # The child imports this very `book` (PYTHONPATH) and starts in an empty folder: `python -m`
    # puts its folder first on the import path, and the folder `book check` runs in may hold
    # anything, a `book/` package of someone else's included.
    here = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p))
    with tempfile.TemporaryDirectory(prefix="book-mupdf-") as empty:
        try:
            done = subprocess.run([sys.executable, "-m", "book.check.pages", str(Path(epub).resolve()),
                                   str(len(documents))], capture_output=True, timeout=MUPDF_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL, cwd=empty, env=env,
                                  preexec_fn=limit if os.name == "posix" else None)
        except subprocess.TimeoutExpired:
            return [b""] * len(documents)
    if done.returncode != 0:
        return [b""] * len(documents)
    pngs = [base64.b64decode(p) for p in json.loads(done.stdout)]
    return (pngs + [b""] * len(documents))[:len(documents)]


def _draw_with_mupdf(epub: str, count: int) -> list[str]:
    """In the child process: the first page of each of the first `count` spine documents
    (MuPDF's "chapters" are the spine's items), as base64 PNGs."""
    import pymupdf

    doc = pymupdf.open(epub)
    doc.layout(width=WIDTH, height=HEIGHT, fontsize=11)
    out = []
    for chapter in range(min(count, doc.chapter_count)):
        if doc.chapter_page_count(chapter) == 0:
            out.append("")
            continue
        pix = doc.load_page((chapter, 0)).get_pixmap(dpi=72)
        out.append(base64.b64encode(pix.tobytes("png")).decode())
    return out


def pages(epub: Path, count: int = 4) -> tuple[list[Page], list[str]]:
    """The first `count` spine documents drawn by both engines, and what could not be drawn
    (an engine that is not installed, said in one line each)."""
    documents = spine_documents(epub, count)
    missing = []
    drawn = {}
    for name, draw in (("chromium", chromium_pages), ("mupdf", mupdf_pages)):
        try:
            drawn[name] = draw(epub, documents)
        except EngineMissing as e:
            missing.append(str(e))
            drawn[name] = [None] * len(documents)
    return [Page(doc, drawn["chromium"][i] or None, drawn["mupdf"][i] or None)
            for i, doc in enumerate(documents)], missing


if __name__ == "__main__":  # the MuPDF child process
    print(json.dumps(_draw_with_mupdf(sys.argv[1], int(sys.argv[2]))))
