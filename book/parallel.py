"""Rendering the chapters of a book: from the cache when it can, in parallel processes when the
book is big enough to pay for them, and always with the same result as rendering them one after
another — the same list of :class:`book.transform.RenderedChapter`, in order, and the same error
(the first chapter's, in reading order) when one fails.

`render_chapter` is pure (book.transform), so a chapter rendered in another process, or loaded
from the cache (book.cache), is the chapter rendered here.

How it runs is set per call or by :func:`options`, which the command line uses for ``--jobs``
and ``--no-cache``::

    with parallel.options(jobs=2, cache=True) as opts:
        build("my-book/")
    opts.stats.hits, opts.stats.misses

The library's defaults: chapters render in parallel when there are enough of them
(``jobs=None``: one process per CPU), and the cache is off unless turned on (a library call
writes nothing beside the source unless asked to).  The command line's default is
``cache="auto"``: on for a book folder, off for a lone Markdown file (see render_chapters).

Worker processes are forked (Linux, and only from a process with a single thread); elsewhere
everything renders in this process — same result, one CPU.
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
import multiprocessing
import os
import pickle
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from . import cache as cachelib
from . import transform
from .errors import BookError

# Parallel rendering pays for its processes only past this much Markdown (about 40,000 words;
# a process starts in ~20 ms, a chapter renders at ~2.5 MB of Markdown a second), and with at
# least this many chapters to render.
MIN_PARALLEL_CHARS = 250_000
MIN_PARALLEL_CHAPTERS = 4


@dataclass
class RenderStats:
    chapters: int = 0
    hits: int = 0  # loaded from the cache
    misses: int = 0  # rendered (cache on and no valid entry)
    stored: int = 0  # new cache entries written
    workers: int = 1  # processes that rendered (1: in this process)
    hit_names: list[str] = field(default_factory=list)
    miss_names: list[str] = field(default_factory=list)


@dataclass
class Options:
    jobs: int | None = None  # None: os.cpu_count() when the book is big enough; 1: serial
    cache: bool | str = False  # True, False, or "auto" (the command line's default: see render_chapters)
    cache_dir: str | os.PathLike | None = None  # None: BOOK_CACHE_DIR, else <root>/.cache/book
    stats: RenderStats = field(default_factory=RenderStats)  # summed over the calls in the context
    memory: cachelib.Memory | None = None  # kept between builds by a long-running process (--watch)


_DEFAULT = Options()
_current: contextvars.ContextVar[Options] = contextvars.ContextVar("book_render_options", default=_DEFAULT)
last_stats: RenderStats | None = None  # what the last render_chapters call in this process did


@contextlib.contextmanager
def options(*, jobs: int | None = None, cache: bool | str | None = None,
            cache_dir: str | os.PathLike | None = None, memory: cachelib.Memory | None = None):
    """Set how chapters render for the builds inside the `with` block (in this thread); yields
    the Options, whose `stats` add up what those builds did.  Unset fields keep the outer value."""
    outer = _current.get()
    new = Options(jobs=jobs if jobs is not None else outer.jobs,
                  cache=cache if cache is not None else outer.cache,
                  cache_dir=cache_dir if cache_dir is not None else outer.cache_dir,
                  memory=memory if memory is not None else outer.memory)
    token = _current.set(new)
    try:
        yield new
    finally:
        _current.reset(token)


def current() -> Options:
    return _current.get()


def worker_count(jobs: int | None) -> int:
    if jobs is not None and jobs > 0:
        return jobs
    return os.cpu_count() or 1


def render_chapters(source, *, jobs: int | None = None, cache: bool | str | None = None,
                    cache_dir: str | os.PathLike | None = None, allow_remote: bool = False,
                    meanwhile=None) -> list:
    """Every chapter of `source` rendered, in order: exactly what
    ``[transform.render_chapter(ch, root=..., index=i + 1, ...) for i, ch in ...]`` gives.
    `meanwhile()`, if given, is called once in this process while the workers render (or
    before rendering here): work of the build that needs no chapter, done when this process
    would otherwise only wait."""
    global last_stats
    opts = _current.get()
    jobs = opts.jobs if jobs is None else jobs
    use_cache = opts.cache if cache is None else cache
    cache_dir = opts.cache_dir if cache_dir is None else cache_dir
    meta = source.meta
    settings = {"root": source.root, "split_level": meta.split_level, "book_title": meta.title,
                "lang": meta.lang, "allow_remote": allow_remote}
    stats = RenderStats(chapters=len(source.chapters))

    folder = cache_folder(source, use_cache, cache_dir)
    store = None
    if folder is not None:
        store = cachelib.ChapterCache(folder, source.root, opts.memory)
        cachelib.signing_key()  # made once, here, before any worker process starts

    results: list = [None] * len(source.chapters)
    keys: list[str | None] = [None] * len(source.chapters)
    todo: list[int] = []
    for i, ch in enumerate(source.chapters):
        if store is not None:
            keys[i] = cachelib.chapter_key(ch, {**settings, "index": i + 1})
            hit = store.get(keys[i], ch.name)
            if hit is not None:
                results[i] = hit
                continue
        todo.append(i)

    cache_spec = (str(store.dir), str(source.root)) if store is not None else None
    tasks = [(source.chapters[i], {**settings, "index": i + 1}, keys[i], cache_spec) for i in todo]
    size = sum(len(source.chapters[i].text) for i in todo)
    workers = min(worker_count(jobs), len(todo)) if _fork_context() else 1
    if workers > 1 and (jobs is not None or (size >= MIN_PARALLEL_CHARS and len(todo) >= MIN_PARALLEL_CHAPTERS)):
        outcomes = _run_parallel(tasks, workers, meanwhile)
        stats.workers = workers
    else:
        if meanwhile is not None:
            meanwhile()
        outcomes = (_render_task(task, here=True) for task in tasks)

    try:
        for i, outcome in zip(todo, outcomes):
            results[i] = _unwrap(outcome, stats)
            if store is not None:
                store.remember(keys[i], results[i])
    finally:
        close = getattr(outcomes, "close", None)
        if close:
            close()  # stops the pool when a chapter failed before the others were collected
        if store is not None:
            stats.hits, stats.misses = store.stats.hits, store.stats.misses
            stats.hit_names, stats.miss_names = store.stats.hit_names, store.stats.miss_names
            if stats.stored:
                store.prune()
        else:
            stats.misses = len(todo)
            stats.miss_names = [source.chapters[i].name for i in todo]
        last_stats = stats
        if opts is not _DEFAULT:  # outside options(), nothing adds up (no growing list)
            _add(opts.stats, stats)
    return results


def cache_folder(source, cache: bool | str | None = None, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The cache folder a build of `source` uses under the current options, or None (no cache)."""
    opts = _current.get()
    cache = opts.cache if cache is None else cache
    cache_dir = opts.cache_dir if cache_dir is None else cache_dir
    if cache == "auto":
        # The command line's default: a book folder keeps its cache in .cache/book; a lone
        # Markdown file is one chapter (any edit renders it again) in a folder that is not the
        # book's, so it is cached only where a cache folder is named.
        cache = bool(cache_dir or os.environ.get(cachelib.ENV_DIR)
                     or Path(source.meta_file).name == "book.yaml")
    if not cache:
        return None
    return Path(cache_dir) if cache_dir else cachelib.default_dir(source.root)


