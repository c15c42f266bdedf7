"""How fast is `book`, and how much memory does it take, next to pandoc?  (Issues 6 and 13.)

    python benchmarks/run.py                 # the full run: a 1,000,000-word book (several minutes)
    python benchmarks/run.py --quick         # the same measurements on a 100,000-word book

    options: --words 1000000 --chapters 200 --images 40 --kinds plain,dense
             --sizes 250000,500000,1000000 --notes 10000 --batch 500 --repeat 1
             --json results.json --keep DIR --no-pandoc

What it does, in a temporary folder:

1. for each kind of text (plain; dense: emphasis, strong text, a link and a note in every
   paragraph), writes a synthetic book (benchmarks/synth.py): book.yaml and N chapter files with
   headings, lists, tables, footnotes and PNG images with alt text, and the same text as one
   Markdown file; builds both forms with `python -m book build SOURCE -o OUT -q --no-cache` (all
   CPUs, then --jobs 1) and the one file with pandoc 3 (`pandoc book.md -o OUT --split-level=1
   --toc`, the binary of the pypandoc_binary package), alternating the runs;
2. rebuilds each form with the cache on: cold (empty cache), unchanged, after editing one
   chapter, and the same edit with `book build --watch` running (save → new EPUB in place);
3. builds both forms of books of each of --sizes words (time, the ratio to the size before,
   peak memory);
4. builds a one-file article of --notes footnotes, and pandoc the same;
5. builds --batch short articles (`book build FOLDER --jobs 1`, then `--jobs 2`, then on Dask).

Each build is a child process.  Time is wall-clock time (and CPU time, user + system, of the
process and its workers).  Peak memory is the larger of the child's peak resident set
(`os.wait4`, the biggest single process) and the peak of the summed proportional set size (PSS)
of the child and its worker processes, sampled every 20 ms — so parallel workers count.

The machine is shared by whatever else runs on it: the load average is printed before and after;
compare runs made on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import synth  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Measuring one child process


def _children(pid: int) -> list[int]:
    try:
        out = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
        return out
    except OSError:
        return []


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _TreeSampler(threading.Thread):
    """Peak of the summed PSS of a process and all its descendants."""

    def __init__(self, pid: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            pids, stack = [], [self.pid]
            while stack:
                p = stack.pop()
                pids.append(p)
                stack += _children(p)
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(p) for p in pids))
            self.done.wait(self.interval)


def measure(cmd: list[str], *, cwd: Path, env: dict | None = None) -> dict:
    """Run `cmd`; its wall time, CPU time and peak memory.  Raises if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = _TreeSampler(proc.pid)
    sampler.start()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{err[-2000:]}")
    peak_kb = max(usage.ru_maxrss, sampler.peak_kb)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak_kb / 1024,
            "maxrss_mb": usage.ru_maxrss / 1024, "tree_pss_mb": sampler.peak_kb / 1024}


# ---------------------------------------------------------------------------------------------
# The tools


CODE = ROOT  # where `python -m book` is imported from: a snapshot of the checkout (see main)


def snapshot(work: Path) -> Path:
    """A copy of book/ and styles/: the code measured stays the same for the whole run even if
    the checkout is edited meanwhile (an edit to book/ would also, rightly, empty the cache)."""
    code = work / "code"
    shutil.rmtree(code, ignore_errors=True)
    shutil.copytree(ROOT / "book", code / "book", ignore=shutil.ignore_patterns("__pycache__"))
    if (ROOT / "styles").is_dir():
        shutil.copytree(ROOT / "styles", code / "styles")
    return code


