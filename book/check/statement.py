"""An accessibility statement in the words of the W3C "Accessibility Metadata Display Guide for
Digital Publications" (2.0), as a reading system or a bookshop would show it.

The statement is computed from the package metadata alone — exactly what a reader's software
sees — so it shows what the book claims, not what we hope it does.  Field order and the English
strings follow the guide's techniques for EPUB
(https://www.w3.org/publishing/a11y/display-guide/techniques/epub-metadata/).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .epubfile import xml_parser

OPF = "http://www.idpf.org/2007/opf"


@dataclass(frozen=True)
class Field:
    heading: str
    statements: tuple[str, ...]


def package_metadata(opf_bytes: bytes) -> dict[str, list[str]]:
    """`property` → values of every `meta` (and `link rel`) in the package metadata."""
    root = etree.fromstring(opf_bytes, xml_parser())
    out: dict[str, list[str]] = {}
    for el in root.iter(f"{{{OPF}}}meta", f"{{{OPF}}}link"):
        if el.get("property"):
            out.setdefault(el.get("property"), []).append((el.text or "").strip())
        elif el.get("rel"):
            for rel in el.get("rel").split():
                out.setdefault(rel, []).append(el.get("href", ""))
    for el in root.iter("{http://purl.org/dc/elements/1.1/}source"):
        out.setdefault("dc:source", []).append((el.text or "").strip())
    return out


def statement(meta: dict[str, list[str]]) -> list[Field]:
    modes = set(meta.get("schema:accessMode", []))
    sufficient = [set(v.replace(" ", "").split(",")) for v in meta.get("schema:accessModeSufficient", [])]
    features = set(meta.get("schema:accessibilityFeature", []))
    hazards = set(meta.get("schema:accessibilityHazard", []))
    fields = []

    # Ways of reading: always shown.
    ways = []
    if "displayTransformability" in features:
        ways.append("Appearance can be modified")
    else:
        ways.append("No information about appearance modifiability is available")
    textual_only = modes == {"textual"} or {"textual"} in sufficient
    if textual_only:
        ways.append("Readable in read aloud or dynamic braille")
    elif "textual" in modes:
        ways.append("Not fully readable in read aloud or dynamic braille")
    else:
        ways.append("No information about nonvisual reading is available")
    if features & {"alternativeText", "longDescription", "describedMath", "transcript"}:
        ways.append("Has alternative text")
    if "longDescription" in features:
        ways.append("Has extended descriptions")
    if "synchronizedAudioText" in features:
        ways.append("Prerecorded audio synchronized with text")
    else:
        ways.append("No information about prerecorded audio is available")
    fields.append(Field("Ways of reading", tuple(ways)))

    # Conformance: always shown.
    conf = []
    conforms = " ".join(meta.get("dcterms:conformsTo", []))
    if "Level AA" in conforms or "Level AAA" in conforms:
        conf.append("This publication meets accepted accessibility standards")
    elif conforms:
        conf.append("This publication meets minimum accessibility standards")
    else:
        conf.append("Conformance to accepted standards for accessibility of this publication cannot be determined")
    for who in meta.get("a11y:certifiedBy", []):
        conf.append(f"The publication was certified by {who}")
    for cred in meta.get("a11y:certifierCredential", []):
        conf.append(f"The certifier's credential is {cred}")
    if meta.get("a11y:certifierReport"):
        conf.append("For more information refer to the certifier's report")
    fields.append(Field("Conformance", tuple(conf)))

    nav = [label for key, label in (("tableOfContents", "Table of contents"), ("index", "Index"),
                                    ("structuralNavigation", "Headings"), ("pageNavigation", "Go to page"))
           if key in features]
    # Page numbers from a print edition: a page list (or page breaks) with a source that names
    # an edition — `pageBreakSource` other than "none", or a dc:source (EPUB Accessibility
    # Techniques 1.1 §4.1).  "none" means page numbers of this digital edition only.
    sources = [s for s in meta.get("pageBreakSource", []) if s and s.lower() != "none"]
    if (features & {"pageNavigation", "pageBreakMarkers", "printPageNumbers"}
            and (sources or (meta.get("dc:source") and not meta.get("pageBreakSource")))):
        nav.append("Page numbers identical to print")
    if nav:
        fields.append(Field("Navigation", tuple(nav)))

    rich = [label for key, label in (
        ("MathML", "Math as MathML"), ("describedMath", "Text descriptions of math are provided"),
        ("longDescription", "Information-rich images are described by extended descriptions"),
        ("chemML", "Chemical formulas in accessible format (ChemML)"))
        if key in features]
    if rich:
        fields.append(Field("Rich content", tuple(rich)))

    if hazards:
        if hazards == {"none"} or hazards >= {"noFlashingHazard", "noMotionSimulationHazard", "noSoundHazard"}:
            haz = ["No hazards"]
        elif "unknown" in hazards:
            haz = ["The presence of hazards is unknown"]
        else:
            haz = [label for key, label in (("flashing", "Flashing content"), ("motionSimulation", "Motion simulation"),
                                            ("sound", "Sounds")) if key in hazards] or ["No hazards"]
        fields.append(Field("Hazards", tuple(haz)))

    if meta.get("schema:accessibilitySummary"):
        fields.append(Field("Accessibility summary", tuple(meta["schema:accessibilitySummary"])))
    if meta.get("a11y:exemption"):
        fields.append(Field("Legal considerations", ("Claims an accessibility exemption in some jurisdictions",)))
    extra = []
    if features & {"pageBreakMarkers", "printPageNumbers"}:
        extra.append("Page breaks included")
    if "ARIA" in features:
        extra.append("ARIA roles included")
    if "ttsMarkup" in features:
        extra.append("Text-to-speech hinting provided")
    if extra:
        fields.append(Field("Additional accessibility information", tuple(extra)))
    return fields


def render_text(fields: list[Field]) -> str:
    lines = []
    for f in fields:
        lines.append(f.heading)
        lines += [f"  - {s}" for s in f.statements]
    return "\n".join(lines)
