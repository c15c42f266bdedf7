"""Untrusted markup never reaches a reader.

Raw HTML in Markdown is allowed where it is safe (CONTRACT.md).  This pass keeps an allow-list
of HTML elements and attributes that EPUB 3.3 XHTML content documents accept in a reflowable,
non-scripted book; anything executable (`script`, event handlers, `javascript:` URLs) or
embedding (`iframe`, `object`, `embed`, forms) is removed and reported, and elements that are not
HTML are unwrapped so their text stays.  A book with scripts would need the `scripted` manifest
property (EPUB 3.3 §5.6.5.3) and is out of what `book` makes.
"""

from __future__ import annotations

import re

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

GLOBAL_ATTRS = frozenset("id class title lang dir hidden translate role tabindex".split())
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
_SAFE_URL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|[^:]*(?:[/?#]|$))")
_SAFE_SCHEMES = ("http", "https", "mailto", "tel")
_ATTR_NAME = re.compile(r"^[a-z_][a-z0-9_.-]*$")


def is_safe_url(url: str) -> bool:
    """True for relative URLs, fragments and http(s)/mailto/tel; false for javascript:, data:,
    vbscript: and any scheme a reading system could execute."""
    u = re.sub(r"[\x00-\x20]", "", url or "")
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", u)
    return m is None or m.group(1).lower() in _SAFE_SCHEMES


def sanitize(root, report) -> None:
    """Clean an lxml HTML tree in place.  `report(message, hint, snippet)` is called once for
    each thing removed, so the build can warn with the source line."""
    for el in list(root.iter()):
        if not isinstance(el.tag, str):  # comments and processing instructions
            _drop(el, keep_text=False)
            continue
        tag = el.tag.lower()
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
        allowed = ELEMENT_ATTRS.get(el.tag, set())
        for name in list(el.attrib):
            value = el.attrib[name]
            low = name.lower()
            if low.startswith("on"):
                report(f"event handler '{name}' on <{el.tag}> was removed", "books carry no scripts", name)
                del el.attrib[name]
            elif low in ("href", "src", "cite") and not is_safe_url(value):
                report(f"unsafe link '{value[:40]}' on <{el.tag}> was removed",
                       "only http(s), mailto and relative links are kept", name)
                del el.attrib[name]
            elif not _ATTR_NAME.match(low) or not (
                low in GLOBAL_ATTRS or low in allowed or low.startswith(("aria-", "data-"))
                or low == "epub:type"
            ):
                del el.attrib[name]
            elif low == "tabindex" and value not in ("0", "-1"):
                del el.attrib[name]


def _drop(el, keep_text: bool) -> None:
    """Remove `el`; with keep_text its children and text stay where it was."""
    parent = el.getparent()
    if parent is None:
        return
    if keep_text:
        el.drop_tag()
    else:
        el.drop_tree()
