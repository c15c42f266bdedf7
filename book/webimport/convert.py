"""The article's HTML → Markdown an author can edit, in the dialect book renders
(Python-Markdown with tables, footnotes, definition lists, fenced code and attribute lists).

Block by block: headings at their level relative to the article, paragraphs, lists (nested),
block quotes, code, definition lists, figures (`![alt](file "caption")`: book makes the title a
`figcaption`), tables (a pipe table when it is simple; otherwise clean HTML, which keeps its
`caption` and header cells), footnotes (`[^1]`), links and emphasis.  Every character of text
that Markdown would read as markup is escaped, so the page's text stays text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape as html_escape

from .extract import HEADINGS, text_of

BLOCK = frozenset("p div section article main header footer aside h1 h2 h3 h4 h5 h6 ul ol li dl dt dd "
                  "blockquote pre table figure figcaption hr center address details summary body html form "
                  "fieldset nav hgroup picture noscript".split())
# Python-Markdown's backslash escapes (markdown.Markdown.ESCAPED_CHARS); `<` has none, so it is an
# entity, as is `&` where it would start one ("&copy;" written as text stays text).
_ESCAPE = re.compile(r"([\\`*_{}\[\]>])")
_ENTITY_START = re.compile(r"&(?=#?\w+;)")
_LINE_START = re.compile(r"^(\s*)([#>+-]|\d+[.)](?=\s|$))")
_WS = re.compile(r"[ \t\n\r\f\v]+")  # not U+00A0: a no-break space is meant


def escape(text: str) -> str:
    return _ENTITY_START.sub("&amp;", _ESCAPE.sub(r"\\\1", text)).replace("<", "&lt;")


@dataclass
class Converter:
    """`image(el) -> str | None`: Markdown for a picture (None: dropped); `link(href, el) -> str |
    None`: the href to write (None: keep the text only); `levels`: page heading level → `#`
    count; `ids`: element ids a link points to (kept as {#id})."""

    image: object
    link: object
    levels: dict
    ids: set = field(default_factory=set)
    notes: dict = field(default_factory=dict)  # note target element → label
    note_refs: dict = field(default_factory=dict)  # ref <a> → label
    note_text: dict = field(default_factory=dict)  # label → Markdown

    # -- inline ---------------------------------------------------------------------------

    def inline(self, el, *, pre: bool = False) -> str:
        out = [self._text(el.text, pre)]
        for child in el:
            out.append(self.inline_element(child, pre=pre))
            out.append(self._text(child.tail, pre))
        return "".join(out)

    def _text(self, text: str | None, pre: bool) -> str:
        if not text:
            return ""
        return text if pre else escape(_WS.sub(" ", text))

    def inline_element(self, el, *, pre: bool = False) -> str:
        tag = el.tag if isinstance(el.tag, str) else ""
        if not tag:
            return ""
        if pre:
            return "".join(el.itertext())
        if tag == "noscript":
            return ""  # a lazy picture's fallback: pictures.candidates reads it from the <img>
        if el in self.note_refs or (tag == "sup" and len(el) == 1 and el[0] in self.note_refs
                                    and not (el.text or "").strip()):
            a = el if el in self.note_refs else el[0]
            return f"[^{self.note_refs[a]}]"
        if tag in ("em", "i", "cite", "dfn", "var"):
            return _wrap("*", self.inline(el))
        if tag in ("strong", "b"):
            return _wrap("**", self.inline(el))
        if tag == "code" or tag in ("kbd", "samp", "tt"):
            code = "".join(el.itertext())
            if not code.strip():
                return code
            fence = "``" if "`" in code else "`"
            return f"{fence}{' ' if code.startswith('`') else ''}{code}{' ' if code.endswith('`') else ''}{fence}"
        if tag in ("sup", "sub"):
            inner = self.inline(el)
            return f"<{tag}>{inner}</{tag}>" if inner.strip() else ""
        if tag == "br":
            return "  \n"
        if tag == "img":
            if re.search(r"\b(emoji|wp-smiley)\b", el.get("class") or "") and el.get("alt"):
                return escape(el.get("alt"))  # WordPress draws emoji as pictures; the character is the text
            md = self.image(el)
            return md or ""
        if tag == "picture":
            img = next(iter(el.iter("img")), None)
            return (self.image(img) or "") if img is not None else ""
        if tag == "a":
            href = el.get("href")
            target = self.link(href, el) if href is not None else None  # may mark the text: first
            text = self.inline(el)
            if not text.strip():
                return text
            if target is None:
                return text
            title = el.get("title")
            title_part = f' "{_quote(title)}"' if title and title.strip() and title.strip() != text_of(el) else ""
            return f"[{text}]({_url(target)}{title_part})"
        if tag == "q":
            return f"“{self.inline(el)}”"
        if tag in BLOCK:
            # A block inside a paragraph (bad markup): its text, on the same line.
            return " " + self.inline(el) + " "
        return self.inline(el)

    # -- blocks ---------------------------------------------------------------------------

    def blocks(self, el) -> list[str]:
        """The Markdown blocks for the children of `el` (text between blocks becomes paragraphs)."""
        out: list[str] = []
        buffer: list[str] = [self._text(el.text, False)]

        def flush():
            # Text straight in a <div>, its paragraphs separated by <br><br> (Blogger, old CMSs).
            for text in re.split(r"(?:  \n[ \t]*){2,}", "".join(buffer)):
                text = _tidy(text)
                if text:
                    out.append(_protect_start(text))
            buffer.clear()

        for child in el:
            if isinstance(child.tag, str) and (child.tag in BLOCK or _has_block(child)) and child.tag != "picture":
                flush()
                out.extend(self.block(child))
            else:
                buffer.append(self.inline_element(child))
            buffer.append(self._text(child.tail, False))
        flush()
        return out

    def block(self, el) -> list[str]:
        tag = el.tag
        if tag == "noscript":
            return []
        if tag in HEADINGS:
            level = self.levels.get(int(tag[1]), 2)
            text = _tidy(self.inline(el))
            if not text:
                return []
            ident = el.get("id")
            attr = f" {{#{ident}}}" if ident and ident in self.ids else ""
            return ["#" * level + " " + text.replace("\n", " ") + attr]
        if tag == "p":
            text = _tidy(self.inline(el))
            if not text:
                return []
            ident = el.get("id")
            if ident and ident in self.ids:
                text += f"\n{{: #{ident} }}"
            return [_protect_start(text)]
        if tag in ("ul", "ol"):
            return [self.list_(el)] if len(el) else []
        if tag == "blockquote":
            inner = self.blocks(el)
            return ["\n>\n".join("\n".join("> " + ln if ln else ">" for ln in b.split("\n")) for b in inner)] if inner else []
        if tag == "pre":
            code = "".join(el.itertext()).strip("\n")
            fence = "~~~~" if "```" in code else "```"
            return [f"{fence}\n{code}\n{fence}"] if code.strip() else []
        if tag == "hr":
            return ["* * *"]
        if tag == "dl":
            return self.dl(el)
        if tag == "table":
            return [self.table(el)]
        if tag == "figure":
            return self.figure(el)
        if tag in ("figcaption", "summary"):
            text = _tidy(self.inline(el))
            return [_protect_start(text)] if text else []
        return self.blocks(el)

    def list_(self, el, depth: int = 0) -> str:
        lines = []
        n = int(el.get("start")) if el.tag == "ol" and (el.get("start") or "").isdigit() else 1
        for li in el:
            if li.tag != "li":
                continue
            marker = f"{n}." if el.tag == "ol" else "-"
            n += 1
            nested = [c for c in li if c.tag in ("ul", "ol")]
            for c in nested:
                li.remove(c)  # put back below, indented
            parts = self.blocks(li)
            body = "\n\n".join(parts)
            for c in nested:
                body += ("\n" if body else "") + self.list_(c, depth + 1)
                li.append(c)
            if not body.strip():
                continue
            pad = " " * 4
            first, *rest = body.split("\n")
            lines.append(f"{marker} {first}" + "".join("\n" + (pad + ln if ln else "") for ln in rest))
        return "\n".join(lines)

    def dl(self, el) -> list[str]:
        out, term = [], []
        for c in el.iter("dt", "dd"):
            text = _tidy(self.inline(c))
            if c.tag == "dt":
                term.append(text)
            elif term:
                out.append("\n".join(term) + "\n:   " + text.replace("\n", "\n    "))
                term = []
            else:
                out.append(text)
        return out

    def figure(self, el) -> list[str]:
        caption_el = next(iter(el.iter("figcaption")), None)
        caption = text_of(caption_el) if caption_el is not None else ""
        tables = list(el.iter("table"))
        if len(tables) == 1 and not any(True for _ in el.iter("img")):
            # WordPress's table block: <figure><table/><figcaption/></figure> — the caption is the table's.
            return [self.table(tables[0], caption=caption)]
        imgs = [i for i in el.iter("img") if not any(a.tag == "noscript" for a in i.iterancestors())]
        if len(imgs) == 1:
            md = self.image(imgs[0], caption=caption)
            if md:
                return [md]
            return [_protect_start(escape(caption))] if caption else []
        out = []
        for child in el:
            if child is not caption_el:
                out.extend(self.block(child) if child.tag in BLOCK else [_tidy(self.inline_element(child))])
        if caption:
            out.append(_protect_start(escape(caption)))
        return [b for b in out if b]

    def table(self, el, caption: str = "") -> str:
        rows = [r for r in el.iter("tr")]
        caption_el = next(iter(el.iter("caption")), None)
        if caption and caption_el is None:
            caption_el = el.makeelement("caption", {})
            caption_el.text = caption
            el.insert(0, caption_el)
        cells = [[c for c in r if c.tag in ("td", "th")] for r in rows]
        spans = any(c.get("colspan", "1") != "1" or c.get("rowspan", "1") != "1" for r in cells for c in r)
        widths = {len(r) for r in cells}
        header = bool(cells) and all(c.tag == "th" for c in cells[0])
        blocky = any(_has_block(c) for r in cells for c in r)
        if caption_el is None and not spans and len(widths) == 1 and header and not blocky and cells[0]:
            def cell(c):
                return _tidy(self.inline(c)).replace("|", "\\|").replace("\n", " ")
            lines = ["| " + " | ".join(cell(c) for c in cells[0]) + " |",
                     "|" + "|".join("---" for _ in cells[0]) + "|"]
            lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in cells[1:]]
            return "\n".join(lines)
        # Clean HTML: book's sanitizer keeps table, caption, thead, tbody, th (scope), td.
        out = ["<table>"]
        if caption_el is not None and text_of(caption_el):
            out.append(f"<caption>{html_escape(text_of(caption_el), quote=False)}</caption>")
        head = [r for r in rows if r.getparent().tag == "thead"] or (rows[:1] if header else [])
        body = [r for r in rows if r not in head]

        def row(r, in_head):
            cols = []
            for c in r:
                if c.tag not in ("td", "th"):
                    continue
                attrs = ""
                for a in ("colspan", "rowspan"):
                    if (c.get(a) or "").isdigit() and c.get(a) != "1":
                        attrs += f' {a}="{c.get(a)}"'
                if c.tag == "th":
                    scope = c.get("scope") or ("col" if in_head else "row")
                    attrs += f' scope="{scope}"' if scope in ("col", "row", "colgroup", "rowgroup") else ""
                cols.append(f"<{c.tag}{attrs}>{html_escape(text_of(c), quote=False)}</{c.tag}>")
            return "<tr>" + "".join(cols) + "</tr>"

        if head:
            out.append("<thead>" + "".join(row(r, True) for r in head) + "</thead>")
        if body:
            out.append("<tbody>")
            out.extend(row(r, False) for r in body)
            out.append("</tbody>")
        out.append("</table>")
        return "\n".join(out)


def _wrap(mark: str, inner: str) -> str:
    if not inner.strip():
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()):]
    return f"{lead}{mark}{inner.strip()}{mark}{trail}"


def _quote(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().replace("\\", "\\\\").replace('"', "\\\"")


def _url(href: str) -> str:
    return href.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def _has_block(el) -> bool:
    return any(isinstance(d.tag, str) and d.tag in BLOCK and d.tag != "picture" for d in el.iterdescendants())


def _tidy(text: str) -> str:
    """Spaces at line ends and starts out, except the two that make a line break; no break at the
    start or end of a paragraph."""
    joined = "  \n".join(ln.strip(" ") for ln in text.split("  \n")).strip()
    joined = re.sub(r"(  \n)+$", "", joined)
    return re.sub(r"^(  \n)+", "", joined).strip()


def _protect_start(text: str) -> str:
    """A paragraph starting with '#', '>', '-', '+', '=' or '1.' would become a heading, quote or
    list: escape that first character."""
    def guard(m):
        mark = m.group(2)
        # "1." → "1\." (the escape goes before the dot); "#", ">", "+", "-" → "\#" …
        return m.group(1) + (mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark)

    return "\n".join(_LINE_START.sub(guard, ln, count=1) for ln in text.split("\n"))
