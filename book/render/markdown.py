"""Step 2 of a build: Markdown → HTML text, one chapter at a time.

Python-Markdown with the extensions the contract names.  Two deliberate changes to its defaults:

* Raw HTML whose tag is not an HTML element (``<Myths>`` in a heading, ``<insert name>`` in a
  draft) is escaped so it reads as text, as the author wrote it, instead of becoming an unknown
  element that EPUBCheck rejects and that a screen reader would skip.
* Footnote ids use ``-`` instead of ``:``, so each is a valid XML ``ID`` in XHTML (EPUB 3.3 §6.1.3
  requires XHTML content documents to be well-formed XML).

And changes to how it runs, not to what it gives (issue 6: Python-Markdown was three quarters of
a large book's build): :class:`_PrefilteredInline` skips an inline pattern, and
:func:`_prefilter_blocks` a block processor, when the text cannot contain a match; a tag's
block-level answer is remembered.  For text dense with inline markup (issue 13), the common
cases of emphasis and of a link's ``[text](href)`` take fast paths that give the stock result,
slow regexes are replaced by equivalent fast ones, and a few steps of the inline processor are
leaner — on the Python-Markdown release they were read from (:data:`_LEAN`); any other runs its
own code.  tests/test_render.py holds them all to Python-Markdown's own output.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from collections import deque

import markdown
from markdown import inlinepatterns, treeprocessors, util
from markdown.extensions.abbr import AbbrExtension
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.def_list import DefListExtension
from markdown.extensions.footnotes import FootnoteExtension, FootnoteInlineProcessor
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import TocExtension
from markdown.postprocessors import Postprocessor

from ..source.metadata import xml_safe
from .longdesc import DescriptionExtension
from .pagebreaks import PATTERN as PAGE_PATTERN
from .pagebreaks import PageBreakExtension
from .sanitize import HTML_ELEMENTS

# Python-Markdown's extensions book renders with (new_markdown makes them, configured).
EXTENSIONS = ["tables", "footnotes", "def_list", "fenced_code", "attr_list", "abbr", "toc", "sane_lists"]

_TAG = re.compile(r"^\s*<\s*/?\s*([A-Za-z][A-Za-z0-9:_-]*)")


class _EscapeUnknownTags(Postprocessor):
    """Runs before Python-Markdown puts raw HTML back (priority 30): a stashed chunk that starts
    with a tag that is not an HTML element is turned back into text."""

    def run(self, text: str) -> str:
        stash = self.md.htmlStash.rawHtmlBlocks
        for i, chunk in enumerate(stash):
            m = _TAG.match(chunk)
            if m and m.group(1).lower() not in HTML_ELEMENTS:
                stash[i] = chunk.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return text


# The Python-Markdown release the tables below were written against (their regexes are its).
# Under another release, a pattern whose regex differs is simply not skipped.
WRITTEN_FOR = "3.11"

# What a pattern's regular expression must find in the text to match at all: (regex, substrings).
# A pattern is skipped only when its compiled regex is exactly the one listed here and none of
# the substrings is in the text — so another version of Python-Markdown, or an extension that
# replaces a pattern, just runs that pattern the slow way (tests/test_render.py checks that every
# pattern of the installed version is listed, and that the output is unchanged).
_NEEDS = {
    "backtick": (r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)", ("`",)),
    "escape": (r"\\(.)", ("\\",)),
    "footnote": (r"\[\^([^\]]*)\]", ("[^",)),
    "reference": (r"(?<!\!)\[", ("[",)),
    "link": (r"(?<!\!)\[", ("[",)),
    "image_link": (r"\!\[", ("![",)),
    "image_reference": (r"\!\[", ("![",)),
    "short_reference": (r"(?<!\!)\[", ("[",)),
    "short_image_ref": (r"\!\[", ("![",)),
    "autolink": (r"<([A-Za-z][A-Za-z0-9+.-]*://[^<>]*)>", ("<",)),
    "automail": (r"<([^<> !]+@[^@<> ]+)>", ("<",)),
    "linebreak": (r"  \n", ("  \n",)),
    "entity": (r"(&(?:\#[0-9]+|\#x[0-9a-fA-F]+|[a-zA-Z0-9]+);)", ("&",)),
    # book's own: print page numbers, {page=12} (book.render.pagebreaks)
    PageBreakExtension.NAME: (PAGE_PATTERN, ("{page=",)),
}


def _needs(name: str, pattern) -> frozenset[str] | None:
    """The substrings one of which a text must contain for `pattern` to match; None: unknown
    (always run it)."""
    if not isinstance(pattern, inlinepatterns.InlineProcessor):
        return None
    regex = pattern.compiled_re.pattern
    delimiters = getattr(inlinepatterns, "DelimiterProcessor", None)  # Python-Markdown ≥ 3.11
    if delimiters is not None and isinstance(pattern, delimiters):
        # `*`/`_` emphasis: its regex is the tokens joined with `|`.
        ok = regex == "|".join(map(re.escape, pattern.tokens))
        return frozenset(pattern.tokens) if ok else None
    if isinstance(pattern, inlinepatterns.HtmlInlineProcessor) and name == "html" and regex.startswith("(<"):
        return frozenset("<")  # raw inline HTML always starts with `<` (the regex varies by version)
    known = _NEEDS.get(name)
    return frozenset(known[1]) if known and known[0] == regex else None


# The Python-Markdown release whose code the lean methods of _PrefilteredInline, the fast paths
# of its patterns and the equivalent regexes below were written from, step by step (its
# markdown.treeprocessors.InlineProcessor, LinkInlineProcessor.getText/getLink,
# DelimiterProcessor.handleMatch, UnescapeTreeprocessor); under any other release its own code runs.
_LEAN = markdown.__version__ in ("3.11.3",)
_STOCK_APPLY = treeprocessors.InlineProcessor._InlineProcessor__applyPattern
_STOCK_PLACEHOLDERS = treeprocessors.InlineProcessor._InlineProcessor__processPlaceholders


# Regular expressions of stock inline patterns that find exactly the same matches (the same
# spans and groups from any start position) much faster: a pattern that begins with a
# lookbehind makes Python's `re` try the lookbehind at every character of the text (a link
# search took 13 µs over a 600-character paragraph); the same test made after the first
# character lets `re` jump to that character (0.3 µs).  tests/test_render.py compares each
# pair on every string of up to 8 characters of the characters they look at.
_EQUIVALENT_SEARCH = {
    # `[` not after `!` (links and references): `[`, then "the two characters are not `![`"
    r"(?<!\!)\[": r"\[(?<!\!\[)",
    # backtick: an even run of backslashes not after a backslash, before a backtick; or a
    # backtick not after a backslash
    r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)": r"(\\(?<!\\\\)\\(?:\\{2})*)(?=`)|`(?<!\\`)",
}


def _faster_search(pattern):
    """The faster equivalent of `pattern`'s regular expression (compiled with the same flags:
    Python-Markdown's DOTALL and UNICODE), or None."""
    if not _LEAN or type(pattern).getCompiledRegExp is not inlinepatterns.Pattern.getCompiledRegExp:
        return None
    own = getattr(pattern, "compiled_re", None)
    faster = _EQUIVALENT_SEARCH.get(getattr(own, "pattern", None))
    if faster is None or own.flags != re.compile(own.pattern, re.DOTALL | re.UNICODE).flags:
        return None
    return re.compile(faster, own.flags)


