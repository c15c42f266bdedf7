"""The ONIX 3.1 record of a book, from the same facts as its package document.

Retailers and libraries do not open the EPUB to list a book: they read its ONIX record, and
since the European Accessibility Act they read its accessibility codes (ONIX code list 196,
"E-publication Accessibility Details", in `ProductFormFeature` with type 09, and list 143
hazards with type 12).  Typed by hand, those codes drift away from what the EPUB says.  Here
they are a translation of the very :class:`book.package.a11y.Discovery` and
:class:`book.package.writer.Claim` that the build wrote into the package document — never a
second list — so the two cannot disagree (tests/test_onix.py compares them, code by code).

Every code below, and how codes pair, is from the code lists' Issue 75 (October 2026; the
annotations of ONIX_BookProduct_CodeLists.xsd that PyPI `onixcheck` 0.9.12 ships), checked
against the DAISY Accessible Publishing Knowledge Base's page for each code
(kb.daisy.org/publishing/docs/metadata/onix/codelist-196/196-NN.html) and the W3C "Schema.org
Accessibility Properties Crosswalk" (Community Group report, 2024-09-06) for the EPUB terms.

`book build --onix` writes ``NAME.onix.xml`` beside the EPUB; ``--onix=embed`` also puts it in
the EPUB as a linked record (EPUB 3.3 §5.5.6, ``<link rel="record" properties="onix">``).
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from lxml import etree

from ..errors import UsageError
from ..source.metadata import Metadata
from .a11y import Discovery
from .writer import Claim

NS = "http://ns.editeur.org/onix/3.1/reference"
RELEASE = "3.1"
CODE_LISTS_ISSUE = 75  # the issue of the code lists the tables below were taken from

# schema.org accessibilityFeature (as the package document writes it) → list 196 code.
FEATURE_CODES: dict[str, str] = {
    # 36 "Appearance of all textual content can be modified": the e-publication does not
    # restrict users modifying and reflowing the display of text (size, typeface, spacing,
    # colours) to the full extent the reading system allows.
    "displayTransformability": "36",
    # 13 "Single logical reading order": all textual matter in one logical reading order,
    # non-textual content linked from it.
    "readingOrder": "13",
    # 11 "Table of contents navigation": direct (hyperlinked) access to all levels of text
    # organisation above paragraphs.
    "tableOfContents": "11",
    # 29 "Next / Previous structural navigation": headings correctly marked up, for next /
    # previous heading navigation without returning to the table of contents.
    "structuralNavigation": "29",
    # 14 "Short alternative textual descriptions": all non-text content has short (alt)
    # descriptions; decorative content can be ignored.
    "alternativeText": "14",
    # 15 "Full alternative textual descriptions": extended descriptions of non-text content,
    # elaborating on the short description.
    "longDescription": "15",
    # 17 "Accessible math content as MathML".
    "MathML": "17",
    # 53 "Described math content": a textual description of mathematical content.
    "describedMath": "53",
    # 18 "Accessible chemistry content as ChemML".
    "ChemML": "18",
    # 20 "Synchronized pre-recorded audio": text-synchronised narration (natural or synthesised
    # voice) for substantially all text, e.g. via a SMIL media overlay.
    "synchronizedAudioText": "20",
    # 19 "Print-equivalent page numbering": references to the page numbering of an equivalent
    # printed product, or page break markers such as doc-pagebreak; its source is a
    # RelatedProduct with relation code 13 (list 51, "Epublication based on (print product)").
    "pageBreakMarkers": "19",
    "printPageNumbers": "19",
    # 41 "Page list navigation": page number navigation based on print-equivalent page numbers
    # (code 19) or digital-only static page breaks.
    "pageNavigation": "41",
    # 12 "Index navigation": an index with hyperlinks to the uses of its terms.
    "index": "12",
    # 30 "ARIA roles provided".
    "ARIA": "30",
    # 21 "Text-to-speech hinting provided" (PLS, SSML, CSS Speech).
    "ttsMarkup": "21",
}
# 52 "All non-decorative content supports reading without sight": the publication can be read
# entirely as text (speech, braille) — the DAISY KB: equivalent to a sufficient access mode of
# `textual` alone.
READABLE_WITHOUT_SIGHT = "52"
# 00 "Accessibility summary": ProductFormFeatureDescription holds a short summary of the
# product's accessibility, consistent with the structured codes.
SUMMARY = "00"
# 04 "EPUB Accessibility Specification 1.1": conforms to EPUB Accessibility 1.1; "use with other
# List 196 codes to indicate WCAG version and level" — the KB: it must be paired with one of
# 80/81/82 (WCAG 2.0/2.1/2.2) and one of 84/85/86 (Level A/AA/AAA), each also only with 04.
EPUB_A11Y_11 = "04"
WCAG_VERSION = {"2.0": "80", "2.1": "81", "2.2": "82"}  # 80 "WCAG v2.0", 81 "WCAG v2.1", 82 "WCAG v2.2"
WCAG_LEVEL = {"A": "84", "AA": "85", "AAA": "86"}  # 84 "WCAG level A", 85 "WCAG level AA", 86 "WCAG level AAA"
# 90 "Compliance certification by (name)": the organisation responsible for compliance testing
# and certification (EPUB `a11y:certifiedBy`; crosswalk).
CERTIFIED_BY = "90"
# 88 "Certifier credentialled by (name)" / 89 "(URL)": who certifies the certifier — the KB:
# the credential held by the certifier, as text (88) or a URL (89) (EPUB `a11y:certifierCredential`).
CREDENTIAL_NAME, CREDENTIAL_URL = "88", "89"
# 94 "Compliance web page for detailed accessibility information": the URL of the certifier's
# report (EPUB `a11y:certifierReport`; crosswalk).
CERTIFIER_REPORT = "94"
# 75 "EAA exception 1 – Micro-enterprises", 76 "EAA exception 2 – Disproportionate burden",
# 77 "EAA exception 3 – Fundamental alteration" (EPUB `a11y:exemption`).
EXEMPTIONS = {"eaa-microenterprise": "75", "eaa-disproportionate-burden": "76",
              "eaa-fundamental-alteration": "77"}

# schema.org accessibilityHazard → list 143 codes ("US CPSIA or other international hazard
# warning"), with ProductFormFeatureType 12.  The DAISY KB (codelist-143): state each of the
# three hazards, or 00 "No known hazards or warnings" when there are none.
HAZARD_CODES: dict[str, tuple[str, ...]] = {
    "none": ("00",),  # 00 No known hazards or warnings (product assessed)
    "flashing": ("13",),  # 13 WARNING – Flashing hazard
    "noFlashingHazard": ("14",),  # 14 No flashing hazard warning necessary
    "unknownFlashingHazard": ("24",),  # 24 Flashing risk unknown
    "sound": ("15",),  # 15 WARNING – Sound hazard
    "noSoundHazard": ("16",),  # 16 No sound hazard warning necessary
    "unknownSoundHazard": ("25",),  # 25 Sound risk unknown
    "motionSimulation": ("17",),  # 17 WARNING – Motion simulation hazard
    "noMotionSimulationHazard": ("18",),  # 18 No motion simulation hazard warning necessary
    "unknownMotionSimulationHazard": ("26",),  # 26 Motion simulation risk unknown
    "unknown": ("24", "25", "26"),  # each of the three risks unknown
}

ACCESSIBILITY_TYPE = "09"  # list 79: "E-publication accessibility detail", values from list 196
HAZARD_TYPE = "12"  # list 79: "US CPSIA or other international hazard warning", values from list 143

_CONFORMS = re.compile(r"^EPUB Accessibility 1\.1 - WCAG (2\.[012]) Level (A{1,3})$")


def record_path(epub: Path) -> Path:
    """Where ``--onix`` writes the record: ``NAME.onix.xml`` beside ``NAME.epub``."""
    return epub.with_name(epub.stem + ".onix.xml")


def accessibility_codes(discovery: Discovery, claim: Claim | None, exemption: str | None = None
                        ) -> list[tuple[str, str, str | None]]:
    """(ProductFormFeatureType, value, description or None) for every accessibility fact:
    exactly those the package document states, translated."""
    out: list[tuple[str, str, str | None]] = []
    if claim is not None:
        m = _CONFORMS.match(claim.conforms_to)
        if m:
            out += [(ACCESSIBILITY_TYPE, EPUB_A11Y_11, None), (ACCESSIBILITY_TYPE, WCAG_VERSION[m.group(1)], None),
                    (ACCESSIBILITY_TYPE, WCAG_LEVEL[m.group(2)], None)]
        if claim.certified_by:
            out.append((ACCESSIBILITY_TYPE, CERTIFIED_BY, claim.certified_by))
            if claim.certifier_credential:
                url = re.match(r"^https?://", claim.certifier_credential)
                out.append((ACCESSIBILITY_TYPE, CREDENTIAL_URL if url else CREDENTIAL_NAME, claim.certifier_credential))
        if claim.certifier_report:
            out.append((ACCESSIBILITY_TYPE, CERTIFIER_REPORT, claim.certifier_report))
    seen: set[str] = set()
    for feature in discovery.features:
        code = FEATURE_CODES.get(feature)
        if code and code not in seen:
            seen.add(code)
            out.append((ACCESSIBILITY_TYPE, code, None))
    if ("textual",) in discovery.access_modes_sufficient:
        out.append((ACCESSIBILITY_TYPE, READABLE_WITHOUT_SIGHT, None))
    if exemption in EXEMPTIONS:
        out.append((ACCESSIBILITY_TYPE, EXEMPTIONS[exemption], None))
    out.append((ACCESSIBILITY_TYPE, SUMMARY, discovery.summary))
    hazards: list[str] = []
    for hazard in discovery.hazards:
        for code in HAZARD_CODES.get(hazard, ()):
            if code not in hazards:
                hazards.append(code)
    out += [(HAZARD_TYPE, code, None) for code in hazards]
    return out


def _language(tag: str) -> str:
    """ONIX list 74 is ISO 639-2/B: the bibliographic three-letter code (``fre``, ``ger``) of
    the book's BCP 47 primary language subtag."""
    try:
        import pycountry
    except ImportError:
        raise UsageError("the ONIX record needs PyPI pycountry, which is not installed",
                         hint="pip install 'book[onix]'") from None
    primary = tag.split("-")[0].lower()
    lang = (pycountry.languages.get(alpha_2=primary) if len(primary) == 2
            else pycountry.languages.get(alpha_3=primary))
    if lang is None:
        return "und"  # ISO 639-2 "Undetermined"
    return getattr(lang, "bibliographic", None) or lang.alpha_3


