"""Progress bars (rich) on a terminal, nothing extra when piped: `book build` of a batch and of a
read-aloud book, run under a real pseudo-terminal (the pty module) and with a pipe."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
import threading

import pytest
from conftest import ROOT

# An SGR escape sequence ("\x1b[1;38;2;249;38;114m") and the parameters that set a colour.
SGR = re.compile(r"\x1b\[([0-9;]*)m")
COLOUR = {*map(str, range(30, 39)), *map(str, range(40, 49)), *map(str, range(90, 98)), *map(str, range(100, 108))}


def _env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", PYTHONPATH=str(ROOT), **extra)
    return env


def run_on_terminal(args: list[str], cwd, **env) -> tuple[int, str, str]:
    """`python -m book build ARGS` with its standard error on a pseudo-terminal: (exit status, what the
    terminal showed, standard output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "book", "build", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave, env=_env(**env))
    os.close(slave)
    shown = bytearray()

    def read():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                return
            if not data:
                return
            shown.extend(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=300)
    reader.join(10)
    os.close(master)
    return proc.returncode, shown.decode("utf-8", "replace"), out.decode()


def run_piped(args: list[str], cwd, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "book", "build", *args], cwd=cwd, capture_output=True, text=True,
                          env=_env(**env), timeout=300)


def _articles(folder, n: int = 3) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        (folder / f"a{i}.md").write_text(f"---\ntitle: Article {i}\nlang: en\n---\n# Part {i}\n\nText {i}.\n", "utf-8")
        names.append(f"a{i}.md")
    return names


def _colours(text: str) -> set[str]:
    return {p for m in SGR.finditer(text) for p in m.group(1).split(";") if p in COLOUR}


def test_batch_shows_a_bar_on_a_terminal(tmp_path):
    names = _articles(tmp_path / "src")
    code, shown, out = run_on_terminal([*names, "-o", str(tmp_path / "out")], tmp_path / "src")
    assert code == 0, shown
    assert out.count("wrote ") == 3
    assert "book: built 3 of 3" in shown and "3/3" in shown, shown
    assert "━" in shown, "rich draws the bar"
    assert re.search(r"\d+\.\d/s", shown), "the rate is shown"
    assert _colours(shown), "on a terminal, with NO_COLOR unset, the bar has colours"


def test_batch_honours_no_color(tmp_path):
    names = _articles(tmp_path / "src")
    code, shown, _out = run_on_terminal([*names, "-o", str(tmp_path / "out")], tmp_path / "src", NO_COLOR="1")
    assert code == 0, shown
    assert "book: built 3 of 3" in shown and "━" in shown
    assert not _colours(shown), f"NO_COLOR: no colour codes, found {_colours(shown)}"


def test_batch_piped_prints_no_progress(tmp_path):
    names = _articles(tmp_path / "src")
    r = run_piped([*names, "-o", str(tmp_path / "out")], tmp_path / "src")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("wrote ") == 3
    assert r.stderr == "", "nothing but problems on a pipe"


def test_batch_quiet_on_a_terminal_draws_nothing(tmp_path):
    names = _articles(tmp_path / "src")
    code, shown, out = run_on_terminal([*names, "-o", str(tmp_path / "out"), "--quiet"], tmp_path / "src")
    assert code == 0 and out == "" and shown == "", (shown, out)


def _speech_article(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.md").write_text("---\ntitle: Spoken\nlang: en\n---\n# Spoken\n\n"
                                 "One sentence. Another one. A third one. And a fourth.\n", "utf-8")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="eSpeak NG is not installed (bash .ci/install-tools)")
def test_read_aloud_shows_a_bar_on_a_terminal_and_nothing_piped(tmp_path):
    pytest.importorskip("lameenc")
    _speech_article(tmp_path / "src")
    code, shown, out = run_on_terminal(["a.md", "--read-aloud", "-o", str(tmp_path / "a.epub")], tmp_path / "src",
                                       BOOK_CACHE_DIR=str(tmp_path / "cache1"))
    assert code == 0, shown
    assert "wrote " in out and "narrated:" in out
    # Title page (title) and the chapter (heading + four sentences): every one spoken, counted.
    total = re.search(r"(\d+)/\1\b", shown)
    assert total and int(total.group(1)) >= 5, shown
    assert "speaking" in shown and "━" in shown, shown

    r = run_piped(["a.md", "--read-aloud", "-o", str(tmp_path / "b.epub")], tmp_path / "src",
                  BOOK_CACHE_DIR=str(tmp_path / "cache2"))
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and "narrated:" in r.stdout
