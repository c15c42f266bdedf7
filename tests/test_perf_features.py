"""Issue 6: fast at scale — the chapter cache, parallel rendering and batch builds give the same
books as a plain serial build.  (Speed itself is measured by benchmarks/run.py, not here.)"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from book import build
from book import cache as cachelib
from book import BuildOptions, RenderStats
from book.cli import main


@pytest.fixture(autouse=True)
def _private_key(tmp_path, monkeypatch):
    """The signing key lives in a throw-away cache home, not the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    monkeypatch.delenv("BOOK_CACHE_DIR", raising=False)
    monkeypatch.setattr(cachelib, "_hmac_key", None)


def png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), color).save(buf, format="PNG")
    return buf.getvalue()


def make_book(folder, chapters=5):
    """A book folder: chapter 2 shows images/red.png, chapter 4 images/blue.png."""
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "red.png").write_bytes(png((200, 0, 0)))
    (folder / "images" / "blue.png").write_bytes(png((0, 0, 200)))
    names = []
    for i in range(1, chapters + 1):
        body = [f"# Chapter {i}", "", f"Text of chapter {i} with a note.[^n{i}]", "",
                "- one item", "- another item", "", "| Name | Value |", "|---|---|", f"| row | {i} |", ""]
        if i == 2:
            body += ["![A red rectangle on white.](images/red.png \"Red\")", ""]
        if i == 4:
            body += ["![A blue rectangle on white.](images/blue.png)", ""]
        body += ["See [chapter one](#chapter-1) again.", "", f"[^n{i}]: The note of chapter {i}.", ""]
        name = f"ch{i}.md"
        (folder / name).write_text("\n".join(body), "utf-8")
        names.append(name)
    (folder / "book.yaml").write_text("title: Cached Book\nlang: en\nauthor: T. Ester\nchapters:\n" +
                                      "".join(f"  - {n}\n" for n in names), "utf-8")
    return folder


def build_with(src, out, **opts):
    stats = build(src, out, BuildOptions(**opts)).stats
    return out.read_bytes(), stats


def names(stats_names):
    return sorted(n.rsplit("/", 1)[-1] for n in stats_names)


def test_cached_build_gives_the_cold_build_bytes(tmp_path):
    src = make_book(tmp_path / "book")
    cold, stats = build_with(src, tmp_path / "cold.epub", cache=False, jobs=1)
    assert stats.hits == 0 and stats.misses == 5
    first, stats = build_with(src, tmp_path / "first.epub", cache=True, jobs=1)
    assert (stats.hits, stats.misses, stats.stored) == (0, 5, 5)
    assert (src / ".cache" / "book").is_dir(), "the cache sits beside the source by default"
    warm, stats = build_with(src, tmp_path / "warm.epub", cache=True, jobs=1)
    assert (stats.hits, stats.misses, stats.stored) == (5, 0, 0)
    assert first == cold and warm == cold


def test_editing_one_chapter_renders_only_that_chapter(tmp_path):
    src = make_book(tmp_path / "book")
    build_with(src, tmp_path / "a.epub", cache=True, jobs=1)
    ch3 = src / "ch3.md"
    ch3.write_text(ch3.read_text("utf-8").replace("Text of chapter 3", "New text of chapter 3"), "utf-8")
    rebuilt, stats = build_with(src, tmp_path / "b.epub", cache=True, jobs=1)
    assert names(stats.miss_names) == ["ch3.md"]
    assert stats.hits == 4
    cold, _ = build_with(src, tmp_path / "c.epub", cache=False)
    assert rebuilt == cold


def test_changing_an_image_renders_the_chapter_that_shows_it(tmp_path):
    src = make_book(tmp_path / "book")
    build_with(src, tmp_path / "a.epub", cache=True, jobs=1)
    (src / "images" / "blue.png").write_bytes(png((0, 90, 200)))  # same size, other bytes
    rebuilt, stats = build_with(src, tmp_path / "b.epub", cache=True, jobs=1)
    assert names(stats.miss_names) == ["ch4.md"] and stats.hits == 4
    (src / "images" / "red.png").write_bytes(Image.new("RGB", (1, 1)).tobytes())  # not a PNG now
    with pytest.raises(Exception) as e:
        build_with(src, tmp_path / "c.epub", cache=True, jobs=1)
    assert "red.png" in str(e.value), "a broken image is reported, not hidden by the cache"