class _PrefilteredInline(treeprocessors.InlineProcessor):
    """Python-Markdown's inline processor, which tries every inline pattern (15 of them) on every
    piece of text, one regex search and several Python calls each, although most patterns cannot
    match: a paragraph without `[` has no link.  This one skips a pattern whose required
    substring is not in the text — exactly what the pattern's own failed search would have done
    (no match: next pattern, from the start of the text), so the HTML is the same."""

    def run(self, tree, ancestors=None):
        reg = self.md.inlinePatterns
        self._patterns = [reg[i] for i in range(len(reg))]  # in priority order, looked up once
        names = {reg.get_index_for_name(name): name for name in (*_NEEDS, "html") if name in reg}
        self._needs = [_needs(names.get(i, ""), p) for i, p in enumerate(self._patterns)]
        self._triggers = tuple(frozenset().union(*(n for n in self._needs if n)))
        self._plans: dict = {}
        self._search = [_faster_search(p) for p in self._patterns]
        if not _LEAN:
            return super().run(tree, ancestors)
        return self._run_in_linear_time(tree, ancestors)

    def _run_in_linear_time(self, tree, ancestors):
        """InlineProcessor.run's own walk, step for step, with two of its steps in constant time:
        it takes the next element from the front of a list (`pop(0)` moves every element after
        it) and finds where a child is in its parent with `list(parent).index(child)`.  Over a
        chapter of 2,000 paragraphs of 40 links each the list held 240,000 elements, and those
        pops were half the chapter's time — it grew with the square of the chapter (a 9 MB one
        ran into the 60 s limit).  Here the list is a deque, and a child's place is the loop's
        count (a tail's elements are only inserted after the child, so the count stays its place)."""
        self.stashed_nodes = {}
        tree_parents = [] if ancestors is None else ancestors[:]
        self.parent_map = {c: p for p in tree.iter() for c in p}
        stack = deque([(tree, tree_parents)])
        self._InlineProcessor__build_ancestors(tree, tree_parents)
        handle, placeholders = self._InlineProcessor__handleInline, self._InlineProcessor__processPlaceholders
        while stack:
            element, parents = stack.popleft()
            self.ancestors = parents
            if element is not tree:
                self.ancestors.append(element.tag.lower())
            queue = []
            for place, child in enumerate(element):
                if child.text and not isinstance(child.text, util.AtomicString):
                    self.ancestors.append(child.tag.lower())
                    text, child.text = child.text, None
                    found = placeholders(handle(text), child)
                    for item in found:
                        self.parent_map[item[0]] = child
                    stack.extend(found)
                    queue.append((child, found))
                    self.ancestors.pop()
                if child.tail:
                    tail = handle(child.tail)
                    dummy = etree.Element("d")
                    child.tail = None
                    result = placeholders(tail, dummy, False)
                    if dummy.tail:
                        child.tail = dummy.tail
                    for new in reversed(result):
                        self.parent_map[new[0]] = element
                        element.insert(place + 1, new[0])
                if len(child):
                    self.parent_map[child] = element
                    stack.append((child, self.ancestors[:]))
            for child, found in queue:
                for i, item in enumerate(found):
                    child.insert(i, item[0])
        return tree

    def _plan(self, present: frozenset, first: int) -> tuple:
        """The patterns, from `first` on, that text holding exactly the triggers `present` can
        match: those whose need it meets, and those with no known need."""
        plan = tuple(i for i in range(first, len(self._patterns))
                     if self._needs[i] is None or not self._needs[i].isdisjoint(present))
        self._plans[present, first] = plan
        return plan

    # Overrides InlineProcessor.__handleInline (name-mangled); same contract.
    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if isinstance(data, util.AtomicString):
            return data
        # Looked up once: a match only ever replaces text with a placeholder (STX, letters,
        # digits, ETX), so no substring appears later that was not there now.
        present = frozenset([t for t in self._triggers if t in data])
        plan = self._plans.get((present, patternIndex))
        if plan is None:
            plan = self._plan(present, patternIndex)
        if not plan:
            return data
        patterns, needs = self._patterns, self._needs
        apply = self._InlineProcessor__applyPattern
        for i in plan:
            # A pattern runs until it no longer matches, each time from after its last match;
            # then the next one runs from the start of the text.  Every match of a pattern with a
            # known need holds that need at or after where the match starts, so when no need is
            # left after `start` the next search would find nothing: it is not made.
            need = needs[i]
            matched, start = True, 0
            while matched:
                data, matched, start = apply(patterns[i], data, i, start)
                if matched and need is not None and all(data.find(n, start) == -1 for n in need):
                    break
        return data

    # Overrides InlineProcessor.__processPlaceholders (name-mangled): text without a placeholder
    # (most text: every plain paragraph, the text inside most inline elements) is what the stock
    # loop's one step does with it — linked to the parent's text or tail — without the loop.
    def _InlineProcessor__processPlaceholders(self, data, parent, isText: bool = True):
        if not _LEAN or not data or util.INLINE_PLACEHOLDER_PREFIX in data:
            return _STOCK_PLACEHOLDERS(self, data, parent, isText)
        text = data[0:]
        if isinstance(data, util.AtomicString):
            text = util.AtomicString(text)  # kept atomic, as the stock code keeps it
        if isText:
            parent.text = parent.text + text if parent.text else text
        else:
            parent.tail = parent.tail + text if parent.tail else text
        return []

    # Overrides InlineProcessor.__applyPattern (name-mangled): the stock steps, without the
    # calls that cost more than the work (the placeholder made in two helper calls, a type name
    # asked for and dropped, `isString` of an element) — only on the release it was read from.
    def _InlineProcessor__applyPattern(self, pattern, data: str, patternIndex: int, startIndex: int = 0):
        if not _LEAN or not isinstance(pattern, inlinepatterns.InlineProcessor):
            return _STOCK_APPLY(self, pattern, data, patternIndex, startIndex)
        for exclude in pattern.ANCESTOR_EXCLUDES:
            if exclude.lower() in self.ancestors:
                return data, False, 0
        handle = pattern.handleMatch
        regex = self._search[patternIndex] if self._patterns[patternIndex] is pattern else None
        # handleMatch may turn a match down; the next one is tried, until none is left.
        for match in (regex or pattern.getCompiledRegExp()).finditer(data, startIndex):
            node, start, end = handle(match, data)
            if start is not None and end is not None:
                break
        else:
            return data, False, 0
        if node is None:
            return data, True, end
        if not isinstance(node, str) and not isinstance(node.text, util.AtomicString):
            # The element's own text and its children's run the patterns after this one; the
            # children's tails, this one and those after it.
            ancestors = self.ancestors
            handle_inline = self._InlineProcessor__handleInline
            for child in [node, *node]:
                if child.text:
                    ancestors.append(child.tag.lower())
                    child.text = handle_inline(child.text, patternIndex + 1)
                    ancestors.pop()
                if child.tail:
                    child.tail = handle_inline(child.tail, patternIndex)
        stash = self.stashed_nodes
        key = "%04d" % len(stash)
        placeholder = util.INLINE_PLACEHOLDER % key
        stash[key] = node
        # The next search starts just past the placeholder (the stock processor does the same).
        return data[:start] + placeholder + data[end:], True, start + len(placeholder)


