"""`build()`: a Markdown source → an EPUB 3 file.

The steps, in order:

1. **load**      — read the source and validate its metadata (book.source, book.metadata)
2. **render**    — Markdown → HTML → XHTML parts, one chapter at a time (book.render,
                   book.transform); chapter results are pure data, so they can run in parallel
3. **rules**     — book-wide accessibility rules; errors (or warnings with --strict) stop here
                   (book.rules)
4. **assemble**  — cover, title page, disclaimer, nav, NCX, text documents, stylesheet, images
                   (book.package); with --read-aloud, Media Overlays (book.overlays)
5. **discover**  — accessibility metadata computed from what was assembled (book.a11y), so
                   `auditory` is claimed only when the overlays are really there
6. **write**     — the EPUB (book.package) to a temporary file renamed into place only when
                   complete, so a failed build never leaves a broken EPUB or destroys the
                   previous one; a conformance claim is verified with EPUBCheck and Ace first.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from . import a11y, cover, images, links, rules, transform
from . import cache as cachelib
from .errors import BuildFailed, OutputError, Problem
from .l10n import human_date, label_lang, labels, lang_attrs
from .package import NavEntry, PackageItem, esc, ncx_document, nav_document, write_epub, xhtml
from .source import Chapter, Source, load, resolve_inside
from .styles import stylesheet

CSS_PATH = "styles/book.css"


@dataclass
class BuildResult:
    output: Path
    source: Source
    findings: list[rules.Finding]
    discovery: a11y.Discovery
    documents: int
    conformance_blockers: list[str] = field(default_factory=list)
    media: dict | None = None  # read-aloud: overlay durations, narrator, the speech cache's counts

    @property
    def warnings(self) -> list:
        return [*self.source.warnings, *[f for f in self.findings if f.severity == rules.WARNING]]


def slugify(title: str) -> str:
    text = unicodedata.normalize("NFKD", title)
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    text = re.sub(r"[\s_-]+", "-", text)
    return text[:80].strip("-") or "book"


def default_output(source: Source) -> Path:
    return Path("dist") / f"{slugify(source.meta.title)}.epub"


def _image_name(relpath: str, used: set[str]) -> str:
    """A safe, unique file name inside the EPUB for an image of the source (EPUBCheck PKG-009/010
    warn about spaces and unusual characters in names)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", relpath.rsplit("/", 1)[-1]).strip("-.") or "image"
    name, n = base, 1
    while name.lower() in used:
        n += 1
        stem, dot, ext = base.rpartition(".")
        name = f"{stem}-{n}.{ext}" if dot else f"{base}-{n}"
    used.add(name.lower())
    return name


def _nest(entries: list[tuple[int, NavEntry]]) -> list[NavEntry]:
    """Flat (level, entry) in reading order → a tree; a skipped level nests under the last."""
    root: list[NavEntry] = []
    stack: list[tuple[int, NavEntry]] = []
    for level, entry in entries:
        while stack and stack[-1][0] >= level:
            stack.pop()
        (stack[-1][1].children if stack else root).append(entry)
        stack.append((level, entry))
    return root


def build(source_path: str | os.PathLike | None = None, output: str | os.PathLike | None = None, *,
          strict: bool = False, progress=None, read_aloud: bool = False, speech_cache: bool = True,
          allow_remote_images: bool = False) -> BuildResult:
    """Build the EPUB for `source_path` (a Markdown file or a book folder) at `output`.

    Raises :class:`book.errors.BookError` for anything in the source a user must fix; in that
    case nothing is written and an earlier file at `output` is left as it was.
    """
    from .parallel import current

    memory = current().memory
    try:
        return _build(source_path, output, strict=strict, progress=progress, read_aloud=read_aloud,
                      speech_cache=speech_cache, allow_remote_images=allow_remote_images, memory=memory)
    finally:
        if memory is not None:
            memory.trim()  # failed or not, what this build did not use is let go


