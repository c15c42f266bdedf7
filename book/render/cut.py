"""A long chapter cut into pieces at its split-level headings *before* it renders, so the pieces
render in parallel processes and are cached one by one: editing one section of a one-file book
renders that section again, not the book (issue 13).

The promise is the one of book.render.chapters: the same bytes as rendering the chapter whole.
A Markdown file is not a list of independent sections — footnote, link and abbreviation
definitions anywhere apply everywhere, notes are numbered across the file, heading ids must be
unique across it, fenced code may hold `#` lines — so a cut is taken only where it can be shown
to change nothing, and checked afterwards:

1. **Where** (:func:`plan`): before an ATX heading at or above the split level that starts a
   block at the top level — a blank line before it, the last text line before that not indented
   (an indented line could be code or a list item that the blank lines would continue), the line
   not inside fenced code (found with Python-Markdown's own fence expression, the way its
   preprocessor finds them).  Files with raw HTML blocks, HTML comments, a ``[TOC]`` marker, the
   footnotes' place marker or author-written ``fn-`` ids are not cut: raw HTML is parsed by
   Python-Markdown with look-ahead a cut could change.
2. **What the pieces share** (:class:`Shared`): the footnote, link and abbreviation definitions
   of the whole file, found by offering each top-level block of each piece to Python-Markdown's
   own definition block processors, and each note's number (its place among the definitions,
   as Python-Markdown numbers them).  Each note is rendered in the piece that refers to it (the
   section end it moves to, book.render.passes); a note nothing refers to, in the piece that
   defines it (where it is reported as unused).  A note referred to twice, or from inside a
   note, is not cut: its place would depend on the order Python-Markdown's inline processor
   walks the whole tree.
3. **Heading ids** are given by the `toc` extension from what the whole file holds; a piece
   leaves a placeholder and the id its heading text gives, and :func:`merge` gives the final
   ids in reading order with the extension's own `unique`, as it would have for the whole file.
   Ids made up for headings without one (``c1-h3``) are numbered on across the pieces.
4. **Checked** (:func:`merge`): each piece reports what its own rendering saw — the definitions
   Python-Markdown's parser found in it, the notes it referred to, whether it starts with its
   heading, every id.  When any of it differs from what the plan assumed, or two pieces share an
   id, the chapter is rendered whole instead: slower, never different.
5. **Print pages and extended descriptions** (book.render.pagebreaks, book.render.longdesc):
   the pieces' page breaks are merged into one list in reading order, which the book-wide
   `page-order` rule then compares as it does the whole chapter's (a page break's id,
   ``page<label>``, is the same in any piece; the same label in two pieces is one id in two
   pieces: rendered whole, as above).  Descriptions are numbered per chapter, so a piece gives
   placeholders and :func:`merge` numbers them on.  A marker alone on the line before a
   split-level heading is cut with the heading (the `pages` pass puts its page break inside
   the heading that follows it); a piece that still ends with such a page break says so, and
   the chapter renders whole.  No cut is taken inside a ``::: description`` block, and a file
   with a page marker or a description inside a note is not cut: the whole chapter meets them
   in its notes block at its end, a piece at the piece's end.

Line numbers: a piece is rendered as a text of its own from line 1, so that an edit that moves
the pieces after it does not change them (nor their cache keys); lines are shifted to the file's
when the pieces are merged (findings, headings, page breaks, descriptions).  A message about a
piece names a line in that piece (a search for the text of a finding starts at the piece, not at
the top of the file).
"""

from __future__ import annotations

import bisect
import hashlib
import re
import xml.etree.ElementTree as etree
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from markdown.extensions.footnotes import FootnoteBlockProcessor, FootnoteExtension
from markdown.extensions.toc import unique
from markdown.treeprocessors import Treeprocessor

from ..source import Chapter
from . import longdesc
from .markdown import _NumberedFootnoteRefs, clean_text, convert
from .pagebreaks import LABEL as PAGE_LABEL

# Chapters shorter than this render whole: a cut pays for itself only in a long text (the
# tests lower it to cut small stress sources).
MIN_CUT_CHARS = 200_000

