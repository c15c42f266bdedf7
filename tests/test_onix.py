"""Issue 15: the ONIX 3.1 record follows from the same facts as the package document.

Every record is validated against EDItEUR's ONIX 3.1 XML schema (reference tags, with the code
lists of Issue 75) by PyPI `onixcheck`, which ships the official XSDs; the schema checks every
code value against its code list, so a code that does not exist fails the test too.
"""

from __future__ import annotations

import functools
import shutil
import zipfile

import onixcheck
import pytest
from conftest import require
from helpers import NS, Epub
from lxml import etree
from PIL import Image

from book import build
from book.cli import main
from book.package import onix

ONIX = {"o": onix.NS}


def _book(tmp_path, body: str, front: str = "", name: str = "a", **options):
    src = tmp_path / f"{name}.md"
    src.write_text(f"---\ntitle: A Record\nlang: en-GB\nauthor: [Ada Example, Grace Sample]\n{front}---\n\n"
                   f"# Heading\n\n{body}\n", "utf-8")
    Image.new("RGB", (40, 30), (10, 120, 10)).save(tmp_path / "pic.png")
    result = build(src, tmp_path / f"{name}.epub", onix="file", **options)
    assert result.onix == tmp_path / f"{name}.onix.xml" and result.onix.is_file()
    return result


def _valid(path) -> etree._Element:
    errors = onixcheck.validate(str(path))
    assert errors == [], [e.short for e in errors]
    root = etree.parse(str(path)).getroot()
    lists = {onix.ACCESSIBILITY_TYPE: set(_code_list(196)), onix.HAZARD_TYPE: set(_code_list(143))}
    for kind, known in lists.items():
        assert set(_codes(root, kind)) <= known
    return root


def _codes(root, kind: str = onix.ACCESSIBILITY_TYPE) -> list[str]:
    return root.xpath(f"//o:ProductFormFeature[o:ProductFormFeatureType='{kind}']/o:ProductFormFeatureValue/text()",
                      namespaces=ONIX)


def _description(root, code: str) -> list[str]:
    return root.xpath(f"//o:ProductFormFeature[o:ProductFormFeatureType='09' and o:ProductFormFeatureValue='{code}']"
                      "/o:ProductFormFeatureDescription/text()", namespaces=ONIX)


def _agree(result, root) -> None:
    """The package document and the record say the same, feature by feature."""
    e = Epub(result.output)
    features = e.meta("schema:accessibilityFeature")
    codes = _codes(root)
    expected = {onix.FEATURE_CODES[f] for f in features if f in onix.FEATURE_CODES}
    feature_codes = set(onix.FEATURE_CODES.values())
    assert {c for c in codes if c in feature_codes} == expected
    assert _description(root, onix.SUMMARY) == e.meta("schema:accessibilitySummary")
    hazards = [c for h in e.meta("schema:accessibilityHazard") for c in onix.HAZARD_CODES[h]]
    assert _codes(root, onix.HAZARD_TYPE) == hazards
    assert (onix.READABLE_WITHOUT_SIGHT in codes) == ("textual" in e.meta("schema:accessModeSufficient"))
    conforms = e.meta("dcterms:conformsTo")
    assert (onix.EPUB_A11Y_11 in codes) == bool(conforms)
    assert root.xpath("string(//o:TitleText)", namespaces=ONIX) == e.dc("title")[0]
    assert root.xpath("//o:Contributor/o:PersonName/text()", namespaces=ONIX) == e.dc("creator")


def test_a_book_without_images(tmp_path):
    result = _book(tmp_path, "Only text.")
    root = _valid(result.onix)
    codes = _codes(root)
    assert "14" not in codes and "15" not in codes  # no images: no alternative text to claim
    assert {"11", "13", "36", "29", "52", "00"} <= set(codes)
    assert not {"04", "80", "81", "82", "84", "85", "86", "90"} & set(codes)  # no claim asked for
    assert _codes(root, "12") == ["00"]
    assert root.xpath("string(//o:LanguageCode)", namespaces=ONIX) == "eng"
    _agree(result, root)


