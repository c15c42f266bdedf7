"""`build_many()`: many sources, one EPUB each, on any `concurrent.futures.Executor`.

Each source is built by :func:`book.build` — the same function, the same bytes as building it
alone — and comes back as an :class:`Outcome`: the EPUB written, or the problems and the exit
code a lone ``book build`` of it would have had.  A failing source never stops the others.

Where the builds run is the caller's choice: by default a pool of local processes; a
``ThreadPoolExecutor``; or a Dask cluster, ``distributed.Client(...).get_executor()``, whose
workers on other machines see the sources and the output folder on a shared file system.
Nothing here imports Dask.
"""

from __future__ import annotations

import gc
import os
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

from .build import BuildResult, build, slugify
from .cache import cache_root
from .errors import EXIT_INTERNAL, EXIT_OK, BookError, Problem
from .options import BuildOptions, RenderStats, resolve
from .source import load
from .workers import process_context, worker_count


@dataclass
class Batch:
    """Sources to build one by one: paths, and the folders of articles they came from."""

    sources: list[str]
    is_batch: bool  # several sources, or a folder of articles
    article_folders: set[str] = field(default_factory=set)  # folders given as a batch of articles


def expand_sources(args: Iterable[str | os.PathLike]) -> Batch:
    """The sources named, a folder of articles (Markdown files and no book.yaml) standing for
    its `*.md` files, and whether that makes a batch (more than one source, or a folder of
    articles).  Anything else is passed on as it is, so a wrong path gets the usual message
    from its build."""
    args = [str(a) for a in args]
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


@dataclass
class Outcome:
    """How the build of one source of a batch ended.  Small and picklable: it travels back
    from a worker process or another machine."""

    source: str
    output: Path | None  # the EPUB written, None when the build failed
    exit_code: int  # 0, or what `book build SOURCE` would have exited with (book.errors)
    problems: list[Problem] = field(default_factory=list)  # why it failed: file:line, what, how to fix
    warnings: list = field(default_factory=list)  # Problem or book.rules.Finding: what did not stop it
    conformance_blockers: list[str] = field(default_factory=list)
    claim_requested: bool = False  # the source asked for a conformance claim
    documents: int = 0
    narrated_seconds: float | None = None  # read aloud: the length of the narration
    kepub: Path | None = None  # with `kobo`: the Kobo edition
    stats: RenderStats = field(default_factory=RenderStats)
    traceback: str | None = None  # an internal error's traceback (a bug in book)

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    @classmethod
    def of(cls, source: str, result: BuildResult) -> Outcome:
        a = result.source.meta.accessibility
        return cls(source, result.output, EXIT_OK, warnings=list(result.warnings),
                   conformance_blockers=list(result.conformance_blockers),
                   claim_requested=bool(a.certified_by or a.conforms_to), documents=result.documents,
                   narrated_seconds=result.narration.seconds if result.narration else None, stats=result.stats,
                   kepub=result.kepub)

    @classmethod
    def internal_error(cls, source: str, error: BaseException, tb: str | None = None) -> Outcome:
        message = (f"internal error: {source}: {type(error).__name__}: {error} — please report it; "
                   "run again with --debug for details")
        return cls(source, None, EXIT_INTERNAL, [Problem(message)], traceback=tb)


def build_one(source: str, output: str | os.PathLike | None, options: BuildOptions) -> Outcome:
    """Build one source of a batch and say how it ended; never raises for a problem of the
    source (or a bug of book): a batch goes on whatever one source does."""
    try:
        return Outcome.of(source, build(source, output, options))
    except BookError as e:
        return Outcome(source, None, e.exit_code, list(e.problems))
    except Exception as e:  # noqa: BLE001 - a bug in book: reported for this source, the batch goes on
        return Outcome.internal_error(source, e, traceback.format_exc())