def _build(source_path, output, *, strict, progress, read_aloud, speech_cache, allow_remote_images,
           memory) -> BuildResult:
    source = load(source_path if source_path is not None else "content")
    meta = source.meta
    out = Path(output) if output else default_output(source)
    _check_output(out)
    say = progress or (lambda _msg: None)

    # 2. render
    say(f"rendering {len(source.chapters)} chapter(s)")
    from .parallel import cache_folder, render_chapters  # in order; cache, processes
    folder = cache_folder(source)
    blobs = cachelib.BlobCache(folder, memory) if folder is not None else None  # compressed entries, cover
    made_cover: list[bytes | None] = []

    def draw_cover():
        # The typographic cover needs only the metadata: drawn while the chapters render.
        made_cover.append(None if meta.cover_image else cover.cover_png(meta, blobs))

    chapters = render_chapters(source, allow_remote=allow_remote_images, meanwhile=draw_cover)
    disclaimer = None
    if meta.disclaimer:
        # The disclaimer's Markdown starts on the line after its key (`disclaimer: |`).
        lines = source.key_lines.get("disclaimer", 0) + 1
        pseudo = Chapter(Path(source.root / "book.yaml"), source.meta_file, meta.disclaimer, lines)
        disclaimer = transform.render_chapter(pseudo, root=source.root, index=0, split_level=0,
                                              book_title=meta.title, lang=meta.lang)

    # 3. rules
    findings = [f for ch in ([disclaimer] if disclaimer else []) + chapters for f in ch.findings]
    ordered = []
    for ch, chapter in zip(chapters, source.chapters):
        for part in ch.parts:
            for h in part.headings:
                ordered.append((h.level, h.text, chapter.name, h.line))
    findings += rules.check_heading_order(ordered)
    findings += _missing_link_targets(source, chapters)
    # In reading order — book.yaml (the disclaimer), then each chapter, by line — whichever
    # check found them, so an author fixes them from the top down.
    position = {source.meta_file: -1, **{c.name: i for i, c in enumerate(source.chapters)}}
    findings.sort(key=lambda f: (position.get(f.file, len(position)), f.line or 0))
    errors = [f for f in findings if f.severity == rules.ERROR or strict]
    if errors:
        raise BuildFailed(problems=[Problem(str(f) + (" (an error because of --strict)"
                                                      if f.severity == rules.WARNING else "")) for f in errors])

    content = a11y.Content(
        informative_images=sum(c.informative_images for c in chapters) + (disclaimer.informative_images if disclaimer else 0),
        described_images=sum(c.described_images for c in chapters) + (disclaimer.described_images if disclaimer else 0),
        decorative_images=sum(c.decorative_images for c in chapters) + (disclaimer.decorative_images if disclaimer else 0),
        headings_well_nested=not any(f.rule == "heading-skip" for f in findings),
        heading_count=len(ordered),
    )
    blockers = [str(f) for f in findings
                if f.severity == rules.WARNING and f.rule.startswith(("img-", "heading-", "link-", "table-"))]
    conformance = _conformance(meta, blockers)

    # 4. assemble
    say("packaging")
    items, guide, toc, landmarks, cover_id = _assemble(source, chapters, disclaimer, made_cover[0])
    lab = labels(meta.primary_language)
    nav = nav_document(meta, toc, landmarks, "styles/book.css")
    ncx = ncx_document(meta, toc)
    items.insert(next(i for i, it in enumerate(items) if it.uid == "nav-slot"),
                 PackageItem("nav.xhtml", nav, "application/xhtml+xml", lab["contents"], in_spine=True, uid="nav"))
    items = [it for it in items if it.uid != "nav-slot"]
    media = None
    if read_aloud:
        media = _narrate(source, items, say, speech_cache)
        content = dataclasses.replace(content, media_overlays=True)
    # 5. discover: after narration, so `auditory` is claimed only when the overlays are there
    discovery = a11y.discover(meta, content)

    # 6. write
    def writer(claim):
        return lambda f: write_epub(f, meta, items, nav=nav, ncx=ncx, discovery=discovery,
                                    conformance=claim, cover_id=cover_id, guide=guide, media=media,
                                    deflate_cache=blobs)

    def verify(candidate: Path):
        """A conformance claim stays only if EPUBCheck and Ace pass on the very file that makes
        it (EPUB Accessibility 1.1 §3.1: the claim must be true); otherwise it is dropped and the
        reasons are reported."""
        say("verifying the conformance claim with EPUBCheck and DAISY Ace")
        blockers.extend(_verify_claim(candidate))
        return writer(None) if blockers else None

    _write_atomic(out, writer(conformance), verify if conformance else None)
    return BuildResult(out, source, findings, discovery, sum(1 for it in items if it.in_spine), blockers,
                       media)


