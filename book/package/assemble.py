"""Lay out the book: every document of the spine, in reading order, and the images.

The cover (the author's picture with its `cover-alt`, or a typographic one), the title page,
the disclaimer on a page of its own before the first section (where a reader meets it first;
DPUB-ARIA `doc-notice`), the contents (the navigation document), then the text: one document
per part of each chapter, with links between parts resolved once every part has its file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..render import images, passes
from ..source import Source, resolve_inside
from . import cover as coverlib
from .documents import NavEntry, esc, nav_document, ncx_document, nest, xhtml
from .l10n import human_date, label_lang, labels, lang_attrs
from .styles import stylesheet
from .writer import PackageItem

CSS_PATH = "styles/book.css"


@dataclass
class Assembly:
    """The laid-out book, ready to write: what `assemble` hands on to narration and the writer."""

    items: list[PackageItem]  # every file of the publication; those `in_spine` in reading order
    guide: list[tuple[str, str, str]]  # EPUB 2 guide: (type, href, title)
    toc: list[NavEntry]  # the table of contents, nested
    landmarks: list[tuple[str, str, str]]  # (epub:type, href, label)
    cover_id: str  # the manifest id of the cover image
    ncx: bytes  # toc.ncx, for EPUB 2 reading systems

    @property
    def documents(self) -> int:
        return sum(1 for it in self.items if it.in_spine)


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


def assemble(source: Source, chapters, disclaimer, cover_png: bytes | None) -> Assembly:
    """Lay out the spine: cover, title page, disclaimer, contents, then the text.  `cover_png`:
    the typographic cover (book.package.cover), None when the book names its own picture."""
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
        size = (coverlib.WIDTH, coverlib.HEIGHT)
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
    part_files: list[list[str]] = []
    n = 0
    for ch in chapters:
        names = []
        for _part in ch.parts:
            n += 1
            names.append(f"text/ch{n:03d}.xhtml")
        part_files.append(names)

    def id_files(pairs):
        """id → the file of its first occurrence in reading order."""
        found: dict[str, str] = {}
        for part, fname in pairs:
            for i in part.ids:
                found.setdefault(i, fname)
        return found

    # A link goes to its own chapter file's id first, else to the first one in the book.
    book_ids = id_files((p, f) for ch, files in zip(chapters, part_files) for p, f in zip(ch.parts, files))

    def resolver(by_id, here):
        def link(ident):
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
        body = passes.resolve_placeholders(body, lambda i: "#" + i, image_href)
        html_ = (f'<section epub:type="notice" role="doc-notice" class="disclaimer" aria-labelledby="disclaimer-title">\n'
                 f'<h1 id="disclaimer-title"{lang_attrs(meta.lang)}>{esc(lab["disclaimer"])}</h1>\n{body}\n</section>')
        items.append(PackageItem("text/disclaimer.xhtml", doc(lab["disclaimer"], html_, "frontmatter"),
                                 "application/xhtml+xml", lab["disclaimer"], in_spine=True, uid="disclaimer"))
        flat.append((1, NavEntry(lab["disclaimer"], "text/disclaimer.xhtml", label=True)))
        landmarks.append(("notice", "text/disclaimer.xhtml", lab["disclaimer"]))
        guide.append(("preface", "text/disclaimer.xhtml", lab["disclaimer"]))

    nav_at = len(items)  # the contents come after the front matter, before the text
    landmarks.append(("toc", "nav.xhtml#toc", lab["contents"]))
    guide.append(("toc", "nav.xhtml", lab["contents"]))

    first_text = None
    for ch, files in zip(chapters, part_files):
        by_id = id_files(zip(ch.parts, files))  # once per chapter: a one-file book has hundreds of parts
        for part, fname in zip(ch.parts, files):
            first_text = first_text or fname
            body = passes.resolve_placeholders(part.body, resolver(by_id, fname), image_href)
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
    toc = nest(flat)
    nav = nav_document(meta, toc, landmarks, CSS_PATH)
    items.insert(nav_at, PackageItem("nav.xhtml", nav, "application/xhtml+xml", lab["contents"], in_spine=True, uid="nav"))
    return Assembly(items, guide, toc, landmarks, cover_id, ncx_document(meta, toc))
