"""`book import`: web pages → an ordinary book folder (book.yaml, one Markdown file per article,
images/), which `book build` then builds like any other.

    from book.webimport import ImportOptions, import_pages
    result = import_pages(["saved/article.html"], "my-book", ImportOptions(drop_spam=True))
    for problem in result.warnings: print(problem)

Everything is checked before anything is written; the folder is written to a temporary folder
beside it and renamed into place, so it is complete or not there at all.  See README.md,
"Importing a web page", for what is kept, dropped and flagged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BookError, OutputError, Problem, SourceError, UsageError

MARKER = ".book-import.json"  # what an import wrote, so a later import may replace it (and only it)
HEALTH = re.compile(r"\b(medic\w*|drugs?|doses?|dosage|prescri\w+|symptoms?|diseases?|therap\w+|clinical|"
                    r"patients?|diagnos\w+|pharma\w*|side effects?|opioids?|treatments?|mg)\b", re.I)
MAX_DISCLAIMER_BYTES = 64 * 1024


def require() -> None:
    """What `book import` needs, named with the one command that installs it.  Today the core's
    lxml, Pillow and PyYAML suffice (the `import` extra is empty: README, "Importing a web page");
    an extraction library added later goes in the extra and in this list."""
    missing = []
    for module in ("lxml", "PIL", "yaml"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise UsageError(f"book import needs {', '.join(missing)}, which is not installed",
                         hint="pip install 'book[import]'")


@dataclass
class ImportOptions:
    allow_remote: bool = False  # PAGE may be an http(s) URL; pictures not saved may be downloaded
    allow_private_network: bool = False  # downloads from this machine or its networks too (trusted pages)
    drop_spam: bool = False  # remove the spam we are sure of (it is always reported)
    disclaimer: str | os.PathLike | None = None  # a Markdown file put in book.yaml as `disclaimer`


@dataclass
class ImportResult:
    folder: Path
    chapters: list[str]
    book: dict  # what went into book.yaml
    warnings: list[Problem] = field(default_factory=list)  # spam, language, links, health
    needs_description: list[Problem] = field(default_factory=list)  # one per picture to describe
    pictures: int = 0
    dropped: list[str] = field(default_factory=list)  # what was left out, for the summary
    page_lines: dict = field(default_factory=dict)  # picture to describe → (page name, page line)


def expand(pages, *, allow_remote: bool) -> list:
    """PAGE (a file, a folder of pages, or a URL) → the pages to import, in order."""
    from .page import is_url

    items = [pages] if isinstance(pages, (str, os.PathLike)) else list(pages)
    out = []
    for item in items:
        text = str(item)
        if is_url(text):
            if not allow_remote:
                raise UsageError(f"'{text[:80]}' is a web address", hint="add --allow-remote to download it, or save "
                                 "the page from a browser (Save Page As, Web Page, complete) and import the file")
            out.append(text)
            continue
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in (".html", ".htm", ".xhtml") and q.is_file())
            if not found:
                raise SourceError("the folder holds no saved web page (.html)", file=text,
                                  hint="save the pages into it from a browser, or give one page")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise SourceError("no such file or folder", file=text, hint="give a saved page (.html), a folder of them, "
                              "or an http(s) address with --allow-remote")
    return out


def _slug(text: str) -> str:
    from ..build import slugify

    return slugify(text)


def import_pages(pages, out_dir, options: ImportOptions | None = None) -> ImportResult:
    """Import PAGE(s) into the book folder `out_dir`.  Raises BookError for anything that stops
    the import; nothing is written then."""
    require()
    from .article import Article, read_article

    options = options or ImportOptions()
    out = Path(out_dir)
    _check_target(out)
    items = expand(pages, allow_remote=options.allow_remote)
    articles: list[Article] = [read_article(item, options) for item in items]
    return _write_book(articles, out, options)


def _write_book(articles, out: Path, options: ImportOptions) -> ImportResult:
    from ..source.metadata import is_valid_language_tag
    from ..source import display
    from .article import render_markdown

    single = len(articles) == 1
    names: list[str] = []
    used = set()
    for a in articles:
        base = _slug(a.stem or a.meta.title or "article") or "article"
        name, n = f"{base}.md", 1
        while name in used or name == "book.md":
            n += 1
            name = f"{base}-{n}.md"
        used.add(name)
        names.append(name)
    # Links between the imported pages: by address and by the saved file's path.
    by_url = {}
    for a, name in zip(articles, names):
        for key in a.keys:
            by_url[key] = name
    rendered = render_markdown(articles, names, by_url, single=single, drop_spam=options.drop_spam)

    first = articles[0].meta
    warnings: list[Problem] = []
    book: dict = {}
    if single:
        book["title"] = first.title
    else:
        sites = {a.meta.publisher for a in articles}
        book["title"] = (sites.pop() if len(sites) == 1 and None not in sites else None) or \
            _folder_title(articles) or first.title
    lang = first.lang
    lang_note = None
    if not lang:
        lang = "en"
        lang_note = (f"the page does not say its language (no <html lang>); book.yaml says lang: {lang}",
                     "change it if the text is in another language (a BCP 47 tag: es, fr, ar, …)")
    elif first.lang_from and is_valid_language_tag(lang):
        lang_note = (f"the page has no <html lang>; book.yaml says lang: {lang}, from {first.lang_from}",
                     "check that it is the language of the text")
    elif not is_valid_language_tag(lang):
        lang_note = (f"the page's language '{lang}' is not a BCP 47 tag; book.yaml says lang: en",
                     "put the text's language tag there (en, es, ar, …)")
        lang = "en"
    book["lang"] = lang
    authors = []
    for a in articles:
        for name in a.meta.authors:
            if name not in authors:
                authors.append(name)
    if authors:
        book["author"] = authors[0] if len(authors) == 1 else authors
    dates = sorted(a.meta.date for a in articles if a.meta.date)
    if dates:
        book["date"] = dates[0] if single else dates[-1]
    if single and first.description:
        book["description"] = first.description
    subjects = []
    for a in articles:
        for s in a.meta.subjects:
            if s.lower() not in {x.lower() for x in subjects}:
                subjects.append(s)
    if subjects:
        book["subject"] = subjects
    if first.publisher:
        book["publisher"] = first.publisher
    if single and first.url:
        book["source"] = first.url
    if options.disclaimer:
        book["disclaimer"] = _read_disclaimer(Path(options.disclaimer))
    book["chapters"] = names

    yaml_text = _dump_yaml(book)
    folder_name = display(out)
    yaml_lines = {k: i + 1 for i, ln in enumerate(yaml_text.split("\n")) for k in [ln.split(":", 1)[0]]
                  if ln and not ln.startswith(" ")}
    if lang_note:
        warnings.append(Problem(lang_note[0], f"{folder_name}/book.yaml", yaml_lines.get("lang"), lang_note[1]))

    files: dict[str, bytes] = {"book.yaml": yaml_text.encode("utf-8")}
    result = ImportResult(out, names, book)
    for a, name, (text, reports) in zip(articles, names, rendered):
        files[name] = text.encode("utf-8")
        shown = f"{folder_name}/{name}"
        for kind, line, message, hint, extra in reports:
            problem = Problem(message, shown, line, hint)
            if kind == "describe":
                result.needs_description.append(problem)
                result.page_lines[problem] = extra
            else:
                warnings.append(problem)
        for fname, data in a.files.items():
            files["images/" + fname] = data
        result.pictures += len(a.files)
        result.dropped.extend(a.dropped)
    health = sum(len(HEALTH.findall(t)) for t, _r in rendered) + sum(
        3 * len(HEALTH.findall(a.meta.title or "")) for a in articles)
    if health >= 8 and not options.disclaimer:
        warnings.append(Problem("this looks like a health article and has no disclaimer", f"{folder_name}/book.yaml",
                                None, "write one in a Markdown file and import again with --disclaimer FILE "
                                "(it gets its own page before the text)"))
    result.warnings = warnings
    _write_atomic(out, files)
    return result


def _folder_title(articles) -> str | None:
    paths = [a.path for a in articles if a.path is not None]
    if paths and len({p.parent for p in paths}) == 1:
        name = paths[0].parent.resolve().name
        return re.sub(r"[-_]+", " ", name).strip().capitalize() or None
    return None


def _read_disclaimer(path: Path) -> str:
    from ..source import display, read_text

    try:
        if path.stat().st_size > MAX_DISCLAIMER_BYTES:
            raise SourceError("the disclaimer file is too long for a disclaimer", file=display(path),
                              hint=f"keep it under {MAX_DISCLAIMER_BYTES // 1024} KB")
    except OSError:
        pass
    text = read_text(path, display(path)).strip()
    if not text:
        raise SourceError("the disclaimer file is empty", file=display(path), hint="write the disclaimer in Markdown")
    return text + "\n"


def _dump_yaml(data: dict) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    head = "# Imported by `book import`. Edit freely; `book build` this folder to make the EPUB.\n"
    return head + yaml.dump(data, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=100,
                            default_flow_style=False)


# ---------------------------------------------------------------------------------------------
# Writing the folder: complete or not at all


def _hashes(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or not p.is_file():
            continue
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _check_target(out: Path) -> None:
    """An existing folder is replaced only when it is an earlier import nobody has edited."""
    if not out.exists():
        parent = out.absolute().parent
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"cannot write '{out}': '{parent}' is not a folder", file=str(out))
        return
    if not out.is_dir():
        raise OutputError(f"'{out}' is a file", file=str(out), hint="give a folder for the book")
    if not any(out.iterdir()):
        return
    marker = out / MARKER
    if not marker.is_file():
        raise OutputError(f"'{out}' is not empty and was not made by book import", file=str(out),
                          hint="import into a new folder (-o another-folder), or empty this one first")
    try:
        recorded = json.loads(marker.read_text("utf-8")).get("files", {})
    except (ValueError, OSError, AttributeError):
        recorded = None
    if recorded != _hashes(out):
        raise OutputError(f"'{out}' was edited after it was imported", file=str(out),
                          hint="import into a new folder (-o another-folder) so your edits stay, or delete it to "
                               "import again")


def _write_atomic(out: Path, files: dict[str, bytes]) -> None:
    out = out.absolute()
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.import-", dir=parent))
    except OSError as e:
        raise OutputError(f"cannot write to '{parent}' ({e.strerror})", file=str(out)) from None
    old = None
    try:
        for rel, data in files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (tmp / MARKER).write_text(json.dumps({"files": _hashes(tmp)}, indent=1), "utf-8")
        os.chmod(tmp, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.rmdir(old)
            os.rename(out, old)
        os.rename(tmp, out)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            os.rename(old, out)
        if isinstance(e, OSError):
            raise OutputError(f"cannot write '{out}' ({e.strerror})", file=str(out)) from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# book build PAGE.html


def build_page(page, output=None, options: ImportOptions | None = None, build_options=None):
    """Import PAGE in a temporary folder and build it with `build_options` (a
    book.BuildOptions): `book build PAGE.html`.  A picture that needs a description stops the
    build (img-alt-missing) with the page's own file:line.  Returns (BuildResult, the import's
    warnings)."""
    from ..build import build

    with tempfile.TemporaryDirectory(prefix="book-import-") as tmp:
        folder = Path(tmp) / "book"
        result = import_pages(page, folder, options)
        if result.needs_description:
            problems = []
            for p in result.needs_description:
                name, line = result.page_lines.get(p, (None, None))
                why = (p.hint or "").split(";", 1)[0]
                problems.append(Problem(f"error: [img-alt-missing] {p.message}: {why}", name, line,
                                        f"import the page with book import {page} -o FOLDER, write what the picture "
                                        "shows in FOLDER's Markdown, then book build FOLDER"))
            raise SourceError(problems=problems)
        try:
            built = build(folder, output, build_options)
        except BookError as e:
            e.problems = [_relabel(p, folder, page) for p in e.problems]
            raise
        return built, result.warnings


def _relabel(problem: Problem, folder: Path, page) -> Problem:
    """A problem found in the temporary folder, named after the page instead."""
    from ..source import display

    def fix(text):
        if not text:
            return text
        for prefix in (str(folder.resolve()), str(folder), display(folder)):
            text = text.replace(prefix, f"{page} (imported)")
        return text

    return Problem(fix(problem.message), fix(problem.file), problem.line, fix(problem.hint))


def normalise_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/") or "/"
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))