# Ids a piece cannot know yet: "\ue000H<n>\ue000" (a heading), "\ue000A<n>\ue000" (an id made up for
# a heading), and an extended description's "\ue000X<n>\ue000" (its id), "\ue000R<n>\ue000" (its link's
# paragraph) and "\ue000F<n>\ue000" (its file) (book.render.longdesc).
PIECE_MARK = "\ue000"
_ID_PLACEHOLDER = re.compile("\ue000([HAXRF])([0-9]+)\ue000")
_NOTE_REF = re.compile(r"\[\^([^\]]*)\]")  # Python-Markdown's footnote reference pattern
_DEF_AT = FootnoteBlockProcessor.RE  # a reference that starts a definition: Python-Markdown's own test
# A line that may start a footnote, link or abbreviation definition: what each of those block
# processors' expressions needs (`[label]:` or `[^label]:` at most three spaces in, `*[` first).
_DEF_LINE = re.compile(r"(?m)^(?:[ ]{0,3}\[[^\]]*\]:|\*\[)")
# What is not cut (see the module's docstring): raw HTML blocks, comments and elements whose
# text HTML parses raw, the `toc` marker, the footnotes' place marker, ids or links of the
# author's that look like the footnote extension's.  Each is looked for with a search that
# starts from a literal, so a long text is scanned at the speed of `str.find`.
_NOT_CUT_TEXT = ("<!--", "[TOC]", "#fn", FootnoteExtension().getConfig("PLACE_MARKER"))
_RAW_TEXT = (re.compile(r"<(?i:script|style|textarea|title)\b"), re.compile(r"id\s*=\s*[\"']?fn"))
_TAG_NAME = re.compile(r"[A-Za-z][^`\t\n\r\f />\x00]*")  # as Python-Markdown's HTML parser reads one


def _not_cut(text: str, block_level) -> bool:
    if any(s in text for s in _NOT_CUT_TEXT) or any(r.search(text) for r in _RAW_TEXT):
        return True
    at = text.find("<")
    while at >= 0:
        # A raw HTML block starts at most three spaces into a line, with a block-level tag, a
        # declaration or a processing instruction (an inline tag or an autolink is text).
        line_start = text.rfind("\n", 0, at) + 1
        if at - line_start <= 3 and not text[line_start:at].strip(" "):
            name = _TAG_NAME.match(text, at + 1)
            if text[at + 1:at + 2] in ("!", "?") or (name and block_level(name.group().lower())):
                return True
        at = text.find("<", at + 1)
    return False


@dataclass(frozen=True)
class Shared:
    """What one piece needs from the rest of its file (and all that: it is part of the piece's
    cache key)."""

    references: tuple  # (id, (url, title)) of every link definition in the file
    abbreviations: tuple  # (abbreviation, title) of every abbreviation
    numbers: tuple  # (label, number) of each note the piece may refer to
    notes: tuple  # (label, Markdown) of the notes the piece renders, in definition order

    def __str__(self) -> str:
        # The text of the cache key (book.cache.chapter_key): the fields' repr, made in C
        # (the dataclass's own repr is a Python function per object: ~10 µs a piece).
        return repr((self.references, self.abbreviations, self.numbers, self.notes))


@dataclass(frozen=True)
class Piece:
    chapter: Chapter  # the piece's text as a chapter of its own, from line 1
    line: int  # the line of the file it starts on
    shared: Shared
    digest: str | None = None  # the SHA-256 of the piece's text, when planning hashed that text


@dataclass
class Plan:
    pieces: list[Piece]
    definitions: list[str]  # per piece: a digest of what Python-Markdown's parser should find in it
    home: dict[str, int]  # footnote label -> the piece that renders it
    referred: dict[str, int] = field(default_factory=dict)  # label -> the piece that refers to it
    looks: dict[str, tuple] = field(default_factory=dict)  # digest of a piece's text -> look(text)


# ---------------------------------------------------------------------------------------------
# Recording what Python-Markdown's parser defines