def _product_id(identifier: str) -> tuple[str, str]:
    """(list 5 ProductIDType, IDValue): 15 ISBN-13 (digits only), 06 DOI, 22 URN (``urn:uuid:…``
    and any other URN), else 01 proprietary (a publisher's own identifier)."""
    compact = identifier.replace("-", "").replace(" ", "")
    m = re.fullmatch(r"(?:urn:isbn:)?(97[89]\d{10})", compact, re.IGNORECASE)
    if m:
        return "15", m.group(1)
    m = re.fullmatch(r"(?:urn:doi:|doi:|https?://doi\.org/)(10\..+)", identifier, re.IGNORECASE)
    if m:
        return "06", m.group(1)
    if identifier.lower().startswith("urn:"):
        return "22", identifier
    return "01", identifier


def _isbn13(urn: str) -> str | None:
    m = re.fullmatch(r"urn:isbn:(97[89]\d{10})", urn.replace("-", ""), re.IGNORECASE)
    return m.group(1) if m else None


def onix_record(meta: Metadata, discovery: Discovery, claim: Claim | None, *, sent: _dt.datetime) -> bytes:
    """The ONIX 3.1 message (reference tags) with the one Product this book is.  `sent` is the
    message's date: the book's own (book.package.writer.modified_time), so the same source
    gives the same bytes."""

    def el(parent, tag, text=None, **attrs):
        e = etree.SubElement(parent, f"{{{NS}}}{tag}", **attrs)
        if text is not None:
            e.text = text
        return e

    root = etree.Element(f"{{{NS}}}ONIXMessage", nsmap={None: NS}, release=RELEASE)
    header = el(root, "Header")
    sender = el(header, "Sender")
    el(sender, "SenderName", meta.publisher or (meta.authors[0] if meta.authors else "book"))
    el(header, "SentDateTime", sent.strftime("%Y%m%d"))

    product = el(root, "Product")
    el(product, "RecordReference", meta.identifier)
    el(product, "NotificationType", "03")  # list 1: notification confirmed on publication
    id_type, id_value = _product_id(meta.identifier)
    pid = el(product, "ProductIdentifier")
    el(pid, "ProductIDType", id_type)
    if id_type == "01":
        el(pid, "IDTypeName", "Publisher identifier")  # required with a proprietary scheme
    el(pid, "IDValue", id_value)

    detail = el(product, "DescriptiveDetail")
    el(detail, "ProductComposition", "00")  # list 2: single-component retail product
    el(detail, "ProductForm", "ED")  # list 150: digital download
    el(detail, "ProductFormDetail", "E101")  # list 175: EPUB
    for kind, value, description in accessibility_codes(discovery, claim, meta.accessibility.exemption):
        feature = el(detail, "ProductFormFeature")
        el(feature, "ProductFormFeatureType", kind)
        el(feature, "ProductFormFeatureValue", value)
        if description:
            el(feature, "ProductFormFeatureDescription", description)
    title = el(detail, "TitleDetail")
    el(title, "TitleType", "01")  # list 15: distinctive title
    element = el(title, "TitleElement")
    el(element, "TitleElementLevel", "01")  # list 149: product
    el(element, "TitleText", meta.title)
    if meta.subtitle:
        el(element, "Subtitle", meta.subtitle)
    if meta.authors:
        for n, author in enumerate(meta.authors, 1):
            c = el(detail, "Contributor")
            el(c, "SequenceNumber", str(n))
            el(c, "ContributorRole", "A01")  # list 17: by (author)
            el(c, "PersonName", author)
    else:
        el(detail, "NoContributor")
    language = el(detail, "Language")
    el(language, "LanguageRole", "01")  # list 22: language of text
    el(language, "LanguageCode", _language(meta.lang))
    for subject in meta.subjects:
        s = el(detail, "Subject")
        el(s, "SubjectSchemeIdentifier", "20")  # list 27: keywords
        el(s, "SubjectHeadingText", subject)

    if meta.description:
        collateral = el(product, "CollateralDetail")
        text = el(collateral, "TextContent")
        el(text, "TextType", "03")  # list 153: description
        el(text, "ContentAudience", "00")  # list 154: unrestricted
        el(text, "Text", meta.description)

    if meta.publisher or meta.date:
        publishing = el(product, "PublishingDetail")
        if meta.publisher:
            p = el(publishing, "Publisher")
            el(p, "PublishingRole", "01")  # list 45: publisher
            el(p, "PublisherName", meta.publisher)
        if meta.date:
            d = el(publishing, "PublishingDate")
            el(d, "PublishingDateRole", "01")  # list 163: publication date
            el(d, "Date", meta.date.replace("-", ""))

    isbn = _isbn13(meta.page_source or "")
    if isbn and "pageBreakMarkers" in discovery.features:
        # Code 19's source of page numbers: "Use <RelatedProduct> with relation code 13".
        related = el(el(product, "RelatedMaterial"), "RelatedProduct")
        el(related, "ProductRelationCode", "13")  # list 51: Epublication based on (print product)
        rid = el(related, "ProductIdentifier")
        el(rid, "ProductIDType", "15")
        el(rid, "IDValue", isbn)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
