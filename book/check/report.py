"""`book check BOOK.epub --html REPORT.html`: what a check found, as one page an editor would
rather look at than read a log.

In order: the verdict; the accessibility statement a reading system shows, in the W3C Display
Guide's words and in the book's language (with the canonical English beside it); book's rules'
findings with their places (`file:line`); EPUBCheck's messages; DAISY Ace's violations; and the
first pages as the browser engine and MuPDF draw them (book.check.pages).

One self-contained file: styles inline, pictures as `data:` URLs, no script, and a Content
Security Policy that lets it load nothing else, so it can be mailed, archived or opened from any
folder, and nothing the EPUB holds (every text from it is escaped) can run or call out.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from lxml import etree

from ..files import write_atomic
from . import CheckReport
from .display_words import localize
from .pages import Page, pages

DC = "http://purl.org/dc/elements/1.1/"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = """
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.45; }
body { margin: 1.5rem auto; max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
.file { color: GrayText; margin-top: 0; overflow-wrap: anywhere; }
.verdict { font-size: 1.3rem; font-weight: bold; padding: .4rem .8rem; border: 3px solid; display: inline-block; }
.pass { border-color: #1a7f37; } .fail { border-color: #cf222e; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #8888; padding: .3rem .5rem; text-align: start; vertical-align: top; }
th { background: #8882; }
td.where, td.code { font-family: ui-monospace, monospace; font-size: .9em; overflow-wrap: anywhere; }
.error, .serious, .critical, .fatal { font-weight: bold; }
.statement dt { font-weight: bold; margin-top: .6rem; }
.statement dd { margin-inline-start: 1.2rem; }
.pages { display: grid; grid-template-columns: repeat(auto-fill, minmax(21rem, 1fr)); gap: 1rem; }
.page { border: 1px solid #8888; padding: .5rem; }
.page h3 { font-size: 1rem; margin: 0 0 .4rem; overflow-wrap: anywhere; }
.pair { display: flex; gap: .5rem; }
figure { margin: 0; flex: 1; }
figure img { width: 100%; height: auto; border: 1px solid #8886; background: white; }
figcaption { font-size: .85rem; text-align: center; }
.none { color: GrayText; font-style: italic; }
"""


def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _book_info(epub: Path) -> tuple[str, str]:
    """(title, language) from the package document; ("", "") when unreadable."""
    from . import _spine
    from .epubfile import EpubFile, xml_parser

    try:
        with EpubFile(epub) as z:  # within the bounds of any EPUB read (book.check.epubfile)
            _path, opf, _spine_docs = _spine(z)
        root = etree.fromstring(opf, xml_parser())
    except Exception:  # noqa: BLE001 - the check itself reports an unreadable EPUB
        return "", ""
    return (root.findtext(f".//{{{DC}}}title") or "").strip(), (root.findtext(f".//{{{DC}}}language") or "").strip()


def _table(head: list[str], rows: list[list[tuple[str, str]]], empty: str) -> str:
    """rows of (cell HTML, class)."""
    if not rows:
        return f'<p class="none">{_e(empty)}</p>'
    out = ["<table>", "<thead><tr>" + "".join(f'<th scope="col">{_e(h)}</th>' for h in head) + "</tr></thead>", "<tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f'<td class="{cls}">{cell}</td>' if cls else f"<td>{cell}</td>"
                                    for cell, cls in row) + "</tr>")
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def _statement(fields, lang: str | None) -> str:
    attrs = f' lang="{_e(lang)}"' if lang else ""
    out = [f'<dl class="statement"{attrs}>']
    for f in fields:
        out.append(f"<dt>{_e(f.heading)}</dt>")
        out += [f"<dd>{_e(s)}</dd>" for s in f.statements]
    out.append("</dl>")
    return "\n".join(out)


def _picture(png: bytes | None, alt: str, engine: str) -> str:
    if not png:
        return f'<figure><p class="none">{_e(engine)}: not drawn</p><figcaption>{_e(engine)}</figcaption></figure>'
    data = base64.b64encode(png).decode()
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}"/>'
            f"<figcaption>{_e(engine)}</figcaption></figure>")


def _pages(drawn: list[Page], missing: list[str]) -> str:
    out = []
    for note in missing:
        out.append(f'<p class="none">{_e(note)}</p>')
    out.append('<div class="pages">')
    for n, page in enumerate(drawn, 1):
        out.append(f'<section class="page" aria-labelledby="page-{n}"><h3 id="page-{n}">{n}. {_e(page.document)}</h3>'
                   '<div class="pair">'
                   + _picture(page.chromium, f"{page.document}, its first screen as Chromium draws it", "Chromium")
                   + _picture(page.mupdf, f"{page.document}, its first page as MuPDF draws it", "MuPDF")
                   + "</div></section>")
    out.append("</div>")
    return "\n".join(out)


def render_html(report: CheckReport, drawn: list[Page], missing: list[str]) -> str:
    """The report as one HTML document (see the module's notes)."""
    title, lang = _book_info(report.epub)
    tag, local = localize(report.statement, lang) if lang else ("en-US", report.statement)
    verdict = "PASS" if report.ok else "FAIL"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8"/>',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
        f"<title>book check: {_e(title or report.epub.name)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        f'<h1>book check: <span lang="{_e(lang)}">{_e(title or report.epub.name)}</span></h1>' if lang else
        f"<h1>book check: {_e(title or report.epub.name)}</h1>",
        f'<p class="file">{_e(report.epub)}</p>',
        f'<p class="verdict {verdict.lower()}">{verdict}: {report.errors} error(s)</p>',
    ]
    if report.skipped:
        parts.append("<p>Skipped: " + _e(", ".join(report.skipped)) + "</p>")

    parts.append('<h2 id="statement">Accessibility statement</h2>')
    parts.append("<p>What a reading system shows, in the words of the W3C Accessibility Metadata Display Guide"
                 + (f" ({_e(tag)})" if tag != "en-US" else "") + ".</p>")
    parts.append(_statement(local, tag if tag != "en-US" else None))
    if tag != "en-US":
        parts.append("<details><summary>The same in English</summary>" + _statement(report.statement, None)
                     + "</details>")

    errors = sum(1 for f in report.findings if f.severity == "error")
    parts.append(f'<h2 id="rules">book’s rules: {errors} error(s), {len(report.findings) - errors} warning(s)</h2>')
    parts.append(_table(["severity", "rule", "what", "where", "how to fix it"], [
        [(_e(f.severity), f.severity), (_e(f.rule), "code"), (_e(f.message), ""),
         (_e(f.file or "") + (f":{f.line}" if f.line else ""), "where"), (_e(f.hint or ""), "")]
        for f in report.findings], "No findings."))

    if report.epubcheck is not None:
        e = report.epubcheck
        parts.append(f'<h2 id="epubcheck">EPUBCheck {_e(e.checker_version)}: {e.fatals} fatal, {e.errors} error(s), '
                     f"{e.warnings} warning(s)</h2>")
        parts.append(_table(["severity", "id", "message", "where"], [
            [(_e(m.severity), m.severity.lower()), (_e(m.id), "code"), (_e(m.message), ""), (_e(m.location), "where")]
            for m in e.messages], "No messages."))
    else:
        parts.append('<h2 id="epubcheck">EPUBCheck</h2><p class="none">Not run.</p>')

    if report.ace is not None:
        a = report.ace
        parts.append(f'<h2 id="ace">DAISY Ace {_e(a.ace_version)}: {len(a.violations)} violation(s)</h2>')
        parts.append(_table(["impact", "rule", "what", "where", "element"], [
            [(_e(v.impact), v.impact), (_e(v.rule), "code"), (_e(v.description), ""), (_e(v.file), "where"),
             (_e(v.html), "code")]
            for v in a.violations], "No violations."))
    else:
        parts.append('<h2 id="ace">DAISY Ace</h2><p class="none">Not run.</p>')

    parts.append('<h2 id="pages">The first pages, as two reading engines draw them</h2>')
    parts.append("<p>Left: Chromium (the browser engine of epub.js, Readium and Thorium), the first screen of each "
                 "document. Right: MuPDF (KOReader, SumatraPDF and many e-ink readers), the first page of each "
                 f"document, at {_e('480 × 720')} CSS pixels.</p>")
    parts.append(_pages(drawn, missing))
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def write_html(report: CheckReport, output: str | Path, *, count: int = 4) -> list[str]:
    """Draw the first `count` pages and write the report to `output`, atomically.  Returns what
    could not be drawn (an engine not installed), one line each; the report says so too."""
    drawn, missing = pages(report.epub, count)
    write_atomic(Path(output), render_html(report, drawn, missing).encode("utf-8"))
    return missing