class _Recorded(dict):
    """A dict of Python-Markdown's (link references, abbreviations) that logs each change into
    `state.log` while one is set."""

    def __init__(self, state, kind: str):
        super().__init__()
        self.state, self.kind = state, kind

    def __setitem__(self, key, value):
        if self.state.log is not None:
            self.state.log.append((self.kind, key, value))
        super().__setitem__(key, value)

    def pop(self, key, *default):
        if self.state.log is not None:
            self.state.log.append((self.kind, key, None))
        return super().pop(key, *default)


class _State:
    """What the piece hooks of one converter know about the piece it renders."""

    def __init__(self):
        self.log: list | None = None  # definitions found, while parsing
        self.shared: Shared | None = None
        self.facts: dict = {}


def _prepare(md):
    """Make `md` (one of book.render.markdown's converters) record its definitions and
    render pieces; idempotent.  None when this Python-Markdown cannot (then nothing is cut)."""
    state = getattr(md, "_book_piece", None)
    if state is not None:
        return state
    refs = md.inlinePatterns["footnote"] if "footnote" in md.inlinePatterns else None
    fn = next((e for e in md.registeredExtensions if isinstance(e, FootnoteExtension)), None)
    abbr = next((e for e in md.registeredExtensions if type(e).__name__ == "AbbrExtension"), None)
    needed = ("footnote", "abbr", "reference")
    if not isinstance(refs, _NumberedFootnoteRefs) or fn is None or abbr is None or "toc" not in md.treeprocessors \
            or any(n not in md.parser.blockprocessors for n in needed):
        md._book_piece = False
        return False
    state = _State()
    md.references = _Recorded(state, "ref")
    abbrs = _Recorded(state, "abbr")
    abbr.abbrs = md.treeprocessors["abbr"].abbrs = md.parser.blockprocessors["abbr"].abbrs = abbrs
    stock_set = fn.setFootnote

    def set_footnote(label, text):
        if state.log is not None:
            state.log.append(("note", label, text))
        stock_set(label, text)

    fn.setFootnote = set_footnote
    state.fn, state.refs, state.abbrs = fn, refs, abbrs
    md.treeprocessors.register(_Shared(md, state), "book_piece_shared", 100)  # before the notes (50)
    md.treeprocessors.register(_AfterNotes(md, state), "book_piece_notes", 49)
    md.treeprocessors.register(_Ids(md, state), "book_piece_ids", 6)  # after attr_list and abbr, before toc
    md._book_piece = state
    return state


class _PieceStep(Treeprocessor):
    """A step of rendering a piece, with the piece's state."""

    def __init__(self, md, state):
        super().__init__(md)
        self.state = state


class _Shared(_PieceStep):
    """After the block parser: what it defined is the piece's own report; from here on the
    piece sees the whole file's definitions, as the whole file's rendering would."""

    def run(self, root):
        st = self.state
        if st.shared is None:
            return
        st.facts["definitions"] = _digest(st.log)  # (a digest: a long book defines thousands of notes)
        st.log = None
        dict.clear(self.md.references)
        dict.update(self.md.references, st.shared.references)
        dict.clear(st.abbrs)
        dict.update(st.abbrs, st.shared.abbreviations)
        st.fn.footnotes = OrderedDict(st.shared.notes)
        st.refs.numbers = dict(st.shared.numbers)
        st.log = []  # a definition inside a note would change the whole file's: reported


class _AfterNotes(_PieceStep):
    def run(self, root):
        st = self.state
        if st.shared is None:
            return
        st.facts["late_definitions"] = bool(st.log)
        st.log = None


class _Ids(Treeprocessor):
    """Just before `toc` gives headings their ids: every id already there (the whole file's
    set of them is what `toc` avoids)."""

    def __init__(self, md, state):
        super().__init__(md)
        self.state = state

    def run(self, root):
        if self.state.shared is None:
            return
        # The footnote extension's own ids (fn-<label>, fnref-<label>) are left out: cut.merge
        # knows them from the plan, and a book of many notes would otherwise carry them twice.
        self.state.facts["ids"] = {i for el in root.iter() if (i := el.get("id")) is not None
                                   and not i.startswith(("fn-", "fnref"))}


