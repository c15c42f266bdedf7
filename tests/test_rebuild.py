"""Fast rebuilds: book's own ZIP writer (book.ocfzip), the cache of compressed entries and of the
cover (book.cache.BlobCache), what a long-running process keeps in memory (book.cache.Memory),
and `book build --watch` (book.watch, book.cli)."""

from __future__ import annotations

import gc
import io
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from book import cache as cachelib
from book import BuildOptions
from book.cli import watch
from book.package import ocfzip
from book.build import build
from book.cli import main
from book.errors import BookError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _private_key(tmp_path, monkeypatch):
    """The signing key lives in a throw-away cache home, not the user's; caches go beside the
    test's book (under tmp_path), never in a BOOK_CACHE_DIR of the environment."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.delenv("BOOK_CACHE_DIR", raising=False)
    monkeypatch.setattr(cachelib, "_hmac_key", None)


# ---------------------------------------------------------------------------------------------
# Helpers


def words(n: int, seed: int) -> str:
    """`n` pseudo-random words: compressible like text, but not trivially."""
    rnd = random.Random(seed)
    vocab = ["reading", "system", "chapter", "heading", "paragraph", "über", "café", "naïve", "ebook",
             "spine", "manifest", "landmark", "alt", "text", "figure", "table", "note", "lang"]
    return " ".join(rnd.choice(vocab) + str(rnd.randrange(1000)) for _ in range(n))


def sample_entries() -> list[tuple[str, bytes]]:
    """mimetype first, then small and big entries, one with a non-ASCII name, one over 1 MB."""
    return [
        ("mimetype", b"application/epub+zip"),
        ("META-INF/container.xml", b'<?xml version="1.0"?><container version="1.0"/>'),
        ("EPUB/text/tiny.xhtml", b"<p>hi</p>"),
        ("EPUB/text/caf\u00e9-\u00fcber-\u65e5\u672c.xhtml", words(2000, 1).encode("utf-8")),
        ("EPUB/text/big.xhtml", words(200_000, 2).encode("utf-8")),  # > 1 MB
        ("EPUB/text/medium.xhtml", words(5000, 3).encode("utf-8")),
        ("EPUB/images/noise.bin", random.Random(4).randbytes(50_000)),  # incompressible
        ("EPUB/empty.txt", b""),
    ]


def with_zipfile(entries) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.create_system = 3
            if name == "mimetype":
                z.writestr(info, data, compress_type=zipfile.ZIP_STORED)
            else:
                z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return buf.getvalue()


def with_zipout(entries, **kwargs) -> tuple[bytes, ocfzip.ZipOut]:
    buf = io.BytesIO()
    out = ocfzip.ZipOut(buf, **kwargs)
    for name, data in entries:
        out.writestr(name, data)
    out.close()
    return buf.getvalue(), out


def assert_round_trip(data: bytes, entries) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        assert z.namelist() == [name for name, _ in entries]
        for name, content in entries:
            assert z.read(name) == content
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    # OCF §4.2.3: "mimetype" at offset 30, uncompressed, with no extra field.
    assert data[30:38] == b"mimetype" and data[38:58] == b"application/epub+zip"


def blob_files(folder: Path) -> list[Path]:
    return sorted((folder / cachelib.BlobCache.FOLDER).glob("??/*.bin"))


def blob_payload(path: Path) -> bytes:
    return path.read_bytes()[len(cachelib.BlobCache.MAGIC) + 32:]


def make_book(folder: Path, title: str = "Watched Book") -> Path:
    folder.mkdir(parents=True)
    names = []
    for i in range(1, 4):
        body = [f"# Chapter {i}", "", f"Text of chapter {i}.", "", words(1500, 10 + i), "",
                f"## Part {i}.1", "", "- one item", "- another item", ""]
        (folder / f"ch{i}.md").write_text("\n".join(body), "utf-8")
        names.append(f"ch{i}.md")
    (folder / "book.yaml").write_text(f"title: {title}\nlang: en\nauthor: T. Ester\nchapters:\n" +
                                      "".join(f"  - {n}\n" for n in names), "utf-8")
    return folder


def edit(path: Path, text: str) -> None:
    """Write `text` to `path` so a poll cannot miss it: the size changes as well as the time."""
    before = path.stat()
    path.write_text(text, "utf-8")
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)


def base(names) -> list[str]:
    return sorted(n.replace("\\", "/").rsplit("/", 1)[-1] for n in names)


# ---------------------------------------------------------------------------------------------
# 1. ocfzip.ZipOut: the bytes zipfile writes


@pytest.mark.parametrize("threads", [1, 4])
def test_zipout_matches_zipfile_byte_for_byte(threads):
    entries = sample_entries()
    assert len(entries[4][1]) > 1 << 20
    expected = with_zipfile(entries)
    got, out = with_zipout(entries, threads=threads)
    assert got == expected
    assert out.deflated == len(entries) - 1 and out.from_cache == 0
    assert_round_trip(got, entries)
    with zipfile.ZipFile(io.BytesIO(got)) as z:
        info = z.getinfo("EPUB/text/caf\u00e9-\u00fcber-\u65e5\u672c.xhtml")
        assert info.flag_bits & 0x800, "a non-ASCII name is marked UTF-8"
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o644 and info.create_system == 3
        assert not z.getinfo("EPUB/text/big.xhtml").flag_bits & 0x800


def test_zipout_parallel_path_is_taken_and_gives_the_same_bytes(monkeypatch):
    """threads > 1 with over 1 MB to deflate goes through the thread pool: same bytes as one thread."""
    entries = sample_entries()
    used = []
    real = ocfzip.ThreadPoolExecutor

    def spy(*args, **kwargs):
        used.append(args or kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(ocfzip, "ThreadPoolExecutor", spy)
    serial, _ = with_zipout(entries, threads=1)
    assert used == [], "one thread: no pool"
    parallel_bytes, _ = with_zipout(entries, threads=3)
    assert used, "over 1 MB on several threads: the pool is used"
    assert parallel_bytes == serial == with_zipfile(entries)


def test_zipout_other_level_matches_zipfile():
    entries = [("mimetype", b"application/epub+zip"), ("a.txt", words(3000, 7).encode())]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr, info.create_system = 0o644 << 16, 3
            kind = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            z.writestr(info, data, compress_type=kind, compresslevel=9)
    got, _ = with_zipout(entries, level=9, threads=1)
    assert got == buf.getvalue()


# ---------------------------------------------------------------------------------------------
# 2. The cache of compressed entries


def test_second_write_takes_big_entries_from_the_cache(tmp_path):
    entries = sample_entries()
    expected = with_zipfile(entries)
    big = [n for n, d in entries if n != "mimetype" and len(d) >= ocfzip.CACHE_MIN_BYTES]
    small = [n for n, d in entries if n != "mimetype" and len(d) < ocfzip.CACHE_MIN_BYTES]
    assert big and small

    cache = cachelib.BlobCache(tmp_path / "c")
    first, out = with_zipout(entries, cache=cache, threads=2)
    assert first == expected
    assert out.from_cache == 0 and out.deflated == len(big) + len(small)
    assert len(blob_files(tmp_path / "c")) == len(big), "only entries of CACHE_MIN_BYTES or more are kept"

    cache = cachelib.BlobCache(tmp_path / "c")  # a new build: from the files, not from memory
    second, out = with_zipout(entries, cache=cache, threads=2)
    assert second == expected
    assert out.from_cache == len(big) and out.deflated == len(small)
    assert cache.hits == len(big) and cache.misses == 0

    # Only small entries are left to deflate: big entries alone, all cached, deflate nothing.
    only_big = [entries[0]] + [(n, d) for n, d in entries if n in big]
    third, out = with_zipout(only_big, cache=cachelib.BlobCache(tmp_path / "c"), threads=2)
    assert out.deflated == 0 and out.from_cache == len(big)
    assert third == with_zipfile(only_big)


def test_a_tampered_cache_entry_is_a_miss_and_the_output_stays_right(tmp_path):
    entries = [("mimetype", b"application/epub+zip"), ("doc.xhtml", words(20_000, 9).encode())]
    expected = with_zipfile(entries)
    with_zipout(entries, cache=cachelib.BlobCache(tmp_path / "c"), threads=1)
    (entry,) = blob_files(tmp_path / "c")
    data = bytearray(entry.read_bytes())
    data[len(cachelib.BlobCache.MAGIC) + 32 + 100] ^= 0x01  # a bit of the compressed payload
    entry.write_bytes(bytes(data))

    cache = cachelib.BlobCache(tmp_path / "c")
    got, out = with_zipout(entries, cache=cache, threads=1)
    assert out.from_cache == 0 and out.deflated == 1 and cache.misses == 1
    assert got == expected
    assert_round_trip(got, entries)
    # The miss wrote a good entry again: the next write takes it.
    again, out = with_zipout(entries, cache=cachelib.BlobCache(tmp_path / "c"), threads=1)
    assert out.from_cache == 1 and again == expected


def test_a_blob_signed_with_another_key_is_ignored(tmp_path, monkeypatch):
    entries = [("mimetype", b"application/epub+zip"), ("doc.xhtml", words(20_000, 9).encode())]
    with_zipout(entries, cache=cachelib.BlobCache(tmp_path / "c"), threads=1)
    monkeypatch.setattr(cachelib, "_hmac_key", b"k" * 32)
    got, out = with_zipout(entries, cache=cachelib.BlobCache(tmp_path / "c"), threads=1)
    assert out.from_cache == 0 and got == with_zipfile(entries)


# ---------------------------------------------------------------------------------------------
# 3. Memory


def test_memory_trim_keeps_only_what_the_last_build_used(tmp_path):
    memory = cachelib.Memory()
    blobs = cachelib.BlobCache(tmp_path / "c", memory)
    blobs.put("aa" + "0" * 62, b"A")
    blobs.put("bb" + "0" * 62, b"B")
    memory.trim()
    assert set(memory.blobs) == {"aa" + "0" * 62, "bb" + "0" * 62}
    assert memory.used_blobs == set() and memory.used_chapters == set()

    # The next build uses only A (from memory) and makes C.
    blobs = cachelib.BlobCache(tmp_path / "c", memory)
    assert blobs.get("aa" + "0" * 62) == b"A"
    blobs.put("cc" + "0" * 62, b"C")
    memory.trim()
    assert memory.blobs == {"aa" + "0" * 62: b"A", "cc" + "0" * 62: b"C"}

    # Chapters likewise.
    store = cachelib.ChapterCache(tmp_path / "c", tmp_path, memory)
    store.remember("k1", "chapter one", [])
    store.remember("k2", "chapter two", [])
    memory.trim()
    store = cachelib.ChapterCache(tmp_path / "c", tmp_path, memory)
    assert store.get("k2", "two.md") == "chapter two"  # from memory: never written to disk
    assert store.get("k3", "three.md") is None
    memory.trim()
    assert set(memory.chapters) == {"k2"}
    assert memory.blobs == {}, "a build that used no blob keeps none"


def test_memory_after_builds_holds_one_book(tmp_path):
    src = make_book(tmp_path / "book")
    memory = cachelib.Memory()
    build(src, tmp_path / "a.epub", BuildOptions(cache=True, jobs=1, memory=memory))
    assert len(memory.chapters) == 3
    first_blobs = set(memory.blobs)
    assert first_blobs, "the cover and the compressed documents are kept"
    ch2 = src / "ch2.md"
    edit(ch2, ch2.read_text("utf-8") + "\nOne more line.\n")
    stats = build(src, tmp_path / "b.epub", BuildOptions(cache=True, jobs=1, memory=memory)).stats
    assert len(memory.chapters) == 3, "the old version of ch2 is forgotten"
    assert stats.hits == 2 and base(stats.miss_names) == ["ch2.md"]
    assert len(memory.blobs) == len(first_blobs), "one document changed: one blob replaced"
    assert len(set(memory.blobs) - first_blobs) == 1
    assert memory.used_blobs == set() and memory.used_chapters == set()


def test_memory_after_failed_builds_holds_one_book(tmp_path):
    src = make_book(tmp_path / "book")
    memory = cachelib.Memory()

    def build_once(out):
        build(src, tmp_path / out, BuildOptions(cache=True, jobs=1, memory=memory))

    build_once("a.epub")
    ch3 = src / "ch3.md"
    good = ch3.read_text("utf-8")
    for k in range(3):  # three saves with an error (a heading skips a level)
        edit(ch3, f"# Chapter 3\n\n### Skipped {k}\n")
        with pytest.raises(BookError):
            build_once("b.epub")
    edit(ch3, good + "\nFixed.\n")
    build_once("c.epub")
    assert len(memory.chapters) == 3, "only the chapters of the last build are kept"


# ---------------------------------------------------------------------------------------------
# 4. A book built twice with the cache


def test_book_built_twice_with_the_cache_gives_the_same_bytes(tmp_path):
    src = make_book(tmp_path / "book")
    stats = build(src, tmp_path / "first.epub", BuildOptions(cache=True)).stats
    assert stats.misses == 3
    folder = src / ".cache" / "book"
    blobs = blob_files(folder)
    assert blobs
    with zipfile.ZipFile(tmp_path / "first.epub") as z:
        cover_png = z.read("EPUB/images/cover.png")
        docs = {i.filename: z.read(i.filename) for i in z.infolist()
                if i.compress_type == zipfile.ZIP_DEFLATED and i.file_size >= ocfzip.CACHE_MIN_BYTES}
    payloads = {blob_payload(p) for p in blobs}
    assert cover_png in payloads, "the generated cover is in blobs/"
    assert docs
    for name, data in docs.items():
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        assert c.compress(data) + c.flush() in payloads, f"{name}: its compressed entry is in blobs/"
    assert len(blobs) == len(docs) + 1

    stats = build(src, tmp_path / "second.epub", BuildOptions(cache=True)).stats
    assert stats.hits == 3 and stats.misses == 0
    assert (tmp_path / "second.epub").read_bytes() == (tmp_path / "first.epub").read_bytes()
    build(src, tmp_path / "cold.epub", BuildOptions(cache=False))
    assert (tmp_path / "cold.epub").read_bytes() == (tmp_path / "first.epub").read_bytes()
    assert blob_files(folder) == blobs, "nothing new to store"


def test_cached_cover_is_the_drawn_cover(tmp_path):
    from book.package import cover
    from book.source import load

    meta = load(make_book(tmp_path / "book")).meta
    cache = cachelib.BlobCache(tmp_path / "c")
    drawn = cover.cover_png(meta, cache)
    assert cache.misses == 1 and cache.stored == 1
    cache = cachelib.BlobCache(tmp_path / "c")
    assert cover.cover_png(meta, cache) == drawn == cover.make_cover(meta)
    assert cache.hits == 1 and cache.misses == 0
    other = load(make_book(tmp_path / "other", title="Another Title")).meta
    assert cover.cover_png(other, cache) == cover.make_cover(other) != drawn


# ---------------------------------------------------------------------------------------------
# 5. watch()


class Watcher:
    """book.cli.watch.watch in a thread, with what it says in a queue."""

    def __init__(self, src: Path, out: Path):
        self.src, self.out = src, out
        self.lines: queue.Queue = queue.Queue()
        self.stats: list = []
        self.stopping = threading.Event()
        self.code = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def run_build(self, memory):
        result = build(self.src, self.out, BuildOptions(memory=memory))
        s = result.stats
        self.stats.append((s.misses, s.hits, list(s.miss_names)))
        return f"wrote {result.output}"

    def say(self, line, error=False):
        self.lines.put((line, error))

    def _run(self):
        self.code = watch.watch(str(self.src), self.run_build, say=self.say, interval=0.05,
                                output=str(self.out), stop=self.stopping.is_set)

    def next_line(self, predicate, timeout=20.0) -> list[tuple[str, bool]]:
        """Lines said until one matches `predicate` (included); fails after `timeout` seconds."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                item = self.lines.get(timeout=0.05)
            except queue.Empty:
                if not self.thread.is_alive():
                    pytest.fail(f"the watcher ended (returned {self.code}); it said {seen}")
                if time.monotonic() > deadline:
                    pytest.fail(f"timed out; the watcher said {seen}")
                continue
            seen.append(item)
            if predicate(*item):
                return seen

    def stop(self):
        self.stopping.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the watcher stops when asked"
        assert gc.get_freeze_count() == 0, "the watcher leaves the garbage collector as it found it"


