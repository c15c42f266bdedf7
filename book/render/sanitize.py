"""Untrusted markup never reaches a reader.

Raw HTML in Markdown is allowed where it is safe (the README, "Markdown").  This pass keeps an allow-list
of HTML elements and attributes that EPUB 3.3 XHTML content documents accept in a reflowable,
non-scripted book; anything executable (`script`, event handlers, `javascript:` URLs) or
embedding (`iframe`, `object`, `embed`, forms) is removed and reported, and elements that are not
HTML are unwrapped so their text stays.  A book with scripts would need the `scripted` manifest
property (EPUB 3.3 §5.6.5.3) and is out of what `book` makes.
"""

from __future__ import annotations

import re

from . import tree as htmltree

# Elements of HTML that may appear in the body of an EPUB XHTML content document.
HTML_ELEMENTS = frozenset("""
a abbr address article aside audio b bdi bdo blockquote br button canvas caption cite code col
colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption figure
footer form h1 h2 h3 h4 h5 h6 header hgroup hr i iframe img input ins kbd label legend li main
map mark math menu meter nav noscript object ol optgroup option output p picture pre progress q
rp rt ruby s samp script search section select small source span strong style sub summary sup
svg table tbody td template textarea tfoot th thead time tr track u ul var video wbr area base
body head html link meta title center font big strike tt acronym marquee blink frame frameset
noframes applet basefont dir isindex listing plaintext xmp nobr param image
""".split())

# Removed with everything inside them: they run code, embed other documents or take input.
DANGEROUS = frozenset("script style iframe frame frameset object embed applet form input button "
                      "select textarea option optgroup datalist fieldset legend label output "
                      "template noscript dialog base link meta title head canvas map area param "
                      "noframes".split())
# Removed with a clear hint: `book` makes no audio/video books yet, and inline SVG/MathML need
# the `svg`/`mathml` manifest properties and a namespace-aware source.
UNSUPPORTED = {
    "svg": "put the drawing in an .svg file and use ![description](file.svg)",
    "math": "MathML in Markdown is not supported yet",
    "audio": "audio is not supported in a book yet",
    "video": "video is not supported in a book yet",
    "picture": "use a plain image: ![description](file.png)",
    "source": "use a plain image: ![description](file.png)",
    "track": "video and audio are not supported yet",
}
# Obsolete or presentational elements whose text is kept and tag dropped.
UNWRAP = frozenset("center font big strike tt acronym marquee blink dir isindex listing plaintext "
                   "xmp nobr image html body menu search hgroup details summary meter progress".split())

# `role` and `epub:type` are not taken from raw HTML: book sets them itself, always as matching
# pairs (EPUB 3.3 §D, DPUB-ARIA), and a stray role is invalid on most elements.
GLOBAL_ATTRS = frozenset("id class title lang dir hidden translate tabindex style".split())
# Attributes whose value HTML restricts to a few keywords.
ENUMERATED = {"dir": {"ltr", "rtl", "auto"}, "translate": {"yes", "no"}, "tabindex": {"0", "-1"},
              "aria-hidden": {"true", "false"}, "scope": {"row", "col", "rowgroup", "colgroup"},
              "type": None, "hidden": None}
ELEMENT_ATTRS = {
    "a": {"href", "hreflang", "rel", "type"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope", "abbr"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "data": {"value"},
    "abbr": set(),
    "bdo": set(),
}
_SAFE_SCHEMES = ("http", "https", "mailto", "tel")
_ATTR_NAME = re.compile(r"^[a-z_][a-z0-9_.-]*$")
_DATA_NAME = re.compile(r"^data-[a-z0-9_.-]+$")
_ALIGN = re.compile(r"^\s*text-align:\s*(left|right|center)\s*;?\s*$")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20]")
_SPACE = re.compile(r"\s")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
# Elements the first walk of `sanitize` keeps as they are, wherever they are.
_KEPT = HTML_ELEMENTS - UNSUPPORTED.keys() - DANGEROUS - UNWRAP
_NO_ATTRS: frozenset = frozenset()