def test_cache_settings_and_render_inputs_are_part_of_the_key(tmp_path):
    src = make_book(tmp_path / "book")
    build_with(src, tmp_path / "a.epub", cache=True, jobs=1)
    yml = src / "book.yaml"
    yml.write_text(yml.read_text("utf-8").replace("Cached Book", "Renamed Book"), "utf-8")
    _, stats = build_with(src, tmp_path / "b.epub", cache=True, jobs=1)
    assert stats.hits == 0 and stats.misses == 5, "the book's title is a render setting"


def test_tampered_or_foreign_entries_are_ignored(tmp_path, monkeypatch):
    src = make_book(tmp_path / "book")
    cold, _ = build_with(src, tmp_path / "cold.epub", cache=True, jobs=1)
    entries = sorted((src / ".cache" / "book").glob("??/*.pickle"))
    assert len(entries) == 5
    data = bytearray(entries[0].read_bytes())
    data[-3] ^= 0xFF
    entries[0].write_bytes(bytes(data))
    again, stats = build_with(src, tmp_path / "again.epub", cache=True, jobs=1)
    assert stats.misses == 1 and again == cold
    # Another user's key (a cache folder that came with someone else's book): nothing is loaded.
    monkeypatch.setattr(cachelib, "_hmac_key", b"k" * 32)
    other, stats = build_with(src, tmp_path / "other.epub", cache=True, jobs=1)
    assert stats.hits == 0 and other == cold


def test_cache_dir_from_the_environment(tmp_path, monkeypatch):
    src = make_book(tmp_path / "book")
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "elsewhere"))
    build_with(src, tmp_path / "a.epub", cache=True, jobs=1)
    assert list((tmp_path / "elsewhere").glob("??/*.pickle"))
    assert not (src / ".cache").exists()