def test_images_page_list_descriptions_and_metadata(tmp_path):
    front = ("subtitle: With a Subtitle\npublisher: Example Press\ndate: 2024-03-14\nsubject: [pain, backs]\n"
             "description: A short article.\nidentifier: urn:isbn:978-0-306-40615-7\n"
             "page-source: urn:isbn:9780123456786\n")
    body = ("Text{page=12} more.\n\n![A green rectangle.](pic.png)\n\n::: description\nIt is 40 by 30 pixels.\n:::\n\n"
            "{page=13}\n\nEnd.")
    result = _book(tmp_path, body, front)
    root = _valid(result.onix)
    codes = _codes(root)
    assert {"14", "15", "19", "41"} <= set(codes)
    assert root.xpath("string(//o:ProductIdentifier[o:ProductIDType='15']/o:IDValue)", namespaces=ONIX) == "9780306406157"
    related = root.xpath("//o:RelatedProduct", namespaces=ONIX)[0]
    assert related.xpath("string(o:ProductRelationCode)", namespaces=ONIX) == "13"
    assert related.xpath("string(o:ProductIdentifier/o:IDValue)", namespaces=ONIX) == "9780123456786"
    assert root.xpath("string(//o:PublisherName)", namespaces=ONIX) == "Example Press"
    assert root.xpath("string(//o:PublishingDate/o:Date)", namespaces=ONIX) == "20240314"
    assert root.xpath("string(//o:Subtitle)", namespaces=ONIX) == "With a Subtitle"
    _agree(result, root)


def test_no_descriptions_no_page_list_no_15_19_41(tmp_path):
    root = _valid(_book(tmp_path, "![A green rectangle.](pic.png)").onix)
    codes = _codes(root)
    assert "14" in codes and not {"15", "19", "41"} & set(codes)
    assert not root.xpath("//o:RelatedProduct", namespaces=ONIX)


def test_an_undescribed_image_has_no_14_and_no_52(tmp_path):
    # The author overrides what is sufficient: the record follows the package document.
    result = _book(tmp_path, "![A green rectangle.](pic.png)",
                   "accessibility:\n  access-modes-sufficient: [\"textual,visual\"]\n")
    root = _valid(result.onix)
    assert "52" not in _codes(root)
    _agree(result, root)


def test_a_certifier_that_is_missing_gives_no_conformance_codes(tmp_path):
    result = _book(tmp_path, "Text.", "accessibility:\n  conforms-to: EPUB Accessibility 1.1 - WCAG 2.2 Level AA\n"
                                      "  exemption: eaa-microenterprise\n")
    root = _valid(result.onix)
    codes = _codes(root)
    assert not {"04", "82", "85", "90"} & set(codes)
    assert "75" in codes  # the exemption stands on its own
    _agree(result, root)


def test_hazards_follow_the_front_matter(tmp_path):
    result = _book(tmp_path, "Text.", "accessibility:\n  hazards: [flashing, noSoundHazard, unknownMotionSimulationHazard]\n")
    root = _valid(result.onix)
    assert _codes(root, "12") == ["13", "16", "26"]
    _agree(result, root)


def test_the_codes_of_a_claim(tmp_path):
    """The translation of a claim, without EPUBCheck and Ace (test_claim_and_embedded_record
    below earns one for real)."""
    from book.package.a11y import Discovery
    from book.package.writer import Claim

    discovery = Discovery(("textual",), (("textual",),), ("tableOfContents",), ("none",), "Summary.")
    claim = Claim("EPUB Accessibility 1.1 - WCAG 2.1 Level A", "Example Certifier", "https://example.org/badge",
                  "https://example.org/report")
    codes = onix.accessibility_codes(discovery, claim, "eaa-fundamental-alteration")
    assert codes[:6] == [("09", "04", None), ("09", "81", None), ("09", "84", None),
                         ("09", "90", "Example Certifier"), ("09", "89", "https://example.org/badge"),
                         ("09", "94", "https://example.org/report")]
    assert ("09", "77", None) in codes and ("12", "00", None) in codes


