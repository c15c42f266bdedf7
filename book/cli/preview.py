"""`book preview`: read a book in the browser, in a real EPUB reading engine.

The reader page (book/reader/) runs epub.js, the engine behind many web and app readers.  The
engine is third-party JavaScript, so it is not part of book: it is installed from npm into the
project-local folder .tools/reader/ (see ENGINE_INSTALL), and found there or through the
BOOK_READER_ENGINE environment variable.

The server binds 127.0.0.1 only and answers a fixed set of paths — the page, its two files, the
engine's two files and the one EPUB — so nothing else on the disk can be read through it.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import sys
import tempfile
import threading
import webbrowser
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import EXIT_USAGE, BookError, ToolError

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
    places = [Path(env)] if env else [Path(__file__).resolve().parents[2] / ".tools" / "reader",
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


def version(epub: Path) -> bytes:
    """What the reader page polls while `book preview --watch` runs: a token that changes each
    time a rebuild renames a new EPUB into place (its inode, time and size)."""
    try:
        st = epub.stat()
    except OSError:
        return b"none"
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}".encode()


# An idle connection is closed after this many seconds: a page that opened hundreds of
# half-open connections cannot hold a thread each forever.
IDLE_SECONDS = 10


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, Path] = {}
    watched: Path | None = None  # the EPUB a watcher rebuilds: /version is served
    hosts: frozenset[str] = frozenset()  # the Host values the server answers (its own address)
    timeout = IDLE_SECONDS  # socketserver.StreamRequestHandler: a timeout on the connection's socket

    def do_GET(self, head=False):
        # DNS rebinding: a web page whose domain name is made to resolve to 127.0.0.1 could
        # otherwise read the book through the reader's browser; it sends its own name as Host.
        if self.headers.get("Host", "") not in self.hosts:
            self.send_error(421, "Misdirected Request")
            return
        url_path = urlsplit(self.path).path
        path = self.routes.get(url_path)
        if url_path == "/version":
            if self.watched is None:  # nothing rebuilds this book: the page need not ask again
                self.send_response(204)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                return
            data, kind = version(self.watched), "text/plain; charset=utf-8"
        elif path is None:
            self.send_error(404)
            return
        else:
            try:
                data = path.read_bytes()  # read per request: a rebuilt EPUB shows on reload
            except OSError:
                self.send_error(404)
                return
            kind = TYPES.get(path.suffix, "application/octet-stream")
            if url_path == "/" and self.watched is not None:
                # Tells the page to follow the rebuilds (reader.js); a page served by anything
                # else never asks for /version.
                data = data.replace(b"<head>", b'<head>\n<meta name="book-watch" content="/version">', 1)
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def do_HEAD(self):
        self.do_GET(head=True)

    def log_message(self, *args):  # one line per request would drown the URL
        pass


def serve(epub: Path, port: int = 0, watched: bool = False) -> http.server.ThreadingHTTPServer:
    """A server for the reader and `epub` on 127.0.0.1:`port` (0: any free port), not started;
    `watched`: `epub` is rebuilt on every save, and the page reloads it (see /version)."""
    handler = type("Handler", (_Handler,), {"routes": routes(epub, find_engine()),
                                            "watched": epub if watched else None})
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as e:
        raise PreviewError(f"cannot listen on 127.0.0.1:{port} ({e.strerror})",
                           hint="choose another port with --port, or leave it out to use a free one") from None
    server.daemon_threads = True
    bound = server.server_address[1]
    handler.hosts = frozenset({f"127.0.0.1:{bound}", f"localhost:{bound}"})
    return server


def _is_epub(path: Path) -> bool:
    """An EPUB's `mimetype` entry says so (OCF 3.3 §4.2.3); at most 64 bytes of it are read, so
    an entry that inflates to a gigabyte costs nothing."""
    try:
        with zipfile.ZipFile(path) as z, z.open("mimetype") as f:
            return f.read(64).strip() == b"application/epub+zip"
    except (OSError, KeyError, zipfile.BadZipFile, NotImplementedError, RuntimeError):
        return False


@contextlib.contextmanager
def _stopped_by_sigterm():
    """SIGTERM (a service manager, `kill`) ends the preview as Ctrl-C does, so its temporary
    folder is removed on the way out instead of left behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def preview(target: str | os.PathLike, *, port: int = 0, open_browser: bool = True,
            say=print, watch: bool = False, run_build=None) -> int:
    """Serve `target` (an .epub, or a source to build first) until Ctrl-C.  With `watch`, the
    source is built again on every save (book.cli.watch; `run_build(out, memory)` builds it, returning the
    line to print) and the open page reloads the new book at the place it showed."""
    find_engine()  # before a build: say at once what is missing
    target = Path(target)
    if watch and target.suffix.lower() == ".epub":
        raise PreviewError("--watch rebuilds a book from its source; an EPUB file has none", file=str(target),
                           hint="give the Markdown file or book folder: book preview my-book/ --watch")
    with _stopped_by_sigterm(), tempfile.TemporaryDirectory(prefix="book-preview-") as tmp:
        if target.suffix.lower() == ".epub" and not target.exists():
            raise PreviewError("no such EPUB file", file=str(target),
                               hint="build it first (book build), or give the Markdown source")
        if target.is_file() and target.suffix.lower() == ".epub":
            if not _is_epub(target):
                raise PreviewError(f"'{target}' is not an EPUB file", file=str(target))
            epub = target
        else:
            from ..build import build

            print(f"book: building {target}", file=sys.stderr)
            if watch:  # the watcher's own build, with its cache: the next one reuses it
                epub = Path(tmp) / "book.epub"
                run_build(epub)  # its memory is the watcher's from the next build on
            else:
                epub = build(target, Path(tmp) / "book.epub").output
        server = serve(epub, port, watched=watch)
        # Ctrl-C is how a user stops the preview: from here on it is a normal end, wherever it
        # lands (even before serve_forever starts).
        status, serving = 0, None
        try:
            url = f"http://127.0.0.1:{server.server_port}/"
            say(f"Previewing {target} at {url}  (press Ctrl-C to stop)")
            sys.stdout.flush()
            if open_browser:
                # A thread, so a slow browser start never delays the first request.
                threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
            if watch:
                from . import watch as watcher

                serving = threading.Thread(target=server.serve_forever, daemon=True)
                serving.start()
                status = watcher.watch(str(target), lambda memory: run_build(epub, memory), say=watcher.console(out=say),
                                       output=str(epub), first_build=False)
            else:
                server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            if watch and serving is not None and serving.is_alive():
                server.shutdown()
            server.server_close()
    return status

