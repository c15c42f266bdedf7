"""Temporary files that killed builds left in a cache folder are removed by the next build that
writes there (book.cache.write_entry → book.files.clean_stale_folder), once per folder per
process; a file a live writer still holds (its lock) is kept, and nothing else is touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from book.cache import BlobCache

# A writer in a process of its own: it writes part of an entry through book's atomic writer,
# says where its temporary file is, and waits (holding the file's lock) until told to finish.
WRITER = """
import sys
from book.files import atomic_file
with atomic_file(sys.argv[1]) as (f, tmp):
    f.write(b"partial")
    f.flush()
    print(tmp, flush=True)
    sys.stdin.readline()
"""


def start_writer(target: Path) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    tmp = Path(proc.stdout.readline().strip())
    assert tmp.is_file() and tmp.parent == target.parent, tmp
    return proc, tmp


def test_a_cache_write_removes_dead_writers_files_only(tmp_path):
    cache = tmp_path / "cache"
    folder = cache / BlobCache.FOLDER / "ab"
    folder.mkdir(parents=True)
    killed, killed_tmp = start_writer(folder / ("ab" + "1" * 62 + ".bin"))
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    live, live_tmp = start_writer(folder / ("ab" + "2" * 62 + ".bin"))
    try:
        # Files that are not atomic_file's temporaries: an entry, a stamp, look-alikes.
        others = {folder / ("ab" + "3" * 62 + ".bin"): b"entry", folder / ".pruned": b"",
                  folder / ".notes.tmp": b"mine", folder / "ab.abcd1234.tmp.bin": b"no dot"}
        for path, data in others.items():
            path.write_bytes(data)
        # A killed build's file in a folder this build does not write to stays for now.
        elsewhere = cache / BlobCache.FOLDER / "cd" / ".cd4444.abcd1234.tmp.bin"
        elsewhere.parent.mkdir()
        elsewhere.write_bytes(b"partial")

        blobs = BlobCache(cache)
        assert blobs.put("ab" + "5" * 62, b"payload")
        assert not killed_tmp.exists(), "a killed writer's temporary file is removed"
        assert live_tmp.exists(), "a live writer's temporary file is kept"
        assert all(path.read_bytes() == data for path, data in others.items())
        assert elsewhere.exists()
        assert BlobCache(cache).get("ab" + "5" * 62) == b"payload"

        # Once per folder per process, not a listing of the folder for every entry.
        again = folder / ".ab6666.abcd1234.tmp.bin"
        again.write_bytes(b"partial")
        assert blobs.put("ab" + "7" * 62, b"payload")
        assert again.exists()
    finally:
        live.communicate("\n", timeout=30)
    assert live.returncode == 0
    assert (folder / ("ab" + "2" * 62 + ".bin")).read_bytes() == b"partial" and not live_tmp.exists()


def test_an_entry_used_is_marked_used_for_prune_and_a_foreign_one_is_not_read(tmp_path):
    """prune() removes entries unused for PRUNE_AFTER_DAYS by their modification time: a read
    marks an entry used (at most every few hours: a rebuild reads hundreds), so a book built
    every week keeps its cache, even the entries it never writes again."""
    import time

    blobs = BlobCache(tmp_path)
    assert blobs.put("k" * 64, b"bytes")
    path = blobs._path("k" * 64)
    old = time.time() - 10 * 86400
    os.utime(path, (old, old))
    assert blobs.get("k" * 64) == b"bytes"
    assert path.stat().st_mtime > time.time() - 60  # used: marked now
    recent = time.time() - 3600  # used an hour ago: not written to again
    os.utime(path, (recent, recent))
    assert BlobCache(tmp_path).get("k" * 64) == b"bytes"
    assert abs(path.stat().st_mtime - recent) < 1
    # A file that is not this user's entry is not read, and not marked used.
    path.write_bytes(b"not an entry")
    os.utime(path, (old, old))
    assert BlobCache(tmp_path).get("k" * 64) is None
    assert abs(path.stat().st_mtime - old) < 1


def test_an_entry_that_cannot_be_marked_used_is_still_read(tmp_path, monkeypatch):
    """Marking an entry used is housekeeping: when the system refuses it (a cache folder shared
    read-only, another user's files), the entry is still read."""
    import time

    blobs = BlobCache(tmp_path)
    assert blobs.put("m" * 64, b"bytes")
    old = time.time() - 10 * 86400
    os.utime(blobs._path("m" * 64), (old, old))

    def refuse(*_args, **_kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "utime", refuse)
    assert BlobCache(tmp_path).get("m" * 64) == b"bytes"
