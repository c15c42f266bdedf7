"""Rendering the chapters of a book: from the cache when it can, in parallel processes when the
book is big enough to pay for them, and always with the same result as rendering them one after
another — the same list of :class:`book.render.passes.RenderedChapter`, in order, and the same
error (the first chapter's, in reading order) when one fails.

`render_chapter` is pure (book.render.passes), so a chapter rendered in another process, or
loaded from the cache (book.cache), is the chapter rendered here.  How it runs comes from the
build's :class:`book.options.BuildOptions` (`jobs`, `cache`, `cache_dir`, `memory`); what it did is
counted in a :class:`book.options.RenderStats`.
"""

from __future__ import annotations

import gc
import pickle

from .. import cache as cachelib
from ..errors import BookError
from ..options import BuildOptions, RenderStats
from ..workers import process_context, worker_count
from . import cut, passes

# Parallel rendering pays for its processes only past this much Markdown (about 40,000 words;
# a process starts in ~20 ms, a chapter renders at ~2.5 MB of Markdown a second), and with at
# least this many chapters to render.
MIN_PARALLEL_CHARS = 250_000
MIN_PARALLEL_CHAPTERS = 4


def render_chapters(source, options: BuildOptions, stats: RenderStats, *, folder=None, remote_dir=None,
                    meanwhile=None) -> list:
    """Every chapter of `source` rendered, in order: exactly what
    ``[passes.render_chapter(ch, root=..., index=i + 1, ...) for i, ch in ...]`` gives.
    A long chapter (a one-file book) is cut at its split-level headings and its pieces render
    like chapters of their own, each through the cache (book.render.cut), then are merged into
    that chapter; `stats` counts pieces as chapters.  `meanwhile()`, if given, is called once in
    this process while the workers render (or before rendering here): work of the build that
    needs no chapter, done when this process would otherwise only wait.  `folder`: the chapter
    cache's folder (None: no cache); `remote_dir`: where remote images are kept (book.build
    decides both)."""
    meta = source.meta
    settings = {"root": source.root, "split_level": meta.split_level, "book_title": meta.title,
                "lang": meta.lang, "allow_remote": options.allow_remote_images, "remote_dir": remote_dir,
                "allow_private": options.allow_private_network}

    store = None
    if folder is not None or (options.memory is not None and options.cache is not False):
        # A lone article in a --watch process has no cache folder, but the process's memory.
        store = cachelib.ChapterCache(folder, source.root, options.memory, stats)
        cachelib.signing_key()  # made once, here, before any worker process starts

    # What renders: each chapter, or the pieces of a long one.
    units: list[tuple] = []  # (chapter number, piece number or None, Chapter, its settings, name)
    plans: dict[int, cut.Plan] = {}
    for i, ch in enumerate(source.chapters):
        # A long chapter's plan reads its pieces; those the last plan read are known (by their
        # text's digest) from the cache, so a rebuild after an edit reads the edited piece.
        known = store.looks(ch) if store is not None and len(ch.text) >= cut.MIN_CUT_CHARS else None
        plan = cut.plan(ch, meta.split_level, known)
        if known is not None and plan is not None:
            store.keep_looks(ch, plan.looks, changed=plan.looks.keys() != known.keys())
        if plan is None:
            units.append((i, None, ch, {**settings, "index": i + 1}, ch.name, None))
            continue
        plans[i] = plan
        for k, piece in enumerate(plan.pieces):
            units.append((i, k, piece.chapter, {**settings, "index": i + 1, "piece": piece.shared},
                          f"{ch.name}#{k + 1}", piece.digest))
    stats.chapters += len(units)

    rendered, keys = _render_units(units, store, options, stats, meanwhile, plans)
    results: list = [None] * len(source.chapters)
    pieces: dict[int, list] = {}
    piece_keys: dict[int, list] = {}
    for (i, k, *_rest), r, key in zip(units, rendered, keys):
        if k is None:
            results[i] = r
        else:
            pieces.setdefault(i, []).append(r)
            piece_keys.setdefault(i, []).append(key)
    del rendered
    memo = None
    if options.memory is not None and plans:
        # A --watch process keeps the merged pieces too (those of this build only): only the
        # moved or edited ones merge again.
        memo = (options.memory.merged, {})
    for i, plan in plans.items():
        results[i] = cut.merge(plan, pieces.pop(i), i + 1, piece_keys.pop(i), memo)
        if results[i] is None:
            # A piece saw what the plan did not assume: the chapter renders whole, the way
            # that is always right.
            ch = source.chapters[i]
            results[i] = _render_units([(i, None, ch, {**settings, "index": i + 1}, ch.name, None)], store,
                                       options, RenderStats(), None, {})[0][0]
    if memo is not None:
        options.memory.merged = memo[1]
    return results


