"""`build()`: a Markdown source → an EPUB 3 file.

The stages, in order, each a call below; each takes the previous stage's output:

1. **load**      — read the source and validate its metadata (book.source)
2. **render**    — Markdown → XHTML parts, one chapter at a time, through the named passes of
                   book.render.passes; in parallel processes and through the cache
                   (book.render.chapters); the typographic cover is drawn meanwhile
3. **rules**     — the book-wide rules (book.rules.BOOK_RULES); errors (or warnings with
                   ``strict``) stop the build here
4. **assemble**  — cover, title page, disclaimer, nav, NCX, text documents, stylesheet, images
                   (book.package.assemble)
5. **narrate**   — with ``read_aloud``, Media Overlays (book.narrate)
6. **discover**  — accessibility metadata computed from what was assembled (book.package.a11y),
                   so `auditory` is claimed only when the overlays are really there
7. **write**     — the EPUB (book.package.writer), written whole or not at all (book.files);
                   a conformance claim is verified with EPUBCheck and Ace first
                   (book.package.conformance)
8. **kobo**      — with ``kobo``, the Kobo edition NAME.kepub.epub from the EPUB's documents
                   (book.package.kobo: no second render), written the same way
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from . import rules
from .cache import BlobCache, cache_root, folder_for, usable
from .errors import BuildFailed, OutputError, Problem
from .files import atomic_file, clean_stale
from .options import BuildOptions, RenderStats, resolve
from .workers import worker_count
from .package import a11y, conformance
from .package import cover as coverlib
from .package.assemble import Assembly, assemble
from .package.writer import Claim, write_epub
from .render import passes
from .render.chapters import render_chapters
from .source import Chapter, Source, load

if TYPE_CHECKING:  # read aloud only: book.narrate is imported by the build that narrates
    from .narrate import Narration


@dataclass
class BuildResult:
    """What a build made: the EPUB's path, the source as read, the rules' findings, the
    accessibility metadata written, and how the chapters were rendered."""

    output: Path
    source: Source
    findings: list[rules.Finding]
    discovery: a11y.Discovery
    documents: int  # spine documents
    stats: RenderStats
    conformance_blockers: list[str] = field(default_factory=list)  # why a claim was not written
    narration: Narration | None = None  # read aloud: overlay durations, narrator, speech cache counts
    notes: list[Problem] = field(default_factory=list)  # about the build itself (a cache it could not use)
    kepub: Path | None = None  # with `kobo`: the Kobo edition beside the EPUB (book.package.kobo)
    onix: Path | None = None  # the ONIX record written beside the EPUB (options.onix)

    @property
    def warnings(self) -> list:
        """Source problems that did not stop the build, then the rules' warnings."""
        narrated = self.narration.warnings if self.narration else []
        return [*self.notes, *self.source.warnings, *narrated,
                *[f for f in self.findings if f.severity == rules.WARNING]]


def slugify(title: str) -> str:
    text = unicodedata.normalize("NFKD", title)
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    text = re.sub(r"[\s_-]+", "-", text)
    return text[:80].strip("-") or "book"


def default_output(source: Source) -> Path:
    return Path("dist") / f"{slugify(source.meta.title)}.epub"


def build(source: str | os.PathLike | None = None, output: str | os.PathLike | None = None,
          options: BuildOptions | None = None, **settings) -> BuildResult:
    """Build the EPUB for `source` (a Markdown file or a book folder; default ``content``) at
    `output` (default ``dist/<slug-of-title>.epub``).

    `options` holds every setting (:class:`book.BuildOptions`); keyword `settings` name fields
    of it, as a shorthand: ``build("a.md", "a.epub", strict=True)``.

    Raises :class:`book.errors.BookError` for anything in the source a user must fix (its
    `exit_code` says which kind); in that case nothing is written and an earlier file at
    `output` is left as it was.
    """
    options = resolve(options, **settings)
    try:
        return _build(source, output, options)
    finally:
        if options.memory is not None:
            options.memory.trim()  # failed or not, what this build did not use is let go


def _build(source_path, output, options: BuildOptions) -> BuildResult:
    source = load(source_path if source_path is not None else "content")  # 1. load
    out = Path(output) if output else default_output(source)
    _check_output(out)
    stats = RenderStats()
    notes: list[Problem] = []
    with _cache_folders(source, options, notes) as folders:
        return _stages(source, out, options, stats, notes, folders)


