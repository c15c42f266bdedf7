"""The conformance claim: written only when it is earned.

EPUB Accessibility 1.1 §3 lets a publication claim conformance (`dcterms:conformsTo`) and asks
who evaluated it (`a11y:certifiedBy`).  `book` writes the claim only when the author names the
certifier, the build's own rules found nothing that stands in the way, and EPUBCheck and DAISY
Ace pass on the very file that makes it; otherwise it is dropped and the reasons are reported.
"""

from __future__ import annotations

from pathlib import Path

from ..source.metadata import Metadata
from .a11y import CONFORMANCE_AA, CONFORMS_TO_VALUES
from .writer import Claim

# Warnings of these rules stand in the way of a claim: each is a WCAG success criterion at
# risk (1.1.1 images, 1.3.1/2.4.6 headings, 2.4.4 links, 1.3.1 tables).
BLOCKING_RULES = ("img-", "heading-", "link-", "table-")


def blockers_in(findings) -> list[str]:
    """The findings that stand in the way of a conformance claim, as lines to print."""
    return [str(f) for f in findings if f.severity == "warning" and f.rule.startswith(BLOCKING_RULES)]


def decide(meta: Metadata, blockers: list[str]) -> Claim | None:
    """The claim the author asked for, or None.  What stands in its way is added to `blockers`."""
    a = meta.accessibility
    if not (a.conforms_to or a.certified_by):
        return None
    if not a.certified_by:
        blockers.append("accessibility.certified-by is missing: a conformance claim must name who "
                        "certifies it (EPUB Accessibility 1.1 §3.2)")
    if a.conforms_to and a.conforms_to not in CONFORMS_TO_VALUES:
        blockers.append(f"accessibility.conforms-to '{a.conforms_to}' is not one of: "
                        + "; ".join(CONFORMS_TO_VALUES))
    if blockers:
        return None
    return Claim(a.conforms_to or CONFORMANCE_AA, a.certified_by or "", a.certifier_credential or "",
                 a.certifier_report or "")


def verify(candidate: Path) -> list[str]:
    """What EPUBCheck and DAISY Ace say against the claim in `candidate` (nothing: it stands)."""
    from ..check import tools

    reasons = []
    try:
        report = tools.run_epubcheck(candidate)
        if report.fatals or report.errors or report.warnings:
            reasons += [f"EPUBCheck: {m}" for m in report.messages] or ["EPUBCheck reported problems"]
        ace = tools.run_ace(candidate)
        reasons += [f"DAISY Ace: {v}" for v in ace.violations]
    except (tools.ToolMissing, tools.ToolFailed) as e:
        reasons.append(f"the checkers could not run ({e}); install them with: bash .ci/install-tools")
    return reasons