def build_many(sources: Sequence[str | os.PathLike] | Batch, out_dir: str | os.PathLike | None = None,
               options: BuildOptions | None = None, executor: Executor | None = None, *,
               on_done: Callable[[Outcome, int, int], None] | None = None) -> list[Outcome]:
    """Build every source to its own EPUB in `out_dir` (default ``dist``), named after its
    title (``<slug-of-title>.epub``; the same title twice gets ``-2``, ``-3`` in the order
    given).  Returns one :class:`Outcome` per source, in the order given.

    `executor`: any :class:`concurrent.futures.Executor`; default a pool of local processes,
    ``options.jobs`` of them (one per CPU).  Each source builds with ``jobs=1``: the sources
    are what runs side by side.  A worker that dies (killed, out of memory) is that source's
    internal error (exit code 70), never the batch's: with the default pool its sources are
    tried again, each in a process of its own.  `on_done(outcome, done, total)` is called
    in this process as each source finishes.

    A `Batch` from :func:`expand_sources` lets the articles of one folder share a cache in
    that folder (as the chapters of a book folder do)."""
    batch = sources if isinstance(sources, Batch) else Batch([str(s) for s in sources], True)
    options = resolve(options)
    out = Path(out_dir) if out_dir is not None else Path("dist")
    outputs = _outputs(batch.sources, out)
    per_source = replace(options, jobs=1, progress=None)
    tasks = [(src, dest, _source_options(src, batch, per_source)) for src, dest in zip(batch.sources, outputs)]
    results: list[Outcome | None] = [None] * len(tasks)
    done = 0

    def finish(k: int, outcome: Outcome) -> None:
        nonlocal done
        results[k] = outcome
        done += 1
        if on_done is not None:
            on_done(outcome, done, len(tasks))

    if executor is not None:
        # The executor's workers may run in another folder, or on another machine that sees the
        # same file system: they get absolute paths, and the outcome names them as given.
        futures = {executor.submit(build_one, str(Path(src).absolute()), dest and Path(dest).absolute(), opts): k
                   for k, (src, dest, opts) in enumerate(tasks)}
        for fut in as_completed(futures):
            k = futures[fut]
            outcome = _outcome(fut, tasks[k][0])
            outcome.source = tasks[k][0]
            outcome.output = tasks[k][1] if outcome.ok else None
            if outcome.kepub is not None:
                from .package.kobo import kepub_path

                outcome.kepub = kepub_path(outcome.output)
            finish(k, outcome)
    else:
        _run_local(tasks, min(worker_count(options.jobs), len(tasks)), finish)
    return results  # type: ignore[return-value]


def _outcome(fut: Future, source: str) -> Outcome:
    """The outcome a worker sent back, or the internal error of a worker that died."""
    try:
        return fut.result()
    except Exception as e:  # noqa: BLE001 - BrokenProcessPool, Dask's KilledWorker, ...
        return Outcome.internal_error(source, e)


def _run_local(tasks, workers: int, finish) -> None:
    """The default executor: `workers` local processes (or this process, for one).  When the
    pool breaks — a worker killed by the system or by a signal — every source it had not
    finished is built again, each in a fresh process of its own, so only the source that
    kills its process again is reported as an internal error."""
    if workers <= 1:
        for k, task in enumerate(tasks):
            finish(k, build_one(*task))
        return
    # Imported only when a pool runs (multiprocessing and its pipes are most of it).
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    broken = []
    context = process_context()
    gc.freeze()  # see book.render.chapters._run_parallel: forked workers do not copy these pages
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(build_one, *task): k for k, task in enumerate(tasks)}
            for fut in as_completed(futures):
                k = futures[fut]
                try:
                    finish(k, fut.result())
                except BrokenProcessPool:
                    broken.append(k)
        for k in sorted(broken):
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as alone:
                finish(k, _outcome(alone.submit(build_one, *tasks[k]), tasks[k][0]))
    finally:
        gc.unfreeze()


def _source_options(source: str, batch: Batch, options: BuildOptions) -> BuildOptions:
    """A folder of articles keeps one cache for them all, in the folder (as a book folder does)."""
    parent = str(Path(source).resolve().parent)
    if options.cache is not False and options.cache_dir is None and parent in batch.article_folders:
        return replace(options, cache_dir=cache_root(parent))
    return options


def _outputs(sources: list[str], out_dir: Path) -> list[Path | None]:
    """<out_dir>/<slug-of-title>.epub for each source; two books with the same title get -2,
    -3… in the order given.  None where the source cannot be read: its build says why."""
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
