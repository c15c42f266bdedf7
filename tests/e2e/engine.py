"""Open EPUBs in a real reading engine — epub.js in headless Chromium — and ask it questions.

The reader page is book/cli/reader/ (the one `book preview` serves); the engine's JavaScript comes
from .tools/reader/node_modules (installed by tests/e2e/install.sh, never kept in the repo).
A small static site on 127.0.0.1 serves the three with symbolic links, so what the tests load
is byte for byte what a user's preview loads.

The checks return *problems* (lists of strings) instead of asserting, so a test can show that
a check fails on a deliberately broken book as well as that it passes on a good one.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READER_DIR = ROOT / "book" / "cli" / "reader"
# Where install.sh puts the engine; BOOK_READER_ENGINE overrides it, as for `book preview`.
NODE_MODULES = Path(os.environ.get("BOOK_READER_ENGINE") or ROOT / ".tools" / "reader") / "node_modules"
ENGINE_FILES = {
    "epub.min.js": NODE_MODULES / "epubjs" / "dist" / "epub.min.js",
    "jszip.min.js": NODE_MODULES / "jszip" / "dist" / "jszip.min.js",
}
CHROMIUM = Path(os.environ.get("BOOK_CHROMIUM", "/usr/bin/chromium"))
# Root needs --no-sandbox; the rest keep Chromium from calling home on a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
INSTALL = "bash tests/e2e/install.sh"


def missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when everything they need is installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright for Python is not installed (run: {INSTALL})"
    if not CHROMIUM.is_file():
        return f"Chromium is not at {CHROMIUM} (run: {INSTALL})"
    absent = [str(p) for p in ENGINE_FILES.values() if not p.is_file()]
    if absent:
        return f"the epub.js reading engine is not installed ({', '.join(absent)} missing; run: {INSTALL})"
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output for failures
        pass


class Site:
    """index.html + /reader/ + /engine/ + /books/ on 127.0.0.1, from a thread."""

    def __init__(self, root: Path):
        self.root = root
        (root / "engine").mkdir(parents=True)
        (root / "books").mkdir()
        (root / "reader").symlink_to(READER_DIR)
        (root / "index.html").symlink_to(READER_DIR / "index.html")
        for name, path in ENGINE_FILES.items():
            (root / "engine" / name).symlink_to(path)
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def add(self, epub: Path, name: str) -> str:
        """Publish `epub` as /books/<name>.epub; returns the reader's URL for it."""
        shutil.copyfile(epub, self.root / "books" / f"{name}.epub")
        return f"{self.base}/index.html?book=/books/{name}.epub"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# Installed once per page as window.e2e.  Visibility is geometric — what a person would see:
# a text is on the page when its boxes intersect the engine's viewport (epub.js lays a chapter out
# in columns inside one wide iframe and scrolls the container), so it works the same for RTL.
_HELPERS_JS = r"""
() => {
  const r = window.reader;
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
  const settle = () => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));

  function flatToc(items, depth = 0, out = []) {
    for (const it of items) {
      out.push({ label: norm(it.label), href: r.resolveHref(it.href), raw: it.href, depth });
      flatToc(it.subitems || [], depth + 1, out);
    }
    return out;
  }

  function contentsFor(path) {
    const section = r.book.spine.get(path);
    if (!section) return null;
    return r.rendition.getContents().find((c) => c.sectionIndex === section.index) || null;
  }

  function viewport(doc) {
    const frame = doc.defaultView.frameElement.getBoundingClientRect();
    const box = r.rendition.manager.container.getBoundingClientRect();
    // A rectangle in the iframe's coordinates is seen if it overlaps the container's box.
    return (rc) => rc.width > 0 && rc.height > 0 &&
      rc.left + frame.left < box.right - 1 && rc.right + frame.left > box.left + 1 &&
      rc.top + frame.top < box.bottom - 1 && rc.bottom + frame.top > box.top + 1;
  }

  function visibleText(doc) {
    const seen = viewport(doc);
    const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
    const range = doc.createRange();
    let out = "";
    for (let n; (n = walker.nextNode());) {
      if (!n.data.trim()) { out += " "; continue; }
      range.selectNodeContents(n);
      const rects = [...range.getClientRects()];
      if (!rects.some(seen)) continue;
      if (rects.every(seen)) { out += n.data; continue; }
      // A paragraph split across pages: keep only the characters on this one.
      for (let i = 0; i < n.data.length; i++) {
        range.setStart(n, i); range.setEnd(n, i + 1);
        const rc = range.getClientRects()[0];
        // A space where a line wraps has no box of its own; keep it so words stay apart.
        if ((rc && seen(rc)) || /\s/.test(n.data[i])) out += n.data[i];
      }
    }
    return norm(out);
  }

  async function show(href) {
    await r.rendition.display(href);
    await settle();
  }

  async function visit(entry) {
    const [path, frag] = entry.href.split("#");
    const res = { label: entry.label, href: entry.href };
    try { await show(entry.href); }
    catch (e) { res.error = "the engine cannot display it (" + (e.message || e) + ")"; return res; }
    const loc = r.rendition.currentLocation();
    res.shown = loc && loc.start ? loc.start.href : null;
    const c = contentsFor(path);
    if (!c) { res.error = "the engine rendered no document for " + path; return res; }
    const doc = c.document;
    res.visible = visibleText(doc);
    res.bodyStart = norm(doc.body.textContent).slice(0, 200);
    if (frag) {
      const el = doc.getElementById(frag);
      if (!el) { res.error = `there is no element with id "${frag}" in ${path}`; return res; }
      res.target = norm(el.textContent);
      res.targetSeen = [...el.getClientRects()].some(viewport(doc));
    }
    return res;
  }

  function original(url) {
    // epub.js swaps each resource for a blob: URL; map it back to the file in the EPUB.
    const i = r.book.resources.replacementUrls.indexOf(url);
    return i >= 0 ? r.book.resources.urls[i] : url;
  }

  async function images(path) {
    await show(path);
    const doc = contentsFor(path).document;
    const imgs = [...doc.images];
    await Promise.all(imgs.map((img) => img.complete ? null : new Promise((ok) => {
      img.addEventListener("load", ok, { once: true });
      img.addEventListener("error", ok, { once: true });
      setTimeout(ok, 5000);
    })));
    return imgs.map((img) => ({
      doc: path, src: original(img.getAttribute("src")), alt: img.getAttribute("alt"),
      role: img.getAttribute("role"), cover: img.getAttribute("role") === "doc-cover",
      complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
    }));
  }

  async function direction(path) {
    await show(path);
    const doc = contentsFor(path).document;
    return { engine: r.book.packaging.metadata.direction, dir: doc.documentElement.getAttribute("dir"),
             computed: doc.defaultView.getComputedStyle(doc.body).direction };
  }

  const spine = () => r.book.spine.spineItems.filter((s) => s.linear).map((s) => s.href);
  window.e2e = { flatToc: () => flatToc(r.book.navigation.toc), visit, images, direction, spine, show };
}
"""