# Faster equivalents of three pieces of Python-Markdown's inline patterns, for the common case
# only; anything else goes to the stock method (issue 13: emphasis and links were two thirds of
# the inline time of a text dense with them).  Each takes the case only when the stock method,
# read step by step, gives exactly this result; tests/test_render.py compares the HTML.

_BRACKET = re.compile(r"[\[\]]")
_LINK_STOP = re.compile(r"""[()'"]""")


def _fast_get_text(pattern):
    """LinkInlineProcessor.getText (`[text]` of a link, image or reference, nested brackets
    counted) walks the text a character at a time; when the first bracket after `index` is the
    closing one, its answer is the text up to it, and the index after it."""
    stock = pattern.getText

    def get_text(data: str, index: int):
        m = _BRACKET.search(data, index)
        if m is not None and m.group() == "]":
            return data[index:m.start()], m.end(), True
        return stock(data, index)
    return get_text


def _fast_get_link(pattern):
    """LinkInlineProcessor.getLink (`(href "title")`, nested parentheses and quotes tracked) also
    walks a character at a time; when no `<href>` form matched and the first parenthesis or quote
    after the opening one is `)`, its walk closes the link there with no title: the href is the
    text up to it, unescaped and stripped, as the stock code does it."""
    stock = pattern.getLink

    def get_link(data: str, index: int):
        m = pattern.RE_LINK.match(data, pos=index)
        if m is not None and not m.group(1):
            start = m.end()
            stop = _LINK_STOP.search(data, start)
            if stop is not None and stop.group() == ")":
                return pattern.unescape(data[start:stop.start()]).strip(), None, stop.end(), True
        return stock(data, index)
    return get_link


