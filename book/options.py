"""What goes into a build and what it reports: :class:`BuildOptions` and :class:`RenderStats`.

Every setting a build needs is a field of one frozen :class:`BuildOptions`, passed to
:func:`book.build` (or :func:`book.build_many`) as an argument: there is no module-level state,
and the environment is read in one place, :func:`resolve`, when a build starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .cache import Memory

# The environment variables a build honours, all read by `resolve` below.
ENV_CACHE_DIR = "BOOK_CACHE_DIR"  # where the cache lives instead of <source>/.cache/book
ENV_SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"  # reproducible-builds.org: the time stamped into the book


@dataclass(frozen=True)
class BuildOptions:
    """How to build.  The defaults are those of ``book build`` with no options.

    Picklable (but for `progress` and `memory`, which stay in the calling process), so a batch
    can send it to worker processes or to the machines of a Dask cluster."""

    strict: bool = False
    """Accessibility warnings stop the build too (``--strict``)."""
    read_aloud: bool = False
    """Add EPUB 3 Media Overlays: every sentence narrated and highlighted (``--read-aloud``)."""
    allow_remote_images: bool = False
    """Download ``http(s)`` images into the book instead of refusing them."""
    allow_private_network: bool = False
    """With `allow_remote_images`: download from this machine and private networks too (by
    default only public addresses: a build of an untrusted source must not reach into the
    network it runs in)."""
    kobo: bool = False
    """Also write the Kobo edition, NAME.kepub.epub beside the EPUB (``--kobo``)."""
    jobs: int | None = None
    """Processes (and threads) a build may use; None: one per CPU for books big enough to gain."""
    speech_command: str | None = None
    """The program that speaks for ``read_aloud`` instead of eSpeak NG: it reads a sentence on
    standard input and writes a WAV file to ``{output}`` (``{voice}``: the language tag), e.g.
    ``piper --model en_US-lessac-medium.onnx --output_file {output}``.  Only the user names a
    program to run: a source's own ``read-aloud.command`` is never run (see book.narrate)."""
    cache: bool | None = None
    """True: cache rendered chapters, compressed entries, the cover and speech; False: none of
    it; None (the default): a book folder caches in its ``.cache/book``, a lone Markdown file
    only when `cache_dir` (or ``BOOK_CACHE_DIR``) names a place; speech is cached either way."""
    cache_dir: str | os.PathLike | None = None
    """The cache folder; None: ``BOOK_CACHE_DIR``, else ``.cache/book`` beside the source."""
    onix: str | None = None
    """Also write the book's ONIX 3.1 record (book.package.onix): ``"file"``, ``NAME.onix.xml``
    beside the EPUB (``--onix``); ``"embed"``, that file and a copy inside the EPUB as a linked
    record (``--onix=embed``); None, no record."""
    source_date_epoch: int | None = None
    """Seconds since 1970 stamped as ``dcterms:modified``; None: ``SOURCE_DATE_EPOCH``, else
    the book's `date`, else 2000-01-01 — never the clock, so the same source gives the same bytes."""
    progress: Callable[[str], None] | None = field(default=None, compare=False, repr=False)
    """Called with a short line at each step of a long build ("rendering 200 chapter(s)").  If
    it also has a ``count(done, total)`` method, that is called as a step that counts advances
    (the sentences of ``read_aloud`` being spoken); book's command line draws a bar with it."""
    memory: Memory | None = field(default=None, compare=False, repr=False)
    """What a long-running process keeps between builds (``book build --watch``): the last
    build's chapters and compressed entries (:class:`book.cache.Memory`)."""

    def __post_init__(self) -> None:
        if self.jobs is not None and (not isinstance(self.jobs, int) or self.jobs < 1):
            raise ValueError(f"jobs must be a whole number of 1 or more, not {self.jobs!r}")
        if self.onix not in (None, "file", "embed"):
            raise ValueError(f"onix must be None, 'file' or 'embed', not {self.onix!r}")

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    def __getstate__(self) -> dict[str, Any]:
        # A progress callback or an in-memory cache means nothing in another process.
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["progress"] = state["memory"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)


def resolve(options: BuildOptions | None, **settings) -> BuildOptions:
    """The options a build runs with: `options` (default: the defaults) with `settings` (field
    names) applied, and what is left unset taken from the environment — the one place a
    build reads it."""
    options = options or BuildOptions()
    if settings:
        unknown = set(settings) - {f.name for f in fields(BuildOptions)}
        if unknown:
            raise TypeError(f"unknown build setting(s): {', '.join(sorted(unknown))}")
        options = replace(options, **settings)
    env: dict[str, Any] = {}
    if options.cache_dir is None and os.environ.get(ENV_CACHE_DIR):
        env["cache_dir"] = Path(os.environ[ENV_CACHE_DIR])
    epoch = os.environ.get(ENV_SOURCE_DATE_EPOCH, "").strip()
    if options.source_date_epoch is None and epoch.isdigit():
        env["source_date_epoch"] = int(epoch)
    return replace(options, **env) if env else options


@dataclass
class RenderStats:
    """What a build's rendering did: chapters taken from the cache or rendered, and by how
    many processes.  One type for one build, a watch session and a batch (see `add`)."""

    chapters: int = 0
    hits: int = 0  # loaded from the cache (or the memory of a --watch process)
    misses: int = 0  # rendered
    stored: int = 0  # new cache entries written
    workers: int = 1  # processes that rendered (1: in the building process)
    hit_names: list[str] = field(default_factory=list)
    miss_names: list[str] = field(default_factory=list)

    def add(self, other: RenderStats) -> None:
        self.chapters += other.chapters
        self.hits += other.hits
        self.misses += other.misses
        self.stored += other.stored
        self.workers = max(self.workers, other.workers)
        self.hit_names += other.hit_names
        self.miss_names += other.miss_names