def is_safe_url(url: str) -> bool:
    """True for relative URLs, fragments and http(s)/mailto/tel; false for javascript:, data:,
    vbscript: and any scheme a reading system could execute."""
    if ":" not in (url or ""):
        return True  # no scheme (the test below needs a colon): relative or a fragment
    m = _SCHEME.match(_CONTROL_OR_SPACE.sub("", url))
    return m is None or m.group(1).lower() in _SAFE_SCHEMES


def sanitize(root, report) -> None:
    """Clean an lxml HTML tree in place.  `report(message, hint, snippet)` is called once for
    each thing removed, so the build can warn with the source line."""
    for el in list(root.iter()):
        if not isinstance(el.tag, str):  # comments and processing instructions
            _drop(el, keep_text=False)
            continue
        tag = el.tag.lower()
        if tag in _KEPT:  # nothing below applies to it (the commonest case: asked first)
            continue
        if el.getparent() is None:
            continue
        if tag in UNSUPPORTED:
            report(f"<{tag}> was removed", UNSUPPORTED[tag], tag)
            _drop(el, keep_text=False)
        elif tag in DANGEROUS:
            report(f"<{tag}> was removed: scripts, forms and embedded content never reach the book",
                   "remove it from the source", tag)
            _drop(el, keep_text=False)
        elif tag in UNWRAP or tag not in HTML_ELEMENTS:
            _drop(el, keep_text=True)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        names = el.keys()  # a list made once: attributes are deleted below
        if not names:
            continue
        allowed = ELEMENT_ATTRS.get(el.tag, _NO_ATTRS)
        for name in names:
            value = el.get(name)
            low = name.lower()
            if low.startswith("on"):
                report(f"event handler '{name}' on <{el.tag}> was removed", "books carry no scripts", name)
                del el.attrib[name]
            elif low in ("href", "src", "cite") and not is_safe_url(value):
                report(f"unsafe link '{value[:40]}' on <{el.tag}> was removed",
                       "only http(s), mailto and relative links are kept", value)
                del el.attrib[name]
            elif not _ATTR_NAME.match(low) or not (
                low in GLOBAL_ATTRS or low in allowed or low in ("aria-label", "aria-hidden")
                or (low.startswith("data-") and _DATA_NAME.match(low))
            ):
                del el.attrib[name]
            elif ENUMERATED.get(low) and value.strip().lower() not in ENUMERATED[low]:
                del el.attrib[name]
            elif low == "style":
                # Only the column alignment Python-Markdown writes on table cells (`|---:|`) is
                # kept; any other inline style could fight the reader's settings.
                if el.tag not in ("th", "td") or not _ALIGN.match(value):
                    del el.attrib[name]
            elif low == "id" and (not value.strip() or _SPACE.search(value)):
                del el.attrib[name]
            elif low in ("colspan", "rowspan", "span", "start", "value", "width", "height") and not value.strip().isdigit():
                del el.attrib[name]
            elif low in ("type", "reversed", "hidden", "headers", "datetime", "hreflang", "rel", "cite", "abbr"):
                # Rare in articles, each with its own value syntax: not worth a validator.
                del el.attrib[name]


def _drop(el, keep_text: bool) -> None:
    """Remove `el`; with keep_text its children and text stay where it was."""
    parent = el.getparent()
    if parent is None:
        return
    if keep_text:
        htmltree.drop_tag(el)
    else:
        htmltree.drop_tree(el)


# ---------------------------------------------------------------------------------------------
# Content models.  Raw HTML can nest elements in ways the HTML content models forbid (a `div`
# inside a `p`, an `li` outside a list, text inside a `tr`); EPUBCheck rejects such documents
# (RSC-005).  `repair` makes any tree valid while keeping every word of text.

PHRASING = frozenset("a abbr b bdi bdo br cite code data del dfn em i img ins kbd mark q ruby rt rp s samp "
                     "small span strong sub sup time u var wbr".split())
# Elements whose content must be phrasing content only.
PHRASING_ONLY = frozenset("p h1 h2 h3 h4 h5 h6 pre span em strong b i u s small sub sup code kbd samp var "
                          "abbr cite q dfn mark time data bdi bdo dt".split())