def _fast_emphasis(processor):
    """DelimiterProcessor.handleMatch (`*em*`, `**strong**`, `_em_`, nested runs, the rule of 3)
    pairs runs of `*` and `_` on stacks, a character at a time.  The common case is one run of 1
    or 2 delimiters that can open, then text with no `*` or `_`, then a run of the same delimiter
    and length that can close: the stock code pairs the two into one region, builds one `em`
    (1) or `strong` (2) holding the text between, and, with nothing left over, resets its state —
    which is where it started, as it holds no unpaired run or cached region between matches
    (`regions` empty means reset).  Openers and closers are classified by the stock regexes."""
    stock = processor.handleMatch
    delimiters = processor.delimiters
    tokens = tuple(delimiters)
    if not all(len(t) == 1 for t in tokens):
        return stock
    next_token = re.compile("|".join(map(re.escape, tokens)))

    def handle_match(m, data: str):
        if processor.regions:
            return stock(m, data)  # a cached region from the last match is returned first
        if processor.delimiters is not delimiters or len(delimiters) != len(tokens):
            return stock(m, data)  # a delimiter was added or removed since: `next_token` is stale
        p = m.start(0)
        delim = delimiters.get(data[p])
        if delim is None or delim.tag_count != 2 or delim.double or delim.max_size != 2:
            return stock(m, data)
        opener = processor.get_match(data, p)
        if opener is None or opener.lastgroup[0] == "e":
            return stock(m, data)
        n = opener.end(0) - p
        if n > 2:
            return stock(m, data)
        after = opener.end(0)
        following = next_token.search(data, after)
        if following is None or following.group() != delim.token:
            return stock(m, data)
        q = following.start()
        closer = delim.boundary.match(data, q)
        if closer is None or closer.lastgroup[0] not in "ea" or closer.end(0) - q != n:
            return stock(m, data)
        el = etree.Element(delim.tags[0] if n == 2 else delim.tags[1])
        el.text = data[after:q]
        return el, p, q + n
    return handle_match


