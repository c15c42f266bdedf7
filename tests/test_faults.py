"""Crashes, races and full disks: nothing half-written, nothing lost, nothing poisoned.

- A build killed (SIGKILL) at 50 moments spread over its run — a one-file book, a book folder,
  a batch — leaves at its output the previous EPUB or a complete new one, byte for byte the book
  a clean build makes; the next build removes what the killed ones left and gives those bytes.
- Builds of one book running at the same time, sharing one cache, each give the clean build.
- A disk that fills (a file-size limit, RLIMIT_FSIZE, in the build's process) is exit 5 with a
  clear message, and the previous EPUB stays as it was.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import book

ROOT = Path(__file__).resolve().parent.parent
KILL_POINTS = 50


def article(i: int, paragraphs: int = 60) -> str:
    body = "\n\n".join(f"Paragraph {p} of part {i}, with *emphasis*, a [link](#part-{i}) and a note.[^n{p}]"
                       for p in range(paragraphs))
    notes = "\n".join(f"[^n{p}]: Note {p} of part {i}." for p in range(paragraphs))
    return f"# Part {i}\n\n{body}\n\n## More {i}\n\n- one\n- two\n\n{notes}\n"


def one_file(folder: Path) -> Path:
    folder.mkdir(parents=True)
    src = folder / "long.md"
    src.write_text("---\ntitle: One File\nlang: en\n---\n" + "\n".join(article(i) for i in range(12)), "utf-8")
    return src


def book_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    names = []
    for i in range(12):
        (folder / f"ch{i:02d}.md").write_text(article(i), "utf-8")
        names.append(f"ch{i:02d}.md")
    (folder / "book.yaml").write_text("title: A Folder\nlang: en\nchapters:\n" + "".join(f"  - {n}\n" for n in names),
                                      "utf-8")
    return folder


def articles(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i in range(4):
        (folder / f"a{i}.md").write_text(f"---\ntitle: Article {i}\nlang: en\n---\n" + article(i, 40), "utf-8")
    return folder


def env(tmp_path: Path) -> dict:
    e = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "home-cache"), "PYTHONPATH": str(ROOT)}
    e.pop("BOOK_CACHE_DIR", None)
    return e


def command(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "book", "build", str(src), "-o", str(out), "-q"]


def valid_or_previous(path: Path, allowed: set[bytes]) -> str:
    """What a kill left at `path`: nothing, or one of the `allowed` books (the previous one or
    the clean build) — never a partial file."""
    if not path.exists():
        return "none"
    data = path.read_bytes()
    assert data in allowed, f"{path.name}: a partial or different file ({len(data)} bytes)"
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    return "previous" if data == min(allowed, key=len) and len(allowed) > 1 else "complete"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


@pytest.mark.parametrize("form", ["one-file", "folder", "batch"])
def test_killed_builds_leave_the_old_book_or_a_whole_new_one(tmp_path, form, capsys):
    make = {"one-file": one_file, "folder": book_folder, "batch": articles}[form]
    src = make(tmp_path / "src")
    out = tmp_path / ("out" if form == "batch" else "out.epub")
    environ = env(tmp_path)
    # The clean books, built in a fresh folder without any cache.
    clean_out = tmp_path / ("clean" if form == "batch" else "clean.epub")
    subprocess.run(command(src, clean_out) + ["--no-cache"], env=environ, check=True)
    outputs = sorted(clean_out.glob("*.epub")) if form == "batch" else [clean_out]
    clean = {p.name: p.read_bytes() for p in outputs}
    targets = [out / name for name in clean] if form == "batch" else [out]

    started = time.monotonic()
    subprocess.run(command(src, out), env=environ, check=True)  # the first build, with the cache
    duration = time.monotonic() - started
    for t, name in zip(targets, clean):
        assert t.read_bytes() == clean[name]
    # An edit, so that the next build writes a different book over the previous one.
    previous = {t.name: t.read_bytes() for t in targets}
    edited = next(iter(sorted(src.glob("*.md")))) if src.is_dir() else src
    edited.write_text(edited.read_text("utf-8") + "\n\nAn edit made before the kills.\n", "utf-8")
    clean_after_edit_out = tmp_path / ("clean2" if form == "batch" else "clean2.epub")
    subprocess.run(command(src, clean_after_edit_out) + ["--no-cache"], env=environ, check=True)
    after = ({p.name: p.read_bytes() for p in clean_after_edit_out.glob("*.epub")} if form == "batch"
             else {"clean2.epub": clean_after_edit_out.read_bytes()})
    new_books = list(after.values())

    seen: dict[str, int] = {}
    for k in range(KILL_POINTS):
        delay = duration * 1.2 * k / KILL_POINTS
        proc = subprocess.Popen(command(src, out), env=environ, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the build and its worker processes
        except ProcessLookupError:
            pass
        proc.wait()
        for t in targets:
            state = valid_or_previous(t, {previous[t.name], *new_books})
            seen[state] = seen.get(state, 0) + 1
    with capsys.disabled():  # in the test log, whatever the capture: what the kills left behind
        print(f"\n{form}: {KILL_POINTS} kill points over {duration * 1.2:.2f} s; outputs left: "
              + ", ".join(f"{n} {state}" for state, n in sorted(seen.items()))
              + f"; temporary files left: {len(leftovers(out if form == 'batch' else tmp_path))}")
    assert seen.get("previous", 0) + seen.get("none", 0) > 0, "some kills landed before the rename"

    # The next build cleans up after the killed ones and is not poisoned by their cache.
    subprocess.run(command(src, out), env=environ, check=True)
    folder = out if form == "batch" else tmp_path
    assert leftovers(folder) == [], "stale temporary files were removed"
    for t in targets:
        name = t.name if form == "batch" else "clean2.epub"
        assert t.read_bytes() == after[name], f"{t.name}: not the clean build's bytes"


def test_concurrent_builds_share_a_cache_and_agree(tmp_path):
    src = book_folder(tmp_path / "src")
    environ = env(tmp_path)
    subprocess.run(command(src, tmp_path / "clean.epub") + ["--no-cache"], env=environ, check=True)
    clean = (tmp_path / "clean.epub").read_bytes()
    for round_ in range(4):
        chapter = src / f"ch{round_:02d}.md"
        chapter.write_text(chapter.read_text("utf-8") + f"\n\nRound {round_}.\n", "utf-8")
        subprocess.run(command(src, tmp_path / "clean.epub") + ["--no-cache"], env=environ, check=True)
        clean = (tmp_path / "clean.epub").read_bytes()
        procs = [subprocess.Popen(command(src, tmp_path / f"r{round_}-{k}.epub" if k % 2 else tmp_path / "same.epub"),
                                  env=environ, stderr=subprocess.PIPE, text=True) for k in range(4)]
        for p in procs:
            _out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
        for k in range(4):
            path = tmp_path / f"r{round_}-{k}.epub" if k % 2 else tmp_path / "same.epub"
            assert path.read_bytes() == clean, f"round {round_}, build {k}"
    assert leftovers(tmp_path) == []
    # The cache they shared holds only good entries: a build from it alone gives the clean book.
    subprocess.run(command(src, tmp_path / "from-cache.epub"), env=environ, check=True)
    assert (tmp_path / "from-cache.epub").read_bytes() == clean


def test_build_many_workers_share_one_cache(tmp_path):
    folder = articles(tmp_path / "arts")
    clean = {o.output.name: o.output.read_bytes()
             for o in book.build_many(sorted(folder.glob("*.md")), tmp_path / "clean", book.BuildOptions(cache=False))}
    batch = book.batch.expand_sources([folder])
    for round_ in range(3):
        outcomes = book.build_many(batch, tmp_path / f"out{round_}", book.BuildOptions(jobs=2))
        assert all(o.ok for o in outcomes)
        assert {o.output.name: o.output.read_bytes() for o in outcomes} == clean
    assert list((folder / ".cache" / "book").glob("??/*.pickle")), "they shared the folder's cache"


def _limit_file_size(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_is_exit_5_and_the_previous_book_stays(tmp_path):
    src = book_folder(tmp_path / "src")
    out = tmp_path / "book.epub"
    environ = env(tmp_path)
    subprocess.run(command(src, out), env=environ, check=True)
    before = out.read_bytes()
    chapter = src / "ch00.md"
    chapter.write_text(chapter.read_text("utf-8") + "\n\nA change that will not be written.\n", "utf-8")
    r = subprocess.run(command(src, out) + ["--no-cache"], env=environ, capture_output=True, text=True,
                       preexec_fn=_limit_file_size(20_000))
    assert r.returncode == 5, r.stderr
    assert f"book: {out}: cannot write '{out}' (File too large)" in r.stderr
    assert "Traceback" not in r.stderr
    assert out.read_bytes() == before
    assert leftovers(tmp_path) == []
    # With the cache on, a cache that cannot be written is not what fails the build.
    r = subprocess.run(command(src, out), env=environ, capture_output=True, text=True,
                       preexec_fn=_limit_file_size(20_000))
    assert r.returncode == 5 and "File too large" in r.stderr and out.read_bytes() == before


def test_a_live_writers_file_is_never_cleaned_a_dead_ones_is(tmp_path):
    from book.files import atomic_file, clean_stale

    out = tmp_path / "a.epub"
    with atomic_file(out) as (f, tmp):
        f.write(b"new")
        assert tmp.name.endswith(".tmp.epub") and tmp.exists()
        assert clean_stale(out) == 0 and tmp.exists(), "a file whose writer lives is kept"
    assert out.read_bytes() == b"new" and not tmp.exists()
    dead = tmp_path / ".a.abcd1234.tmp.epub"  # what a killed build leaves: nobody holds its lock
    dead.write_bytes(b"partial")
    other = tmp_path / ".b.abcd1234.tmp.epub"  # another output's: not this build's to remove
    other.write_bytes(b"partial")
    assert clean_stale(out) == 1
    assert not dead.exists() and other.exists() and out.read_bytes() == b"new"
