"""Step 1 of a build: read the source — a Markdown file with YAML front matter, or a folder with
`book.yaml` and the chapter files it names — into a :class:`Source`.

Everything read from disk goes through :func:`resolve_inside`, so a source can never pull a file
from outside its own folder into a book (`../` escapes, absolute paths, symbolic links out).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import Problem, SourceError
from .metadata import Metadata, validate

BOOK_YAML = "book.yaml"


@dataclass(frozen=True)
class Chapter:
    """One Markdown file of the source."""

    path: Path  # absolute path on disk
    name: str  # path as the user sees it (for messages)
    text: str  # Markdown body, front matter removed
    first_line: int  # line number in `path` where `text` begins (for file:line messages)


@dataclass(frozen=True)
class Source:
    root: Path  # the folder everything must stay inside
    meta_file: str  # where the metadata came from, for messages
    meta: Metadata
    chapters: tuple[Chapter, ...]
    warnings: tuple[Problem, ...] = ()
    key_lines: dict = field(default_factory=dict)  # front-matter key → its line in meta_file


def display(path: Path) -> str:
    """A path as short as it can be for a message: relative to the working folder when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


# Python-Markdown renders one file as one string, in memory about 40 times its size; a file
# over this size is refused with a way forward instead of exhausting memory.  A book folder
# splits the text into chapter files, each rendered (and released) on its own.
MAX_FILE_BYTES = 20 * 1024 * 1024