def _speed_up_patterns(md: markdown.Markdown) -> None:
    """Puts the fast paths above on the patterns that are exactly the stock ones, on the release
    they were read from."""
    if not _LEAN:
        return
    link_classes = (inlinepatterns.LinkInlineProcessor, inlinepatterns.ImageInlineProcessor,
                    inlinepatterns.ReferenceInlineProcessor, inlinepatterns.ShortReferenceInlineProcessor,
                    inlinepatterns.ImageReferenceInlineProcessor,
                    inlinepatterns.ShortImageReferenceInlineProcessor)
    for pattern in md.inlinePatterns:
        kind = type(pattern)
        if kind in link_classes:
            if kind.getText is inlinepatterns.LinkInlineProcessor.getText:
                pattern.getText = _fast_get_text(pattern)
            if kind.getLink is inlinepatterns.LinkInlineProcessor.getLink:
                pattern.getLink = _fast_get_link(pattern)
        elif kind is getattr(inlinepatterns, "DelimiterProcessor", None):
            pattern.handleMatch = _fast_emphasis(pattern)
    unescape = md.treeprocessors["unescape"] if "unescape" in md.treeprocessors else None
    if type(unescape) is treeprocessors.UnescapeTreeprocessor and list(md.treeprocessors)[-1] is unescape:
        unescape.run = _fast_unescape(unescape)