def _add(total: RenderStats, one: RenderStats) -> None:
    total.chapters += one.chapters
    total.hits += one.hits
    total.misses += one.misses
    total.stored += one.stored
    total.workers = max(total.workers, one.workers)
    total.hit_names += one.hit_names
    total.miss_names += one.miss_names


# ---------------------------------------------------------------------------------------------
# One chapter (in this process or a worker)


def _render_task(task, here: bool = False):
    """Render one chapter; store it in the cache when asked.  Returns ("error", class, problems)
    for a problem in the source, else ("ok", chapter, stored?) — the chapter as an object when
    rendered `here`, pickled when it must travel back from a worker (the cache entry's own
    bytes, so it is pickled once)."""
    chapter, settings, key, cache_spec = task
    try:
        rendered = transform.render_chapter(chapter, **settings)
    except BookError as e:
        return ("error", type(e), e.problems)
    data = stored = None
    if cache_spec is not None:
        store = cachelib.ChapterCache(*cache_spec)
        data = store.payload(rendered)
        stored = store.put_payload(key, data)
    if here:
        return ("ok", rendered, stored)
    if data is not None:
        return ("ok", data[len(cachelib.MAGIC) + 32:], stored)
    return ("ok", pickle.dumps(([], rendered), protocol=pickle.HIGHEST_PROTOCOL), stored)