def _narrate(source: Source, items: list[PackageItem], say, speech_cache: bool) -> dict:
    """Media Overlays for the title page, the disclaimer and every text document (book.overlays)."""
    from . import overlays

    overlays.require_encoder()
    engine = overlays.engine_from(source.meta.read_aloud)
    folder = None
    if speech_cache:
        folder = Path(os.environ.get("BOOK_CACHE_DIR") or source.root / ".cache" / "book") / "speech"
    cache = overlays.SpeechCache(folder)
    narrated_items = [it for it in items if it.uid in ("titlepage", "disclaimer") or it.file_name.startswith("text/ch")]
    say(f"segmenting {len(narrated_items)} document(s) into sentences")
    docs = [overlays.segment(it.file_name, it.data, n, source.meta.lang) for n, it in enumerate(narrated_items, 1)]
    clips = overlays.synthesise(docs, engine, cache, say)
    durations = {}
    for it, doc in zip(narrated_items, docs):
        if not doc.sentences:
            continue
        stem = it.file_name.rsplit("/", 1)[-1].removesuffix(".xhtml")
        ov = overlays.assemble(doc, clips, f"smil/{stem}.smil", f"audio/{stem}.mp3")
        it.data = doc.data
        it.media_overlay = f"mo-{stem}"
        items.append(PackageItem(ov.smil_name, ov.smil, "application/smil+xml", uid=f"mo-{stem}"))
        items.append(PackageItem(ov.audio_name, ov.audio, "audio/mpeg", uid=f"audio-{stem}"))
        durations[f"mo-{stem}"] = ov.duration
    return {"durations": durations, "narrator": engine.narrator, "active_class": overlays.ACTIVE_CLASS,
            "cache": cache}


def _verify_claim(candidate: Path) -> list[str]:
    from . import checkers

    reasons = []
    try:
        report = checkers.run_epubcheck(candidate)
        if report.fatals or report.errors or report.warnings:
            reasons += [f"EPUBCheck: {m}" for m in report.messages] or ["EPUBCheck reported problems"]
        ace = checkers.run_ace(candidate)
        reasons += [f"DAISY Ace: {v}" for v in ace.violations]
    except (checkers.ToolMissing, checkers.ToolFailed) as e:
        reasons.append(f"the checkers could not run ({e}); install them with: bash .ci/install-tools")
    return reasons


def _missing_link_targets(source: Source, chapters) -> list[rules.Finding]:
    """A `[text](#id)` whose id exists nowhere in the book would be a dead link in every reading
    system (EPUBCheck RSC-012)."""
    known = {i for ch in chapters for part in ch.parts for i in part.ids}
    targets = links.Targets(source, chapters)
    out = []
    for ch, chapter in zip(chapters, source.chapters):
        loc = transform.Locator(chapter)
        for part in ch.parts:
            for target in sorted(part.links - known):
                if target.startswith(links.PATH):  # a chapter file or a path on the web (book.links)
                    raw = target[len(links.PATH):]
                    _href, problem, hint = targets.resolve(chapter, raw)
                    if problem:
                        out.append(rules.finding("link-target-missing", problem, chapter.name,
                                                 loc.next_line(f"]({raw}", raw), hint))
                    continue
                out.append(rules.finding("link-target-missing", f"the link to '#{target}' leads nowhere",
                                         chapter.name, loc.line(f"(#{target}", f"#{target}"),
                                         "link to a heading's id (shown in the table of contents) or add {#"
                                         + target + "} to the element it should reach"))
    return out


def _conformance(meta, blockers) -> dict[str, str] | None:
    """`dcterms:conformsTo` is written only when the author names who certifies it and every
    automated check passed (EPUB Accessibility 1.1 §3: a claim needs `a11y:certifiedBy`)."""
    a = meta.accessibility
    if not (a.conforms_to or a.certified_by):
        return None
    if not a.certified_by:
        blockers.append("accessibility.certified-by is missing: a conformance claim must name who "
                        "certifies it (EPUB Accessibility 1.1 §3.2)")
    if a.conforms_to and a.conforms_to not in a11y.CONFORMS_TO_VALUES:
        blockers.append(f"accessibility.conforms-to '{a.conforms_to}' is not one of: "
                        + "; ".join(a11y.CONFORMS_TO_VALUES))
    if blockers:
        return None
    return {"conforms-to": a.conforms_to or a11y.CONFORMANCE_AA, "certified-by": a.certified_by or "",
            "certifier-credential": a.certifier_credential or "", "certifier-report": a.certifier_report or ""}


