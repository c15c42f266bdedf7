"""Issue 3: accessibility metadata follows the content; a conformance claim only when earned."""

from __future__ import annotations

import pytest
from helpers import Epub
from PIL import Image

from book import build
from book.errors import BuildFailed
from book.check.statement import package_metadata, render_text, statement


def _build(tmp_path, body, front=""):
    src = tmp_path / "a.md"
    src.write_text(f"---\ntitle: Metadata\nlang: en\n{front}---\n\n# Heading\n\n{body}\n", "utf-8")
    Image.new("RGB", (40, 30), (10, 120, 10)).save(tmp_path / "pic.png")
    return build(src, tmp_path / "a.epub")


def _meta(result):
    return Epub(result.output)


def test_no_images_is_not_visual(tmp_path):
    e = _meta(_build(tmp_path, "Just text."))
    assert e.meta("schema:accessMode") == ["textual"]
    assert e.meta("schema:accessModeSufficient") == ["textual"]
    assert "alternativeText" not in e.meta("schema:accessibilityFeature")


def test_decorative_only_is_not_visual(tmp_path):
    e = _meta(_build(tmp_path, "Text.\n\n![](pic.png){.decorative}"))
    assert e.meta("schema:accessMode") == ["textual"]
    assert "alternativeText" not in e.meta("schema:accessibilityFeature")
    assert "Decorative images are hidden" in e.meta("schema:accessibilitySummary")[0]


def test_informative_images_are_visual_and_described(tmp_path):
    e = _meta(_build(tmp_path, "![A green rectangle.](pic.png)"))
    assert e.meta("schema:accessMode") == ["textual", "visual"]
    assert "textual" in e.meta("schema:accessModeSufficient")
    features = e.meta("schema:accessibilityFeature")
    assert {"alternativeText", "tableOfContents", "readingOrder", "structuralNavigation",
            "displayTransformability"} <= set(features)
    assert e.meta("schema:accessibilityHazard") == ["none"]


def test_removing_a_description_fails_the_build(tmp_path):
    _build(tmp_path, "![A green rectangle.](pic.png)")
    with pytest.raises(BuildFailed) as err:
        _build(tmp_path, "![](pic.png)")
    assert "a.md:8: error: [img-alt-missing]" in str(err.value)


def test_structural_navigation_only_with_headings(tmp_path):
    with_headings = _meta(_build(tmp_path, "text\n\n## Deeper\n\ntext"))
    assert "structuralNavigation" in with_headings.meta("schema:accessibilityFeature")
    assert "navigation by headings" in with_headings.meta("schema:accessibilitySummary")[0]
    src = tmp_path / "flat.md"
    src.write_text("---\ntitle: Flat\nlang: en\n---\n\nOnly a paragraph.\n", "utf-8")
    flat = Epub(build(src, tmp_path / "flat.epub").output)
    assert "structuralNavigation" not in flat.meta("schema:accessibilityFeature")
    assert "navigation by headings" not in flat.meta("schema:accessibilitySummary")[0]


def test_skipped_heading_stops_the_build(tmp_path):
    """axe's heading-order would fail the book in Ace, so the build refuses it."""
    with pytest.raises(BuildFailed, match=r"error: \[heading-skip\]"):
        _build(tmp_path, "text\n\n### Deep\n\ntext")


def test_summary_in_the_books_language(tmp_path):
    src = tmp_path / "es.md"
    src.write_text("---\ntitle: Libro\nlang: es\n---\n\n# Uno\n\nTexto.\n", "utf-8")
    e = Epub(build(src, tmp_path / "es.epub").output)
    assert e.meta("schema:accessibilitySummary")[0].startswith("Esta publicación es texto")


def test_front_matter_overrides(tmp_path):
    e = _meta(_build(tmp_path, "text", "accessibility:\n  summary: My own words.\n  hazards: [unknown]\n"))
    assert e.meta("schema:accessibilitySummary") == ["My own words."]
    assert e.meta("schema:accessibilityHazard") == ["unknown"]


def test_no_claim_without_a_certifier(tmp_path):
    r = _build(tmp_path, "text")
    assert not _meta(r).meta("dcterms:conformsTo")
    r = _build(tmp_path, "text", "accessibility:\n  conforms-to: EPUB Accessibility 1.1 - WCAG 2.2 Level AA\n")
    assert not _meta(r).meta("dcterms:conformsTo")
    assert any("certified-by" in b for b in r.conformance_blockers)