@dataclass(frozen=True)
class _Folders:
    """Where a build keeps what it may reuse."""

    chapters: Path | None  # rendered chapters, compressed entries, the cover (None: not cached)
    remote: Path  # downloaded images
    speech: Path | None  # spoken sentences (None: not cached)


@contextlib.contextmanager
def _cache_folders(source: Source, options: BuildOptions, notes: list[Problem]):
    """The build's :class:`_Folders`.  A cache folder that cannot be
    used (not writable, or a symbolic link out of the book's folder) turns the cache off for
    this build, with one warning: a cache only makes builds faster.  Remote images are kept in
    the cache folder, else in a temporary folder for this build."""
    root = cache_root(source.root, options.cache_dir)
    folder = folder_for(source, options)
    # Nothing is made beside the source unless something will be kept there.
    wanted = options.cache is not False and (folder is not None or options.allow_remote_images or options.read_aloud)
    why = usable(root, source.root) if wanted else None
    if why:
        notes.append(Problem(f"building without the cache: {why}", hint="fix the folder, or build with --no-cache"))
    if wanted and not why:
        yield _Folders(folder, root / "remote", root / "speech")
        return
    with tempfile.TemporaryDirectory(prefix="book-remote-") as tmp:
        yield _Folders(None, Path(tmp), None)


def _stages(source: Source, out: Path, options: BuildOptions, stats: RenderStats, notes: list[Problem],
            folders: _Folders) -> BuildResult:
    chapters, disclaimer, cover_png, blobs = _render(source, options, stats, folders.chapters, folders.remote)  # 2.
    findings = _rules(source, chapters, disclaimer, options)  # 3. rules
    options.say("packaging")
    assembly = assemble(source, chapters, disclaimer, cover_png)  # 4. assemble
    content = _content(chapters, disclaimer, findings)
    # The pages are documents now: the rendered chapters are let go of before the EPUB is
    # written (a million words of them are tens of MB; a --watch process keeps its own).
    del chapters, disclaimer
    narration = None
    if options.read_aloud:
        from .narrate import narrate

        narration = narrate(source, assembly, options, folders.speech)  # 5. narrate
        content = replace(content, media_overlays=narration is not None)
    discovery = a11y.discover(source.meta, content)  # 6. discover
    blockers = conformance.blockers_in(findings)
    claim = conformance.decide(source.meta, blockers)
    claim = _write(out, source, assembly, discovery, claim, narration, blobs, options, blockers)  # 7. write
    record = _write_onix(out, source, discovery, claim, options) if options.onix else None
    kepub = None
    if options.kobo:
        from .package.kobo import write_kepub

        options.say("writing the Kobo edition")
        kepub = write_kepub(out)  # 8. kobo
    return BuildResult(out, source, findings, discovery, assembly.documents, stats, blockers, narration, notes,
                       kepub, record)


def _render(source: Source, options: BuildOptions, stats: RenderStats, folder: Path | None, remote_dir: Path):
    """Every chapter and the disclaimer rendered; the typographic cover drawn meanwhile."""
    meta = source.meta
    options.say(f"rendering {len(source.chapters)} chapter(s)")
    # Compressed entries and the cover: in the cache folder, or (a lone article in --watch) in
    # the process's memory only.
    blobs = BlobCache(folder, options.memory) if folder is not None or (
        options.memory is not None and options.cache is not False) else None
    made_cover: list[bytes | None] = []

    def draw_cover():
        # The typographic cover needs only the metadata: drawn while the chapters render.
        made_cover.append(None if meta.cover_image else coverlib.cover_png(meta, blobs))

    chapters = render_chapters(source, options, stats, folder=folder, remote_dir=remote_dir, meanwhile=draw_cover)
    disclaimer = None
    if meta.disclaimer:
        # The disclaimer's Markdown starts on the line after its key (`disclaimer: |`).
        line = source.key_lines.get("disclaimer", 0) + 1
        pseudo = Chapter(Path(source.root / "book.yaml"), source.meta_file, meta.disclaimer, line)
        disclaimer = passes.render_chapter(pseudo, root=source.root, index=0, split_level=0,
                                           book_title=meta.title, lang=meta.lang)
    return chapters, disclaimer, made_cover[0], blobs