def _fast_unescape(processor):
    """UnescapeTreeprocessor.run puts back the characters escaped with a backslash (held as
    STX digits ETX) in every text, tail and attribute of the document, a regex substitution each;
    text without STX is left as it is, which is what the substitution gives.  (It is the last
    tree step, before the serializer: a text left an AtomicString instead of becoming a plain
    string serialises the same.)"""
    unescape = processor.unescape

    def run(root) -> None:
        for elem in root.iter():
            text = elem.text
            if text and not elem.tag == "code" and util.STX in text:
                elem.text = unescape(text)
            tail = elem.tail
            if tail and util.STX in tail:
                elem.tail = unescape(tail)
            for key, value in elem.items():
                if value is not None and util.STX in value:
                    elem.set(key, unescape(value))
    return run


# The same for block processors: what a block must contain for the processor to take it.  Each
# is checked against the processor's own regular expression (its `RE`), as above; the table
# processor has none, but its test splits rows at `|` and needs two cells or a border pipe.
_BLOCK_NEEDS = {
    "table": (None, ("|",)),
    "hashheader": (r"(?:^|\n)(?P<level>#{1,6})(?P<header>(?:\\.|[^\\#]|#+(?=[^#\n]))*?)#*(?:\n|$)", ("#",)),
    "setextheader": (r"^.*?\n(?:=+|-+)[ ]*(\n|$)", ("\n=", "\n-")),
    "hr": (r"^[ ]{0,3}(?=(?P<atomicgroup>(-+[ ]{0,2}){3,}|(_+[ ]{0,2}){3,}|(\*+[ ]{0,2}){3,}))(?P=atomicgroup)[ ]*$",
           ("-", "_", "*")),
    "deflist": (r"(^|\n)[ ]{0,3}:[ ]{1,3}(.*?)(\n|$)", (": ",)),  # a colon and a space (not a URL's)
    "quote": (r"(^|\n)[ ]{0,3}>[ ]?(.*)", (">",)),
    # These three test every block and give it back from run() when their RE does not match.
    "footnote": (r"^[ ]{0,3}\[\^([^\]]*)\]:[ ]*(.*)$", ("[^",)),
    "abbr": (r"^[*]\[(?P<abbr>[^\\]*?)\][ ]?:[ ]*\n?[ ]*(?P<title>.*)$", ("*[",)),
    "reference": (r"""^[ ]{0,3}\[([^\[\]]*)\]:[ ]*(?:\n[ ]*)?([^\s]+)[ ]*(?:\n[ ]*)?((["\'])(.*)\4[ ]*|\((.*)\)[ ]*)?$""",
                  ("]:",)),
}


def _block_needs(name: str, processor) -> tuple[str, ...] | None:
    known = _BLOCK_NEEDS.get(name)
    if known is None:
        return None
    regex, needs = known
    if regex is None:
        from markdown.extensions.tables import TableProcessor

        return needs if type(processor) is TableProcessor else None
    own = getattr(processor, "SEARCH_RE", None) or getattr(processor, "RE", None)  # HR tests with SEARCH_RE
    return needs if getattr(own, "pattern", own) == regex else None