def test_no_claim_when_a_rule_warns(tmp_path):
    r = _build(tmp_path, "See [click here](https://example.org/).", "accessibility:\n  certified-by: Jane Doe\n")
    assert not _meta(r).meta("dcterms:conformsTo")
    assert any("link-vague" in b for b in r.conformance_blockers)


@pytest.mark.checkers
def test_claim_written_when_every_check_passes(tmp_path):
    r = _build(tmp_path, "![A green rectangle.](pic.png)",
               "accessibility:\n  certified-by: Jane Doe\n  certifier-credential: DAISY Ace user\n"
               "  exemption: eaa-microenterprise\n")
    assert r.conformance_blockers == [], r.conformance_blockers
    e = _meta(r)
    assert e.meta("dcterms:conformsTo") == ["EPUB Accessibility 1.1 - WCAG 2.2 Level AA"]
    assert e.meta("a11y:certifiedBy") == ["Jane Doe"]
    assert e.meta("a11y:certifierCredential") == ["DAISY Ace user"]
    assert e.meta("a11y:exemption") == ["eaa-microenterprise"]
    text = render_text(statement(package_metadata(e.files[e.opf_path])))
    assert "This publication meets accepted accessibility standards" in text
    assert "The publication was certified by Jane Doe" in text
    assert "Claims an accessibility exemption in some jurisdictions" in text


def test_statement_follows_display_guide(built):
    e = Epub(built["sample"])
    fields = {f.heading: f.statements for f in statement(package_metadata(e.files[e.opf_path]))}
    assert fields["Ways of reading"] == ("Appearance can be modified", "Readable in read aloud or dynamic braille",
                                         "Has alternative text",
                                         "No information about prerecorded audio is available")
    assert fields["Conformance"] == (
        "Conformance to accepted standards for accessibility of this publication cannot be determined",)
    assert fields["Navigation"] == ("Table of contents", "Headings")
    assert fields["Hazards"] == ("No hazards",)
    assert fields["Accessibility summary"][0].startswith("This publication is text")


def test_statement_without_metadata():
    fields = {f.heading: f.statements for f in statement({})}
    assert fields["Ways of reading"][0] == "No information about appearance modifiability is available"
    assert "Hazards" not in fields


def test_summary_languages(built, tmp_path):
    assert Epub(built["arabic"]).meta("schema:accessibilitySummary")[0].startswith("هذا المنشور نص")
    assert Epub(built["japanese"]).meta("schema:accessibilitySummary")[0].startswith("この出版物はテキストで")
    # A language the W3C Display Guide has no translation for (Swahili): the English summary,
    # marked as English.
    src = tmp_path / "sw.md"
    src.write_text("---\ntitle: Kitabu\nlang: sw\n---\n\n# Moja\n\nMaandishi.\n", "utf-8")
    epub = Epub(build(src, tmp_path / "sw.epub").output)
    summary = epub.opf.xpath("//opf:meta[@property='schema:accessibilitySummary']", namespaces={"opf": "http://www.idpf.org/2007/opf"})[0]
    assert summary.text.startswith("This publication is text")
    assert summary.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    # Dutch, which book has no sentences for but the Display Guide has words for: the guide's
    # Dutch statements of this book's metadata, in the book's language (no xml:lang of its own).
    src = tmp_path / "nl.md"
    src.write_text("---\ntitle: Boek\nlang: nl\n---\n\n# Een\n\nTekst.\n", "utf-8")
    epub = Epub(build(src, tmp_path / "nl.epub").output)
    summary = epub.opf.xpath("//opf:meta[@property='schema:accessibilitySummary']", namespaces={"opf": "http://www.idpf.org/2007/opf"})[0]
    assert summary.text == ("Leesmethoden: Het uiterlijk kan worden aangepast. Leesbaar in hardop voorlezen of "
                            "dynamische braille. Navigatie: Inhoudsopgave. Koppen. Gevaren: Geen gevaren."), summary.text
    assert summary.get("{http://www.w3.org/XML/1998/namespace}lang") is None