def test_the_validator_rejects_a_wrong_record(tmp_path):
    """onixcheck really checks the schema: the same record with a code that is not in its code
    list (NotificationType, list 1), or a required element missing, fails."""
    good = _book(tmp_path, "Text.").onix
    _valid(good)
    bad = tmp_path / "bad.onix.xml"
    bad.write_bytes(good.read_bytes().replace(b"<NotificationType>03<", b"<NotificationType>77<"))
    assert onixcheck.validate(str(bad))
    bad.write_bytes(good.read_bytes().replace(b"<ProductForm>ED</ProductForm>", b""))
    assert onixcheck.validate(str(bad))


@functools.lru_cache(maxsize=None)
def _code_list(number: int) -> dict[str, str]:
    """Code → heading of ONIX code list `number`, from the code lists module of the official
    ONIX 3.1 schema that onixcheck ships."""
    from pathlib import Path

    xsd = Path(onixcheck.__file__).parent / "schema" / "xsd3.1" / "ONIX_BookProduct_CodeLists.xsd"
    tree = etree.parse(str(xsd))
    xs = {"xs": "http://www.w3.org/2001/XMLSchema"}
    assert f"ISSUE: {onix.CODE_LISTS_ISSUE}" in xsd.read_text("utf-8")[:2000]
    return {e.get("value"): e.xpath("string(xs:annotation/xs:documentation[1])", namespaces=xs)
            for e in tree.xpath(f"//xs:simpleType[@name='List{number}']//xs:enumeration", namespaces=xs)}


def test_every_code_is_in_the_current_code_lists():
    """The schema does not check a ProductFormFeatureValue against its list (the list depends on
    the type), so this does: every code book can write is in lists 196 and 143 of the code
    lists' issue the tables were written from, with the meaning their comments give."""
    list196, list143 = _code_list(196), _code_list(143)
    codes196 = {*onix.FEATURE_CODES.values(), onix.READABLE_WITHOUT_SIGHT, onix.SUMMARY, onix.EPUB_A11Y_11,
                *onix.WCAG_VERSION.values(), *onix.WCAG_LEVEL.values(), onix.CERTIFIED_BY, onix.CREDENTIAL_NAME,
                onix.CREDENTIAL_URL, onix.CERTIFIER_REPORT, *onix.EXEMPTIONS.values()}
    assert codes196 <= set(list196), codes196 - set(list196)
    assert {c for codes in onix.HAZARD_CODES.values() for c in codes} <= set(list143)
    assert list196["15"] == "Full alternative textual descriptions" and list196["82"] == "WCAG v2.2"
    assert list196["41"] == "Page list navigation" and list196["19"] == "Print-equivalent page numbering"
    assert list143["00"] == "No known hazards or warnings"
    assert _code_list(79)["09"] == "E-publication accessibility detail"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_read_aloud_gives_20(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "cache"))
    result = _book(tmp_path, "A sentence to read.", read_aloud=True)
    root = _valid(result.onix)
    assert "20" in _codes(root)
    _agree(result, root)
    plain = _valid(_book(tmp_path, "A sentence to read.", name="b").onix)
    assert "20" not in _codes(plain)


@pytest.mark.parametrize("identifier, kind, value", [
    ("urn:isbn:9780306406157", "15", "9780306406157"), ("doi:10.1000/182", "06", "10.1000/182"),
    ("urn:uuid:0b6c4a52-9a1e-4c61-8d3e-5d2f6f0a7c11", "22", "urn:uuid:0b6c4a52-9a1e-4c61-8d3e-5d2f6f0a7c11"),
    ("press-2024-017", "01", "press-2024-017")])
