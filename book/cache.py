"""A content-addressed cache of rendered chapters, so a rebuild renders only what changed.

An entry is one :class:`book.render.passes.RenderedChapter`, pickled, under a key that is the SHA-256
of everything `render_chapter` reads:

* the code that renders: the bytes of every module of the `book` package, and the versions of
  Python-Markdown, lxml and Pillow (a new `book`, or an edit to it, misses every entry);
* the chapter: its text, its file and the name messages give it, the line its text starts on;
* the settings: the book's root, the chapter's number, split level, title and language.

The image files a chapter uses are known only once it has rendered, so they are stored with the
entry — relative path and SHA-256 of the bytes — and checked when the entry is loaded: change an
image, and every chapter that shows it renders again.  Images are the only files a chapter
reads.  They are known by the path they resolve to, so one known limit: pointing a symbolic link
at another file is not noticed while the file it pointed to is unchanged (`--no-cache` renders
everything).  A chapter whose rendering fails (a missing image, say) is never stored, so its
error is reported again on the next build.

Entries live in `.cache/book/` beside the source (in the book's folder, or beside a single
Markdown file); ``BOOK_CACHE_DIR`` or `BuildOptions.cache_dir` names another folder
(:func:`cache_root`, the one place that decides).  Each entry is signed with a key kept in
the user's own cache folder (``$XDG_CACHE_HOME/book/hmac-key``), never beside the source, over
its name (its key) and its content: a cache folder that came with someone else's book is
ignored, not unpickled (unpickling runs code), and a signed entry moved to another name is
ignored too.  A book folder may come from someone hostile, and its `.cache/` with it, so an
entry is opened without following a symbolic link, only when it is a regular file no larger than
:data:`MAX_ENTRY_BYTES` (checked before it is read: no /dev/zero, no FIFO, no huge file), and
entries are written only into real folders below the cache root (no symbolic link leads a write
outside it).  Anything off is a miss, and the entry is made again.  A cache only makes builds
faster: one that cannot be written is reported once by the build (:func:`usable`), which then
goes on without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import pickle
import secrets
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .files import clean_stale_folder, write_atomic
from .options import RenderStats

FORMAT = 1  # bump when the entry layout changes
MAGIC = b"book-cache-1\n"
PRUNE_AFTER_DAYS = 30  # entries not used for this long are removed (checked at most once a day)
# The largest entry read back: a rendered chapter of the largest source file book reads (20 MB of
# Markdown, book.source.reader.MAX_FILE_BYTES) pickles to well under this.
MAX_ENTRY_BYTES = 256 * 1024 * 1024

_code_fingerprint: str | None = None
_hmac_key: bytes | None = None


def cache_root(root: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder of a book whose folder is `root`: `cache_dir` when given (a build passes
    ``BuildOptions.cache_dir``, which ``BOOK_CACHE_DIR`` fills in: book.options.resolve), else
    ``<root>/.cache/book``.  Chapters, blobs (``blobs/``), speech (``speech/``) and downloaded
    images (``remote/``) all live below it."""
    return Path(cache_dir) if cache_dir else Path(root) / ".cache" / "book"


def usable(folder: Path, root: str | os.PathLike) -> str | None:
    """None when the cache `folder` can be used, else why not (for a one-line warning).  Below
    the book's `root`, every part of its path must be a real folder, not a symbolic link: a
    hostile book could ship `.cache` as a link to any folder of the user's, into which a build
    would then write."""
    try:
        if not _real_folders(folder, Path(root)):
            return f"{folder} is, or is inside, a symbolic link"
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        return f"{folder} cannot be written ({e.strerror})"
    return None


def _real_folders(path: Path, root: Path) -> bool:
    """True when no existing part of `path` below `root` is a symbolic link or not a folder."""
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        return True  # a cache folder the user named elsewhere (BOOK_CACHE_DIR): theirs to set up
    here = Path(os.path.abspath(root))
    for part in rel.parts:
        here = here / part
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            return True  # made by book itself, as a real folder
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            return False
    return True


