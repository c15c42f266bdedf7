"""One page → one article: read, found, cleaned (book.webimport.extract), its pictures taken
(book.webimport.pictures), its spam marked (book.webimport.spam), then written as Markdown
(book.webimport.convert) once every page of the book is known, so links between them resolve."""

from __future__ import annotations

import copy
import hashlib
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError
from . import ImportOptions, normalise_url
from . import convert, extract, pictures, spam
from . import page as pagelib


@dataclass
class Article:
    page: pagelib.Page
    meta: extract.Meta
    container: object
    path: Path | None
    stem: str
    keys: set = field(default_factory=set)  # normalised addresses and paths that mean this page
    spam: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    files: dict = field(default_factory=dict)  # images/<name> → bytes
    options: ImportOptions = field(default_factory=ImportOptions)


def read_article(item, options: ImportOptions) -> Article:
    from ..source import display

    if isinstance(item, Path):
        pg = pagelib.read_file(item, display(item))
        stem = item.stem
    else:
        pg = pagelib.read_url(item, allow_private=options.allow_private_network)
        stem = urllib.parse.urlsplit(item).path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "article"
    meta = extract.metadata(pg.tree, pg.url)
    if pg.url is None and meta.url:
        pg.url = meta.url
    container, how = extract.find_container(pg.tree)
    if container is None or len(extract.text_of(container)) < 80:
        raise SourceError("no article found in the page: it has no block of paragraphs", file=pg.name,
                          hint="save the page of the article itself (not a list of articles or a search page)")
    title_el = next((h for h in pg.tree.iter("h1") if meta.title and extract._same(extract.text_of(h), meta.title)),
                    None)
    if meta.title is None:
        raise SourceError("the page has no title (no <title>, <h1> or og:title)", file=pg.name,
                          hint="add a <title> to the page, or import it and set title: in book.yaml")
    lead = extract.lead_media(pg.tree, container, title_el)
    for el in reversed(lead):
        el.tail = None
        container.insert(0, el)
    if not meta.authors:
        by = extract.byline_author(container)
        if by:
            meta.authors = [by]
    art = Article(pg, meta, container, pg.path, stem, options=options)
    art.notes.append(f"article found by {how}")

    def report(kind, el):
        text = extract.text_of(el)
        if text:
            art.dropped.append(f"{pg.name}:{el.sourceline}: {kind}: {text[:60]}")

    extract.remove_junk(container, meta.title, report)
    art.notes += extract.restructure(container)
    art.spam = spam.scan(container, drop=options.drop_spam)
    if pg.url:
        art.keys.add(normalise_url(pg.url))
    if pg.path is not None:
        art.keys.add(str(pg.path.resolve()))
    return art