class Watcher:
    """`book build --watch` in a child process: `rebuild(edit, epub)` makes an edit and measures
    the time until the new EPUB is in place, the CPU time the watcher spent on it, and its peak
    memory so far."""

    def __init__(self, cmd: list[str], *, cwd: Path, env: dict):
        self.cmd, self.cwd, self.env = cmd, cwd, env
        self.lines: list[str] = []

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=lambda: [self.lines.append(ln) for ln in self.proc.stdout], daemon=True).start()
        self._wait_for_build(0, 600)
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(2)  # SIGINT: Ctrl-C
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def _wait_for_build(self, seen: int, timeout: float) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            done = [ln for ln in self.lines if "wrote " in ln or "failed" in ln]
            if len(done) > seen:
                if "failed" in done[-1]:
                    raise RuntimeError("the watched build failed:\n" + "".join(self.lines[-20:]))
                return done[-1]
            if self.proc.poll() is not None:
                raise RuntimeError("the watcher stopped:\n" + "".join(self.lines[-20:]))
            time.sleep(0.002)
        raise RuntimeError("no build from the watcher in time:\n" + "".join(self.lines[-20:]))

    def _cpu(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rebuild(self, edit, epub: Path, pause: float = 1.0) -> dict:
        # A writer's saves are seconds apart: the watcher has finished what it does after a
        # build (freeing memory, looking again at what a lone article names) before the next
        # save, so the measure starts when it is idle.
        time.sleep(pause)
        seen = sum(1 for ln in self.lines if "wrote " in ln)
        before = epub.stat().st_ino
        cpu = self._cpu()
        # The clock starts when the save is done (the edited file renamed into place, as an
        # editor saves): how long this script takes to make the edit — reading, changing and
        # writing a 6 MB file in Python, 10 to 30 ms — is not the watcher's.
        edit()
        start = time.perf_counter()
        line = self._wait_for_build(seen, 120)
        while epub.stat().st_ino == before:  # the new file is renamed into place before the line
            time.sleep(0.001)
        wall = time.perf_counter() - start
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        peak = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmHWM:")))
        return {"wall": wall, "cpu": self._cpu() - cpu, "peak_mb": peak / 1024, "line": line.strip()}


def book_env(cache_dir: Path | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(CODE) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("BOOK_CACHE_DIR", None)
    # Python caches compiled modules (.pyc) beside an installed package, so a second run does not
    # compile book again; a machine that turns that off (PYTHONDONTWRITEBYTECODE, as some CI and
    # sandbox images do) would measure the compiler, not book.  The warm-up build writes them.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if cache_dir:
        env["BOOK_CACHE_DIR"] = str(cache_dir)
    return env


def book_cmd(src: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "book", "build", str(src), "-o", str(out), "-q", *extra]


def pandoc_path() -> str | None:
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except Exception:  # noqa: BLE001 - not installed: `pip install pypandoc_binary`
        return shutil.which("pandoc")


def pandoc_cmd(pandoc: str, md: Path, out: Path) -> list[str]:
    return [pandoc, md.name, "-o", str(out), "--split-level=1", "--toc"]


def machine(pandoc: str | None, wanted: bool = True) -> dict:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    pv = "pandoc: not found (pip install pypandoc_binary)" if wanted else "pandoc: not used (--no-pandoc)"
    if pandoc:
        pv = subprocess.run([pandoc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    sys.path.insert(0, str(ROOT))
    from book import __version__

    return {"cores": os.cpu_count(), "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "os": platform.platform(), "pandoc": pv, "book": __version__,
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


# ---------------------------------------------------------------------------------------------
# Report


def dask_batch(folder: Path, work: Path, env: dict, workers: int) -> dict | None:
    """The same batch on a Dask cluster: a LocalCluster of `workers` processes (one thread each)
    on this machine, started first, and `book build FOLDER --dask-scheduler ADDRESS` timed.
    None when Dask (PyPI distributed, the book[dask] extra) is not installed."""
    try:
        from distributed import LocalCluster
    except ImportError:
        say("(Dask is not installed: pip install 'book[dask]' to compare the batch on a LocalCluster)")
        return None
    t = time.perf_counter()
    os.environ["PYTHONPATH"] = env["PYTHONPATH"]  # the workers import the same snapshot of book
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=40) as cluster:
        start = time.perf_counter() - t
        out = work / "batch-dask"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [sys.executable, "-m", "book", "build", str(folder), "-o", str(out), "-q", "--no-cache",
               "--dask-scheduler", cluster.scheduler_address]
        m = measure(cmd, cwd=work, env=env)
    return {**m, "built": len(list(out.glob("*.epub"))), "workers": workers, "cluster_start": start}


def table(rows: list[list], head: list[str]) -> str:
    cells = [head] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    line = lambda r: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([line(cells[0]), line(["-" * w for w in widths])] + [line(r) for r in cells[1:]])


def med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def say(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------------------------------------
# The benchmark


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="Run from anywhere; needs Pillow, and pypandoc_binary for pandoc.")
    p.add_argument("--words", type=int, default=1_000_000, help="words in the synthetic book (default 1,000,000)")
    p.add_argument("--chapters", type=int, default=200, help="chapter files it is split into (default 200)")
    p.add_argument("--images", type=int, default=40, help="PNG images in it, each with alt text (default 40)")
    p.add_argument("--sizes", default="250000,500000,1000000",
                   help="comma-separated word counts for the scaling table (default 250000,500000,1000000)")
    p.add_argument("--kinds", default="plain,dense",
                   help="kinds of text compared with pandoc: plain (short common words) and/or dense "
                        "(emphasis, strong text, a link and a note in every paragraph); default both")
    p.add_argument("--notes", type=int, default=10_000,
                   help="footnotes of the one-file article of section 4 (default 10,000; 0: skip)")
    p.add_argument("--batch", type=int, default=500, help="number of short articles for the batch (0: skip)")
    p.add_argument("--batch-words", type=int, default=800, help="words per batch article (default 800)")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs of each tool, alternating; medians are reported (3 evens out a busy machine)")
    p.add_argument("--quick", action="store_true", help="100,000 words, sizes 25k/50k/100k, batch 50")
    p.add_argument("--no-pandoc", action="store_true", help="measure book only")
    p.add_argument("--batch-only", action="store_true", help="only section 4, the batch (local pool and Dask)")
    p.add_argument("--only", metavar="SECTIONS", default="compare,rebuild,scaling,notes,batch",
                   help="run only these sections (comma-separated: compare, rebuild, scaling, notes, batch)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    args = p.parse_args(argv)
    if args.quick:
        args.words, args.chapters, args.images = 100_000, 20, 10
        args.sizes, args.batch = "25000,50000,100000", min(args.batch, 50)
        args.notes = min(args.notes, 1000)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not args.kinds or any(k not in synth.KINDS for k in args.kinds):
        p.error(f"--kinds: choose from {', '.join(synth.KINDS)}")
    args.only = {x.strip() for x in args.only.split(",") if x.strip()}
    if not args.only or args.only - set(SECTIONS):
        p.error(f"--only: choose from {', '.join(SECTIONS)}")
    if "notes" not in args.only:
        args.notes = 0
    if "batch" not in args.only:
        args.batch = 0

    pandoc = None if args.no_pandoc else pandoc_path()
    info = machine(pandoc, wanted=not args.no_pandoc)
    results: dict = {"machine": info, "args": vars(args)}
    say(f"machine: {info['cores']} cores, {info['cpu']}, {info['memory']} RAM; Python {info['python']}; "
        f"{info['pandoc']}; book {info['book']}")
    say(f"load average at start: {info['load']}")

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="book-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        global CODE
        CODE = snapshot(work)
        env = book_env()
        # Warm-up (not measured): .pyc files, the pandoc binary in the page cache.
        warm = synth.generate(work / "warmup", words=2000, chapters=2, images=1)
        measure(book_cmd(warm.folder, work / "warmup.epub", "--no-cache"), cwd=work, env=env)
        if pandoc:
            measure(pandoc_cmd(pandoc, warm.pandoc_md, work / "warmup-pd.epub"), cwd=warm.folder)

        if args.batch_only:
            args.words = 0
        # 1.–4. book against pandoc, rebuilds, scaling, footnotes ---------------------------
        if args.words and args.only & {"compare", "rebuild", "scaling", "notes"}:
            compare_rebuild_scaling(args, work, env, pandoc, sizes, results)
        # 5. batch ----------------------------------------------------------------------------
        if args.batch:
            batch_section(args, work, env, results)

        info["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        say(f"\nload average at the end: {info['load_end']}")
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str), "utf-8")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


FORMS = ("one file", "folder")
SECTIONS = ("compare", "rebuild", "scaling", "notes", "batch")


def source_of(b, form: str) -> Path:
    """The same text as `book` reads it in each form: the one Markdown file pandoc reads too,
    or the book folder of chapter files."""
    return b.pandoc_md if form == "one file" else b.folder


def compare_rebuild_scaling(args, work: Path, env: dict, pandoc: str | None, sizes: list[int], results: dict) -> None:
    """Sections 1–4: book (one file and folder) against pandoc on two kinds of text, rebuilds
    of both forms, scaling of both forms, a one-file article of 10,000 notes."""
    books = {}
    results["compare"] = {}
    if "compare" in args.only:
        for kind in args.kinds:
            books[kind] = compare(args, work, env, pandoc, kind, results)
    elif args.only & {"rebuild", "scaling"}:
        kind = args.kinds[0]
        books[kind] = synth.generate(work / f"big-{kind}", words=args.words, chapters=args.chapters,
                                     images=args.images, kind=kind)
    if "rebuild" in args.only:
        rebuild_section(args, work, books[args.kinds[0]], results)
    if "scaling" in args.only:
        scaling_section(args, work, env, books[args.kinds[0]], sizes, results)
    if args.notes:
        footnotes_section(args, work, env, pandoc, results)


def compare(args, work: Path, env: dict, pandoc: str | None, kind: str, results: dict):
    """Section 1: the same text as one file and as a folder, book against pandoc."""
    n = list(args.kinds).index(kind) + 1
    say(f"\n== 1.{n} {args.words:,} words of {kind} text, {args.chapters} chapters, {args.images} images: "
        + ("book (one file, folder) against pandoc ==" if pandoc else "book (no pandoc to compare with) =="))
    t = time.perf_counter()
    big = synth.generate(work / f"big-{kind}", words=args.words, chapters=args.chapters, images=args.images,
                         kind=kind)
    say(f"(wrote the book: {big.words:,} words, {big.pandoc_md.stat().st_size / 1e6:.1f} MB of Markdown "
        f"in one file and in {len(big.chapters)} chapter files, {time.perf_counter() - t:.1f} s)")
    # One build of each form first, not measured: files in the page cache, code paths warm.
    for form in FORMS:
        measure(book_cmd(source_of(big, form), work / "big-warm.epub", "--no-cache"), cwd=work, env=env)
    runs: dict[str, list[dict]] = {"book, one file": [], "book, folder": [], "book --jobs 1, one file": [],
                                   "book --jobs 1, folder": [], "pandoc": []}
    for r in range(args.repeat):
        for form in FORMS:
            runs[f"book, {form}"].append(measure(book_cmd(source_of(big, form), work / "big.epub", "--no-cache"),
                                                 cwd=work, env=env))
        if pandoc:
            runs["pandoc"].append(measure(pandoc_cmd(pandoc, big.pandoc_md, work / "big-pandoc.epub"),
                                          cwd=big.folder))
        for form in FORMS:
            runs[f"book --jobs 1, {form}"].append(
                measure(book_cmd(source_of(big, form), work / "big-1.epub", "--no-cache", "--jobs", "1"),
                        cwd=work, env=env))
        say(f"  run {r + 1}: " + ", ".join(f"{k} {v[-1]['wall']:.2f} s" for k, v in runs.items() if v))
    rows = []
    pd = runs["pandoc"]
    for name, rs in runs.items():
        if not rs:
            continue
        row = [name, f"{med(rs, 'wall'):.2f}", f"{med(rs, 'cpu'):.2f}", f"{med(rs, 'peak_mb'):.0f}"]
        if pd:
            row += [f"{med(rs, 'wall') / med(pd, 'wall'):.3f}", f"{med(rs, 'cpu') / med(pd, 'cpu'):.3f}",
                    f"{med(rs, 'peak_mb') / med(pd, 'peak_mb'):.3f}"]
        rows.append(row)
    head = ["tool", "wall s", "cpu s", "peak MB"] + (["wall / pandoc", "cpu / pandoc", "memory / pandoc"]
                                                     if pd else [])
    say(table(rows, head))
    if args.repeat > 1:
        say(f"(medians of {args.repeat} runs)")
    results["compare"][kind] = {"words": big.words, "runs": {k: v for k, v in runs.items() if v}}
    return big


def edit_chapter(big, form: str, k: int, text: str) -> None:
    """Append a paragraph to chapter `k` (0-based): its file, or its part of the one file."""
    if form == "folder":
        ch = big.chapters[k]
        ch.write_text(ch.read_text("utf-8") + f"\n{text}\n", "utf-8")
        return
    md = big.pandoc_md.read_text("utf-8")
    head = f"# Chapter {k + 1}:"
    at = md.index(head)
    end = md.find("\n# Chapter ", at + len(head))
    end = len(md) if end < 0 else end
    # Saved as many editors save a file: written beside it, then renamed over it, so that a
    # watcher never reads a 6 MB file half written.
    new = big.pandoc_md.with_name(f".{big.pandoc_md.name}.new")
    new.write_text(md[:end].rstrip("\n") + f"\n\n{text}\n\n" + md[end:].lstrip("\n"), "utf-8")
    os.replace(new, big.pandoc_md)


def rebuild_section(args, work: Path, big, results: dict) -> None:
    """Section 2: rebuilds with the cache on, both forms: a new `book build` process after a
    one-chapter edit, and the same edit with `book build --watch` running."""
    say("\n== 2. rebuild with the cache on, after editing one chapter ==")
    env = book_env()
    results["rebuild"], same = {}, True
    rows = []
    for form in FORMS:
        src = source_of(big, form)
        cache = work / f"cache-{form.replace(' ', '-')}"
        cenv = book_env(cache)
        reb: dict[str, list[dict]] = {"cold (empty cache)": [], "unchanged": [], "one chapter edited": []}
        middle = len(big.chapters) // 2
        for r in range(args.repeat):
            shutil.rmtree(cache, ignore_errors=True)
            reb["cold (empty cache)"].append(measure(book_cmd(src, work / "c1.epub"), cwd=work, env=cenv))
            reb["unchanged"].append(measure(book_cmd(src, work / "c2.epub"), cwd=work, env=cenv))
            same &= (work / "c1.epub").read_bytes() == (work / "c2.epub").read_bytes()
            edit_chapter(big, form, middle, f"One more paragraph ({r + 1}), for the rebuild.")
            reb["one chapter edited"].append(measure(book_cmd(src, work / "c3.epub"), cwd=work, env=cenv))
            # The edited book built cold must be the cached rebuild, byte for byte.
            measure(book_cmd(src, work / "c4.epub", "--no-cache"), cwd=work, env=env)
            same &= (work / "c3.epub").read_bytes() == (work / "c4.epub").read_bytes()
        # The same edit with `book build --watch` running: the time from saving the chapter
        # to the new EPUB in place (polling included), in a process that is already warm.
        reb["one chapter edited, --watch"] = []
        watch_cmd = [sys.executable, "-m", "book", "build", str(src), "-o", str(work / "w.epub"), "--watch"]
        with Watcher(watch_cmd, cwd=work, env=cenv) as w:
            for r in range(max(3, args.repeat)):
                k = (r * 37 + 11) % len(big.chapters)
                reb["one chapter edited, --watch"].append(
                    w.rebuild(lambda k=k, r=r: edit_chapter(big, form, k, f"A watched edit ({r + 1})."),
                              work / "w.epub"))
        measure(book_cmd(src, work / "c5.epub", "--no-cache"), cwd=work, env=env)
        same &= (work / "w.epub").read_bytes() == (work / "c5.epub").read_bytes()
        cold = reb["cold (empty cache)"]
        rows += [[form, k, f"{med(v, 'wall'):.2f}", f"{med(v, 'cpu'):.2f}", f"{med(v, 'peak_mb'):.0f}",
                  f"{med(v, 'wall') / med(cold, 'wall'):.3f}", f"{med(v, 'cpu') / med(cold, 'cpu'):.3f}"]
                 for k, v in reb.items()]
        results["rebuild"][form] = reb
    say(table(rows, ["form", "build", "wall s", "cpu s", "peak MB", "wall / cold", "cpu / cold"]))
    say(f"cached builds give the cold build's bytes: {same}")
    results["rebuild_identical"] = same


def scaling_section(args, work: Path, env: dict, big, sizes: list[int], results: dict) -> None:
    """Section 3: how time and memory grow with the text, both forms."""
    say("\n== 3. scaling (book, all CPUs, no cache) ==")
    rows, scale = [], []
    for form in FORMS:
        before = None
        for words in sizes:
            chapters = max(1, round(args.chapters * words / args.words))
            if words == args.words:
                b = big
            else:
                b = synth.generate(work / f"size-{words}", words=words, chapters=chapters, images=args.images,
                                   kind=args.kinds[0])
            m = measure(book_cmd(source_of(b, form), work / f"size-{words}.epub", "--no-cache"), cwd=work, env=env)
            step = f"{m['wall'] / before['wall']:.2f}" if before else "-"
            scale.append({"form": form, "words": b.words, "chapters": len(b.chapters), **m})
            rows.append([form, f"{b.words:,}", f"{m['wall']:.2f}", step, f"{m['cpu']:.2f}",
                         f"{b.words / m['wall'] / 1000:.0f}k", f"{m['peak_mb']:.0f}"])
            before = m
    say(table(rows, ["form", "words", "wall s", "× step", "cpu s", "words/s", "peak MB"]))
    say("(× step: the time over the time of the size before; doubling the text should at most double it)")
    results["scaling"] = scale


def footnotes_section(args, work: Path, env: dict, pandoc: str | None, results: dict) -> None:
    """Section 4: a one-file article with many footnotes (args.notes), book against pandoc."""
    say(f"\n== 4. a one-file article with {args.notes:,} footnotes ==")
    article = synth.footnote_article(work / "notes" / "article.md", notes=args.notes)
    runs = {"book": [measure(book_cmd(article, work / "notes.epub", "--no-cache"), cwd=work, env=env)]}
    if pandoc:
        runs["pandoc"] = [measure(pandoc_cmd(pandoc, article, work / "notes-pandoc.epub"), cwd=article.parent)]
    pd = runs.get("pandoc")
    say(table([[k, f"{med(v, 'wall'):.2f}", f"{med(v, 'cpu'):.2f}", f"{med(v, 'peak_mb'):.0f}"]
               + ([f"{med(v, 'wall') / med(pd, 'wall'):.3f}"] if pd else []) for k, v in runs.items()],
              ["tool", "wall s", "cpu s", "peak MB"] + (["wall / pandoc"] if pd else [])))
    results["footnotes"] = runs



def batch_section(args, work: Path, env: dict, results: dict) -> None:
    """Section 5: many short articles, one EPUB each: 1 and 2 local processes, and a Dask cluster."""
    say(f"\n== 5. batch: {args.batch} articles of ~{args.batch_words} words (no cache) ==")
    folder = work / "articles"
    shutil.rmtree(folder, ignore_errors=True)
    synth.articles(folder, args.batch, words=args.batch_words)
    rows, batch = [], {}
    for jobs in (1, 2):
        out = work / f"batch-{jobs}"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [sys.executable, "-m", "book", "build", str(folder), "-o", str(out), "-q", "--no-cache",
               "--jobs", str(jobs)]
        m = measure(cmd, cwd=work, env=env)
        built = len(list(out.glob("*.epub")))
        batch[jobs] = {**m, "built": built}
        rows.append([f"--jobs {jobs}", built, f"{m['wall']:.2f}", f"{m['cpu']:.2f}",
                     f"{built / m['wall']:.1f}", f"{m['peak_mb']:.0f}"])
    dask = dask_batch(folder, work, env, workers=2)
    if dask:
        batch["dask"] = dask
        rows.append(["Dask LocalCluster, 2 workers", dask["built"], f"{dask['wall']:.2f}", "-",
                     f"{dask['built'] / dask['wall']:.1f}", "-"])
    say(table(rows, ["batch", "EPUBs", "wall s", "cpu s", "articles/s", "peak MB"]))
    if dask:
        say(f"(Dask: `book build --dask-scheduler` on a LocalCluster of {dask['workers']} worker processes, "
            f"started before and not timed ({dask['cluster_start']:.1f} s); cpu and memory of its "
            "workers are not the command's own, so not shown)")
    results["batch"] = batch


if __name__ == "__main__":
    sys.exit(main())