def build_in_fresh_process(src, out, **opts):
    """Build in a process of its own: book forks workers only from a single-threaded process
    (book.workers.process_context; elsewhere they start through a fork server), and a test
    session may hold threads (the end-to-end tests' servers), so the fork path is exercised
    where the command line runs it: a fresh process."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    script = (f"import sys; sys.path.insert(0, {str(root)!r})\n"
              "from pathlib import Path\nfrom book import BuildOptions, build\n"
              f"s = build(Path({str(src)!r}), Path({str(out)!r}), BuildOptions(**{opts!r})).stats\n"
              "print(s.workers, s.stored, s.hits)\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    workers, stored, hits = map(int, r.stdout.split())
    return out.read_bytes(), RenderStats(workers=workers, stored=stored, hits=hits)


def test_parallel_build_gives_the_serial_bytes(tmp_path):
    src = make_book(tmp_path / "book", chapters=9)
    serial, stats = build_with(src, tmp_path / "serial.epub", cache=False, jobs=1)
    assert stats.workers == 1
    par, stats = build_in_fresh_process(src, tmp_path / "parallel.epub", cache=False, jobs=2)
    assert stats.workers == 2, "an explicit --jobs renders in processes"
    assert par == serial
    # In processes and through the cache at once: still the same bytes.
    cached, stats = build_in_fresh_process(src, tmp_path / "p-cached.epub", cache=True, jobs=2)
    assert stats.stored == 9 and cached == serial
    cached, stats = build_in_fresh_process(src, tmp_path / "p-cached2.epub", cache=True, jobs=2)
    assert stats.hits == 9 and cached == serial


def test_parallel_reports_the_first_broken_chapter_in_reading_order(tmp_path):
    src = make_book(tmp_path / "book", chapters=6)
    for n in (3, 5):
        (src / f"ch{n}.md").write_text(f"# Broken {n}\n\n![A cat.](cat{n}.png)\n", "utf-8")
    messages = []
    for jobs in (1, 2):
        with pytest.raises(Exception) as e:
            build_with(src, tmp_path / "x.epub", cache=True, jobs=jobs)
        messages.append(str(e.value))
    assert messages[0] == messages[1]
    assert "ch3.md:3: image 'cat3.png' does not exist" in messages[0]
    assert not (tmp_path / "x.epub").exists()


def test_cli_caches_book_folders_not_lone_files(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    src = make_book(tmp_path / "book")
    assert main(["build", "book", "-o", "a.epub", "-q"]) == 0
    assert list((src / ".cache" / "book").glob("??/*.pickle"))
    assert main(["build", "book", "-o", "b.epub", "-q", "--no-cache", "--jobs", "2"]) == 0
    assert (tmp_path / "a.epub").read_bytes() == (tmp_path / "b.epub").read_bytes()
    (tmp_path / "lone").mkdir()
    (tmp_path / "lone" / "a.md").write_text("---\ntitle: Lone\nlang: en\n---\n# Hi\n\ntext\n", "utf-8")
    assert main(["build", "lone/a.md", "-o", "lone.epub", "-q"]) == 0
    assert not (tmp_path / "lone" / ".cache").exists()


def test_batch_builds_the_good_sources_and_reports_the_broken_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    arts = tmp_path / "articles"
    arts.mkdir()
    front = "---\ntitle: {t}\nlang: en\n---\n"
    (arts / "alpha.md").write_text(front.format(t="Alpha") + "# Alpha\n\nSome text.\n", "utf-8")
    (arts / "broken.md").write_text(front.format(t="Broken") + "# Broken\n\n![A cat.](cat.png)\n", "utf-8")
    (arts / "gamma.md").write_text(front.format(t="Gamma") + "# Gamma\n\nMore text.\n", "utf-8")
    (tmp_path / "single.md").write_text(front.format(t="Alpha") + "# Same title\n\nText.\n", "utf-8")
    book = make_book(tmp_path / "bookdir", chapters=2)

    code = main(["build", "articles", "single.md", "bookdir", "--jobs", "2", "-o", "out"])
    captured = capsys.readouterr()
    assert code == 1
    assert "articles/broken.md:7: image 'cat.png' does not exist" in captured.err
    assert "1 of 5 sources failed" in captured.err
    assert "Traceback" not in captured.err
    built = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert built == ["alpha-2.epub", "alpha.epub", "cached-book.epub", "gamma.epub"], \
        "one EPUB per good source; the same title twice gets -2"
    assert captured.out.count("wrote out/") == 4
    assert not (tmp_path / "out" / "broken.epub").exists()
    # Each is the book a single build makes.
    assert main(["build", "articles/gamma.md", "-o", "gamma.epub", "-q"]) == 0
    assert (tmp_path / "gamma.epub").read_bytes() == (tmp_path / "out" / "gamma.epub").read_bytes()
    assert main(["build", "bookdir", "-o", "b.epub", "-q"]) == 0
    assert (tmp_path / "b.epub").read_bytes() == (tmp_path / "out" / "cached-book.epub").read_bytes()
    assert (book / ".cache" / "book").is_dir() and (arts / ".cache" / "book").is_dir()

    # Serially, quietly: the same outcome, and only the errors are printed.
    code = main(["build", "articles", "--jobs", "1", "-q", "-o", "out2"])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.strip() == ("book: articles/broken.md:7: image 'cat.png' does not exist — check the file "
                                    "name and that it is inside the book's folder")
    assert sorted(p.name for p in (tmp_path / "out2").iterdir()) == ["alpha.epub", "gamma.epub"]


def test_single_source_command_line_is_unchanged(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.md").write_text("---\ntitle: Hello, World!\nlang: en\n---\n# Hi\n\ntext\n", "utf-8")
    assert main(["build", "a.md"]) == 0
    assert capsys.readouterr().out == "wrote dist/hello-world.epub (4 documents)\n"
    (tmp_path / "empty").mkdir()
    assert main(["build", "empty"]) == 1
    assert "empty: the folder has no book.yaml" in capsys.readouterr().err
    assert main(["build", "missing.md"]) == 1
    assert "missing.md: no such file or folder" in capsys.readouterr().err