def _render_units(units, store, options: BuildOptions, stats: RenderStats, meanwhile, plans) -> tuple[list, list]:
    """Each unit's RenderedChapter, in order, from the cache or rendered (in worker processes
    when there is enough to render), and each one's cache key (None without a cache); the first
    error in reading order is raised."""
    results: list = [None] * len(units)
    keys: list[str | None] = [None] * len(units)
    todo: list[int] = []
    for n, (_i, _k, ch, unit_settings, name, digest) in enumerate(units):
        if store is not None:
            keys[n] = cachelib.chapter_key(ch, unit_settings, digest)
            hit = store.get(keys[n], name)
            if hit is not None:
                results[n] = hit
                continue
        todo.append(n)
    if store is None:
        stats.misses += len(todo)
        stats.miss_names += [units[n][4] for n in todo]

    cache_spec = (str(store.dir), str(store.root)) if store is not None and store.dir is not None else None
    tasks = [(units[n][2], units[n][3], keys[n], cache_spec) for n in todo]
    size = sum(len(units[n][2].text) for n in todo)
    workers = min(worker_count(options.jobs), len(todo))
    if workers > 1 and (options.jobs is not None
                        or (size >= MIN_PARALLEL_CHARS and len(todo) >= MIN_PARALLEL_CHAPTERS)):
        outcomes = _run_parallel(tasks, workers, meanwhile)
        stats.workers = max(stats.workers, workers)
    else:
        if meanwhile is not None:
            meanwhile()
        outcomes = (_render_task(task, here=True) for task in tasks)

    try:
        for n, outcome in zip(todo, outcomes):
            i, k = units[n][0], units[n][1]
            if outcome[0] == "error" and k is not None:  # a piece's lines are the file's lines
                outcome = (outcome[0], outcome[1], cut.shift_problems(outcome[2], plans[i], k))
            results[n] = _unwrap(outcome, stats)
            if store is not None:
                store.remember(keys[n], results[n])
    finally:
        close = getattr(outcomes, "close", None)
        if close:
            close()  # stops the pool when a chapter failed before the others were collected
        if store is not None and stats.stored and store.dir is not None:
            store.prune()
    return results, keys


# ---------------------------------------------------------------------------------------------
# One chapter (in this process or a worker)


def _render_task(task, here: bool = False):
    """Render one chapter; store it in the cache when asked.  Returns ("error", class, problems)
    for a problem in the source, else ("ok", chapter, stored?) — the chapter as an object when
    rendered `here`, pickled when it must travel back from a worker (the cache entry's own
    bytes, so it is pickled once)."""
    chapter, settings, key, cache_spec = task
    try:
        rendered = passes.render_chapter(chapter, **settings)
    except BookError as e:
        return ("error", type(e), e.problems)
    data = stored = None
    if cache_spec is not None:
        store = cachelib.ChapterCache(*cache_spec)
        data = store.payload(key, rendered)
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


def _run_parallel(tasks, workers: int, meanwhile=None):
    """Outcomes of `tasks`, yielded in their order.  The longest chapters start first, so one long
    chapter at the end does not leave the other processes idle.  If the pool breaks (a worker
    killed, e.g. out of memory), what is left renders here."""
    # Imported here: a rebuild from the cache starts no pool (multiprocessing costs ~9 ms to
    # import).  Pillow is imported before the workers fork, so they share it instead of each
    # importing it.
    import threading  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    import PIL.Image  # noqa: F401, PLC0415

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=process_context())
    # What the workers inherit (every imported module, the source) is moved out of reach of the
    # garbage collector before they fork, as the `gc` documentation advises for fork without
    # exec: a worker's collections then never walk those objects (a few % of its time), and it
    # does not touch — and so copy — their memory pages.
    gc.freeze()
    try:
        order = sorted(range(len(tasks)), key=lambda k: -len(tasks[k][0].text))
        futures = {k: pool.submit(_render_task, tasks[k]) for k in order}
        # When the last chapter is back, the workers (tens of MB each) are let go before the
        # chapters still waiting here as bytes are unpickled: those results arrive as a burst
        # at the end (they are taken in reading order), and with the workers still there it
        # was the build's peak of memory (issue 13).
        left, lock, all_back = [len(futures)], threading.Lock(), threading.Event()

        def back(_future):
            with lock:
                left[0] -= 1
                if not left[0]:
                    all_back.set()

        for future in futures.values():
            future.add_done_callback(back)
        if meanwhile is not None:
            meanwhile()
        for k in range(len(tasks)):
            if all_back.is_set() and pool is not None:
                pool.shutdown(wait=True)
                pool = None
            try:
                yield futures.pop(k).result()  # popped: its bytes are freed once unpickled
            except BrokenProcessPool:
                yield _render_task(tasks[k], here=True)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