def folder_for(source, options) -> Path | None:
    """The cache folder a build of `source` with `options` uses, or None (no cache).

    ``cache=None`` (the default) caches a book folder in its own ``.cache/book``; a lone
    Markdown file is one chapter (any edit renders it again) in a folder that is not the
    book's, so it is cached only where a cache folder is named."""
    cache = options.cache
    if cache is None:
        cache = bool(options.cache_dir) or Path(source.meta_file).name == "book.yaml"
    return cache_root(source.root, options.cache_dir) if cache else None


def code_fingerprint() -> str:
    """SHA-256 of the `book` package's own modules and the versions of the libraries that shape
    a chapter's output.  Computed once per process."""
    global _code_fingerprint
    if _code_fingerprint is None:
        import lxml.etree
        import markdown
        import PIL

        from . import __version__

        h = hashlib.sha256()
        h.update(f"{FORMAT}|{__version__}|{sys.version_info[:2]}|{markdown.__version__}|"
                 f"{lxml.etree.LXML_VERSION}|{PIL.__version__}".encode())
        package = Path(__file__).resolve().parent
        for path in sorted(package.rglob("*.py")):
            h.update(path.relative_to(package).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
        _code_fingerprint = h.hexdigest()
    return _code_fingerprint


def _key_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "book" / "hmac-key"


def signing_key() -> bytes:
    """The user's secret for signing entries: made once, readable by the user alone.  When it
    cannot be stored, a key for this process only (entries are then good for this run alone)."""
    global _hmac_key
    if _hmac_key is None:
        path = _key_file()
        try:
            data = path.read_bytes()
            if len(data) < 32:
                raise FileNotFoundError
            _hmac_key = data
        except OSError:
            key = secrets.token_bytes(32)
            try:
                # Readable by the user alone; never replace a key another process made meanwhile.
                write_atomic(path, key, mode=0o600, replace=False)
                _hmac_key = path.read_bytes()
            except OSError:
                _hmac_key = key
    return _hmac_key


def chapter_key(chapter, settings: dict, text_digest: str | None = None) -> str:
    """The cache key of one chapter rendered with `settings` (the keyword arguments of
    `render_chapter`).  `text_digest`: the SHA-256 of the chapter's text, when the caller has
    it (the pieces of a long file, hashed by the plan of its cut), so it is not hashed twice."""
    if not settings.get("allow_remote"):
        # Where remote images would be kept changes nothing when none is fetched — and it is a
        # new temporary folder on each build of a lone article without a cache folder, whose
        # --watch process would otherwise never find a chapter it keeps in memory.
        settings = {k: v for k, v in settings.items() if k != "remote_dir"}
    head = json.dumps({"code": code_fingerprint(), "path": str(chapter.path), "name": chapter.name,
                       "first_line": chapter.first_line,
                       "settings": {k: str(v) for k, v in sorted(settings.items())}},
                      sort_keys=True, ensure_ascii=False)
    h = hashlib.sha256(head.encode("utf-8"))
    h.update(b"\0")
    if text_digest is not None:
        h.update(b"sha256:" + text_digest.encode("ascii"))
    else:
        h.update(chapter.text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


@dataclass
class Memory:
    """What a long-running process (`book build --watch`) keeps between two builds, on top of
    the cache folder: the last build's rendered chapters and compressed entries, and the
    hashes of image files (by path, size, time and inode).  Each build keeps only what it
    used, so it holds one book at most."""

    chapters: dict = field(default_factory=dict)  # key -> (image deps, RenderedChapter)
    looks: dict = field(default_factory=dict)  # key -> a long chapter's pieces, looked at (book.render.cut)
    merged: dict = field(default_factory=dict)  # a long chapter's pieces as merged (book.render.cut.merge)
    blobs: dict = field(default_factory=dict)  # key -> bytes
    hashes: dict = field(default_factory=dict)  # (path, size, mtime_ns, inode) -> sha256
    used_chapters: set = field(default_factory=set)
    used_blobs: set = field(default_factory=set)

    def trim(self) -> None:
        """Forget what the build just finished did not use; call after each build."""
        self.chapters = {k: v for k, v in self.chapters.items() if k in self.used_chapters}
        self.looks = {k: v for k, v in self.looks.items() if k in self.used_chapters}
        self.blobs = {k: v for k, v in self.blobs.items() if k in self.used_blobs}
        self.used_chapters, self.used_blobs = set(), set()


def _know_images(rendered, deps: list) -> None:
    """The pictures of a chapter loaded from an entry, for book.render.images.inspect: their
    bytes are those the entry was made from (`deps`, checked), so their type and size too."""
    if rendered.images:
        from .render import images  # noqa: PLC0415 - book.render imports this module

        digests = dict(deps)
        for im in rendered.images:
            if im.relpath in digests:
                images.known(digests[im.relpath], im.media_type, im.width, im.height)


class ChapterCache:
    """One cache folder.  `get` and `put` never raise for a cache problem; they miss.
    `directory` None: the memory of a long-running process only (a lone article in --watch)."""

    def __init__(self, directory: str | os.PathLike | None, root: str | os.PathLike, memory: Memory | None = None,
                 stats: RenderStats | None = None):
        self.dir = Path(directory) if directory is not None else None
        self.root = Path(root)
        self._dir, self._root = str(self.dir), str(self.root)
        self.stats = stats if stats is not None else RenderStats()
        self.memory = memory
        self._hashes: dict[tuple, str] = memory.hashes if memory is not None else {}

    # -- entries ---------------------------------------------------------------------------

    def _file(self, key: str) -> str:
        # (A string: a rebuild reads hundreds of entries, and a Path costs ~5 µs to make.)
        return os.path.join(self._dir, key[:2], f"{key}.pickle")

    def _path(self, key: str) -> Path:
        return Path(self._file(key))

    def _file_hash(self, relpath: str) -> str | None:
        path = os.path.join(self._root, relpath)
        try:
            st = os.stat(path)
            memo = (path, st.st_size, st.st_mtime_ns, st.st_ino)
            if memo not in self._hashes:
                with open(path, "rb") as f:
                    self._hashes[memo] = hashlib.sha256(f.read()).hexdigest()
            return self._hashes[memo]
        except OSError:
            return None

    def get(self, key: str, name: str = ""):
        """The RenderedChapter stored under `key`, or None (and the miss is counted)."""
        result = self._load(key)
        if result is None:
            self.stats.misses += 1
            self.stats.miss_names.append(name)
        else:
            self.stats.hits += 1
            self.stats.hit_names.append(name)
        return result

    def _load(self, key: str):
        if self.memory is not None:
            self.memory.used_chapters.add(key)
            kept = self.memory.chapters.get(key)
            if kept is not None:
                deps, rendered = kept
                if all(self._file_hash(relpath) == digest for relpath, digest in deps):
                    return rendered
        entry = self._entry(key)
        if not (isinstance(entry, tuple) and len(entry) == 2):
            return None
        deps, rendered = entry
        for relpath, digest in deps:
            if self._file_hash(relpath) != digest:
                return None
        _know_images(rendered, deps)
        self.remember(key, rendered, deps)
        return rendered

    def _entry(self, key: str):
        """What the entry `key` holds, unpickled, or None (no cache folder; missing, foreign,
        tampered or unreadable)."""
        if self.dir is None:
            return None
        payload = read_signed_entry(self._file(key), MAGIC, key, touch=True)
        if payload is None:
            return None
        try:
            return pickle.loads(payload)
        except Exception:  # noqa: BLE001 - an unreadable entry is a miss
            return None

    def remember(self, key: str, rendered, deps: list | None = None) -> None:
        """Keep `rendered` in memory (when there is one) for the next build of this process."""
        if self.memory is not None:
            deps = deps if deps is not None else self.deps(rendered)
            if deps is not None:
                self.memory.chapters[key] = (deps, rendered)
                self.memory.used_chapters.add(key)

    def deps(self, rendered) -> list | None:
        """(relative path, SHA-256) of each image `rendered` shows; None if one is unreadable."""
        deps = []
        for im in rendered.images:
            digest = self._file_hash(im.relpath)
            if digest is None:
                return None
            deps.append((im.relpath, digest))
        return deps

    def payload(self, key: str, rendered) -> bytes | None:
        """The signed bytes of the entry `key` for `rendered` (workers make them; see
        book.render.chapters)."""
        deps = self.deps(rendered)
        if deps is None:
            return None
        return signed_entry(MAGIC, key, pickle.dumps((deps, rendered), protocol=pickle.HIGHEST_PROTOCOL))

    def put_payload(self, key: str, data: bytes | None) -> bool:
        if data is None or self.dir is None:
            return False
        if not write_entry(self._path(key), data, self.dir):
            return False
        self.stats.stored += 1
        return True

    # -- what planning the cut of a long chapter found (book.render.cut) -----------------------

    def _looks_key(self, chapter) -> str:
        head = json.dumps({"code": code_fingerprint(), "looks": str(chapter.path), "name": chapter.name},
                          sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(head.encode("utf-8", "surrogatepass")).hexdigest()

    def looks(self, chapter) -> dict:
        """What the last plan of `chapter`'s file found in each piece (by the digest of its
        text; book.render.cut.look), or {}: one entry per file, so a rebuild reads one file,
        not one per piece."""
        key = self._looks_key(chapter)
        if self.memory is not None:
            self.memory.used_chapters.add(key)
            if key in self.memory.looks:
                return self.memory.looks[key]
        looks = self._entry(key)
        return looks if isinstance(looks, dict) else {}

    def keep_looks(self, chapter, looks: dict, changed: bool) -> None:
        """Keep the looks of `chapter`'s pieces for the next build (on disk when they changed)."""
        key = self._looks_key(chapter)
        if self.memory is not None:
            self.memory.looks[key] = looks
            self.memory.used_chapters.add(key)
        if changed and self.dir is not None:
            data = signed_entry(MAGIC, key, pickle.dumps(looks, protocol=pickle.HIGHEST_PROTOCOL))
            write_entry(self._path(key), data, self.dir)

    # -- housekeeping ----------------------------------------------------------------------

    def prune(self, max_age_days: float = PRUNE_AFTER_DAYS) -> int:
        """Remove entries unused for `max_age_days`; runs at most once a day per folder."""
        stamp = self.dir / ".pruned"
        now = time.time()
        try:
            if now - stamp.stat().st_mtime < 86400:
                return 0
        except OSError:
            pass
        removed = 0
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            stamp.touch()
            for entry in [*self.dir.glob("??/*.pickle"), *self.dir.glob(f"{BlobCache.FOLDER}/??/*.bin")]:
                try:
                    if now - entry.stat().st_mtime > max_age_days * 86400:
                        entry.unlink()
                        removed += 1
                except OSError:
                    pass
        except OSError:
            pass
        return removed


class BlobCache:
    """Bytes that took work to make, under a key that says what they were made from: the
    compressed ZIP entry of a document (book.package.ocfzip) and the generated cover (book.package.cover).  A
    rebuild after an edit takes them from here instead of making them again.  Entries are
    signed like chapters (they go into the book as they are) and live in `<folder>/blobs/`,
    pruned with the chapters; like the chapter cache, a problem with it only makes a miss."""

    FOLDER = "blobs"
    MAGIC = b"book-blob-1\n"

    def __init__(self, directory: str | os.PathLike | None, memory: Memory | None = None):
        self.dir = Path(directory) / self.FOLDER if directory is not None else None  # None: memory only
        self._dir = str(self.dir)
        self.memory = memory
        self.hits = self.misses = self.stored = 0

    def _file(self, key: str) -> str:
        return os.path.join(self._dir, key[:2], f"{key}.bin")  # (a string: see ChapterCache._file)

    def _path(self, key: str) -> Path:
        return Path(self._file(key))

    def get(self, key: str) -> bytes | None:
        if self.memory is not None:
            self.memory.used_blobs.add(key)
            if key in self.memory.blobs:
                self.hits += 1
                return self.memory.blobs[key]
        if self.dir is None:
            self.misses += 1
            return None
        payload = read_signed_entry(self._file(key), self.MAGIC, key, touch=True)
        if payload is None:
            self.misses += 1
        else:
            self.hits += 1
            self._remember(key, payload)
        return payload

    def _remember(self, key: str, payload: bytes) -> None:
        if self.memory is not None:
            self.memory.blobs[key] = payload
            self.memory.used_blobs.add(key)

    def put(self, key: str, payload: bytes) -> bool:
        self._remember(key, payload)
        if self.dir is None or not write_entry(self._path(key), signed_entry(self.MAGIC, key, payload), self.dir):
            return False
        self.stored += 1
        return True


def _mac(name: str, payload: bytes) -> bytes:
    """HMAC-SHA256, under the user's key, of an entry's name and content: an entry is good only
    under the name it was written for."""
    global _mac_base
    key = signing_key()
    if _mac_base is None or _mac_base[0] is not key:
        _mac_base = (key, hmac.new(key, digestmod=hashlib.sha256))  # (the key's pads, hashed once)
    mac = _mac_base[1].copy()
    mac.update(name.encode("utf-8") + b"\0")
    mac.update(payload)
    return mac.digest()


_mac_base: tuple | None = None


def signed_entry(magic: bytes, name: str, payload: bytes) -> bytes:
    """An entry's bytes: `magic`, the signature of `name` and `payload`, `payload` (for every
    cache kind: chapters, blobs, speech, downloaded images)."""
    return magic + _mac(name, payload) + payload


def read_entry(path: Path, limit: int = MAX_ENTRY_BYTES, touch=None) -> bytes | None:
    """The bytes of the cache file at `path`, or None unless it is a regular file (opened without
    following a symbolic link; a FIFO or device is never read, and never blocks) of at most
    `limit` bytes.  `touch(data)`: whether the bytes are an entry to mark used, for prune()
    (asked once in a while: prune counts in days)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        # One byte more than the file had: a file still growing is seen as too large only past
        # the limit.  (Reading `limit + 1` made a 256 MB buffer for each entry.)  os.read, not a
        # file object: a rebuild reads hundreds of entries.
        want = min(st.st_size, limit) + 1
        chunks, got = [], 0
        while got < want:
            chunk = os.read(fd, want - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if len(data) > limit:
            return None
        if touch is not None and time.time() - st.st_mtime > _TOUCH_AFTER and touch(data):
            with contextlib.suppress(OSError):  # (a cache shared read-only still reads)
                os.utime(fd if os.utime in os.supports_fd else path)
        return data
    except OSError:
        return None
    finally:
        os.close(fd)


_TOUCH_AFTER = 6 * 3600  # seconds: an entry used is marked used at most this often


def read_signed_entry(path: Path, magic: bytes, name: str, touch: bool = False) -> bytes | None:
    """The payload of the entry `name` at `path` when it starts with `magic` and carries the
    user's signature for that name; None for anything else (missing, unreadable, not a regular
    file, too large, foreign, tampered, renamed).  `touch`: see read_entry."""
    data = read_entry(path, touch=(lambda d: _signed_payload(d, magic, name) is not None) if touch else None)
    return None if data is None else _signed_payload(data, magic, name)


def _signed_payload(data: bytes, magic: bytes, name: str) -> bytes | None:
    n = len(magic)
    if not data.startswith(magic) or len(data) < n + 32:
        return None
    mac, payload = data[n:n + 32], data[n + 32:]
    if not hmac.compare_digest(mac, _mac(name, payload)):
        return None
    return payload


def write_entry(path: Path, data: bytes, top: Path) -> bool:
    """Write the cache file `path` whole or not at all (book.files), so a build running at the
    same time never reads half an entry, and only into real folders below the cache folder
    `top`.  False when it cannot be written: a cache only makes builds faster, so a cache that
    cannot be written never fails one."""
    try:
        if not _real_folders(path.parent, top):
            return False
        write_atomic(path, data)
    except OSError:
        return False
    _clean_folder_once(path.parent)
    return True


_cleaned: dict[Path, float] = {}  # cache folder -> when this process last cleaned it (monotonic)


def _clean_folder_once(folder: Path) -> None:
    """Remove what writers killed mid-entry left in `folder` (book.files.clean_stale_folder: only
    files no live writer holds a lock on).  Once per folder per process — a build, a worker, or
    an hour of a --watch session — not once per entry: a listing of the folder each time would
    cost more than the entries."""
    now = time.monotonic()
    if now - _cleaned.get(folder, -3600.0) >= 3600:
        _cleaned[folder] = now
        clean_stale_folder(folder)