def _rules(source: Source, chapters, disclaimer, options: BuildOptions) -> list[rules.Finding]:
    """The chapters' findings and those of the book-wide rules, in reading order — book.yaml
    (the disclaimer), then each chapter, by line — whichever check found them, so an author
    fixes them from the top down.  Errors (or, with `strict`, warnings) stop the build."""
    findings = [f for ch in ([disclaimer] if disclaimer else []) + chapters for f in ch.findings]
    for _name, rule in rules.BOOK_RULES:
        findings += rule(source, chapters, disclaimer)
    position = {source.meta_file: -1, **{c.name: i for i, c in enumerate(source.chapters)}}
    findings.sort(key=lambda f: (position.get(f.file, len(position)), f.line or 0))
    errors = [f for f in findings if f.severity == rules.ERROR or options.strict]
    if errors:
        raise BuildFailed(problems=[Problem(str(f) + (" (an error because of --strict)"
                                                      if f.severity == rules.WARNING else "")) for f in errors])
    return findings


def _content(chapters, disclaimer, findings) -> a11y.Content:
    """What the book holds, for the accessibility metadata (EPUB Accessibility 1.1 §2)."""
    rendered = ([disclaimer] if disclaimer else []) + chapters
    return a11y.Content(
        informative_images=sum(c.informative_images for c in rendered),
        described_images=sum(c.described_images for c in rendered),
        decorative_images=sum(c.decorative_images for c in rendered),
        headings_well_nested=not any(f.rule == "heading-skip" for f in findings),
        heading_count=sum(len(p.headings) for c in chapters for p in c.parts),
        long_descriptions=sum(len(c.descriptions) for c in rendered),
        page_breaks=sum(len(c.pages) for c in rendered),
    )


def _write(out: Path, source: Source, assembly: Assembly, discovery, claim: Claim | None,
           narration: Narration | None, blobs, options: BuildOptions, blockers: list[str]) -> Claim | None:
    """The EPUB at `out`, whole or not at all: a temporary file beside it, renamed into place
    only when complete (book.files), so a failed build never leaves a broken EPUB or destroys
    the previous one.  A conformance claim stays only if EPUBCheck and Ace pass on the very
    file that makes it (EPUB Accessibility 1.1 §3.1: the claim must be true); otherwise the file
    is written again without it and the reasons are added to `blockers`.  Returns the claim
    the EPUB makes.  With ``options.onix == "embed"`` the ONIX record of exactly that EPUB (its
    claim included or not) goes inside it."""
    def write(f, with_claim):
        record = _onix_bytes(source, discovery, with_claim, options) if options.onix == "embed" else None
        write_epub(f, source.meta, assembly.items, ncx=assembly.ncx, discovery=discovery, claim=with_claim,
                   cover_id=assembly.cover_id, guide=assembly.guide,
                   overlays=narration.overlays if narration else None, deflate_cache=blobs,
                   source_date_epoch=options.source_date_epoch, threads=worker_count(options.jobs),
                   record=record)

    try:
        clean_stale(out)  # what builds of this EPUB killed mid-write left beside it
        with atomic_file(out, durable=True) as (f, tmp):
            write(f, claim)
            if claim is not None:
                f.flush()
                options.say("verifying the conformance claim with EPUBCheck and DAISY Ace")
                blockers.extend(conformance.verify(tmp))
                if blockers:
                    f.seek(0)
                    f.truncate()
                    write(f, None)
                    claim = None
    except OSError as e:
        raise OutputError(f"cannot write '{out}' ({e.strerror})", file=str(out),
                          hint="choose another -o path or fix the folder's permissions") from None
    return claim


def _onix_bytes(source: Source, discovery, claim: Claim | None, options: BuildOptions) -> bytes:
    from .package import onix
    from .package.writer import modified_time

    return onix.onix_record(source.meta, discovery, claim, sent=modified_time(source.meta, options.source_date_epoch))


def _write_onix(out: Path, source: Source, discovery, claim: Claim | None, options: BuildOptions) -> Path:
    """The ONIX record beside the EPUB (``NAME.onix.xml``), from the discovery metadata and the
    claim the EPUB was written with: the same facts, never a second list (book.package.onix)."""
    from .package import onix

    path = onix.record_path(out)
    data = _onix_bytes(source, discovery, claim, options)
    try:
        with atomic_file(path, durable=True) as (f, _tmp):
            f.write(data)
    except OSError as e:
        raise OutputError(f"cannot write '{path}' ({e.strerror})", file=str(path),
                          hint="choose another -o path or fix the folder's permissions") from None
    return path


def _check_output(out: Path) -> None:
    if out.is_dir():
        raise OutputError(f"output '{out}' is a folder", file=str(out), hint="give a file name ending in .epub")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise OutputError(f"cannot write '{out}': '{parent}' is not a folder", file=str(out))