def _prefilter_blocks(md: markdown.Markdown) -> None:
    """Python-Markdown's block parser offers every block to each block processor in turn (16 of
    them, a test each, most a regex search); this one does not offer a block to a processor
    whose required text it lacks — the processor's test would have said no (or its run would
    have given the block back), so the tree is the same."""
    parser = md.parser
    chain: list = []
    triggers: list = []  # every processor's needs, each looked for once per block

    def parse_blocks(parent, blocks) -> None:
        if not chain:
            reg = parser.blockprocessors
            names = {reg.get_index_for_name(n): n for n in _BLOCK_NEEDS if n in reg}
            for i, p in enumerate(reg):
                needs = _block_needs(names.get(i, ""), p)
                chain.append((p, None if needs is None else frozenset(needs)))
            triggers.extend(frozenset().union(*(needs for _p, needs in chain if needs)))
        seen, present = None, frozenset()
        while blocks:
            for processor, needs in chain:
                block = blocks[0]
                if block is not seen:
                    seen, present = block, frozenset([t for t in triggers if t in block])
                if needs is not None and needs.isdisjoint(present):
                    continue
                if processor.test(parent, block):
                    if processor.run(parent, blocks) is not False:  # True or None: taken
                        break

    parser.parseBlocks = parse_blocks


class _NumberedFootnoteRefs(FootnoteInlineProcessor):
    """Python-Markdown's footnote reference, numbered without its quadratic work: the stock
    pattern makes a list of every footnote label and searches it for each reference
    (`list(keys()).index(id)`), and checks a list for each label it has seen — for an article
    of 10,000 notes, 10^8 steps (issue 13).  Here the numbers are a dict made once per
    document; the element made is the stock one (tests/test_render.py compares the HTML).

    `numbers`, when set, gives the number of each label that may be referred to: a piece of a
    chapter rendered on its own (book.render.cut) numbers its notes as the whole chapter does."""

    numbers: dict | None = None

    def __init__(self, stock: FootnoteInlineProcessor):
        super().__init__(stock.compiled_re.pattern, stock.footnotes)
        self._cache: tuple = (None, -1, {})
        self._seen: tuple = (None, set())

    def _numbers(self) -> dict:
        if self.numbers is not None:
            return self.numbers
        notes = self.footnotes.footnotes  # labels in definition order; only ever added to
        known, size, numbers = self._cache
        if known is not notes or size != len(notes):
            numbers = {label: n for n, label in enumerate(notes, 1)}
            self._cache = (notes, len(notes), numbers)
        return numbers

    def handleMatch(self, m, data):
        fn = self.footnotes
        if not fn.getConfig("USE_DEFINITION_ORDER"):
            return super().handleMatch(m, data)  # numbered by reference: the stock way
        label = m.group(1)
        number = self._numbers().get(label)
        if number is None:
            return None, None, None
        order = fn.footnote_order  # what addFootnoteRef keeps, with a set beside it
        known, seen = self._seen
        if known is not order:
            seen = set(order)
            self._seen = (order, seen)
        if label not in seen:
            seen.add(label)
            order.append(label)
        sup = etree.Element("sup")
        a = etree.SubElement(sup, "a")
        sup.set("id", fn.makeFootnoteRefId(label, found=True))
        a.set("href", "#" + fn.makeFootnoteId(label))
        a.set("class", "footnote-ref")
        a.text = fn.getConfig("SUPERSCRIPT_TEXT").format(number)
        return sup, m.start(0), m.end(0)


def _slugify(value: str, separator: str) -> str:
    """Heading ids that keep non-Latin letters (a Japanese or Arabic heading gets a readable id
    instead of an empty one), lower-cased, spaces to `separator`."""
    value = re.sub(r"[^\w\s-]", "", value, flags=re.UNICODE).strip().lower()
    value = re.sub(r"[\s_-]+", separator, value)
    # An XML ID must not start with a digit (XML 1.0 Name production).
    if not value or not (value[0].isalpha()):
        value = "h" + separator + value if value else "section"
    return value


