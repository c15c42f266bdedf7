"""`book check BOOK.epub`: EPUBCheck, DAISY Ace and our own rules on any EPUB, and the
accessibility statement a reading system would show for it.

Our rules run on the EPUB's own documents here (not the Markdown), so `check` works on books
made by any tool; they are the same rule functions the build uses (book.rules), reporting
through the same :class:`book.rules.Reporter`, located in the document's XHTML.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from .. import rules
from ..errors import SourceError, ToolError
from ..rules.locate import Locator
from ..source.metadata import is_valid_language_tag
from .epubfile import EpubFile, parse_xml
from .statement import Field, package_metadata, statement

if TYPE_CHECKING:
    from . import tools as checkers

# The checkers (book.check.tools) and lxml.html are imported by the functions that use them: a
# build imports this package for the Display Guide's words (book.check.display_words) alone.

OPF = "http://www.idpf.org/2007/opf"


@dataclass
class CheckReport:
    """What ``book check`` found: EPUBCheck's and Ace's reports (None when turned off), our
    rules' findings, and the accessibility statement a reading system would show."""

    epub: Path
    epubcheck: checkers.EpubcheckReport | None
    ace: checkers.AceReport | None
    findings: list[rules.Finding]
    statement: list[Field]
    skipped: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        n = sum(1 for f in self.findings if f.severity == rules.ERROR)
        if self.epubcheck:
            n += self.epubcheck.fatals + self.epubcheck.errors
        if self.ace:
            n += len(self.ace.violations)
        return n

    @property
    def ok(self) -> bool:
        return self.errors == 0 and not self.skipped

    def to_json(self) -> dict:
        return {
            "epub": str(self.epub),
            "ok": self.ok,
            "epubcheck": None if self.epubcheck is None else {
                "fatals": self.epubcheck.fatals, "errors": self.epubcheck.errors,
                "warnings": self.epubcheck.warnings,
                "messages": [{"severity": m.severity, "id": m.id, "message": m.message, "location": m.location}
                             for m in self.epubcheck.messages]},
            "ace": None if self.ace is None else {
                "violations": [{"rule": v.rule, "impact": v.impact, "file": v.file, "html": v.html}
                               for v in self.ace.violations]},
            "rules": [{"rule": f.rule, "severity": f.severity, "message": f.message, "file": f.file,
                       "line": f.line, "hint": f.hint} for f in self.findings],
            "statement": {f.heading: list(f.statements) for f in self.statement},
            "skipped": self.skipped,
        }


# How to describe an image, in the words of the XHTML being checked.
XHTML_ALT_HINT = 'add alt text that says what the picture shows, or alt="" if it is decorative'


def _spine(z: EpubFile) -> tuple[str, bytes, list[str]]:
    try:
        container = parse_xml(z.read("META-INF/container.xml"), "META-INF/container.xml", z.path)
        opf_path = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
        opf = z.read(opf_path)
        root = parse_xml(opf, opf_path, z.path)
    except (KeyError, IndexError) as e:
        raise SourceError(f"not a readable EPUB ({e})", file=str(z.path), hint="run EPUBCheck on it for details") from None
    base = posixpath.dirname(opf_path)
    items = {i.get("id"): i.get("href") for i in root.iter(f"{{{OPF}}}item")}
    spine = [posixpath.normpath(posixpath.join(base, items[r.get("idref")]))
             for r in root.iter(f"{{{OPF}}}itemref") if r.get("idref") in items]
    return opf_path, opf, spine


