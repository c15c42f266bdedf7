"""Search-engine spam inside an article: dose and product strings glued to words
("Gabapentin600"), a dose inserted after a drug's name in a sentence ("Gabapentin 800mg primarily
targets …"), and links to shops ("buy … online", pharmacies).

Each is reported with its line so an editor decides; with --drop-spam the ones we are sure of are
removed: digits glued to a word the article also uses on its own, a dose glued to its unit
right after such a word in the middle of a sentence, and shop links (their text stays, the link
goes).  Doses written as prose ("a dose of 300 mg a day") are never touched.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

MARK_OPEN, MARK_CLOSE = "\ue001", "\ue002"  # private use: a place in the text, found again in the Markdown

_GLUED = re.compile(r"\b([A-Za-z][a-z]{3,}|[A-Z]{4,})(\d{2,4})(mg|mcg)?\b")
_DOSE_AFTER_NAME = re.compile(r"\b([A-Z][a-z]{3,})[ \u00a0](\d{2,4}(?:\.\d+)?)(mg|mcg|MG)\b(?=[ \u00a0]+[a-z]|$)")
_PRICE = re.compile(r"(\$|€|£)\s?\d+(?:[.,]\d\d)?\s*(?:/|per)\s*(?:pill|tablet|capsule|dose)\b|"
                    r"\b(?:buy|order)\s+\w+(?:\s+\w+)?\s+(?:online|without\s+(?:a\s+)?prescription)\b|"
                    r"\bwithout\s+(?:a\s+)?prescription\b|\bcheap\s+\w+\s+online\b", re.I)
_SHOP_LINK = re.compile(r"\b(buy|order|cheap|discount|pharmacy|pharma|pills?|tablets?|capsules?|casino|viagra|cialis|"
                        r"without[-_ ]prescription|\d+[-_ ]?mg)\b", re.I)


@dataclass
class Spam:
    text: str  # what the page has
    kind: str  # "glued", "dose", "price", "link"
    sure: bool  # --drop-spam removes it
    mark: str  # the marker placed in the text, to find its Markdown line
    removed: bool = False

    def message(self) -> tuple[str, str]:
        what = {"glued": "a dose or product code glued to a word", "dose": "a dose inserted after a name",
                "price": "a price or 'buy online' phrase", "link": "a link to a shop"}[self.kind]
        if self.removed:
            return f"removed spam '{self.text}' ({what})", "check the sentence still reads well"
        how = "--drop-spam removes it" if self.sure else "remove it if it is not the author's"
        return f"'{self.text}' looks like spam: {what}", how


def _words(container) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{4,}", " ".join(container.itertext()))}


def scan(container, *, drop: bool) -> list[Spam]:
    """Find (and with `drop`, remove) spam in the container, in place; each finding leaves a
    marker in the text at its place."""
    found: list[Spam] = []
    words = _words(container)
    alone = {w for w in words}

    def mark() -> str:
        return f"{MARK_OPEN}{len(found)}{MARK_CLOSE}"

    def glued(m):
        word, digits, unit = m.group(1), m.group(2), m.group(3)
        if not unit and (int(digits) < 100 or re.fullmatch(r"(19|20)\d\d", digits)):
            return m.group(0)  # "Covid19", "Summer2024": a name or a year, not a dose
        return spam_after(m, "glued", word)

    def dose(m):
        return spam_after(m, "dose", m.group(1))

    def spam_after(m, kind, word):
        """Report the spam glued after `word`; with `drop`, keep only the word when sure."""
        sure = word.lower() in alone
        s = Spam(m.group(0), kind, sure, mark())
        found.append(s)
        if drop and sure:
            s.removed = True
            return s.mark + word
        return s.mark + m.group(0)

    def price(m):
        s = Spam(m.group(0), "price", False, mark())
        found.append(s)
        return s.mark + m.group(0)

    def clean(text: str | None) -> str | None:
        if not text:
            return text
        for rx, fn in ((_DOSE_AFTER_NAME, dose), (_GLUED, glued), (_PRICE, price)):
            text = rx.sub(fn, text) if MARK_OPEN not in text else _sub_outside_marks(rx, fn, text)
        return text

    for a in list(container.iter("a")):
        href = a.get("href") or ""
        host = urllib.parse.urlsplit(href).netloc
        if host and _SHOP_LINK.search(urllib.parse.unquote(href)):
            s = Spam(re.sub(r"\s+", " ", "".join(a.itertext())).strip() or href, "link", True, mark())
            found.append(s)
            a.text = s.mark + (a.text or "")
            if drop:
                s.removed = True
                a.attrib.pop("href", None)
                a.set("data-spam", "1")
    for el in container.iter():
        if not isinstance(el.tag, str) or el.tag in ("pre", "code"):
            continue
        el.text = clean(el.text)
        if el is not container:
            el.tail = clean(el.tail)
    return found


def _sub_outside_marks(rx, fn, text: str) -> str:
    # Markers hold digits; never let a pattern match inside one.
    pieces = re.split(f"({MARK_OPEN}\\d+{MARK_CLOSE})", text)
    return "".join(p if p.startswith(MARK_OPEN) else rx.sub(fn, p) for p in pieces)


MARKS = re.compile(f"{MARK_OPEN}(\\d+){MARK_CLOSE}")
