"""Lay out the book: every document of the spine, in reading order, and the images.

The cover (the author's picture with its `cover-alt`, or a typographic one), the title page,
the disclaimer on a page of its own before the first section (where a reader meets it first;
DPUB-ARIA `doc-notice`), the contents (the navigation document), then the text: one document
per part of each chapter, with links between parts resolved once every part has its file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import links
from ..render import images, longdesc, passes
from ..source import Chapter, Source, resolve_inside
from . import cover as coverlib
from .documents import NavEntry, esc, nav_document, ncx_document, nest, xhtml
from .l10n import human_date, join_names, label_lang, labels, lang_attrs
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

    def doc(title, body, body_type, lang=meta.lang, html_class=None):
        return xhtml(title, body, lang=lang, direction=meta.direction, css=css_rel, body_type=body_type,
                     html_class=html_class)

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
    else:
        cover_data, cover_type, ext = cover_png, "image/png", "png"
        authors = join_names(meta.authors, llang)
        cover_alt = (lab["cover_alt"] if authors else lab["cover_alt_noauthor"]).format(title=meta.title, authors=authors)
    cover_file = f"images/cover.{ext}"
    items.insert(0, PackageItem(cover_file, cover_data, cover_type, properties=("cover-image",), uid=cover_id))
    # No width/height attributes: the stylesheet alone fits the cover to the page (html.cover in
    # styles/book.css).  MuPDF 1.28 laid the block-level cover with width="1600" height="2400"
    # out at that size whatever the CSS said: the picture off the page and five blank pages.
    cover_body = (f'<section epub:type="cover" class="cover">\n<img role="doc-cover" src="../{cover_file}" '
                  f'alt="{esc(cover_alt)}"/>\n</section>')
    items.append(PackageItem("text/cover.xhtml", doc(lab["cover"], cover_body, "cover", meta.lang if meta.cover_alt else llang,
                                                     html_class="cover"),
                             "application/xhtml+xml", lab["cover"], in_spine=True, uid="cover"))
    guide.append(("cover", "text/cover.xhtml", lab["cover"]))

    # Title page.
    tp = ['<section epub:type="titlepage" class="titlepage" aria-labelledby="book-title">',
          f'<h1 id="book-title" class="title">{esc(meta.title)}</h1>']
    if meta.subtitle:
        tp.append(f'<p class="subtitle">{esc(meta.subtitle)}</p>')
    if meta.authors:
        tp.append(f'<p class="author">{esc(join_names(meta.authors, meta.lang))}</p>')
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

    def resolver(by_id, here, chapter=None):
        def link(ident):
            if ident.startswith(links.PATH):  # checked by the link-targets rule: it resolves
                return targets.resolve(chapter, ident[len(links.PATH):])[0] or "#"
            target = by_id.get(ident) or book_ids.get(ident)
            if target is None:
                return "#" + ident
            return ("" if target == here else target.removeprefix("text/")) + "#" + ident
        return link

    def image_href(rel):
        return "../" + image_names[rel]

    pages: list[tuple[str, str]] = []  # the page list: (label, href), in reading order

    def add_pages(rendered, files, parts_files):
        """The page breaks of a chapter (or the disclaimer), each with the file it landed in."""
        where_ = {i: f for part, f in parts_files for i in part.ids} if parts_files else {}
        for ident, label, _line in getattr(rendered, "pages", ()):
            pages.append((label, f"{where_.get(ident, files)}#{ident}"))

    def add_descriptions(rendered, here, part_ids=None):
        """The extended descriptions whose link is in the document `here` (book.render.longdesc):
        each a document of its own, right after it in the spine, `linear="no"`."""
        link_words, back_words, words_lang = longdesc.labels(meta.lang)
        attrs = f' lang="{words_lang}" xml:lang="{words_lang}"' if words_lang != meta.lang else ""
        for d in getattr(rendered, "descriptions", ()):
            if part_ids is not None and d.ref_id not in part_ids:
                continue
            body = passes.resolve_placeholders(d.body, lambda i: (book_ids.get(i, "").removeprefix("text/")) + "#" + i,
                                               image_href)
            src = passes.resolve_placeholders(f'"{esc(d.src)}"', lambda i: "#" + i, image_href)
            dims = f' width="{esc(d.width)}" height="{esc(d.height)}"' if d.width and d.height else ""
            back = here.removeprefix("text/") + "#" + d.ref_id
            html_ = (f'<section id="{d.id}" aria-labelledby="{d.id}-title">\n'
                     f'<h1 id="{d.id}-title"{attrs}>{esc(link_words)}</h1>\n'
                     f'<p class="described-image"><img src={src} alt="" role="presentation"{dims}/></p>\n'
                     f'{body}\n'
                     f'<p class="backlink"><a href="{esc(back)}" role="doc-backlink"{attrs}>{esc(back_words)}</a></p>\n'
                     f'</section>')
            title = f"{link_words}: {d.alt}" if d.alt else link_words
            items.append(PackageItem("text/" + d.file, doc(title, html_, None), "application/xhtml+xml", title,
                                     in_spine=True, uid=d.file[:-6], linear=False))

    # Disclaimer: its own page before the first section, a `notice` (DPUB-ARIA doc-notice).
    if disclaimer:
        body = "\n".join(p.body for p in disclaimer.parts)
        at_yaml = Chapter(source.root / "book.yaml", source.meta_file, "", 1)  # links relative to book.yaml
        # `#id` reaches the disclaimer's own ids or any chapter's, as in a chapter (the
        # link-targets rule reports one that reaches none).
        own = {i: "text/disclaimer.xhtml" for p in disclaimer.parts for i in p.ids}
        body = passes.resolve_placeholders(body, resolver(own, "text/disclaimer.xhtml", at_yaml), image_href)
        html_ = (f'<section epub:type="notice" role="doc-notice" class="disclaimer" aria-labelledby="disclaimer-title">\n'
                 f'<h1 id="disclaimer-title"{lang_attrs(meta.lang)}>{esc(lab["disclaimer"])}</h1>\n{body}\n</section>')
        items.append(PackageItem("text/disclaimer.xhtml", doc(lab["disclaimer"], html_, "frontmatter"),
                                 "application/xhtml+xml", lab["disclaimer"], in_spine=True, uid="disclaimer"))
        add_pages(disclaimer, "text/disclaimer.xhtml", None)
        add_descriptions(disclaimer, "text/disclaimer.xhtml")
        flat.append((1, NavEntry(lab["disclaimer"], "text/disclaimer.xhtml", label=True)))
        landmarks.append(("notice", "text/disclaimer.xhtml", lab["disclaimer"]))
        guide.append(("preface", "text/disclaimer.xhtml", lab["disclaimer"]))

    nav_at = len(items)  # the contents come after the front matter, before the text
    landmarks.append(("toc", "nav.xhtml#toc", lab["contents"]))
    guide.append(("toc", "nav.xhtml", lab["contents"]))

    first_text = None
    for ch, files, chapter in zip(chapters, part_files, source.chapters):
        add_pages(ch, files[0] if files else "", list(zip(ch.parts, files)))
        by_id = id_files(zip(ch.parts, files))  # once per chapter: a one-file book has hundreds of parts
        for part, fname in zip(ch.parts, files):
            first_text = first_text or fname
            body = passes.resolve_placeholders(part.body, resolver(by_id, fname, chapter), image_href)
            lead = part.headings[0] if part.headings and body.lstrip().startswith("<h") else None
            if lead and lead.level == 1:
                open_ = f'<section epub:type="chapter" role="doc-chapter" aria-labelledby="{esc(lead.id)}">'
            elif lead:
                open_ = f'<section aria-labelledby="{esc(lead.id)}">'
            else:
                open_ = f'<section aria-label="{esc(part.title)}">'
            items.append(PackageItem(fname, doc(part.title, f"{open_}\n{body}\n</section>", "bodymatter"),
                                     "application/xhtml+xml", part.title, in_spine=True, uid=fname[5:-6]))
            add_descriptions(ch, fname, part.ids)
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
    nav = nav_document(meta, toc, landmarks, CSS_PATH, pages=pages)
    items.insert(nav_at, PackageItem("nav.xhtml", nav, "application/xhtml+xml", lab["contents"], in_spine=True, uid="nav"))
    return Assembly(items, guide, toc, landmarks, cover_id, ncx_document(meta, toc))
