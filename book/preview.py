"""`book preview`: read a book in the browser, in a real EPUB reading engine.

The reader page (book/reader/) runs epub.js, the engine behind many web and app readers.  The
engine is third-party JavaScript, so it is not part of book: it is installed from npm into the
project-local folder .tools/reader/ (see ENGINE_INSTALL), and found there or through the
BOOK_READER_ENGINE environment variable.

The server binds 127.0.0.1 only and answers a fixed set of paths — the page, its two files, the
engine's two files and the one EPUB — so nothing else on the disk can be read through it.
"""

from __future__ import annotations

import http.server
import os
import sys
import tempfile
import threading
import webbrowser
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from .errors import EXIT_USAGE, BookError, ToolError

READER_DIR = Path(__file__).resolve().parent / "reader"
ENGINE_PACKAGES = "epubjs@0.3.93 jszip@3.10.1"
ENGINE_INSTALL = f"npm install --prefix .tools/reader --save-exact {ENGINE_PACKAGES}"
# Where each engine file sits inside a node_modules folder.
ENGINE_FILES = {"epub.min.js": "epubjs/dist/epub.min.js", "jszip.min.js": "jszip/dist/jszip.min.js"}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".epub": "application/epub+zip"}


class PreviewError(BookError):
    exit_code = EXIT_USAGE


def find_engine() -> dict[str, Path]:
    """The engine's files by name.  BOOK_READER_ENGINE (a folder holding node_modules/) wins;
    else .tools/reader/ of the checkout book runs from, else of the working folder."""
    env = os.environ.get("BOOK_READER_ENGINE")
    places = [Path(env)] if env else [Path(__file__).resolve().parent.parent / ".tools" / "reader",
                                      Path.cwd() / ".tools" / "reader"]
    for place in places:
        files = {name: place / "node_modules" / rel for name, rel in ENGINE_FILES.items()}
        if all(p.is_file() for p in files.values()):
            return files
    raise ToolError(f"the EPUB reading engine (epub.js) is not installed in {places[0]}",
                    hint=f"install it with: {ENGINE_INSTALL}   (or run: bash tests/e2e/install.sh)")


def routes(epub: Path, engine: dict[str, Path]) -> dict[str, Path]:
    table = {"/": READER_DIR / "index.html", "/book.epub": epub}
    table.update({f"/reader/{p.name}": p for p in READER_DIR.iterdir() if p.suffix in TYPES})
    table.update({f"/engine/{name}": path for name, path in engine.items()})
    return table


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, Path] = {}

    def do_GET(self, head=False):
        path = self.routes.get(urlsplit(self.path).path)
        if path is None:
            self.send_error(404)
            return
        try:
            data = path.read_bytes()  # read per request: a rebuilt EPUB shows on reload
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(path.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def do_HEAD(self):
        self.do_GET(head=True)

    def log_message(self, *args):  # one line per request would drown the URL
        pass


def serve(epub: Path, port: int = 0) -> http.server.ThreadingHTTPServer:
    """A server for the reader and `epub` on 127.0.0.1:`port` (0: any free port), not started."""
    handler = type("Handler", (_Handler,), {"routes": routes(epub, find_engine())})
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as e:
        raise PreviewError(f"cannot listen on 127.0.0.1:{port} ({e.strerror})",
                           hint="choose another port with --port, or leave it out to use a free one") from None


def _is_epub(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return z.read("mimetype").strip() == b"application/epub+zip"
    except (OSError, KeyError, zipfile.BadZipFile):
        return False


def preview(target: str | os.PathLike, *, port: int = 0, open_browser: bool = True,
            say=print) -> int:
    """Serve `target` (an .epub, or a source to build first) until Ctrl-C."""
    find_engine()  # before a build: say at once what is missing
    target = Path(target)
    with tempfile.TemporaryDirectory(prefix="book-preview-") as tmp:
        if target.suffix.lower() == ".epub" and not target.exists():
            raise PreviewError("no such EPUB file", file=str(target),
                               hint="build it first (book build), or give the Markdown source")
        if target.is_file() and target.suffix.lower() == ".epub":
            if not _is_epub(target):
                raise PreviewError(f"'{target}' is not an EPUB file", file=str(target))
            epub = target
        else:
            from .build import build

            print(f"book: building {target}", file=sys.stderr)
            epub = build(target, Path(tmp) / "book.epub").output
        server = serve(epub, port)
        # Ctrl-C is how a user stops the preview: from here on it is a normal end, wherever it
        # lands (even before serve_forever starts).
        try:
            url = f"http://127.0.0.1:{server.server_port}/"
            say(f"Previewing {target} at {url}  (press Ctrl-C to stop)")
            sys.stdout.flush()
            if open_browser:
                # A thread, so a slow browser start never delays the first request.
                threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0