def _unwrap(outcome, stats: RenderStats):
    if outcome[0] == "error":
        _kind, cls, problems = outcome
        raise cls(problems=problems)
    _ok, chapter, stored = outcome
    stats.stored += bool(stored)
    return pickle.loads(chapter)[1] if isinstance(chapter, bytes) else chapter


# ---------------------------------------------------------------------------------------------
# Processes


def _fork_context():
    """The `fork` start method, or None where processes are not worth the risk.

    fork only: a worker starts in milliseconds with the parent's modules already imported, and
    nothing is imported again.  spawn and forkserver would import the program's main module in
    each worker — `python -m book` runs the command line at import — so where fork is not safe
    (not Linux, or a process with several threads, e.g. a preview server building in a thread),
    chapters and batches build one after another instead."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return None
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork")


def _run_parallel(tasks, workers: int, meanwhile=None):
    """Outcomes of `tasks`, yielded in their order.  The longest chapters start first, so one long
    chapter at the end does not leave the other processes idle.  If the pool breaks (a worker
    killed, e.g. out of memory), what is left renders here."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_fork_context())
    # What the workers inherit (every imported module, the source) is moved out of reach of the
    # garbage collector before they fork, as the `gc` documentation advises for fork without
    # exec: a worker's collections then never walk those objects (a few % of its time), and it
    # does not touch — and so copy — their memory pages.
    gc.freeze()
    try:
        order = sorted(range(len(tasks)), key=lambda k: -len(tasks[k][0].text))
        futures = {k: pool.submit(_render_task, tasks[k]) for k in order}
        if meanwhile is not None:
            meanwhile()
        for k in range(len(tasks)):
            try:
                yield futures.pop(k).result()  # popped: its bytes are freed once unpickled
            except BrokenProcessPool:
                yield _render_task(tasks[k], here=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


# ---------------------------------------------------------------------------------------------
# Batches: many sources, one EPUB each (`book build a.md b.md articles/ --jobs 2`)


@dataclass
class Batch:
    sources: list[str]
    is_batch: bool  # several sources, or a folder of articles
    article_folders: set[str] = field(default_factory=set)  # folders given as a batch of articles


def expand_sources(args: list[str]) -> Batch:
    """The sources named on the command line, a folder of articles (Markdown files and no
    book.yaml) standing for its `*.md` files, and whether that makes a batch (more than one
    source, or a folder of articles).  Anything else is passed on as it is, so a wrong path gets
    the usual message from the build."""
    batch = Batch([], len(args) > 1)
    for arg in args:
        p = Path(arg)
        if p.is_dir() and not (p / "book.yaml").exists():
            articles = sorted(q for q in p.glob("*.md") if q.is_file() and not q.name.startswith("."))
            if articles:
                batch.sources += [str(q) for q in articles]
                batch.article_folders.add(str(p.resolve()))
                batch.is_batch = True
                continue
        batch.sources.append(arg)
    return batch


def _batch_outputs(sources: list[str], out_dir: Path) -> list[Path | None]:
    """dist/<slug-of-title>.epub for each source (or in `-o DIR`); two books with the same title
    get -2, -3… in the order given.  None where the source cannot be read: its build says why."""
    from .build import slugify
    from .source import load

    outputs, used = [], set()
    for src in sources:
        try:
            slug = slugify(load(src).meta.title)
        except BookError:
            outputs.append(None)
            continue
        name, n = slug, 1
        while name in used:
            n += 1
            name = f"{slug}-{n}"
        used.add(name)
        outputs.append(out_dir / f"{name}.epub")
    return outputs


def _batch_one(task):
    """Build one source of a batch, exactly as `book build SOURCE -o OUT` would, and return its
    exit code and what it printed (stdout, stderr)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from .cli import main

    argv, cache_dir = task
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), options(cache_dir=cache_dir):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def build_batch(batch: Batch | list[str], output: str | None = None, *, jobs: int | None = None,
                cache: bool = True, strict: bool = False, quiet: bool = False, debug: bool = False,
                stdout=None, stderr=None, extra_args: tuple[str, ...] = ()) -> int:
    """Build every source to its own EPUB, `jobs` at a time (default: one per CPU), each in a
    process of its own.  A failure does not stop the others; every failure is printed at the
    end, as the usual `file:line: …` lines.  Returns 0, or 1 when any source failed.

    Each source is built as `book build SOURCE -o OUT --jobs 1` would build it (same messages);
    the articles of a folder share one cache in `<folder>/.cache/book`."""

    if not isinstance(batch, Batch):
        batch = Batch(list(batch), True)
    sources = batch.sources

    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    out_dir = Path(output) if output else Path("dist")
    if output and (out_dir.suffix.lower() == ".epub" or (out_dir.exists() and not out_dir.is_dir())):
        print(f"book: with several sources, -o names a folder, not '{output}'", file=stderr)
        return 2
    outputs = _batch_outputs(sources, out_dir)
    tasks = []
    for src, out in zip(sources, outputs):
        argv = ["build", src, "--jobs", "1"]
        argv += ["-o", str(out)] if out else []
        argv += ["--strict"] if strict else []
        argv += ["-q"] if quiet else []
        argv += ["--no-cache"] if not cache else []
        argv += ["--debug"] if debug else []
        argv += list(extra_args)  # e.g. --read-aloud, --allow-remote-images
        # A folder of articles keeps one cache for them all, in the folder (as a book folder does).
        folder_cache = None
        parent = str(Path(src).resolve().parent)
        if cache and parent in batch.article_folders and not os.environ.get(cachelib.ENV_DIR):
            folder_cache = str(cachelib.default_dir(Path(parent)))
        tasks.append((argv, folder_cache))

    show = not quiet and stderr.isatty()
    results: list = [None] * len(tasks)
    failed = 0

    def tick(done):
        if show:
            print(f"\rbook: built {done - failed} of {len(tasks)}" + (f", {failed} failed" if failed else ""),
                  end="", file=stderr, flush=True)

    workers = min(worker_count(jobs), len(tasks)) if _fork_context() else 1
    tick(0)
    if workers <= 1:
        for k, task in enumerate(tasks):
            results[k] = _batch_one(task)
            failed += results[k][0] != 0
            tick(k + 1)
    else:
        from concurrent.futures import as_completed

        with ProcessPoolExecutor(max_workers=workers, mp_context=_fork_context()) as pool:
            futures = {pool.submit(_batch_one, task): k for k, task in enumerate(tasks)}
            for done, fut in enumerate(as_completed(futures), 1):
                k = futures[fut]
                try:
                    results[k] = fut.result()
                except Exception as e:  # noqa: BLE001 - a worker died (out of memory, killed)
                    results[k] = (70, "", f"book: internal error: {sources[k]}: {type(e).__name__}: {e}\n")
                failed += results[k][0] != 0
                tick(done)
    if show:
        print(file=stderr)

    for code, out, err in results:  # the books built, in the order given
        if code == 0:
            stderr.write(err)
            stdout.write(out)
    for code, out, err in results:  # then every failure
        if code != 0:
            stdout.write(out)
            stderr.write(err)
    if failed and not quiet:
        print(f"book: {failed} of {len(tasks)} sources failed", file=stderr)
    return 1 if failed else 0