def new_markdown(fast: bool = True) -> markdown.Markdown:
    """The configured renderer; `fast=False`: Python-Markdown running as it comes, without the
    skips and the remembered block-level answers below (tests compare the two)."""
    # EXTENSIONS as objects, in that order: by name, Python-Markdown would look each up among
    # the entry points of every installed package (importlib.metadata: ~20 ms of a process
    # that rebuilds a book from its cache, issue 13), where another package could also
    # register an extension of the same name.  fenced_code joins when a text first has a
    # fence (see `with_fences`); then book's own syntax: ::: description blocks and {page=N}.
    md = markdown.Markdown(
        extensions=[TableExtension(), FootnoteExtension(SEPARATOR="-", BACKLINK_TEXT="\u21a9\ufe0e"),
                    DefListExtension(), AttrListExtension(), AbbrExtension(),
                    TocExtension(slugify=_slugify, permalink=False), SaneListExtension(),
                    DescriptionExtension(), PageBreakExtension()],
        output_format="xhtml",
    )
    md.postprocessors.register(_EscapeUnknownTags(md), "book_escape_unknown_tags", 35)
    if fast:
        md.treeprocessors.register(_PrefilteredInline(md), "inline", 20)  # same name and priority
        stock = md.inlinePatterns["footnote"]
        if type(stock) is FootnoteInlineProcessor:
            md.inlinePatterns.register(_NumberedFootnoteRefs(stock), "footnote", 175)  # same place
        # Python-Markdown asks whether a tag is block-level ~230 times per 1,000 words, each a
        # search of a list of 60 names; the answer for a tag does not change once the
        # extensions are loaded (above), so it is remembered.
        block_level = frozenset(md.block_level_elements)
        known: dict = {}

        def is_block_level(tag) -> bool:
            answer = known.get(tag)
            if answer is None:
                answer = known[tag] = isinstance(tag, str) and tag.lower().rstrip("/") in block_level
            return answer
        md.is_block_level = is_block_level
        _prefilter_blocks(md)
        _speed_up_patterns(md)
    return md


def clean_text(text: str) -> str:
    """Characters XML 1.0 forbids (§2.2), and U+E000 kept for book.render.passes' placeholders,
    never reach an XHTML file: the same cleaning as every metadata value gets."""
    return xml_safe(text)


def render(text: str, md: markdown.Markdown | None = None) -> str:
    """Markdown text → an HTML fragment (a string)."""
    md = md or new_markdown()
    md.reset()
    return convert(md, clean_text(text))


def with_fences(md: markdown.Markdown) -> markdown.Markdown:
    """`md` with Python-Markdown's fenced_code extension, as if it had been built with it.

    A converter is built without it and gets it the first time a text may hold fenced code
    (``` or ~~~ in it; the extension's expression needs one of them at the start of a line):
    the extension's module imports codehilite's, which imports Pygments (~13 ms of a process
    that rebuilds a book from its cache, issue 13) to offer syntax highlighting book does not
    use.  The output is the same: the extension adds one preprocessor (priority 25, between
    two others of Python-Markdown's), which changes nothing in a text without a fence; its
    other needs (attr_list) it looks for the first time it runs."""
    if "fenced_code_block" not in md.preprocessors:
        from markdown.extensions.fenced_code import FencedCodeExtension  # noqa: PLC0415

        md.registerExtensions([FencedCodeExtension()], {})
    return md


def convert(md: markdown.Markdown, text: str) -> str:
    """`md.convert(text)`, without the `toc` extension's search for its ``[TOC]`` marker when
    the text does not hold it: that search joins the text of every element of the document
    with every element after it (a fifth of a book's time in its passes, issue 13), and only a
    paragraph whose text is the marker can match — which needs the marker in the source, since
    escapes and entities are still placeholders when `toc` runs."""
    if "fenced_code_block" not in md.preprocessors and ("```" in text or "~~~" in text):
        with_fences(md)
    toc = md.treeprocessors["toc"] if "toc" in md.treeprocessors else None
    marker = getattr(toc, "marker", None)
    if not marker or marker in text:
        return md.convert(text)
    toc.marker = ""
    try:
        return md.convert(text)
    finally:
        toc.marker = marker