@dataclass
class OpenBook:
    """A book open in the reader page; `errors` collects what the console and network report."""

    page: object
    url: str
    errors: list[str] = field(default_factory=list)

    def metadata(self) -> dict:
        return self.page.evaluate("() => reader.book.packaging.metadata")

    def toc(self) -> list[dict]:
        return self.page.evaluate("() => e2e.flatToc()")

    def check_toc(self) -> tuple[list[dict], list[str]]:
        """Navigate to every TOC entry; (entries, problems), one problem line per broken entry."""
        entries = self.toc()
        problems = []
        for entry in entries:
            res = self.page.evaluate("(e) => e2e.visit(e)", entry)
            problem = toc_problem(res)
            if problem:
                problems.append(f"TOC entry {entry['label']!r} → {entry['raw']}: {problem}")
        return entries, problems

    def images(self) -> list[dict]:
        found = []
        for href in self.page.evaluate("() => e2e.spine()"):
            found += self.page.evaluate("(h) => e2e.images(h)", href)
        return found

    def direction(self, href: str) -> dict:
        return self.page.evaluate("(h) => e2e.direction(h)", href)

    def show(self, href: str) -> None:
        self.page.evaluate("(h) => e2e.show(h)", href)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


def toc_problem(res: dict) -> str | None:
    """What is wrong with one visited TOC entry (a result of e2e.visit), or None."""
    if res.get("error"):
        return res["error"]
    label, visible = res["label"], res["visible"]
    path = res["href"].split("#")[0]
    if res["shown"] != path:
        return f"the engine shows {res['shown']} instead of {path}"
    if "target" in res:
        if not res["target"].startswith(label):
            return f"it points at {res['target'][:60]!r}, not at a heading {label!r}"
        if not res["targetSeen"]:
            return "its heading is not on the page the engine shows"
        # A heading that opens its document must open the page, too.
        if res["bodyStart"].startswith(res["target"][:100]) and not visible.startswith(label):
            return f"the page starts with {visible[:60]!r}, not with the heading"
    elif not visible.startswith(label):
        # A link to a whole document: the page shown must be its start, with the heading first.
        return f"the page starts with {visible[:60]!r}, not with {label!r}"
    if label not in visible:
        return f"{label!r} is not among the visible text"
    return None


def open_book(context, url: str) -> OpenBook:
    """A new page in `context` showing the reader for `url`, with the test helpers installed."""
    page = context.new_page()
    book = OpenBook(page, url)
    page.on("console", lambda m: m.type == "error" and book.errors.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: book.errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: book.errors.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and book.errors.append(f"HTTP {r.status}: {r.url}"))
    page.goto(url)
    page.wait_for_function("() => window.reader")
    page.evaluate("() => reader.ready")
    if page.locator("#error").is_visible():
        raise AssertionError(page.locator("#error").inner_text())
    page.evaluate(_HELPERS_JS)
    return book


# Markdown images: ![alt](path "title"){attrs}
_MD_IMAGE = re.compile(r'!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)(?:\s+"[^"]*")?\)(?P<attrs>\{[^}]*\})?')


def source_images(markdown: str) -> list[tuple[str, str]]:
    """(file name, expected alt) for each image of a Markdown text; decorative ones expect ""."""
    return [(m["src"].rsplit("/", 1)[-1], "" if ".decorative" in (m["attrs"] or "") else m["alt"])
            for m in _MD_IMAGE.finditer(markdown)]
