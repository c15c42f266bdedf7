"""Hostile sources, caches and servers: a build of someone else's book never runs their code,
never reads or writes outside its folder, never hangs and never eats the machine; every refusal
is one clear line.  Servers are started here, on 127.0.0.1 only."""

from __future__ import annotations

import http.server
import io
import os
import re
import shutil
import stat
import threading
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

import book
from book import BuildOptions
from book.cli import main
from book.errors import BookError, printable
from book import net
from book.render import bounds
from book.render import images as imagelib

FRONT = "---\ntitle: T\nlang: en\n---\n"


@pytest.fixture(autouse=True)
def _private_key(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.delenv("BOOK_CACHE_DIR", raising=False)
    from book import cache

    monkeypatch.setattr(cache, "_hmac_key", None)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def png(size=(24, 16), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format="PNG")
    return buf.getvalue()


def book_folder(folder: Path, chapters: int = 3) -> Path:
    for i in range(1, chapters + 1):
        write(folder / f"ch{i}.md", f"# Chapter {i}\n\nText of chapter {i}.\n")
    write(folder / "book.yaml", "title: Cached\nlang: en\nchapters:\n" + "".join(f"  - ch{i}.md\n" for i in range(1, chapters + 1)))
    return folder


# ---------------------------------------------------------------------------------------------
# Terminal escapes are shown, never sent


def test_control_characters_are_escaped_in_messages(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.md", "---\ntitle: T\nlang: en\n\"\\e[2J\\e]0;pwned\\a\": 1\n---\n# H\n\nText.\n")
    assert main(["build", "a.md", "-o", "a.epub"]) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b[2J\\x1b]0;pwned\\x07" in err
    # A newline in a chapter's name cannot forge a second `book:` line.
    write(tmp_path / "b" / "book.yaml", 'title: T\nlang: en\nchapters:\n  - "x.md\\nbook: all good"\n')
    assert main(["build", "b", "-o", "b.epub"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "x.md\\nbook: all good" in err
    assert printable("a\u202eb\tc") == "a\\u202eb\\tc"


# ---------------------------------------------------------------------------------------------
# A cache folder that came with the book


def test_cache_entry_that_is_a_link_to_dev_zero_or_a_fifo_is_a_miss(tmp_path):
    src = book_folder(tmp_path / "book")
    clean = book.build(src, tmp_path / "clean.epub", cache=True).output.read_bytes()
    entries = sorted((src / ".cache" / "book").glob("??/*.pickle")) + sorted(
        (src / ".cache" / "book" / "blobs").glob("??/*.bin"))
    assert len(entries) >= 4
    for n, entry in enumerate(entries):
        entry.unlink()
        if n % 2:
            os.symlink("/dev/zero", entry)
        else:
            os.mkfifo(entry)
    started = time.monotonic()
    result = book.build(src, tmp_path / "again.epub", cache=True)
    assert time.monotonic() - started < 60, "no hang on a FIFO, no endless read of /dev/zero"
    assert result.output.read_bytes() == clean
    assert result.stats.hits == 0


def test_signed_entries_swapped_between_names_are_ignored(tmp_path):
    src = book_folder(tmp_path / "book")
    clean = book.build(src, tmp_path / "clean.epub", cache=True).output.read_bytes()
    a, b = sorted((src / ".cache" / "book").glob("??/*.pickle"))[:2]
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    result = book.build(src, tmp_path / "swapped.epub", cache=True)
    assert result.stats.hits == 1 and result.stats.misses == 2
    assert result.output.read_bytes() == clean


def test_cache_folder_linked_outside_the_book_is_not_written(tmp_path):
    src = book_folder(tmp_path / "book")
    outside = tmp_path / "victim"
    outside.mkdir()
    (src / ".cache").symlink_to(outside)
    result = book.build(src, tmp_path / "a.epub", cache=True)
    assert list(outside.iterdir()) == [], "nothing written through the link"
    [note] = [w for w in result.warnings if "building without the cache" in str(w)]
    assert "symbolic link" in str(note)
    assert result.output.read_bytes() == book.build(src, tmp_path / "b.epub", cache=False).output.read_bytes()


def test_a_cache_that_cannot_be_written_is_one_warning(tmp_path, monkeypatch, capsys):
    if os.geteuid() == 0:
        # root writes into read-only folders: make the cache folder a file instead.
        src = book_folder(tmp_path / "book")
        (src / ".cache").write_text("not a folder")
    else:
        src = book_folder(tmp_path / "book")
        src.chmod(stat.S_IRUSR | stat.S_IXUSR)
    monkeypatch.chdir(tmp_path)
    try:
        assert main(["build", "book", "-o", "a.epub"]) == 0
    finally:
        src.chmod(0o755)
    err = capsys.readouterr().err
    assert err.count("building without the cache") == 1, err


def test_speech_cache_entries_are_verified(tmp_path):
    from book.narrate import overlays, speech

    cache = overlays.SpeechCache(tmp_path / "speech")
    key = "ab" + "0" * 62
    cache.put(key, speech.Clip(b"\x00\x01" * 100, 22050))
    assert cache.get(key).rate == 22050
    path = tmp_path / "speech" / "ab" / f"{key}.pcm"
    data = bytearray(path.read_bytes())
    data[len(overlays.SpeechCache.MAGIC) + 32:len(overlays.SpeechCache.MAGIC) + 36] = (0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert cache.get(key) is None, "a tampered clip (sample rate 0) is a miss, not a ZeroDivisionError"
    path.unlink()
    path.symlink_to("/dev/zero")
    assert cache.get(key) is None
    shutil.rmtree(tmp_path / "speech")
    (tmp_path / "speech").write_text("a file where the folder should be")
    cache.put(key, speech.Clip(b"\x00\x01", 22050))  # no NotADirectoryError
    assert cache.get(key) is None


# ---------------------------------------------------------------------------------------------
# Remote images: public addresses only, bounded in time and size, images only


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802
        self.server.hits.append(self.path)
        action = self.routes.get(self.path, ("status", 404))
        kind, value = action
        if kind == "png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(value)))
            self.end_headers()
            self.wfile.write(value)
        elif kind == "redirect":
            self.send_response(302)
            self.send_header("Location", value)
            self.end_headers()
        elif kind == "html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(value)
        elif kind == "slow":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            for ch in value:
                if self.server.stop.is_set():
                    return
                self.wfile.write(bytes([ch]))
                self.wfile.flush()
                time.sleep(1)
        else:
            self.send_response(value)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.hits, srv.stop = [], threading.Event()
    _Handler.routes = {}
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.stop.set()
    srv.shutdown()
    srv.server_close()


def remote_build(tmp_path, url, **options):
    src = write(tmp_path / "book" / "a.md", FRONT + f"# H\n\n![A green square.]({url})\n")
    return book.build(src, tmp_path / "a.epub", allow_remote_images=True, **options)


def test_remote_image_from_this_machine_needs_explicit_permission(tmp_path, server):
    _Handler.routes = {"/a.png": ("png", png())}
    with pytest.raises(BookError, match="an address on this machine or a private network"):
        remote_build(tmp_path, server.base + "/a.png")
    assert server.hits == [], "no request was made"
    result = remote_build(tmp_path, server.base + "/a.png", allow_private_network=True)
    with zipfile.ZipFile(result.output) as z:
        assert z.read("EPUB/images/a.png") == png()


def test_redirects_are_checked_and_limited(tmp_path, server):
    _Handler.routes = {"/to-ftp": ("redirect", "ftp://127.0.0.1/x.png"),
                       **{f"/loop{i}": ("redirect", f"/loop{i + 1}") for i in range(10)},
                       "/to-file": ("redirect", "file:///etc/passwd")}
    for path, message in (("/to-ftp", "'ftp' is not an http(s) address"), ("/loop0", "more than 5 redirects"),
                          ("/to-file", "'file' is not an http(s) address")):
        with pytest.raises(BookError, match=re.escape(message)):
            remote_build(tmp_path, server.base + path, allow_private_network=True)
    assert len([h for h in server.hits if h.startswith("/loop")]) == 6


def test_a_slow_server_cannot_hold_the_build(tmp_path, server, monkeypatch):
    monkeypatch.setattr(imagelib, "DOWNLOAD_DEADLINE", 3.0)
    _Handler.routes = {"/slow.png": ("slow", png())}
    started = time.monotonic()
    with pytest.raises(BookError, match="not complete within 3 s"):
        remote_build(tmp_path, server.base + "/slow.png", allow_private_network=True)
    assert time.monotonic() - started < 15


def test_size_limit_and_non_images_leave_nothing_behind(tmp_path, server, monkeypatch):
    monkeypatch.setattr(imagelib, "MAX_DOWNLOAD", 1000)
    _Handler.routes = {"/big.png": ("png", png((400, 400)) + b"\0" * 2000), "/page.png": ("html", b"<html>hi</html>")}
    with pytest.raises(BookError, match="more than book downloads"):
        remote_build(tmp_path, server.base + "/big.png", allow_private_network=True)
    with pytest.raises(BookError, match="not an image"):
        remote_build(tmp_path, server.base + "/page.png", allow_private_network=True)
    kept = list((tmp_path / "book" / ".cache" / "book" / "remote").rglob("*"))
    assert [p for p in kept if p.is_file()] == [], "a refused answer is not kept"


def test_a_planted_remote_file_is_not_packaged(tmp_path, server):
    """A link planted where the downloaded copy would be: the verified download is used."""
    import hashlib

    _Handler.routes = {"/a.png": ("png", png())}
    url = server.base + "/a.png"
    secret = tmp_path / "secret.png"
    secret.write_bytes(png((5, 5)))
    remote = tmp_path / "book" / ".cache" / "book" / "remote"
    digest = hashlib.sha256(url.encode()).hexdigest()[:32]
    (remote / digest).mkdir(parents=True)
    (remote / digest / "a.png").symlink_to(secret)
    (remote / f"{digest}.bin").write_bytes(b"book-remote-1\n" + b"\0" * 32 + secret.read_bytes())
    result = remote_build(tmp_path, url, allow_private_network=True)
    with zipfile.ZipFile(result.output) as z:
        assert z.read("EPUB/images/a.png") == png()
    assert server.hits == ["/a.png"], "the forged entry was not trusted"
    assert secret.read_bytes() == png((5, 5)), "the link's target was not written"


# ---------------------------------------------------------------------------------------------
# Small files that would need huge memory or time


def test_pixel_bombs_are_refused(tmp_path):
    folder = tmp_path / "book"
    folder.mkdir()
    bomb = Image.new("1", (30000, 30000))
    buf = io.BytesIO()
    bomb.save(buf, format="PNG", optimize=True)
    (folder / "bomb.png").write_bytes(buf.getvalue())
    assert len(buf.getvalue()) < 200_000
    src = write(folder / "a.md", FRONT + "# H\n\n![A bomb.](bomb.png)\n")
    with pytest.raises(BookError, match=r"a\.md:7: image 'bomb\.png' .*(30000 × 30000 pixels|more pixels)"):
        book.build(src, tmp_path / "a.epub")
    Image.new("RGB", (10000, 10000)).save(folder / "big.webp", format="WEBP", quality=1)
    write(folder / "b.md", FRONT + "# H\n\n![A big one.](big.webp)\n")
    with pytest.raises(BookError, match="10000 × 10000 pixels, more than the 40 million"):
        book.build(folder / "b.md", tmp_path / "b.epub")


def test_deep_nesting_and_bracket_storms_are_refused_with_their_line(tmp_path):
    lists = write(tmp_path / "l.md", FRONT + "# H\n\n" + "".join("    " * i + "- x\n" for i in range(400)))
    with pytest.raises(BookError, match=r"l\.md:107: a list or quote nested 101 levels deep"):
        book.build(lists, tmp_path / "l.epub")
    quotes = write(tmp_path / "q.md", FRONT + "# H\n\nText.\n\n" + ">" * 3000 + " deep\n")
    with pytest.raises(BookError, match=r"q\.md:9: a list or quote nested 3000 levels deep"):
        book.build(quotes, tmp_path / "q.epub")
    storm = write(tmp_path / "s.md", FRONT + "# H\n\nFine.\n\n" + "[" * 20000 + "\n")
    started = time.monotonic()
    with pytest.raises(BookError, match=r"s\.md:9: a paragraph with more than 5,000 '\['"):
        book.build(storm, tmp_path / "s.epub")
    assert time.monotonic() - started < 10
    # Footnote definitions line after line are notes of their own, not one paragraph: an
    # article's 6,000 notes build; a storm inside one note, or in lines that only look like
    # link definitions, is still one paragraph's worth and refused.
    notes = write(tmp_path / "n.md", FRONT + "# H\n\n" + "".join(f"Text.[^n{i}]\n\n" for i in range(6000))
                  + "".join(f"[^n{i}]: Note [{i}].\n" for i in range(6000)))
    assert book.build(notes, tmp_path / "n.epub").stats.chapters == 1
    in_note = write(tmp_path / "i.md", FRONT + "# H\n\nText.[^a]\n\n[^a]: Fine.\n[^b]: " + "[" * 6000 + "\n")
    with pytest.raises(BookError, match=r"i\.md:10: a paragraph with more than 5,000 '\['"):
        book.build(in_note, tmp_path / "i.epub")
    refs = write(tmp_path / "r.md", FRONT + "# H\n\n" + "".join(f"[a{i}]: x y [[[[[\n" for i in range(2000)))
    with pytest.raises(BookError, match=r"r\.md:7: a paragraph with more than 5,000 '\['"):
        book.build(refs, tmp_path / "r.epub")
    fenced = write(tmp_path / "f.md", FRONT + "# H\n\n```\n" + "".join("    " * i + "- x\n" for i in range(200))
                   + "```\n")
    book.build(fenced, tmp_path / "f.epub")  # code is text: its indentation is no nesting


def test_a_chapter_that_renders_too_long_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(bounds, "MAX_SECONDS", 1)
    src = write(tmp_path / "a.md", FRONT + "# H\n\nFine.\n\n" + "<a " * 20000 + "\n")
    started = time.monotonic()
    with pytest.raises(BookError, match=r"a\.md:9: rendering took more than 1 s and was stopped"):
        book.build(src, tmp_path / "a.epub", jobs=1)
    assert time.monotonic() - started < 20
    assert not (tmp_path / "a.epub").exists()


def test_svg_tricks_are_refused(tmp_path):
    entity = ('<?xml version="1.0"?>\n<!--' + "x" * 5000 + '-->\n<!DOCTYPE svg [<!ENTITY e "boom">]>\n'
              '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&e;</text></svg>\n')
    css = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><style>@import url(http://evil.example/a.css);'
           '</style><rect width="10" height="10"/></svg>\n')
    attr = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            '<rect style="fill:url(https://evil.example/x.png)" width="10" height="10"/></svg>\n')
    for name, svg, message in (("e.svg", entity, "declares XML entities"), ("c.svg", css, "style sheet that loads"),
                               ("s.svg", attr, "style that loads")):
        (tmp_path / name).write_text(svg, "utf-8")
        src = write(tmp_path / f"{name}.md", FRONT + f"# H\n\n![A square.]({name})\n")
        with pytest.raises(BookError, match=message):
            book.build(src, tmp_path / "x.epub")


def test_bounds_are_what_the_readme_says():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    for figure in (f"{bounds.MAX_NESTING} levels", f"{bounds.MAX_BRACKETS:,}", f"{bounds.MAX_SECONDS} s",
                   f"{imagelib.MAX_PIXELS // 1_000_000} million pixels", f"{imagelib.MAX_DOWNLOAD // 1048576} MB",
                   f"{imagelib.DOWNLOAD_DEADLINE:.0f} s", f"{net.MAX_REDIRECTS} redirects"):
        assert figure in readme, figure


# ---------------------------------------------------------------------------------------------
# Hostile EPUBs for `book check` and `book preview`


def hostile_epub(path: Path, entries: list[tuple[str, bytes]], *, mimetype: bool = True) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        if mimetype:
            z.writestr(zipfile.ZipInfo("mimetype"), b"application/epub+zip")
        for name, data in entries:
            z.writestr(name, data)
    return path


CONTAINER = (b'<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
             b'<rootfiles><rootfile full-path="EPUB/content.opf" media-type="application/oebps-package+xml"/>'
             b'</rootfiles></container>')


def opf(extra_doctype: bytes = b"", title: bytes = b"T") -> bytes:
    return (b'<?xml version="1.0"?>' + extra_doctype +
            b'<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
            b'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">x</dc:identifier>'
            b'<dc:title>' + title + b'</dc:title><dc:language>en</dc:language></metadata>'
            b'<manifest><item id="c" href="c.xhtml" media-type="application/xhtml+xml"/></manifest>'
            b'<spine><itemref idref="c"/></spine></package>')


DOC = b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>c</title></head><body><h1>C</h1><p>Text.</p></body></html>'


def check_cli(path: Path, capsys) -> tuple[int, str]:
    code = main(["check", str(path), "--no-ace", "--no-epubcheck"])
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    return code, out.err + out.out


def test_check_refuses_zip_slip_names(tmp_path, capsys):
    for name in ("../evil.xhtml", "/etc/evil.xhtml", "EPUB/../../evil.xhtml"):
        path = hostile_epub(tmp_path / "slip.epub", [("META-INF/container.xml", CONTAINER),
                                                     ("EPUB/content.opf", opf()), ("EPUB/c.xhtml", DOC), (name, DOC)])
        code, text = check_cli(path, capsys)
        assert code == 1 and "points outside the container" in text, text
    assert not (tmp_path.parent / "evil.xhtml").exists()


def test_check_expands_no_entities(tmp_path, capsys):
    laughs = (b'<!DOCTYPE package [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
              b'<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
              b'<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY x SYSTEM "file:///etc/hostname">]>')
    path = hostile_epub(tmp_path / "laughs.epub", [("META-INF/container.xml", CONTAINER),
                                                   ("EPUB/content.opf", opf(laughs, b"&g;&x;")), ("EPUB/c.xhtml", DOC)])
    started = time.monotonic()
    code, text = check_cli(path, capsys)
    assert time.monotonic() - started < 10
    # libxml2 refuses the amplification outright; nothing is expanded, nothing outside is read.
    assert code == 1 and "content.opf is not well-formed XML" in text, text
    assert "lollol" not in text and Path("/etc/hostname").read_text().strip() not in text
    external = hostile_epub(tmp_path / "xxe.epub", [
        ("META-INF/container.xml", CONTAINER),
        ("EPUB/content.opf", opf(b'<!DOCTYPE package [<!ENTITY x SYSTEM "file:///etc/hostname">]>', b"T&x;")),
        ("EPUB/c.xhtml", DOC)])
    report = book.check(external, epubcheck=False, ace=False)
    assert Path("/etc/hostname").read_text().strip() not in str(report.to_json())


def test_check_bounds_entries_and_inflated_size(tmp_path, capsys):
    many = hostile_epub(tmp_path / "many.epub", [(f"EPUB/x{i}.txt", b"") for i in range(10_001)])
    code, text = check_cli(many, capsys)
    assert code == 1 and "10,002 entries" in text  # with its mimetype
    bomb = hostile_epub(tmp_path / "bomb.epub", [("META-INF/container.xml", CONTAINER), ("EPUB/content.opf", opf()),
                                                 ("EPUB/c.xhtml", b"<p>" + b" " * (100 * 1024 * 1024))])
    assert bomb.stat().st_size < 2 * 1024 * 1024
    code, text = check_cli(bomb, capsys)
    assert code == 1 and "inflates to more than 64 MB" in text


def test_check_names_missing_parts_clearly(tmp_path, capsys):
    no_container = hostile_epub(tmp_path / "a.epub", [("EPUB/c.xhtml", DOC)], mimetype=False)
    code, text = check_cli(no_container, capsys)
    assert code == 1 and "not a readable EPUB" in text
    weird = hostile_epub(tmp_path / "b.epub", [("META-INF/container.xml", CONTAINER), ("EPUB/content.opf", opf()),
                                               ("EPUB/c.xhtml", DOC), ("EPUB/\x1b[2Jx.png", b"x")])
    code, text = check_cli(weird, capsys)
    assert "\x1b" not in text


def test_preview_refuses_an_epub_whose_mimetype_is_a_bomb(tmp_path):
    from book.cli import preview

    path = tmp_path / "bomb.epub"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", b"application/epub+zip" + b" " * (200 * 1024 * 1024))
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    preview._is_epub(path)  # reads its first bytes only, never the 200 MB
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50, f"reading the mimetype grew memory by {grown_mb:.0f} MB"


# ---------------------------------------------------------------------------------------------
# The preview server answers only for itself


@pytest.fixture
def preview_server(tmp_path):
    from conftest import skip_or_fail

    from book.cli import preview
    from book.errors import ToolError

    try:
        preview.find_engine()
    except ToolError as e:
        skip_or_fail(str(e))
    src = write(tmp_path / "a.md", FRONT + "# H\n\nText.\n")
    epub = book.build(src, tmp_path / "a.epub").output
    server = preview.serve(epub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_preview_answers_only_its_own_host(preview_server):
    import http.client

    port = preview_server.server_address[1]
    for host, status in ((f"127.0.0.1:{port}", 200), (f"localhost:{port}", 200), ("evil.example", 421),
                         (f"evil.example:{port}", 421), ("", 421)):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.putrequest("GET", "/book.epub", skip_host=True)
        if host:
            conn.putheader("Host", host)
        conn.endheaders()
        assert conn.getresponse().status == status, host
        conn.close()
    assert preview_server.server_address[0] == "127.0.0.1"


def test_preview_closes_idle_connections(preview_server, monkeypatch):
    import socket

    monkeypatch.setattr(preview_server.RequestHandlerClass, "timeout", 1)
    port = preview_server.server_address[1]
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(20)]
    started = time.monotonic()
    for s in idle:
        assert s.recv(1) == b"", "the server closed the idle connection"
        s.close()
    assert time.monotonic() - started < 8


def test_preview_cleans_up_on_sigterm(tmp_path):
    import signal
    import subprocess
    import sys

    from book.cli import preview
    from book.errors import ToolError

    try:
        preview.find_engine()
    except ToolError as e:
        from conftest import skip_or_fail

        skip_or_fail(str(e))
    src = write(tmp_path / "a.md", FRONT + "# H\n\nText.\n")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "book", "preview", str(src), "--no-open"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = proc.stdout.readline()
        assert "Previewing" in line, proc.stderr.read()
        assert [p.name for p in tmp.iterdir() if p.name.startswith("book-preview-")]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [p.name for p in tmp.iterdir() if p.name.startswith("book-preview-")] == []