def render_piece(text: str, md, shared: Shared) -> tuple[str, dict]:
    """A piece's Markdown → its HTML fragment and what its rendering saw (see :func:`merge`)."""
    state = _prepare(md)
    toc = md.treeprocessors["toc"]
    slugify = toc.slugify
    slugs: list[str] = []

    def placeholder(value, separator):
        slugs.append(slugify(value, separator))
        return f"{PIECE_MARK}H{len(slugs)}{PIECE_MARK}"

    md.reset()
    state.shared, state.facts, state.log = shared, {}, []
    toc.slugify = placeholder
    try:
        html = convert(md, clean_text(text))
    finally:
        toc.slugify = slugify
        state.shared, state.log = None, None
        state.refs.numbers = None
    facts = state.facts
    facts["slugs"] = slugs
    return html, facts


def _digest(found: list) -> str:
    return hashlib.sha256(repr(found).encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Planning


def _scanner():
    """The thread's Markdown converter, the one its pieces render with (book.render.passes): a
    converter costs ~20 ms to build, and planning only uses its block processors between two
    renderings (each rendering resets it)."""
    from .passes import _markdown  # noqa: PLC0415 - passes imports this module

    md = _markdown()
    _prepare(md)
    return md


def _normalised(text: str) -> str:
    """What Python-Markdown's first preprocessor makes of the text, line for line (tabs
    expanded, lines of spaces emptied)."""
    text = clean_text(text)  # (clean_text removes STX and ETX, as the preprocessor does)
    if "\t" in text:
        text = text.expandtabs(4)
    # Most texts have no line of spaces at all.  (The expression's search, which starts at each
    # line break, takes ~2 ms over a 6 MB book; `"\n " in text` took ~9 ms.)
    return _SPACES_LINE.sub("\n", text) if _SPACES_LINE.search(text) else text


_SPACES_LINE = re.compile(r"\n[ ]+(?=\n)")
_CANDIDATES: dict[int, re.Pattern] = {}


def _candidates(split_level: int) -> re.Pattern:
    """A line that starts with 1 to `split_level` `#` after a blank line (each is then
    checked to be a heading of that level)."""
    if split_level not in _CANDIDATES:
        _CANDIDATES[split_level] = re.compile(r"\n\n(?=#{1,%d}(?!#))" % min(split_level, 6))
    return _CANDIDATES[split_level]


def _fenced_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each fenced code block, found as Python-Markdown's fenced_code
    preprocessor finds them: the first match from the top, then the first from the end of
    the last one.  A fence starts a line with ``` or ~~~, so the expression is tried only
    there (where `search` would find its first match)."""
    # (Imported here: only a text with a fence-like line needs it, and it imports Pygments;
    # see book.render.markdown.with_fences.)
    from markdown.extensions.fenced_code import FencedBlockPreprocessor  # noqa: PLC0415

    spans, pos = [], 0
    regex = FencedBlockPreprocessor.FENCED_BLOCK_RE
    for start in _line_starts(text, _FENCE_LINE, ("```", "~~~")):
        if start < pos:
            continue
        m = regex.match(text, start)
        if m:
            spans.append((m.start(), m.end()))
            pos = m.end()
    return spans


def _line_starts(text: str, after_break: re.Pattern, prefixes: tuple[str, ...]):
    """The offsets of the lines of `text` that start with one of `prefixes`, in order
    (`after_break`: a line break followed by one of them).  An expression that begins with a
    line break is searched for at the speed of C's `memchr` (~2 ms over a 6 MB book), where
    `str.find` of three characters took ~4 ms each."""
    if text.startswith(prefixes):
        yield 0
    for m in after_break.finditer(text):
        yield m.end()


_FENCE_LINE = re.compile(r"\n(?=```|~~~)")


def _heading_level(heading, line: str) -> int:
    """The level of the ATX heading `line` is for Python-Markdown (`heading`: its expression)."""
    m = heading.match(line)
    return len(m.group("level")) if m and m.end() >= len(line.rstrip("\n")) else 0


def plan(chapter: Chapter, split_level: int, known: dict | None = None) -> Plan | None:
    """Where to cut `chapter` and what each piece shares, or None: render it whole.

    `known`: what earlier plans found in pieces of text (:func:`look`, by the digest of a
    piece's text), e.g. the last build's (book.cache keeps it beside the chapters): a piece
    whose text is known is not read again, so planning a file after an edit reads the edited
    piece, not the book.  The plan's `looks` is what this plan found, to keep for the next."""
    text = chapter.text
    if len(text) < MIN_CUT_CHARS or split_level < 1:
        return None
    md = _scanner()
    if not md._book_piece:
        return None
    norm = _normalised(text)
    if norm is not text and norm.count("\n") != text.count("\n"):
        return None
    cuts, lines_at = _cuts(norm, split_level, md.parser.blockprocessors["hashheader"].RE)
    if len(cuts) < 2:
        return None
    same = norm is text or norm == text  # the usual case: nothing to normalise
    if same:
        raw_cuts = cuts
    else:  # the same lines, at other offsets
        raw_cuts, at, line = [], 0, 0
        for target in lines_at:
            while line < target:
                at = text.index("\n", at) + 1
                line += 1
            raw_cuts.append(at)

    def pieces_of(whole: str, starts: list[int]):
        ends = [x - 1 for x in starts[1:]] + [len(whole)]
        return [whole[a:b] for a, b in zip(starts, ends)]

    normal = pieces_of(norm, cuts)
    del norm
    known = known if known is not None else {}
    looks: dict[str, tuple] = {}
    piece_looks, digests = [], []
    for piece in normal:
        digest = hashlib.sha256(piece.encode("utf-8", "surrogatepass")).hexdigest()
        digests.append(digest)
        if digest not in looks:
            found = known.get(digest)
            looks[digest] = found if found is not None else look(piece)
        piece_looks.append(looks[digest])
    if any(lk[0] for lk in piece_looks):
        return None  # raw HTML, a comment, a marker (see _not_cut)

    references: dict = {}
    abbreviations: dict = {}
    notes: OrderedDict = OrderedDict()
    defined_in: dict[str, int] = {}
    for k, (_not, definitions, _refs, _mentions) in enumerate(piece_looks):
        for kind, key, value in definitions:
            if kind == "ref":
                references[key] = value
            elif kind == "abbr":
                if value is None:
                    abbreviations.pop(key, None)
                else:
                    abbreviations[key] = value
            else:
                notes[key] = value
                defined_in.setdefault(key, k)
    numbers = {label: n for n, label in enumerate(notes, 1)}
    if any(_NOTE_REF.search(body) or "{page=" in body or ":::" in body for body in notes.values()):
        # A reference inside a note; or a page marker or an extended description inside one:
        # the whole chapter meets them in its notes block at its end, a piece at the piece's
        # end, so the page list or the descriptions' numbers would come in another order.
        return None

    # Which piece refers to each note (once at most), so renders it.
    referred: dict[str, int] = {}
    for k, (_not, _defs, refs, _mentions) in enumerate(piece_looks):
        for label in refs:
            if label in notes:
                if label in referred:
                    return None  # referred to twice
                referred[label] = k
    home = {label: referred.get(label, defined_in[label]) for label in notes}
    rendered: list[list] = [[] for _ in piece_looks]
    for label, k in home.items():
        rendered[k].append((label, notes[label]))

    refs_t, abbr_t = tuple(references.items()), tuple(abbreviations.items())
    pieces = []
    raw = normal if same else pieces_of(text, raw_cuts)
    del normal  # (one copy of the text in pieces, not two)
    for k, piece_text in enumerate(raw):
        labels = piece_looks[k][3] | {label for label, _ in rendered[k]}
        shared = Shared(refs_t, abbr_t, tuple((lb, numbers[lb]) for lb in sorted(labels) if lb in numbers),
                        tuple(rendered[k]))
        # (The digest is of the normalised text: the piece's own only when normalising changed nothing.)
        pieces.append(Piece(Chapter(chapter.path, chapter.name, piece_text, 1), chapter.first_line + lines_at[k],
                            shared, digests[k] if same else None))
    return Plan(pieces, [_digest(list(lk[1])) for lk in piece_looks], home, referred, looks)


def _description_spans(text: str, fences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, end) of each extended description (book.render.longdesc), or more: from a
    ``::: description`` line outside fenced code to the first ``:::`` line after it outside
    fenced code (where the description's block processor ends it: fenced code is out of the
    text by then), or to the end of the text when none closes it.  A line that only looks
    like an opening (inside a paragraph, say) makes a span too: fewer cuts, never a wrong one."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for start in _line_starts(text, _COLONS_LINE, (":::",)):  # (most texts have none: ~2 ms)
        m = _DESCRIPTION_OPEN.match(text, start)
        if not m or m.start() < pos or _inside(fences, m.start()):
            continue
        end = len(text)
        for c in _DESCRIPTION_CLOSE.finditer(text, m.end()):
            if not _inside(fences, c.start()):
                end = c.end()
                break
        spans.append((m.start(), end))
        pos = end
    return spans


# longdesc's, at the start of a line: one further in is code, or inside a list item, a quote or
# a note, which Python-Markdown parses as a chunk of its own, ended by an unindented heading.
_DESCRIPTION_OPEN = re.compile(r"(?m)^:::[ ]*description[ ]*$")
_DESCRIPTION_CLOSE = re.compile(r"(?m)^:::[ ]*$")
_COLONS_LINE = re.compile(r"\n(?=:::)")
_FENCE_OR_COLONS_LINE = re.compile(r"\n(?=```|~~~|:::)")
# A print page marker alone on its line (book.render.pagebreaks): a paragraph of its own, which
# the `pages` pass puts inside the heading that follows it.
_LONE_PAGE = re.compile(r"[ ]{0,3}\{page=" + PAGE_LABEL + r"\}[ ]*")


def _inside(spans: list[tuple[int, int]], at: int) -> bool:
    k = bisect.bisect_right(spans, at, key=lambda span: span[0]) - 1
    return k >= 0 and spans[k][0] <= at < spans[k][1]


def _cuts(norm: str, split_level: int, heading) -> tuple[list[int], list[int]]:
    """The offsets in `norm` where pieces start (the first is 0), and their lines (from 0)."""
    # Most texts have neither fenced code nor descriptions: one look for both.
    if norm.startswith(("```", "~~~", ":::")) or _FENCE_OR_COLONS_LINE.search(norm):
        fences = _fenced_spans(norm)
        described = _description_spans(norm, fences)
    else:
        fences, described = [], []
    cuts, lines_at, line, counted, f = [0], [0], 0, 0, 0
    for m in _candidates(split_level).finditer(norm):
        at = m.end()  # the heading line
        while f < len(fences) and fences[f][1] <= at:
            f += 1
        if f < len(fences) and fences[f][0] <= at:
            continue  # inside fenced code
        if described and _inside(described, at):
            continue  # inside an extended description
        end = norm.find("\n", at)
        if not 0 < _heading_level(heading, norm[at:end if end >= 0 else len(norm)]) <= split_level:
            continue
        before = m.start()
        while before and norm[before - 1] == "\n":
            before -= 1  # back over more blank lines
        start = norm.rfind("\n", 0, before) + 1
        if _LONE_PAGE.fullmatch(norm, start, before):
            above = start
            while above and norm[above - 1] == "\n":
                above -= 1
            if not above:
                continue  # a page marker first in the file, then the heading: nothing to cut off
            if start - above >= 2:
                # A page marker in a paragraph of its own right before the heading: the page
                # starts with the heading, and the `pages` pass puts the marker's page break
                # inside it (book.render.pagebreaks), so the marker goes with the heading's piece.
                at, before = start, above
        if not before or norm.startswith("    ", norm.rfind("\n", 0, before) + 1):
            continue  # only blank lines before, or an indented line (code, a list item's text)
        line += norm.count("\n", counted, at)
        counted = at
        cuts.append(at)
        lines_at.append(line)
    return cuts, lines_at


def look(piece: str) -> tuple:
    """What planning needs to know of one piece's (normalised) text, whatever the rest of the
    file holds: (whether it has what is never cut, the definitions Python-Markdown's parser
    finds in it in order, the note labels it refers to outside a definition's own label, in
    order, and every note label it mentions).  A pure function of the text, so a plan keeps it
    by the text's digest."""
    md = _scanner()
    state = md._book_piece
    if _not_cut(piece, md.is_block_level):
        return (True, (), (), frozenset())
    # What the piece defines, found by Python-Markdown's own definition processors.
    chain = [md.parser.blockprocessors[n] for n in ("footnote", "abbr", "reference")]
    needs = ("[^", "*[", "]:")
    found: list = []
    first = _DEF_LINE.search(piece)
    if first:
        parent = etree.Element("div")  # these processors take no element; they record definitions
        md.reset()
        # The blocks before the one with the first definition line have none (and a definition
        # takes only the blocks after it): they are not looked at.
        blocks = (piece + "\n\n").split("\n\n")[piece.count("\n\n", 0, first.start()):]
        state.log = []
        try:
            while blocks:
                block = blocks[0]
                if not _DEF_LINE.search(block):  # each processor would give it back
                    blocks.pop(0)
                    continue
                for processor, need in zip(chain, needs):
                    if need in block and processor.run(parent, blocks) is not False:
                        break
                else:
                    blocks.pop(0)
                    continue
        finally:
            found, state.log = state.log, None
    refs, seen = [], set()
    for m in _NOTE_REF.finditer(piece):
        seen.add(m.group(1))
        at = m.start()
        line_start = piece.rfind("\n", max(0, at - 4), at) + 1 if not at or piece[at - 1] in "\n " else -1
        if not (line_start >= 0 and at - line_start <= 3 and _DEF_AT.match(piece, line_start)):
            refs.append(m.group(1))
    return (False, tuple(found), tuple(refs), frozenset(seen))


# ---------------------------------------------------------------------------------------------
# Merging


# A code block's accessible name, "Code example 3" (book.render.structure): numbered per chapter,
# so the pieces' own numbers (each from 1) are renumbered in reading order when they merge.
_CODE_NAME = re.compile(r'(<pre tabindex="0" role="region" aria-label="[^"]*?)(\d+)(")')


def merge(plan: Plan, rendered: list, index: int, keys: list | None = None, memo: tuple[dict, dict] | None = None):
    """The pieces' RenderedChapters as the one the whole chapter renders to, or None when a
    piece saw something the plan did not assume (then the chapter is rendered whole).
    `rendered` is emptied as the pieces are merged (never changed: they may be cached).

    `keys` (the pieces' cache keys) and `memo` (what a --watch process kept of the last merge,
    and where this one's goes; book.cache.Memory): a piece merged before with the same ids,
    lines and code block numbers gives the same parts, so they are taken from there instead of
    rewriting its bodies again."""
    from .passes import RenderedChapter  # noqa: PLC0415 - passes imports this module

    referred: dict[str, int] = {}
    for k, r in enumerate(rendered):
        f = r.facts or {}
        if f.get("definitions") != plan.definitions[k] or f.get("late_definitions"):
            return None
        if f.get("odd_notes") or (k and not f.get("starts_with_heading")):
            return None
        if f.get("trailing_page_break") and k + 1 < len(rendered) \
                and not (rendered[k + 1].facts or {}).get("starts_with_page_break"):
            # A page break alone at the end of the piece: the whole chapter puts it inside the
            # next piece's heading (book.render.pagebreaks), unless another comes first.
            return None
        for label in f.get("refs", ()):
            if label in referred:
                return None
            referred[label] = k
    if referred != plan.referred or any(plan.home[lb] != k for lb, k in referred.items()):
        return None

    used = set().union(*((r.facts or {}).get("ids", set()) for r in rendered))
    used |= {f"fn-{label}" for label in plan.home} | {f"fnref-{label}" for label in referred}
    counters: dict = {}
    auto = 0
    parts, images, findings, pages, descriptions = [], {}, [], [], []
    code_blocks = 0

    def renumber(m):
        nonlocal code_blocks
        code_blocks += 1
        return f"{m.group(1)}{code_blocks}{m.group(3)}"

    counts = [0, 0, 0]
    seen_ids: set = set()
    for k, piece in enumerate(plan.pieces):
        # Each piece's result is let go of once merged (the list is the caller's to give up):
        # a long book's bodies are not held twice.  (A --watch process keeps them in memory.)
        r, rendered[k] = rendered[k], None
        f = r.facts
        names = {f"H{n}": unique(slug, used, counters) for n, slug in enumerate(f["slugs"], 1)}
        names.update({f"A{n}": f"c{index}-h{auto + n}" for n in range(1, f.get("auto_ids", 0) + 1)})
        auto += f.get("auto_ids", 0)
        # Extended descriptions are numbered on across the pieces, as in the whole chapter.
        for n in range(1, len(r.descriptions) + 1):
            names[f"X{n}"], names[f"R{n}"], names[f"F{n}"] = longdesc.names(index, len(descriptions) + n)
        shift = piece.line - 1

        def final(ident, names=names):
            # A placeholder is the whole id (U+E000, kind, number, U+E000: _ID_PLACEHOLDER), and
            # only book makes ids that start with U+E000 (clean_text removes it from the text).
            return names[ident[1:-1]] if ident and ident[0] == PIECE_MARK else ident

        def named(text, names=names):
            # One pass over a body for all its placeholders (a replace per id copied the body
            # once per heading).  U+E000 never reaches a body from the text (clean_text removes
            # it), so every placeholder is one of book's own.
            if PIECE_MARK not in text:
                return text
            return _ID_PLACEHOLDER.sub(lambda m: names.get(m.group(1) + m.group(2), m.group(0)), text)

        # The lines of the pieces after an edit move; their ids and bodies do not.
        memo_key = (keys[k], index, code_blocks, tuple(names.items())) \
            if keys is not None and keys[k] is not None and memo is not None else None
        done = memo[0].get(memo_key) if memo_key is not None else None
        if done is None:
            first_code = code_blocks
            merged = []
            for part in r.parts:
                body = named(_CODE_NAME.sub(renumber, part.body) if "<pre " in part.body else part.body)
                ids = {final(i) for i in part.ids}
                if len(ids) != len(part.ids):
                    # An id a piece gave that its final name now shares (a heading "Page 5" and
                    # page 5's break): the whole chapter reports it.
                    return None
                # A heading's line is the file's here, unless the part is kept for the next
                # build (where the piece may have moved): then below.
                moved = 0 if memo_key is not None else shift
                headings = [_moved(h, final(h.id), moved) for h in part.headings]
                merged.append(replace(part, body=body, ids=ids, headings=headings))
            done = (merged, code_blocks - first_code)
        else:
            code_blocks += done[1]
        if memo_key is not None:
            memo[1][memo_key] = done
        for part in done[0]:
            if part.ids & seen_ids:
                return None  # an id in two pieces: the whole chapter reports it
            seen_ids |= part.ids
            if shift and memo_key is not None:
                part = replace(part, headings=[_moved(h, h.id, shift) for h in part.headings])
            parts.append(part)
        for im in r.images:
            images.setdefault(im.relpath, im)
        findings += [replace(x, line=x.line + shift) if x.line is not None else x for x in r.findings]
        counts[0] += r.informative_images
        counts[1] += r.described_images
        counts[2] += r.decorative_images
        # Print page breaks keep their ids (page<label>, the same in any piece); the book-wide
        # `page-order` rule compares them in this merged, reading order list, as for the whole.
        pages += [(i, label, None if line is None else line + shift) for i, label, line in r.pages]
        descriptions += [replace(d, id=final(d.id), ref_id=final(d.ref_id), file=final(d.file), body=named(d.body),
                                 line=None if d.line is None else d.line + shift) for d in r.descriptions]
    return RenderedChapter(parts, list(images.values()), findings, *counts, descriptions=descriptions, pages=pages)


def _moved(h, ident: str, by: int):
    """Heading `h` (book.render.passes.Heading) with id `ident` and its line `by` further down.
    (Made directly: `dataclasses.replace` costs three times as much, and a long book has
    thousands.)"""
    return type(h)(h.level, h.text, ident, h.line + by if h.line is not None else None)


def shift_problems(problems, plan: Plan, k: int):
    """A piece's errors with the lines of the file."""
    shift = plan.pieces[k].line - 1
    return [replace(p, line=p.line + shift) if p.line is not None else p for p in problems]