_CONTAINERS = {
    # container: (children it may hold, what the container becomes when they are wrong)
    "ul": ({"li"}, "div"), "ol": ({"li"}, "div"), "dl": ({"dt", "dd", "div"}, "div"),
    "table": ({"caption", "colgroup", "thead", "tbody", "tfoot", "tr"}, "div"),
    "thead": ({"tr"}, "div"), "tbody": ({"tr"}, "div"), "tfoot": ({"tr"}, "div"),
    "tr": ({"td", "th"}, "div"), "colgroup": ({"col"}, "div"), "ruby": (None, "span"),
}
_PARENTS = {"li": {"ul", "ol"}, "dt": {"dl", "div"}, "dd": {"dl", "div"}, "tr": {"table", "thead", "tbody", "tfoot"},
            "td": {"tr"}, "th": {"tr"}, "thead": {"table"}, "tbody": {"table"}, "tfoot": {"table"},
            "caption": {"table"}, "colgroup": {"table"}, "col": {"colgroup"}, "figcaption": {"figure"},
            "rt": {"ruby"}, "rp": {"ruby"}, "summary": {"details"}}
# Phrasing elements no rule of `repair` applies to, wherever they are: not `a` (a link inside a
# link), not one with required parents or children.
_INLINE_LEAF = PHRASING - {"a"} - _PARENTS.keys() - _CONTAINERS.keys()


def _valid_container(el) -> bool:
    allowed, _ = _CONTAINERS[el.tag]
    if allowed is None:
        return True
    if (el.text or "").strip():
        return False
    for child in el:
        if not isinstance(child.tag, str) or child.tag not in allowed or (child.tail or "").strip():
            return False
    if el.tag == "table":
        # caption first, thead before rows, at most one thead/tfoot/caption
        tags = [c.tag for c in el]
        if tags.count("caption") > 1 or tags.count("thead") > 1 or tags.count("tfoot") > 1:
            return False
        if "caption" in tags and tags[0] != "caption":
            return False
        if "tr" in tags and ("tbody" in tags or "thead" in tags or "tfoot" in tags):
            return False
        if not any(t in tags for t in ("tr", "tbody", "thead")):
            return False
    if el.tag == "tr" and len(el) == 0:
        return False
    if el.tag == "dl" and any(c.tag == "div" for c in el) and any(c.tag in ("dt", "dd") for c in el):
        return False
    return True


# Transparent elements (HTML §3.2.5.3): their content model is their parent's, so an <a> inside
# a paragraph may hold phrasing content only ("<p><a><div>" is invalid, EPUBCheck RSC-005).
TRANSPARENT = frozenset({"a", "ins", "del"})


def _phrasing_context(el) -> bool:
    """Whether `el`'s children must be phrasing content: `el` allows only that, or is
    transparent inside something that allows only that."""
    while el is not None and el.tag in TRANSPARENT:
        el = el.getparent()
    return el is not None and el.tag in PHRASING_ONLY


def repair(root) -> None:
    """Rename or unwrap elements until every content model holds; text is never dropped."""
    changed = True
    while changed:
        changed = False
        for el in list(root.iter()):
            if not isinstance(el.tag, str) or el is root:
                continue
            if el.tag in _INLINE_LEAF:  # phrasing content that no rule below changes
                continue
            parent = el.getparent()
            if parent is None:
                continue
            tag = el.tag
            if tag in _PARENTS and parent.tag not in _PARENTS[tag]:
                el.tag, changed = ("span" if _phrasing_context(parent) else "div"), True
                el.attrib.pop("colspan", None), el.attrib.pop("rowspan", None), el.attrib.pop("scope", None)
            elif tag in _CONTAINERS and not _valid_container(el):
                el.tag, changed = _CONTAINERS[tag][1], True
            elif tag not in PHRASING and _phrasing_context(parent):
                htmltree.drop_tag(el)
                changed = True
            elif tag == "a" and next(el.iterancestors("a"), None) is not None:
                htmltree.drop_tag(el)
                changed = True
            elif tag == "figcaption" and parent.tag == "figure" and el is not parent[0] and el is not parent[-1]:
                el.tag, changed = "div", True