def wrote(line, error):
    return not error and line.startswith("wrote ")


def test_watch_rebuilds_only_the_edited_chapter(tmp_path):
    src = make_book(tmp_path / "book")
    w = Watcher(src, tmp_path / "out" / "book.epub")
    w.thread.start()
    try:
        said = w.next_line(wrote)
        assert said[0][0].startswith("watching ") and "Ctrl-C" in said[0][0]
        assert said[-1][0].endswith(" s") and " in " in said[-1][0]
        assert len(w.stats) == 1 and w.stats[0][:2] == (3, 0)
        assert base(w.stats[0][2]) == ["ch1.md", "ch2.md", "ch3.md"]

        # The watcher keeps the last build in memory: without the cache folder (hidden, so not
        # a change to the book), the next build still renders only the edited chapter.
        shutil.rmtree(src / ".cache")
        ch2 = src / "ch2.md"
        edit(ch2, ch2.read_text("utf-8").replace("Text of chapter 2.", "New text of chapter 2, longer."))
        said = w.next_line(wrote)
        assert any(not e and line == "changed: ch2.md" for line, e in said), said
        assert len(w.stats) == 2
        misses, hits, miss_names = w.stats[1]
        assert (misses, hits) == (1, 2) and base(miss_names) == ["ch2.md"]
        watched = (tmp_path / "out" / "book.epub").read_bytes()
    finally:
        w.stop()
    assert w.code == 0

    assert build(src, tmp_path / "fresh.epub", BuildOptions(cache=False)).stats.misses == 3
    assert watched == (tmp_path / "fresh.epub").read_bytes()
    with zipfile.ZipFile(io.BytesIO(watched)) as z:
        assert z.testzip() is None
        assert any(b"New text of chapter 2, longer." in z.read(n) for n in z.namelist())