def test_identifiers(tmp_path, identifier, kind, value):
    root = _valid(_book(tmp_path, "Text.", f"identifier: {identifier}\n").onix)
    pid = root.xpath("//o:Product/o:ProductIdentifier", namespaces=ONIX)[0]
    assert (pid.xpath("string(o:ProductIDType)", namespaces=ONIX), pid.xpath("string(o:IDValue)", namespaces=ONIX)) == (
        kind, value)


def test_hostile_text_stays_text(tmp_path):
    result = _book(tmp_path, "Text.", 'title: "<Title> & \\"quotes\\" </ONIXMessage>"\npublisher: "A & B <Press>"\n',
                   name="h")
    root = _valid(result.onix)
    assert root.xpath("string(//o:TitleText)", namespaces=ONIX) == '<Title> & "quotes" </ONIXMessage>'


def test_same_source_same_record(tmp_path):
    first = _book(tmp_path, "Text.").onix.read_bytes()
    assert _book(tmp_path, "Text.").onix.read_bytes() == first


def test_command_line(tmp_path, capsys):
    src = tmp_path / "c.md"
    src.write_text("---\ntitle: C\nlang: fr\n---\n\n# Un\n\nTexte.\n", "utf-8")
    assert main(["build", str(src), "-o", str(tmp_path / "c.epub"), "--onix"]) == 0
    assert f"wrote {tmp_path / 'c.onix.xml'}" in capsys.readouterr().out
    root = _valid(tmp_path / "c.onix.xml")
    assert root.xpath("string(//o:LanguageCode)", namespaces=ONIX) == "fre"  # ISO 639-2/B
    with zipfile.ZipFile(tmp_path / "c.epub") as z:
        assert "EPUB/onix.xml" not in z.namelist()
    assert main(["build", str(src), "-o", str(tmp_path / "c.epub"), "--onix=sideways"]) == 2


@pytest.mark.checkers
def test_claim_and_embedded_record(tmp_path):
    """A conformance claim that EPUBCheck and Ace let stand gives 04 + 82 + 85 and the
    certifier; --onix=embed puts the same record in the EPUB as a linked record, and the EPUB
    stays valid."""
    require("epubcheck")
    require("ace")
    from book.check import tools

    src = tmp_path / "claim.md"
    src.write_text("---\ntitle: Claimed\nlang: en\naccessibility:\n  certified-by: Jane Doe, Example Press\n"
                   "  certifier-credential: DAISY Ace user\n  certifier-report: https://example.org/a11y\n"
                   "  exemption: eaa-microenterprise\npage-source: none\n---\n\n# One\n\nText{page=1} here.\n\n"
                   "![A green rectangle.](pic.png)\n\n::: description\nA plain green rectangle.\n:::\n", "utf-8")
    Image.new("RGB", (40, 30), (10, 120, 10)).save(tmp_path / "pic.png")
    result = build(src, tmp_path / "claim.epub", onix="embed")
    assert result.conformance_blockers == [], result.conformance_blockers
    root = _valid(result.onix)
    codes = _codes(root)
    assert codes[:3] == ["04", "82", "85"]
    assert _description(root, "90") == ["Jane Doe, Example Press"]
    assert _description(root, "88") == ["DAISY Ace user"]
    assert _description(root, "94") == ["https://example.org/a11y"]
    assert {"75", "14", "15", "19", "41"} <= set(codes)
    assert not root.xpath("//o:RelatedProduct", namespaces=ONIX)  # page-source: none names no print edition
    _agree(result, root)
    e = Epub(result.output)
    link = e.opf.xpath("//opf:link[@rel='record']", namespaces=NS)[0]
    assert (link.get("properties"), link.get("href"), link.get("media-type")) == ("onix", "onix.xml", "application/xml")
    assert e.files["EPUB/onix.xml"] == result.onix.read_bytes()
    assert "onix.xml" not in {i["href"] for i in e.manifest().values()}  # a linked record, not a resource
    report = tools.run_epubcheck(result.output)
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), [str(m) for m in report.messages]