def _check_output(out: Path) -> None:
    if out.is_dir():
        raise OutputError(f"output '{out}' is a folder", file=str(out), hint="give a file name ending in .epub")
    parent = out.parent if str(out.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise OutputError(f"cannot write '{out}': '{parent}' is not a folder", file=str(out))


def _write_atomic(out: Path, write, verify=None) -> None:
    """Write to a temporary file beside `out`, then rename it into place: readers of `out` see
    the old book or the new one, never half of one.  `verify(tmp)` may return a writer that
    rewrites the temporary file before it is renamed."""
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".tmp.epub", dir=parent)
    except OSError as e:
        raise OutputError(f"cannot write to '{parent}' ({e.strerror})", file=str(out),
                          hint="choose another -o path or fix the folder's permissions") from None
    def fill(f, writer):
        writer(f)
        f.flush()
        os.fsync(f.fileno())

    try:
        with os.fdopen(fd, "wb") as f:
            fill(f, write)
        rewrite = verify(Path(tmp)) if verify else None
        if rewrite is not None:
            with open(tmp, "wb") as f:
                fill(f, rewrite)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise OutputError(f"cannot write '{out}' ({e.strerror})", file=str(out)) from None
        raise


def _assemble(source: Source, chapters, disclaimer, cover_png: bytes | None):
    """Lay out the spine: cover, title page, disclaimer, contents, then the text.  `cover_png`:
    the typographic cover (book.cover), None when the book names its own picture."""
    meta = source.meta
    lab = labels(meta.primary_language)
    llang = label_lang(meta.lang)
    css_rel = "../" + CSS_PATH
    items: list[PackageItem] = []
    guide, landmarks, flat = [], [], []

    def doc(title, body, body_type, lang=meta.lang):
        return xhtml(title, body, lang=lang, direction=meta.direction, css=css_rel, body_type=body_type)

    # Images: one file per source image, a safe unique name each.
    used: set[str] = set()
    image_names: dict[str, str] = {}
    for ch in ([disclaimer] if disclaimer else []) + chapters:
        for im in ch.images:
            if im.relpath not in image_names:
                data, media_type, name = images.for_ereaders((source.root / im.relpath).read_bytes(), im.media_type,
                                                             _image_name(im.relpath, used))
                image_names[im.relpath] = "images/" + name
                items.append(PackageItem(image_names[im.relpath], data, media_type, uid=f"img{len(image_names)}"))

    # Cover: the given picture with its cover-alt, or a typographic one.
    cover_id = "cover-image"
    if meta.cover_image:
        path = resolve_inside(source.root, source.root / "book.yaml", meta.cover_image, what="cover image",
                              file=source.meta_file)
        info = images.inspect(path, ref=meta.cover_image, file=source.meta_file,
                              line=source.key_lines.get("cover-image"))
        cover_data, cover_type, name = images.for_ereaders(path.read_bytes(), info.media_type, path.name)
        ext = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/svg+xml": "svg"}[cover_type]
        cover_alt = meta.cover_alt
        size = images.raster_size(cover_data)
    else:
        cover_data, cover_type, ext = cover_png, "image/png", "png"
        authors = ", ".join(meta.authors)
        cover_alt = (lab["cover_alt"] if authors else lab["cover_alt_noauthor"]).format(title=meta.title, authors=authors)
        size = (cover.WIDTH, cover.HEIGHT)
    cover_file = f"images/cover.{ext}"
    items.insert(0, PackageItem(cover_file, cover_data, cover_type, properties=("cover-image",), uid=cover_id))
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    cover_body = (f'<section epub:type="cover" class="cover">\n<img role="doc-cover" src="../{cover_file}" '
                  f'alt="{esc(cover_alt)}"{dims}/>\n</section>')
    items.append(PackageItem("text/cover.xhtml", doc(lab["cover"], cover_body, "cover", meta.lang if meta.cover_alt else llang),
                             "application/xhtml+xml", lab["cover"], in_spine=True, uid="cover"))
    guide.append(("cover", "text/cover.xhtml", lab["cover"]))

    # Title page.
    tp = ['<section epub:type="titlepage" class="titlepage" aria-labelledby="book-title">',
          f'<h1 id="book-title" class="title">{esc(meta.title)}</h1>']
    if meta.subtitle:
        tp.append(f'<p class="subtitle">{esc(meta.subtitle)}</p>')
    if meta.authors:
        tp.append(f'<p class="author">{esc(", ".join(meta.authors))}</p>')
    if meta.publisher:
        tp.append(f'<p class="publisher">{esc(meta.publisher)}</p>')
    if meta.date:
        tp.append(f'<p class="date"><time datetime="{esc(meta.date)}">{esc(human_date(meta.date, meta.lang))}</time></p>')
    if meta.rights:
        tp.append(f'<p class="rights">{esc(meta.rights)}</p>')
    tp.append("</section>")
    items.append(PackageItem("text/titlepage.xhtml", doc(meta.title, "\n".join(tp), "frontmatter"),
                             "application/xhtml+xml", meta.title, in_spine=True, uid="titlepage"))
    guide.append(("title-page", "text/titlepage.xhtml", lab["titlepage"]))
    landmarks.append(("titlepage", "text/titlepage.xhtml", lab["titlepage"]))

    # Every part gets its file name, then links between parts can be resolved.
    part_files = links.part_files(chapters)
    targets = links.Targets(source, chapters)

    def id_files(pairs):
        """id → the file of its first occurrence in reading order."""
        found: dict[str, str] = {}
        for part, fname in pairs:
            for i in part.ids:
                found.setdefault(i, fname)
        return found

    # A link goes to its own chapter file's id first, else to the first one in the book.
    book_ids = id_files((p, f) for ch, files in zip(chapters, part_files) for p, f in zip(ch.parts, files))

    def resolver(ch, files, here, chapter=None):
        by_id = id_files(zip(ch.parts, files))

        def link(ident):
            if ident.startswith(links.PATH):  # checked by _missing_link_targets: it resolves
                return targets.resolve(chapter, ident[len(links.PATH):])[0] or "#"
            target = by_id.get(ident) or book_ids.get(ident)
            if target is None:
                return "#" + ident
            return ("" if target == here else target.removeprefix("text/")) + "#" + ident
        return link

    def image_href(rel):
        return "../" + image_names[rel]

    # Disclaimer: its own page before the first section, a `notice` (DPUB-ARIA doc-notice).
    if disclaimer:
        body = "\n".join(p.body for p in disclaimer.parts)
        at_yaml = Chapter(source.root / "book.yaml", source.meta_file, "", 1)  # links relative to book.yaml

        def disclaimer_link(ident):
            if ident.startswith(links.PATH):
                return targets.resolve(at_yaml, ident[len(links.PATH):])[0] or "#"
            return "#" + ident

        body = transform.resolve_placeholders(body, disclaimer_link, image_href)
        html_ = (f'<section epub:type="notice" role="doc-notice" class="disclaimer" aria-labelledby="disclaimer-title">\n'
                 f'<h1 id="disclaimer-title"{lang_attrs(meta.lang)}>{esc(lab["disclaimer"])}</h1>\n{body}\n</section>')
        items.append(PackageItem("text/disclaimer.xhtml", doc(lab["disclaimer"], html_, "frontmatter"),
                                 "application/xhtml+xml", lab["disclaimer"], in_spine=True, uid="disclaimer"))
        flat.append((1, NavEntry(lab["disclaimer"], "text/disclaimer.xhtml", label=True)))
        landmarks.append(("notice", "text/disclaimer.xhtml", lab["disclaimer"]))
        guide.append(("preface", "text/disclaimer.xhtml", lab["disclaimer"]))

    items.append(PackageItem("nav.xhtml", b"", "application/xhtml+xml", uid="nav-slot"))
    landmarks.append(("toc", "nav.xhtml#toc", lab["contents"]))
    guide.append(("toc", "nav.xhtml", lab["contents"]))

    first_text = None
    for ch, files, chapter in zip(chapters, part_files, source.chapters):
        for part, fname in zip(ch.parts, files):
            first_text = first_text or fname
            body = transform.resolve_placeholders(part.body, resolver(ch, files, fname, chapter), image_href)
            lead = part.headings[0] if part.headings and body.lstrip().startswith("<h") else None
            if lead and lead.level == 1:
                open_ = f'<section epub:type="chapter" role="doc-chapter" aria-labelledby="{esc(lead.id)}">'
            elif lead:
                open_ = f'<section aria-labelledby="{esc(lead.id)}">'
            else:
                open_ = f'<section aria-label="{esc(part.title)}">'
            items.append(PackageItem(fname, doc(part.title, f"{open_}\n{body}\n</section>", "bodymatter"),
                                     "application/xhtml+xml", part.title, in_spine=True, uid=fname[5:-6]))
            if not lead and not part.continued:
                # Text before the first heading (or a book with no headings) still gets an entry:
                # an EPUB nav `ol` must not be empty (EPUB 3.3 §7.3), and every document should
                # be reachable from the table of contents.
                flat.append((1, NavEntry(part.title, fname)))
            for h in part.headings:
                if h.level <= meta.toc_depth and h.text:
                    flat.append((h.level, NavEntry(h.text, f"{fname}#{h.id}")))
    if first_text:
        landmarks.append(("bodymatter", first_text, lab["start"]))
        guide.append(("text", first_text, lab["start"]))

    if not flat:
        flat.append((1, NavEntry(meta.title, "text/titlepage.xhtml")))
    items.append(PackageItem(CSS_PATH, stylesheet(), "text/css", uid="css"))
    return items, guide, _nest(flat), landmarks, cover_id