def test_watch_reports_a_failed_build_and_keeps_going(tmp_path):
    src = make_book(tmp_path / "book")
    out = tmp_path / "book.epub"
    w = Watcher(src, out)
    w.thread.start()
    try:
        w.next_line(wrote)
        good = out.read_bytes()
        ch3 = src / "ch3.md"
        fixed_text = ch3.read_text("utf-8")
        edit(ch3, "# Chapter 3\n\nText.\n\n### Skipped a level\n\nMore text.\n")
        said = w.next_line(lambda line, error: error and line.startswith("the build failed"))
        errors = [line for line, e in said if e]
        assert any("ch3.md" in line and "heading" in line.lower() for line in errors), errors
        assert not any(wrote(*item) for item in said)
        assert out.read_bytes() == good, "a failed build leaves the last EPUB as it was"
        assert w.thread.is_alive(), "the watcher keeps going"

        edit(ch3, fixed_text + "\nFixed.\n")
        said = w.next_line(wrote)
        assert not any(e for _line, e in said), said
        assert base(w.stats[-1][2]) == ["ch3.md"]
        with zipfile.ZipFile(out) as z:
            assert any(b"Fixed." in z.read(n) for n in z.namelist())
    finally:
        w.stop()
    assert w.code == 0


# ---------------------------------------------------------------------------------------------
# 6. The command line