def epub_rules(path: Path) -> tuple[list[rules.Finding], dict[str, list[str]]]:
    """Our accessibility rules on the documents of any EPUB, plus its package metadata."""
    import lxml.html

    findings: list[rules.Finding] = []
    with EpubFile(path) as z:
        opf_path, opf, spine = _spine(z)
        meta = package_metadata(opf)
        lang = parse_xml(opf, opf_path, path).findtext(".//{http://purl.org/dc/elements/1.1/}language") or ""
        if not is_valid_language_tag(lang.strip()):
            findings.append(rules.finding("lang-invalid", f"the book's language '{lang}' is not a BCP 47 tag",
                                          opf_path, None, "set dc:language, e.g. en-US"))
        headings = []
        for name in spine:
            try:
                text = z.read(name).decode("utf-8", "replace")
            except KeyError:
                continue
            ctx = rules.Reporter(name, Locator(text))
            try:
                doc = lxml.html.document_fromstring(text.encode("utf-8"))
            except (etree.ParserError, ValueError):
                continue
            body = doc.find("body")
            if body is None:
                continue
            for el in doc.iter():
                if isinstance(el.tag, str) and el.get("lang"):
                    rules.check_lang(ctx, el, f'lang="{el.get("lang")}"')
            rules.check_tree(ctx, body)
            for img in body.iter("img"):
                alt, src = img.get("alt"), img.get("src", "")
                # alt="" (or role presentation) is how XHTML marks a decorative image (WCAG
                # 1.1.1 decoration); a missing alt, or blanks, describe nothing.
                if alt == "" or img.get("role") in ("presentation", "none"):
                    continue
                rules.check_image(ctx, img, (alt or "").strip(), src, ctx.locator.line(f'src="{src}"', src),
                                  missing_hint=XHTML_ALT_HINT)
            for h in body.iter("h1", "h2", "h3", "h4", "h5", "h6"):
                text_ = re.sub(r"\s+", " ", h.text_content()).strip()
                headings.append((int(h.tag[1]), text_, name, ctx.locator.line(text_[:30]) if text_ else None))
            findings += ctx.findings
        findings += _heading_order_across(headings)
    return findings, meta


def _heading_order_across(headings):
    """Each spine document may start again at any level (a chapter starts with h1); a skip is a
    jump of more than one level down inside the reading order of one document."""
    out, by_doc = [], {}
    for h in headings:
        by_doc.setdefault(h[2], []).append(h)
    for doc_headings in by_doc.values():
        out += rules.check_heading_order(doc_headings)
    return out


def check(path: str | Path, *, epubcheck: bool = True, ace: bool = True, progress=None) -> CheckReport:
    """Check any EPUB: EPUBCheck (validity), DAISY Ace and our rules (accessibility), and the
    accessibility statement of its metadata.  Raises :class:`book.errors.ToolError` when a
    checker is missing or fails to run (exit code 4), SourceError when `path` is not an EPUB."""
    from . import tools as checkers

    path = Path(path)
    if not path.is_file():
        raise SourceError("no such EPUB file", file=str(path))
    say = progress or (lambda _m: None)
    say("running the accessibility rules")
    findings, meta = epub_rules(path)
    result = CheckReport(path, None, None, findings, statement(meta))
    for enabled, name, run in ((epubcheck, "EPUBCheck", checkers.run_epubcheck), (ace, "DAISY Ace", checkers.run_ace)):
        if not enabled:
            result.skipped.append(f"{name} (turned off)")
            continue
        say(f"running {name}")
        try:
            report = run(path)
        except checkers.ToolMissing as e:
            raise ToolError(str(e)) from None  # it already says how to install the tool
        except checkers.ToolFailed as e:
            if result.epubcheck is not None and (result.epubcheck.fatals or result.epubcheck.errors):
                # The EPUB is broken (EPUBCheck says so) and Ace gave up on it: a finding about
                # the book, not a broken installation — the report says so and the check fails.
                result.skipped.append(f"{name} could not check this EPUB, which EPUBCheck found broken: "
                                      f"{_why_it_failed(str(e))}")
                continue
            raise ToolError(f"{name} failed: {e}") from None
        if name == "EPUBCheck":
            result.epubcheck = report
        else:
            result.ace = report
    return result


# Ace's log lines are coloured (ANSI SGR sequences) and name files inside the folder it unpacks
# the EPUB to (`<tmp>/tmp-<pid>-<random>/EPUB/...`); neither means anything in a report.
_COLOUR = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_UNPACKED = re.compile(r"/\S*?/tmp-\d+-[A-Za-z0-9]+/")


def _why_it_failed(failure: str) -> str:
    """One line from a checker's failure: its `error:` log lines (Ace: "Failed to parse EPUB;
    Ace processing error: ENOENT: no such file or directory, open 'EPUB/text/ch001.xhtml'"),
    each once, with paths inside the EPUB; else the failure's first line."""
    lines = [_UNPACKED.sub("", _COLOUR.sub("", line)).strip() for line in failure.splitlines()]
    errors: list[str] = []
    for line in lines:
        if line.startswith("error:") and (err := line[len("error:"):].strip()):
            if not any(err in seen for seen in errors):
                errors = [seen for seen in errors if seen not in err] + [err]
    return "; ".join(errors) if errors else next((line for line in lines if line), failure)
