"""The HTML tree a chapter is transformed in: plain lxml elements from lxml's HTML parser.

lxml.html gives the same tree, but with its own element classes, which lxml finds by calling
back into Python (`HtmlElementClassLookup.lookup`) every time an element is touched — about
700,000 calls for a 1,000,000-word book, ~5 % of its build (issue 6).  The three conveniences of
those classes that book uses are functions here, with the same behaviour.
"""

from __future__ import annotations

import re
import threading

from lxml import etree

_local = threading.local()


def _parser() -> etree.HTMLParser:
    """This thread's HTML parser: an lxml parser object must not be used by two threads at once
    (lxml FAQ, "Can I use threads to concurrently access the lxml API?")."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.HTMLParser()
    return parser
_FULL_DOCUMENT = re.compile(r"^\s*<(?:html|!doctype)", re.I)


def element(tag: str, attrs: dict | None = None):
    """A new element of an HTML document.  Unlike `etree.Element`, it accepts `epub:type` as a
    plain attribute name (HTML documents do not check the colon); the XHTML wrapper written
    around every body declares the `epub` prefix (EPUB 3.3 §6.1.3)."""
    el = _parser().makeelement(tag)
    for k, v in (attrs or {}).items():
        el.set(k, v)
    return el


def parse_fragment(fragment: str):
    """An HTML fragment (what Python-Markdown writes) as the children of a new `div`: its text
    before the first element, when not blank, becomes the div's text."""
    text = fragment if _FULL_DOCUMENT.match(fragment) else f"<html><body>{fragment}</body></html>"
    doc = etree.fromstring(text, _parser())
    root = element("div")
    bodies = [] if doc is None else [e for e in doc if e.tag == "body"]
    if len(bodies) != 1:  # a fragment that is a whole document without one body: its text only
        root.text = "" if doc is None else text_content(doc)
        return root
    body = bodies[0]
    if body.text and body.text.strip():
        root.text = body.text
    root.extend(body)
    return root


def text_content(el) -> str:
    """All the text inside `el` (not its tail), as a reader would see it.  The XPath expression
    is compiled once per thread (`el.xpath(...)` compiles it at every call; a compiled one is
    kept per thread, as the parser is)."""
    string = getattr(_local, "string", None)
    if string is None:
        string = _local.string = etree.XPath("string()")
    return string(el)


def drop_tree(el) -> None:
    """Remove `el` and everything inside it; the text after it stays where it was."""
    parent = el.getparent()
    if el.tail:
        _append_text(parent, el.getprevious(), el.tail)
    parent.remove(el)


def drop_tag(el) -> None:
    """Remove the tag of `el` only: its text and children take its place."""
    parent = el.getparent()
    previous = el.getprevious()
    if el.text and isinstance(el.tag, str):
        _append_text(parent, previous, el.text)
    if el.tail:
        if len(el):
            last = el[-1]
            last.tail = (last.tail or "") + el.tail
        else:
            _append_text(parent, previous, el.tail)
    index = parent.index(el)
    parent[index:index + 1] = el[:]


def _append_text(parent, previous, text: str) -> None:
    """Text that comes right after `previous` (or at the start of `parent` when there is none)."""
    if previous is None:
        parent.text = (parent.text or "") + text
    else:
        previous.tail = (previous.tail or "") + text