def read_lines(pipe, into: queue.Queue) -> None:
    for line in pipe:
        into.put(line)
    into.put(None)


def wait_for(lines: queue.Queue, predicate, timeout: float, seen: list) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"timed out; the watcher printed {seen}")
        if line is None:
            pytest.fail(f"the watcher ended; it printed {seen}")
        seen.append(line)
        if predicate(line):
            return line


def test_cli_watch_end_to_end(tmp_path):
    src = make_book(tmp_path / "book")
    out = tmp_path / "dist" / "book.epub"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "home-cache"), "PYTHONUNBUFFERED": "1"}
    env.pop("BOOK_CACHE_DIR", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])  # this tree's book
    proc = subprocess.Popen([sys.executable, "-m", "book", "build", str(src), "-o", str(out), "--watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    lines: queue.Queue = queue.Queue()
    errors: list = []
    threading.Thread(target=read_lines, args=(proc.stdout, lines), daemon=True).start()
    threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True).start()
    seen: list = []
    try:
        first = wait_for(lines, lambda ln: "wrote" in ln, 30, seen)
        assert "3 of 3 chapter(s) rendered" in first
        assert out.is_file()
        with (src / "ch1.md").open("a", encoding="utf-8") as f:
            f.write("\nA line added while watching.\n")
        second = wait_for(lines, lambda ln: "wrote" in ln, 30, seen)
        assert "1 of 3 chapter(s) rendered" in second, seen
        assert any(ln.strip() == "changed: ch1.md" for ln in seen), seen
        proc.send_signal(signal.SIGINT)
        code = proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    time.sleep(0.1)
    rest = []
    while not lines.empty():
        line = lines.get()
        if line is not None:
            rest.append(line)
    assert code == 0, (seen, rest, errors)
    assert any("stopped watching" in ln for ln in rest), (rest, errors)
    with zipfile.ZipFile(out) as z:
        assert any(b"A line added while watching." in z.read(n) for n in z.namelist())


def test_cli_watch_refuses_several_sources(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("a.md", "b.md"):
        (tmp_path / name).write_text(f"---\ntitle: {name}\nlang: en\n---\n\n# {name}\n\nText.\n", "utf-8")
    assert main(["build", "a.md", "b.md", "--watch"]) == 2
    err = capsys.readouterr().err
    assert "--watch" in err and "one" in err
    assert main(["build", "a.md", "b.md", "-w"]) == 2
    assert not list(tmp_path.rglob("*.epub")), "nothing was built"


def test_cli_watch_refuses_a_folder_of_articles(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "articles").mkdir()
    for name in ("a.md", "b.md"):
        (tmp_path / "articles" / name).write_text(f"---\ntitle: {name}\nlang: en\n---\n\n# {name}\n\nText.\n", "utf-8")
    assert main(["build", "articles", "--watch"]) == 2
    assert "--watch" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# 7. snapshot()


def test_snapshot_sees_chapters_but_not_caches_epubs_or_the_output(tmp_path):
    src = make_book(tmp_path / "book")
    (src / ".cache" / "book" / "ab").mkdir(parents=True)
    (src / ".cache" / "book" / "ab" / "x.pickle").write_bytes(b"x")
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("ref\n")
    (src / "node_modules" / "m").mkdir(parents=True)
    (src / "node_modules" / "m" / "index.js").write_text("1\n")
    (src / "old.epub").write_bytes(b"PK")
    (src / ".ch1.md.swp").write_bytes(b"swap")
    (src / "ch1.md~").write_text("backup")
    output = src / "out.bin"  # the output, even without .epub
    output.write_bytes(b"book")
    (src / "images").mkdir()
    (src / "images" / "pic.png").write_bytes(b"png")

    snap = watch.snapshot(src, output)
    seen = {Path(p).relative_to(src).as_posix() for p in snap}
    assert seen == {"book.yaml", "ch1.md", "ch2.md", "ch3.md", "images/pic.png"}

    # What is ignored does not change the snapshot...
    (src / ".cache" / "book" / "ab" / "x.pickle").write_bytes(b"changed")
    (src / "old.epub").write_bytes(b"PK changed")
    output.write_bytes(b"a new book")
    (src / "new.epub").write_bytes(b"PK")
    assert watch.snapshot(src, output) == snap
    # ...a relative path to the output is the same file.
    rel = Path(os.path.relpath(output))
    assert watch.snapshot(src, rel) == snap

    # ...but an edited chapter does, and so does a new or removed file.
    edit(src / "ch2.md", "# Chapter 2\n\nEdited.\n")
    now = watch.snapshot(src, output)
    assert set(now) == set(snap)
    assert [p for p in now if now[p] != snap[p]] == [str(src / "ch2.md")]
    (src / "images" / "new.png").write_bytes(b"png")
    assert str(src / "images" / "new.png") in watch.snapshot(src, output)
    (src / "ch3.md").unlink()
    assert str(src / "ch3.md") not in watch.snapshot(src, output)


def test_snapshot_without_output_sees_same_size_edits(tmp_path):
    src = make_book(tmp_path / "book")
    snap = watch.snapshot(src, None)
    assert len(snap) == 4
    ch1 = src / "ch1.md"
    text = ch1.read_text("utf-8")
    st = ch1.stat()
    ch1.write_text(text.replace("Text of chapter 1", "Txet of chapter 1"), "utf-8")
    os.utime(ch1, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # same size, a later time
    now = watch.snapshot(src, None)
    assert now[str(ch1)] != snap[str(ch1)]
    assert {p: v for p, v in now.items() if p != str(ch1)} == {p: v for p, v in snap.items() if p != str(ch1)}


def test_a_lone_article_watches_what_it_names_not_its_whole_folder(tmp_path):
    """A lone article may sit in a big folder: the watcher looks at the article, the files it
    names and the whole folders its images are in (however deep the image, and before it
    exists), not at other files beside it."""
    article = tmp_path / "a.md"
    article.write_text("---\ntitle: T\nlang: en\ncover-image: cover.png\n---\n# A\n\n"
                       "![Deep.](assets/img/2024/deep.png)\n\n<img src=\"pics/b.png\" alt=\"B\">\n\n"
                       "[site](https://example.org) [top](#a) ![](../outside.png)\n", "utf-8")
    (tmp_path / "other.md").write_text("# Another article\n", "utf-8")
    files, folders = watch.article_scope(article)
    assert files == {article, tmp_path / "cover.png"}
    assert folders == {tmp_path / "assets", tmp_path / "pics"}

    look = lambda: watch._look(*watch.scope(article), None)  # noqa: E731
    before = look()
    (tmp_path / "other.md").write_text("# Changed\n", "utf-8")
    assert look() == before, "another article beside it is not watched"
    deep = tmp_path / "assets" / "img" / "2024" / "deep.png"
    deep.parent.mkdir(parents=True)
    deep.write_bytes(b"png")
    assert str(deep) in look() and look() != before, "an image four levels down is seen when it appears"


def test_watch_stopped_after_a_failed_build_exits_with_that_builds_status(tmp_path):
    """Exit status 0 only when an EPUB was written (the contract): stopped while its last build
    had failed, the watcher says so."""
    src = make_book(tmp_path / "book")
    w = Watcher(src, tmp_path / "book.epub")
    w.thread.start()
    try:
        w.next_line(wrote)
        edit(src / "ch3.md", "# Chapter 3\n\nText.\n\n### Skipped a level\n")
        w.next_line(lambda line, error: error and line.startswith("the build failed"))
    finally:
        w.stop()
    assert w.code == 1