def read_bytes(path: Path, name: str, limit: int, too_big: str, hint: str) -> bytes:
    """The bytes of a file a user named, or one clear SourceError: missing, a folder, unreadable,
    or more than `limit` bytes (``the file is N MB, more than {too_big} (L MB)``)."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise SourceError(f"the file is {size / 1048576:.0f} MB, more than {too_big} ({limit // 1048576} MB)",
                              file=name, hint=hint)
        return path.read_bytes()
    except FileNotFoundError:
        raise SourceError("file not found", file=name) from None
    except IsADirectoryError:
        raise SourceError("is a folder, not a file", file=name) from None
    except OSError as e:
        raise SourceError(f"cannot read the file ({e.strerror})", file=name) from None


def read_text(path: Path, name: str | None = None) -> str:
    name = name or display(path)
    data = read_bytes(path, name, MAX_FILE_BYTES, "book reads from one file",
                      "split it into chapter files listed in a book folder's book.yaml")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise SourceError(f"the file is not UTF-8 (byte 0x{data[e.start]:02x})", file=name, line=line,
                          hint="save it as UTF-8 in your editor") from None
    # A byte-order mark is legal in UTF-8 files made on Windows; it is not text.
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise SourceError("the file contains NUL bytes: it is not a text file", file=name)
    # (Most files have no CR: one search of a character, not two copies of a long book.)
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def resolve_inside(root: Path, base: Path, ref: str, *, what: str, file: str,
                   line: int | None = None, real_root: Path | None = None) -> Path:
    """Resolve `ref` (a path written in `base`) and make sure it stays inside `root`
    (`real_root`: `root` resolved already, when the caller checks many paths).

    Symbolic links are followed before the check, so a link that points outside is refused too.
    """
    hint = f"keep every {what} inside the book's folder {display(root)}/ and name it by a relative path"
    if not ref or ref.startswith(("/", "\\")) or os.path.isabs(ref) or (len(ref) > 1 and ref[1] == ":"):
        raise SourceError(f"{what} '{ref}' is an absolute path", file=file, line=line, hint=hint)
    target = (base.parent / ref).resolve()
    real_root = real_root or root.resolve()
    if target != real_root and real_root not in target.parents:
        raise SourceError(f"{what} '{ref}' is outside the book's folder", file=file, line=line, hint=hint)
    return target


# libyaml's parser when PyYAML was built with it (about 10 times faster on a long book.yaml);
# the pure-Python one only to word an error, so messages do not depend on how PyYAML was built.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str, loader_class):
    """The YAML document's node tree and its Python value, from one parse."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def parse_yaml(text: str, file: str, offset: int = 0) -> tuple[dict, dict[str, int]]:
    """The front matter (or book.yaml) as a dict, and the line of each top-level key, so a
    problem with a value can name the line it is on ("" = where the YAML starts)."""
    try:
        try:
            node, data = _compose(text, _FAST_LOADER)
        except yaml.YAMLError:
            node, data = _compose(text, yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 + offset if mark else None
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SourceError(f"the front matter is not valid YAML: {problem}", file=file, line=line,
                          hint="check the indentation and quote values that contain ':' or '#'") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourceError("the front matter must be a YAML mapping of keys to values", file=file,
                          line=offset + 1, hint="write lines like 'title: My Book'")
    lines = {"": offset or 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                lines[key.value] = key.start_mark.line + 1 + offset
                if isinstance(value, yaml.SequenceNode):  # "chapters=two.md": the line of that entry
                    for item in value.value:
                        if isinstance(item, yaml.ScalarNode):
                            lines.setdefault(f"{key.value}={item.value.strip()}", item.start_mark.line + 1 + offset)
    return data, lines


def split_front_matter(text: str, file: str) -> tuple[str | None, str, int]:
    """(front matter YAML or None, Markdown body, line where the body starts)."""
    # Line by line from the top: the front matter is a few lines of a text that may be a book.
    end = text.find("\n")
    if (text if end < 0 else text[:end]).strip() != "---":
        return None, text, 1
    first = start = end + 1  # the front matter's first line, and the line looked at
    number = 2
    while end >= 0:
        end = text.find("\n", start)
        if (text[start:] if end < 0 else text[start:end]).strip() in ("---", "..."):
            return text[first:max(first, start - 1)], "" if end < 0 else text[end + 1:], number + 1
        start, number = end + 1, number + 1
    raise SourceError("the front matter starting on line 1 is never closed", file=file, line=1,
                      hint="end it with a line holding only ---")


def load(path: str | Path) -> Source:
    """Read a source file or folder.  Raises SourceError for anything a user must fix."""
    p = Path(path)
    if not p.exists():
        raise SourceError("no such file or folder", file=str(path),
                          hint="give a Markdown file or a folder holding book.yaml")
    if p.is_dir():
        return _load_folder(p)
    return _load_file(p)


def _load_file(p: Path) -> Source:
    name = display(p)
    text = read_text(p)
    if text.isspace() or not text:  # (`not text.strip()` copied a whole book to find out)
        raise SourceError("the source is empty", file=name,
                          hint="start it with front matter: ---, title: ..., lang: ..., ---")
    fm, body, first = split_front_matter(text, name)
    if fm is None:
        raise SourceError("the file has no front matter", file=name, line=1,
                          hint="start it with ---, then 'title: ...' and 'lang: ...', then ---")
    raw, lines = parse_yaml(fm, name, offset=1)
    if "chapters" in raw:
        raise SourceError("'chapters' belongs in a book folder's book.yaml, not in a single file",
                          file=name, line=lines.get("chapters"),
                          hint="put the chapters in a folder with book.yaml, or remove the key")
    meta, warnings = validate(raw, name, lines)
    if body.isspace() or not body:
        raise SourceError("the article has no text after its front matter", file=name, line=first,
                          hint="write the article in Markdown below the closing ---")
    root = p.parent.resolve()
    chapter = Chapter(p.resolve(), name, body, first)
    return Source(root, name, meta, (chapter,), tuple(warnings), lines)


def _load_folder(p: Path) -> Source:
    yml = p / BOOK_YAML
    if not yml.is_file():
        raise SourceError(f"the folder has no {BOOK_YAML}", file=display(p),
                          hint="add book.yaml with title, lang and the list of chapters")
    name = display(yml)
    text = read_text(yml)
    if not text.strip():
        raise SourceError("book.yaml is empty", file=name,
                          hint="add title, lang and chapters: [chapter.md]")
    raw, lines = parse_yaml(text, name)
    meta, warnings = validate(raw, name, lines, need_chapters=True)
    root = p.resolve()
    yml_real = yml.resolve()
    chapters = []
    for ref in meta.chapters:
        line = lines.get(f"chapters={ref}", lines.get("chapters"))
        cp = resolve_inside(root, yml_real, ref, what="chapter file", file=name, line=line, real_root=root)
        if not cp.is_file():
            raise SourceError(f"chapter file '{ref}' does not exist", file=name,
                              line=line, hint="check the name in chapters:")
        cname = display(cp)
        ctext = read_text(cp, cname)
        fm, body, first = split_front_matter(ctext, cname)
        if fm is not None:
            # A chapter may carry its own front matter (e.g. from another tool); only its body
            # is used, which we say rather than ignore silently.
            warnings.append(Problem("front matter in a chapter file is ignored", cname, 1,
                                    "put book metadata in book.yaml"))
        chapters.append(Chapter(cp, cname, body, first))
    if not any(c.text.strip() for c in chapters):
        raise SourceError("every chapter file is empty", file=name,
                          hint="write the book's text in the chapter files")
    return Source(root, name, meta, tuple(chapters), tuple(warnings), lines)
