"""The README's two set-up commands, exactly as README.md writes them, in a fresh clone of this
repository with a fresh virtual environment — not in the developer's environment: the way a new
user on a stock Debian or Ubuntu box starts (PEP 668 forbids pip outside a virtual environment).

The commands are read from the README, so this test breaks when they change.  It downloads from
PyPI (pip's cache makes a second run fast) and takes minutes, so it is marked `checkers` and
`slow`: the fast subset (`-m "not checkers and not e2e"`) leaves it out.  Bounded: each command
has a time limit.  The second command ends with `python -m pytest`; inside this test that run is
narrowed (PYTEST_ADDOPTS) to the library and language tests — enough to prove the clone's own
virtual environment has everything they import — and never to this test again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = [pytest.mark.checkers, pytest.mark.slow]
INSIDE = "BOOK_SETUP_TEST_INSIDE"  # set in the nested run, which must not start another
TIMEOUT = 1200  # seconds per command: a cold pip cache downloads Playwright, PyMuPDF, Dask...


def readme_commands() -> list[str]:
    """The commands of the README's "Set-up on a fresh machine" block, without their comments."""
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("## Set-up on a fresh machine", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    commands = [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines() if line.strip()]
    return [c for c in commands if c]


def _clean_env(home: Path) -> dict[str, str]:
    """The caller's environment without any Python environment of its own: no virtual
    environment, no PYTHONPATH, no user site; pip's cache kept (downloads only once)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS", "PIP_USER", "CONDA_PREFIX")}
    path = [p for p in env.get("PATH", "").split(os.pathsep)
            if p and not (Path(p).parent / "pyvenv.cfg").exists()]  # no virtual environment's bin/
    env["PATH"] = os.pathsep.join(path)
    env["PYTHONNOUSERSITE"] = "1"
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env[INSIDE] = "1"
    return env


def test_readme_commands_are_the_two_set_up_commands():
    first, second = readme_commands()
    assert first.startswith("bash .ci/venv && . .venv/bin/activate") and first.endswith("book build")
    assert second.startswith("bash .ci/venv && . .venv/bin/activate") and "python -m pytest" in second


@pytest.mark.skipif(os.environ.get(INSIDE) == "1", reason="already inside the set-up test's clone")
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_readme_set_up_in_a_fresh_clone(tmp_path):
    first, second = readme_commands()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    # The non-Python checkers (DAISY Ace, epub.js) the developer's `install-tools` already put in
    # .tools/ are shared, as every worktree shares them; everything Python is installed afresh.
    if (ROOT / ".tools").exists():
        (clone / ".tools").symlink_to((ROOT / ".tools").resolve())
    env = _clean_env(tmp_path)

    # 1. builds the sample book, with nothing but the clone and a stock Python.
    r = subprocess.run(["bash", "-c", first], cwd=clone, env=env, capture_output=True, text=True, timeout=TIMEOUT,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "wrote dist/the-top-5-benefits-of-using-gabapentin-for-back-pain-relief.epub" in r.stdout, r.stdout
    assert (clone / "dist" / "the-top-5-benefits-of-using-gabapentin-for-back-pain-relief.epub").is_file()
    venv_python = clone / ".venv" / "bin" / "python"
    assert venv_python.is_file() and (clone / ".venv" / "bin" / "book").is_file(), "book is the clone's own"
    # Asked from a folder with no `book/` in it, so the import comes from the installed package.
    where = subprocess.run([str(venv_python), "-c", "import book; print(book.__file__)"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60).stdout.strip()
    assert Path(where).resolve().is_relative_to(clone.resolve()), where

    # 2. installs the test tools and runs the tests — here only the library and language tests.
    env2 = dict(env, PYTEST_ADDOPTS="-p no:cacheprovider -q tests/test_library.py tests/test_languages.py "
                                     "-m 'not checkers and not e2e'")
    r = subprocess.run(["bash", "-c", second], cwd=clone, env=env2, capture_output=True, text=True, timeout=TIMEOUT,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-3000:]
    assert "install-tools: done" in r.stdout, r.stdout[-3000:]
    assert re.search(r"\b\d+ passed\b", r.stdout) and " failed" not in r.stdout, r.stdout[-3000:]
    # The test packages went into the clone's virtual environment, not the developer's Python.
    for module in ("pytest", "pysbd", "babel", "langcodes", "rich", "watchfiles"):
        found = subprocess.run([str(venv_python), "-c", f"import {module}; print({module}.__file__)"], env=env,
                               cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert found.returncode == 0 and str(clone / ".venv") in found.stdout, (module, found.stdout, found.stderr)
