"""book as a library: the public API (book.build, book.check, book.build_many), the command
line as one user of it, and batches on any executor — a local process pool, a thread pool and
a real Dask cluster (distributed.LocalCluster, worker processes started here)."""

from __future__ import annotations

import ast
import http.server
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import book
from book import BuildOptions
from book.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_OUTPUT

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "book"
ARTICLES = 50


# ---------------------------------------------------------------------------------------------
# The library never loads the command line


def test_importing_and_building_loads_no_command_line_code(tmp_path):
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\n---\n# H\n\nText.\n", "utf-8")
    code = ("import book, sys\n"
            f"book.build({str(src)!r}, {str(tmp_path / 'a.epub')!r})\n"
            "print([m for m in sys.modules if m.startswith('book.cli')])\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    assert (tmp_path / "a.epub").is_file()


def _imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a source file imports, relative imports resolved to absolute names."""
    package = ".".join(path.relative_to(root).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return found


def test_no_library_module_imports_the_command_line():
    library = [p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts[:1]
               and p.name != "__main__.py"]
    assert len(library) > 20
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in _imported_modules(p)
                                                  if m == "book.cli" or m.startswith("book.cli."))
                 for p in library}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_reader_sees_a_cli_import(tmp_path):
    """The test above can fail: an import of the CLI is seen, whatever its spelling."""
    real = _imported_modules(PACKAGE / "render" / "passes.py")
    assert "book.render.tree" in real and "book.rules" in real
    probe = tmp_path / "book" / "render" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from ..cli import main\nfrom book.cli.watch import watch\nimport book.cli\n", "utf-8")
    assert {"book.cli", "book.cli.main", "book.cli.watch"} <= _imported_modules(probe, tmp_path)


# ---------------------------------------------------------------------------------------------
# A process imports what it uses (issue 13: a rebuild is a new `book build` process, and its
# imports are paid again each time).  Measured in benchmarks/, guarded here without a clock.

# What a build of a plain article (no pictures, no read aloud, no date, one author, `lang: en`)
# never uses; each is imported where it is needed.  langcodes compiles a regular expression of
# every valid subtag when imported; `en` is answered by book.source.subtags.
NOT_IN_A_PLAIN_BUILD = ["book.cli", "book.check", "book.check.tools", "book.check.report", "lxml.html", "book.narrate",
                        "book.narrate.overlays", "book.narrate.speech", "book.package.onix", "book.package.kobo",
                        "book.webimport", "book.net", "langcodes", "langcodes.data_dicts", "babel", "rich", "dask",
                        "distributed", "pysbd", "lameenc", "playwright", "difflib"]


def _loaded_after(code: str, watch: list[str]) -> list[str]:
    """The modules of `watch` that are in sys.modules after `code` runs in a new Python."""
    probe = code + f"\nimport sys\nprint(sorted(m for m in {watch!r} if m in sys.modules))\n"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return ast.literal_eval(r.stdout.strip().splitlines()[-1])


def test_a_build_imports_only_what_it_uses(tmp_path):
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\nauthor: A. Writer\n---\n# H\n\nText, *some* `code`.\n\n"
                   "```python\nx = 1\n```\n", "utf-8")
    build = (f"import book\nbook.build({str(src)!r}, {str(tmp_path / 'a.epub')!r}, "
             f"book.BuildOptions(cache_dir={str(tmp_path / 'cache')!r}))\n")
    # The first build draws the typographic cover (Pillow); the second takes it from the cache
    # with the chapter, and decodes no picture at all.
    assert _loaded_after(build, NOT_IN_A_PLAIN_BUILD + ["PIL.Image"]) == ["PIL.Image"]
    assert _loaded_after(build, NOT_IN_A_PLAIN_BUILD + ["PIL.Image"]) == []
    assert (tmp_path / "a.epub").is_file()
    # A book in Italian, with a date and two authors: Babel writes the date and joins the names,
    # the Display Guide's Italian words make the accessibility summary; langcodes and the
    # checkers themselves stay out.
    italian = tmp_path / "it.md"
    italian.write_text("---\ntitle: Libro\nlang: it\nauthor: [Anna, Bruno]\ndate: 2024-03-14\n---\n"
                       "# Capitolo\n\nUn testo.\n", "utf-8")
    assert _loaded_after(f"import book\nbook.build({str(italian)!r}, {str(tmp_path / 'it.epub')!r})\n",
                         ["babel", "book.check.display_words", "langcodes", "book.check.tools", "lxml.html",
                          "book.narrate", "book.cli"]) == ["babel", "book.check.display_words"]
    # Python-Markdown's fenced_code (whose import imports Pygments) joins the renderer when a
    # text has a fence: a book without fenced code loads neither; the first book above has one.
    plain = tmp_path / "plain.md"
    plain.write_text("---\ntitle: T\nlang: en\n---\n# H\n\nText, *some* `code` and ``a ` tick``.\n", "utf-8")
    fenced = ["pygments", "markdown.extensions.fenced_code", "markdown.extensions.codehilite"]
    assert _loaded_after(f"import book\nbook.build({str(plain)!r}, {str(tmp_path / 'p.epub')!r})\n", fenced) == []
    rendered = build.replace("cache_dir=", "cache=False, cache_dir=")  # (cached, nothing renders)
    assert _loaded_after(rendered, fenced) == sorted(fenced)
    # The probe can fail: a module is seen once something loads it (a tag with a script subtag
    # is langcodes' to answer).
    assert _loaded_after(build + "book.check\nfrom book.source.metadata import text_direction\n"
                         "assert text_direction('zh-Hant') == 'ltr'\n",
                         ["book.check", "langcodes"]) == ["book.check", "langcodes"]


def test_the_version_and_the_help_import_nothing_of_the_library():
    for args in (["--version"], ["--help"], ["build", "--help"]):
        code = f"from book.cli import main\nassert main({args!r}) == 0\n"
        loaded = _loaded_after(code, ["book.build", "book.batch", "book.check", "book.source", "book.render",
                                      "book.package", "book.cache", "lxml", "markdown", "yaml", "PIL", "langcodes",
                                      "babel", "rich", "concurrent.futures"])
        assert loaded == [], (args, loaded)
        r = subprocess.run([sys.executable, "-c", code + "import sys\n"
                            "print(sorted(m for m in sys.modules if m == 'book' or m.startswith('book.')))"],
                           capture_output=True, text=True, cwd=ROOT)
        assert ast.literal_eval(r.stdout.strip().splitlines()[-1]) == ["book", "book.cli", "book.errors",
                                                                        "book.options"], args


def test_build_options_are_typed_frozen_and_travel(tmp_path):
    import pickle

    o = BuildOptions(strict=True, jobs=2, progress=print)
    with pytest.raises(Exception):
        o.strict = False  # type: ignore[misc]
    with pytest.raises(ValueError):
        BuildOptions(jobs=0)
    back = pickle.loads(pickle.dumps(o))
    assert back == o and back.progress is None, "a callback stays in the calling process"
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\n---\n# H\n\n[click here](#h)\n", "utf-8")
    with pytest.raises(book.BookError) as e:
        book.build(src, tmp_path / "a.epub", BuildOptions(strict=True))
    assert "[link-vague]" in str(e.value) and e.value.exit_code == EXIT_INPUT
    seen = []
    result = book.build(src, tmp_path / "a.epub", BuildOptions(progress=seen.append))
    assert seen and seen[0].startswith("rendering") and result.stats.chapters == 1
    assert book.build(src, tmp_path / "b.epub", strict=False).output.read_bytes() == result.output.read_bytes()


def test_check_is_part_of_the_api(tmp_path):
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\n---\n# H\n\nText.\n", "utf-8")
    epub = book.build(src, tmp_path / "a.epub").output
    report = book.check(epub, epubcheck=False, ace=False)
    assert isinstance(report, book.CheckReport)
    assert report.findings == [] and not report.ok, "a check with the checkers off cannot pass"
    assert any(f.heading == "Ways of reading" for f in report.statement)


# ---------------------------------------------------------------------------------------------
# build_many: the same books as one by one, on every kind of executor


def make_articles(folder: Path, n: int = ARTICLES) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    for i in range(n):
        src = folder / f"article-{i:02d}.md"
        src.write_text(f"---\ntitle: Article {i}\nlang: en\nauthor: Writer {i % 7}\ndate: 2024-03-{i % 28 + 1:02d}\n"
                       f"---\n# Article {i}\n\nThe text of article {i}, with a note.[^1]\n\n## More\n\n"
                       f"- one\n- two {i}\n\n[^1]: A note of article {i}.\n", "utf-8")
        sources.append(src)
    return sources


@pytest.fixture(scope="module")
def articles(tmp_path_factory):
    """50 articles, a broken one among them, and each good one built alone with book.build."""
    folder = tmp_path_factory.mktemp("articles")
    sources = make_articles(folder / "src")
    broken = folder / "src" / "broken.md"
    broken.write_text("---\ntitle: Broken\nlang: en\n---\n# Broken\n\n![A cat.](cat.png)\n", "utf-8")
    sources.insert(17, broken)
    alone = {}
    for src in sources:
        if src != broken:
            alone[src.name] = book.build(src, folder / "alone" / f"{src.stem}.epub", cache=False).output.read_bytes()
    return sources, broken, alone


def check_outcomes(outcomes, sources, broken, alone, out_dir: Path) -> None:
    assert [o.source for o in outcomes] == [str(s) for s in sources], "in the order given"
    for o, src in zip(outcomes, sources):
        if src == broken:
            assert not o.ok and o.output is None and o.exit_code == EXIT_INPUT
            assert [str(p) for p in o.problems] == [
                f"{broken}:7: image 'cat.png' does not exist — check the file name and that it is inside the book's folder"]
        else:
            assert o.ok, o.problems
            assert o.output == out_dir / f"article-{int(src.stem.split('-')[1])}.epub"
            assert o.output.read_bytes() == alone[src.name], f"{src.name}: not the bytes of a build alone"
    assert not (out_dir / "broken.epub").exists()


def test_build_many_on_the_default_process_pool(articles, tmp_path):
    sources, broken, alone = articles
    calls = []
    outcomes = book.build_many(sources, tmp_path / "out", BuildOptions(cache=False, jobs=2),
                               on_done=lambda o, done, total: calls.append((done, total)))
    check_outcomes(outcomes, sources, broken, alone, tmp_path / "out")
    assert calls == [(k, len(sources)) for k in range(1, len(sources) + 1)]


def test_build_many_on_a_thread_pool(articles, tmp_path):
    sources, broken, alone = articles
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = book.build_many(sources, tmp_path / "out", BuildOptions(cache=False), executor=pool)
    check_outcomes(outcomes, sources, broken, alone, tmp_path / "out")


def test_build_many_keeps_each_exit_code(tmp_path):
    """A source whose EPUB cannot be written fails with 5, as `book build` would, not 1."""
    sources = make_articles(tmp_path / "src", 3)
    (tmp_path / "out" / "article-1.epub").mkdir(parents=True)  # a folder where the EPUB should go
    outcomes = book.build_many(sources, tmp_path / "out", BuildOptions(cache=False, jobs=1))
    assert [o.exit_code for o in outcomes] == [0, EXIT_OUTPUT, 0]
    assert "is a folder" in str(outcomes[1].problems[0])


@pytest.fixture
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    import dask

    # One death of a worker while it builds a source fails that source (KilledWorker) instead
    # of trying it on the next worker (the default allows 3); and a worker holds only the task
    # it runs (the default queues a second one on it, which a death would fail too).
    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.scheduler.worker-saturation": 1.0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None, silence_logs=40) as cluster:
            with distributed.Client(cluster) as client:
                yield client


@pytest.mark.slow
def test_build_many_on_a_dask_cluster(articles, tmp_path, dask_cluster):
    sources, broken, alone = articles
    pids = dask_cluster.run(lambda: __import__("os").getpid())
    assert len(set(pids.values())) == 2, "two worker processes"
    executor = dask_cluster.get_executor()
    outcomes = book.build_many(sources, tmp_path / "out", BuildOptions(cache=False), executor=executor)
    check_outcomes(outcomes, sources, broken, alone, tmp_path / "out")


# ---------------------------------------------------------------------------------------------
# A worker killed in the middle of a build is that source's internal error, not the batch's


class _Silent(http.server.BaseHTTPRequestHandler):
    """Accepts a request and never answers: the build that asked waits, until its worker is killed."""

    def do_GET(self):  # noqa: N802
        self.server.asked.set()
        self.server.release.wait(60)

    def log_message(self, *args):
        pass


@pytest.fixture
def silent_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Silent)
    server.asked, server.release = threading.Event(), threading.Event()
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def kill_the_waiting_worker(server, stop: threading.Event) -> list[int]:
    """Kill (SIGKILL) every process of ours connected to `server`, each time one asks it."""
    import psutil

    port = server.server_address[1]
    killed = []
    while not stop.is_set():
        if not server.asked.wait(0.1):
            continue
        server.asked.clear()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            victims = [p for p in psutil.Process().children(recursive=True)
                       if any(c.raddr and c.raddr.port == port for c in _connections(p))]
            if victims:
                for p in victims:
                    p.kill()
                    killed.append(p.pid)
                break
            time.sleep(0.05)
    return killed


def _connections(p):
    try:
        return p.net_connections(kind="tcp") if hasattr(p, "net_connections") else p.connections(kind="tcp")
    except Exception:  # noqa: BLE001 - the process ended meanwhile
        return []


def batch_with_a_victim(tmp_path, server) -> list[Path]:
    sources = make_articles(tmp_path / "src", 8)
    victim = tmp_path / "src" / "victim.md"
    host, port = server.server_address
    victim.write_text(f"---\ntitle: Victim\nlang: en\n---\n# Victim\n\n![A photo.](http://{host}:{port}/a.png)\n",
                      "utf-8")
    sources.insert(3, victim)
    return sources


def run_killing(server, run):
    stop = threading.Event()
    killed: list[int] = []
    killer = threading.Thread(target=lambda: killed.extend(kill_the_waiting_worker(server, stop)), daemon=True)
    killer.start()
    try:
        return run(), killed
    finally:
        stop.set()
        killer.join(15)


def check_victim(outcomes, sources, killed) -> None:
    assert killed, "the test killed a worker"
    assert [o.source for o in outcomes] == [str(s) for s in sources]
    for o, src in zip(outcomes, sources):
        if src.name == "victim.md":
            assert o.exit_code == EXIT_INTERNAL and o.output is None
            assert str(o.problems[0]).startswith(f"internal error: {src}:")
        else:
            assert o.ok and o.output.is_file(), (src, o.problems)


def test_killed_worker_on_the_default_pool(tmp_path, silent_server):
    pytest.importorskip("psutil")
    sources = batch_with_a_victim(tmp_path, silent_server)
    options = BuildOptions(cache=False, jobs=2, allow_remote_images=True, allow_private_network=True)
    outcomes, killed = run_killing(silent_server, lambda: book.build_many(sources, tmp_path / "out", options))
    check_victim(outcomes, sources, killed)
    assert len(killed) == 2, "killed in the pool, then again when it was tried alone"


@pytest.mark.slow
def test_killed_worker_on_a_dask_cluster(tmp_path, silent_server, dask_cluster):
    pytest.importorskip("psutil")
    sources = batch_with_a_victim(tmp_path, silent_server)
    options = BuildOptions(cache=False, allow_remote_images=True, allow_private_network=True)
    outcomes, killed = run_killing(silent_server, lambda: book.build_many(
        sources, tmp_path / "out", options, executor=dask_cluster.get_executor()))
    check_victim(outcomes, sources, killed)
    assert "KilledWorker" in str(next(o for o in outcomes if not o.ok).problems[0])


# ---------------------------------------------------------------------------------------------
# The command line on a Dask cluster, and no Dask without it


@pytest.mark.slow
def test_command_line_batch_on_a_dask_scheduler(tmp_path, dask_cluster, monkeypatch, capsys):
    from book.cli import main

    monkeypatch.chdir(tmp_path)
    make_articles(tmp_path / "arts", 6)
    address = dask_cluster.scheduler.address
    assert main(["build", "arts", "-o", "out", "--no-cache", "--dask-scheduler", address]) == 0
    out = capsys.readouterr().out
    assert out.count("wrote out/") == 6
    assert main(["build", "arts/article-03.md", "-o", "alone.epub", "-q"]) == 0
    assert (tmp_path / "alone.epub").read_bytes() == (tmp_path / "out" / "article-3.epub").read_bytes()
    # A single source is no batch, and a scheduler nobody runs is a clear error.
    assert main(["build", "arts/article-03.md", "--dask-scheduler", address]) == 2
    assert "--dask-scheduler builds a batch" in capsys.readouterr().err


def test_a_batch_without_the_option_loads_no_dask(tmp_path):
    make_articles(tmp_path / "arts", 3)
    code = ("import sys\nfrom book.cli import main\n"
            f"assert main(['build', {str(tmp_path / 'arts')!r}, '-o', {str(tmp_path / 'out')!r}, '-q', '--jobs', '2']) == 0\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed'}))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    assert len(list((tmp_path / "out").glob("*.epub"))) == 3


def test_unreachable_dask_scheduler_is_a_clear_error(tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed")
    from book.cli import main

    monkeypatch.chdir(tmp_path)
    make_articles(tmp_path / "arts", 2)
    with socket.socket() as s:  # a port on loopback that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(["build", "arts", "-o", "out", "--dask-scheduler", f"tcp://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 4, err
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in err and "Traceback" not in err


def test_batch_exit_status_is_the_most_serious_failure(tmp_path, monkeypatch, capsys):
    from book.cli import main

    monkeypatch.chdir(tmp_path)
    make_articles(tmp_path / "arts", 3)
    (tmp_path / "arts" / "zz-broken.md").write_text("---\ntitle: Z\nlang: en\n---\n# Z\n\n![A cat.](cat.png)\n", "utf-8")
    assert main(["build", "arts", "-o", "out", "-q"]) == EXIT_INPUT
    (tmp_path / "out2" / "article-1.epub").mkdir(parents=True)  # an output that cannot be written: 5
    assert main(["build", "arts", "-o", "out2", "-q"]) == EXIT_OUTPUT
    err = capsys.readouterr().err
    assert "is a folder" in err and "cat.png" in err