def _footnotes(container, page_tree, conv: convert.Converter) -> list:
    """Note references (`<sup><a href="#fn1">1</a></sup>`) and their notes become Markdown
    footnotes (`[^1]`); the notes' list leaves the text.  Notes are looked up in the article
    first, then in the whole page."""
    by_id = {el.get("id"): el for el in page_tree.iter() if isinstance(el.tag, str) and el.get("id")}
    by_id.update({el.get("id"): el for el in container.iter() if isinstance(el.tag, str) and el.get("id")})
    note_words = re.compile(r"foot|endnote|note|reference|doc-endnotes|doc-footnote", re.I)
    containers = []
    label = 0
    for a in list(container.iter("a")):
        href = a.get("href") or ""
        if not href.startswith("#") or len(href) < 2:
            continue
        target = by_id.get(urllib.parse.unquote(href[1:]))
        if target is None or target.tag not in ("li", "p", "div", "aside", "section", "dd"):
            continue
        marks = " ".join(filter(None, [a.get("class"), a.get("role"), a.get("rel")]))
        around = [target, *target.iterancestors()]
        in_notes = any(note_words.search(" ".join(filter(None, [e.get("class"), e.get("id"), e.get("role")])))
                       for e in around[:4])
        short = len(extract.text_of(a)) <= 4
        if not (in_notes and (short or "noteref" in marks or "footnote" in marks)):
            continue
        if target not in conv.notes:
            label += 1
            conv.notes[target] = str(label)
        conv.note_refs[a] = conv.notes[target]
        box = next((e for e in target.iterancestors() if e.tag in ("ol", "ul", "div", "section", "aside")
                    and note_words.search(" ".join(filter(None, [e.get("class"), e.get("id"), e.get("role")])))),
                   target.getparent())
        if box is not None and box not in containers:
            containers.append(box)
    # The notes' text, without their back links.
    out = []
    for target, lab in conv.notes.items():
        for back in list(target.iter("a")):
            href = back.get("href") or ""
            if "backref" in (back.get("class") or "") or back.get("role") == "doc-backlink" or \
                    (href.startswith("#") and re.fullmatch(r"[\s↩↑^\ufe0e\ufe0f\u21a9]*", extract.text_of(back))):
                extract.drop(back)
        blocks = conv.blocks(target) if any(c.tag in convert.BLOCK for c in target) else [convert._tidy(conv.inline(target))]
        body = "\n\n".join(b for b in blocks if b).replace("\u00a0", " ").strip()
        body = "\n".join(("    " + ln if i and ln else ln) for i, ln in enumerate(body.split("\n")))
        out.append(f"[^{lab}]: {body}")
    for box in containers:
        if box is container or box in list(container.iterancestors()):
            continue
        if box.getparent() is not None:
            prev = box.getprevious()
            extract.drop(box)
            if prev is not None and prev.tag == "hr":  # the rule above the notes
                extract.drop(prev)
        inner_hr = [h for h in box.iter("hr")]
        for h in inner_hr:
            h.getparent().remove(h)
    return out


def render_markdown(articles: list[Article], names: list[str], by_url: dict, *, single: bool,
                    drop_spam: bool) -> list[tuple[str, list]]:
    """Markdown of each article, and its reports: (kind, line, message, hint, extra)."""
    ids_wanted: dict[str, set] = {name: set() for name in names}
    results = []
    for dry in (True, False):
        results = []
        for art, name in zip(articles, names):
            results.append(_render(art, name, names, by_url, ids_wanted, single=single, dry=dry))
    return results


def _render(art: Article, name: str, names, by_url, ids_wanted, *, single: bool, dry: bool):
    pg = art.page
    container = art.container
    reports: list = []
    markers: dict[str, tuple] = {}  # marker → report template

    def marker(kind, message, hint, extra=None) -> str:
        m = f"{spam.MARK_OPEN}{1000 + len(markers)}{spam.MARK_CLOSE}"
        markers[m] = (kind, message, hint, extra)
        return m

    ids_here = {el.get("id") for el in container.iter() if isinstance(el.tag, str) and el.get("id")}

    def link(href: str, el) -> str | None:
        href = (href or "").strip()
        if el.get("data-spam"):
            return None
        if not href:
            return None
        if href.startswith("#"):
            ident = urllib.parse.unquote(href[1:])
            if ident and ident in ids_here:
                ids_wanted[name].add(ident)
                return "#" + ident
            return None
        parts = urllib.parse.urlsplit(href)
        scheme = parts.scheme.lower()
        if scheme in ("mailto", "tel"):
            return href
        if scheme not in ("", "http", "https"):
            return None
        absolute = None
        if scheme in ("http", "https"):
            absolute = href
        elif pg.url:
            absolute = urllib.parse.urljoin(pg.url, href)
        # Another page of this import?
        frag = parts.fragment
        keys = []
        if absolute:
            keys.append(normalise_url(absolute))
        if pg.path is not None and not scheme and not href.startswith("/"):
            local = (pg.path.parent / urllib.parse.unquote(parts.path)).resolve() if parts.path else pg.path.resolve()
            keys.append(str(local))
        for key in keys:
            other = by_url.get(key)
            if other:
                if other == name:
                    if frag and frag in ids_here:
                        ids_wanted[name].add(frag)
                        return "#" + frag
                    return None
                if frag:
                    ids_wanted[other].add(frag)
                    return f"{other}#{frag}"
                return other
        if absolute:
            return absolute
        if not dry:
            m = marker("warn", f"the link '{href[:60]}' is relative to its web site, whose address the page does not "
                               "give; it was kept as text", "write the full https:// address in the link if it is "
                               "needed", None)
            el.text = m + (el.text or "")
        return None

    levels = _levels(container, single)
    files: dict[str, bytes] = {}
    seen: dict[str, str] = {}
    used: set[str] = set()
    cache: dict = {}

    def image(img, caption: str = "") -> str | None:
        if img in cache:
            return cache[img]
        if dry:
            return ""
        md = None
        line = img.sourceline
        if not pictures.is_decorative_markup(img):
            cands = pictures.candidates(img)
            pic = None
            for c in cands:
                pic = fetcher.get(c, pg, line=line)
                if pic is not None:
                    break
            if cands and pic is None:
                raise SourceError(f"picture '{cands[0][:80]}' is not in the saved page's folder", file=pg.name,
                                  line=line, hint="save the page again as 'Web Page, complete' so its pictures are "
                                  "saved beside it, or import it from its address with --allow-remote")
            if pic is not None and not (pic.width and pic.height and (
                    (pic.width < pictures.MIN_SIDE and pic.height < pictures.MIN_SIDE) or min(pic.width, pic.height) <= 2)):
                digest = hashlib.sha256(pic.data).hexdigest()
                if digest not in seen and len(files) >= pagelib.MAX_IMAGES:
                    raise SourceError(f"the article has more than {pagelib.MAX_IMAGES} pictures, more than book "
                                      "imports from one page", file=pg.name, line=line,
                                      hint="import a page that is one article")
                if digest not in seen:
                    fname = pictures.file_name(pic.origin, pic.media_type, used, pic.data)
                    seen[digest] = fname
                    files[fname] = pic.data
                    alt = img.get("alt")
                    problem = pictures.alt_problem(alt)
                    cap = re.sub(r"\s+", " ", caption).strip()
                    title = f' "{convert._quote(cap)}"' if cap else ""
                    path = f"images/{fname}"
                    if problem:
                        why = problem + (", and a caption is not a description" if cap and not (alt or "").strip()
                                         else "")
                        m = marker("describe", f"image '{path}' needs a description",
                                   f"{why}; write what the picture shows: ![What it shows.]({path}), or mark it "
                                   f"![]({path}){{.decorative}} if it carries no information — until then book build "
                                   "stops on it (img-alt-missing)", (pg.name, line))
                        md = f"{m}![]({path}{title})"
                    else:
                        described = convert.escape(re.sub(r"\s+", " ", alt).strip())
                        md = f"![{described}]({path}{title})"
        cache[img] = md
        return md

    fetcher = pictures.Fetcher(art.options.allow_remote, art.options.allow_private_network)

    conv = convert.Converter(image=image, link=link, levels=levels, ids=ids_wanted[name])
    work = copy.deepcopy(container)  # footnotes and links edit the tree: each pass starts afresh
    notes_md = _footnotes(work, pg.tree, conv)
    blocks = conv.blocks(work)
    if not single:
        blocks.insert(0, "# " + convert.escape(art.meta.title or name))
    text = "\n\n".join(b for b in blocks if b.strip())
    if notes_md:
        text += "\n\n" + "\n\n".join(notes_md)
    text += "\n"
    if dry:
        return text, []
    # Lines of each report, from its marker; then the markers go.
    spam_by_mark = {s.mark: s for s in art.spam}
    lines = text.split("\n")
    for i, ln in enumerate(lines):
        for m in spam.MARKS.finditer(ln):
            token = m.group(0)
            if token in markers:
                kind, message, hint, extra = markers[token]
                reports.append((kind, i + 1, message, hint, extra))
            elif token in spam_by_mark:
                message, hint = spam_by_mark[token].message()
                reports.append(("spam", i + 1, message, hint, None))
    text = spam.MARKS.sub("", text)
    art.files = files
    return text, reports


def _levels(container, single: bool) -> dict[int, int]:
    """Page heading levels → Markdown levels: the article's levels in order become #, ##, …
    (a chapter of a folder import starts at ## under its title), so the book never skips one."""
    used = sorted({int(h.tag[1]) for h in container.iter(*extract.HEADINGS)})
    base = 1 if single else 2
    return {lvl: min(base + i, 6) for i, lvl in enumerate(used)}
