"""Front matter → a typed, frozen :class:`Metadata`, validated once, every problem reported by key.

The keys follow pandoc's names where pandoc has one (title, lang, author, subtitle, date, ...;
the README's front-matter table lists them all).  Validation collects every
problem before raising, so an author fixes a front matter in one pass, the way mkdocs reports a
whole configuration at once.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import uuid
from dataclasses import dataclass, field

from ..errors import Problem, SourceError
from . import subtags

# RFC 5646 (BCP 47) well-formed language tags: language[-extlang][-script][-region]*(-variant)
# *(-extension)[-privateuse], or a private-use / grandfathered tag.  Whether a subtag is in the
# IANA registry is not checked here; EPUB 3.3 §5.5.3.1 and WCAG 3.1.1 ask for a well-formed tag.
_BCP47 = re.compile(
    r"""^(
        (?P<language>[A-Za-z]{2,3}(-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})
        (-(?P<script>[A-Za-z]{4}))?
        (-(?P<region>[A-Za-z]{2}|[0-9]{3}))?
        (-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*
        (-[0-9A-WY-Za-wy-z](-[A-Za-z0-9]{2,8})+)*
        (-[xX](-[A-Za-z0-9]{1,8})+)?
      |[xX](-[A-Za-z0-9]{1,8})+
      |i-(ami|bnn|default|enochian|hak|klingon|lux|mingo|navajo|pwn|tao|tay|tsu)
      |en-GB-oed|sgn-(BE-FR|BE-NL|CH-DE)
    )$""",
    re.VERBOSE,
)

# Scripts written right to left (the "rtl" column of CLDR's scriptMetadata; Unicode's
# bidirectional class R/AL).  Which script a language is written in comes from CLDR's likely
# subtags through langcodes, so `ar`, `ckb`, `yi` and `az-Arab` are right to left and `ku`
# (Kurmanji, in Latin letters) and `az` are not.  EPUB 3.3 §5.4.1.8: `page-progression-direction`.
_RTL_SCRIPTS = {"arab", "hebr", "nkoo", "rohg", "syrc", "thaa", "adlm", "mand", "samr", "mend", "yezi",
                "hung", "phnx", "sogd", "sogo", "avst", "khar", "chrs", "elym", "hatr", "mani", "narb",
                "nbat", "orkh", "palm", "phli", "phlp", "prti", "sarb", "ougr"}

KNOWN_KEYS = (
    "title", "lang", "author", "subtitle", "publisher", "rights", "description", "subject",
    "date", "identifier", "cover-image", "cover-alt", "disclaimer", "accessibility",
    "source",  # where the text comes from: dc:source, and the base of site-relative links
    # extensions of the contract
    "split-level", "toc-depth", "chapters", "read-aloud", "page-source",
)
READ_ALOUD_KEYS = ("command", "narrator", "model")
ACCESSIBILITY_KEYS = ("summary", "hazards", "certified-by", "certifier-credential",
                      "certifier-report", "conforms-to", "exemption", "features", "access-modes",
                      "access-modes-sufficient")
EXEMPTIONS = ("eaa-disproportionate-burden", "eaa-fundamental-alteration", "eaa-microenterprise")
HAZARDS = ("none", "unknown", "flashing", "noFlashingHazard", "unknownFlashingHazard", "motionSimulation",
           "noMotionSimulationHazard", "unknownMotionSimulationHazard", "sound", "noSoundHazard",
           "unknownSoundHazard")


@functools.lru_cache(maxsize=1024)
def is_valid_language_tag(tag: str) -> bool:
    """A well-formed BCP 47 tag (RFC 5646 syntax, hyphens only: `en_US` is a locale name, not a
    tag) whose subtags are in the IANA Language Subtag Registry (langcodes carries the registry),
    so "English", "xx" or "zzz" are refused as axe's `valid-lang` and screen readers refuse them."""
    if not isinstance(tag, str) or not _BCP47.match(tag):
        return False
    if subtags.simple(tag) is not None:
        return True  # `en`, `pt-BR`: langcodes' answer, without importing it (book.source.subtags)
    import langcodes

    try:
        return langcodes.tag_is_valid(tag)
    except (ValueError, LookupError):
        return False


def language_hint(tag: str) -> str:
    guess = _language_names().get((tag or "").strip().lower().split("-")[0].split("_")[0])
    if guess:
        return f"'{tag}' is the language's name; its tag is {guess}"
    return "use a tag such as en, en-GB, es, ar, ja or zh-Hant"


@functools.lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    """Lower-cased language name → its tag, from CLDR (Babel): the English name of every
    language ("german" → de) and each language's own name ("deutsch" → de, "español" → es),
    so an author who wrote a name is told the tag.  Read only when a tag is wrong."""
    from babel import Locale, localedata

    names: dict[str, str] = {}
    for code in localedata.locale_identifiers():
        if "_" in code:
            continue
        try:
            own = Locale.parse(code).get_language_name(code)
        except (ValueError, LookupError):
            continue
        if own:
            names.setdefault(own.lower(), code)
    for code, name in Locale("en").languages.items():
        if "_" not in code:
            names[name.lower()] = code  # the English name wins over another language's own
    return names


@functools.lru_cache(maxsize=1024)
def text_direction(tag: str) -> str:
    """'rtl' or 'ltr' for a BCP 47 tag: from its script subtag, or else the script CLDR's
    likely subtags give its language (langcodes' `maximize`: `he` → `he-Hebr-IL`)."""
    if not is_valid_language_tag(tag):
        return "ltr"
    simple = subtags.simple(tag)
    if simple is not None:
        return subtags.direction(*simple)
    import langcodes

    try:
        script = langcodes.Language.get(tag).maximize().script or ""
    except (ValueError, LookupError):
        return "ltr"
    return "rtl" if script.lower() in _RTL_SCRIPTS else "ltr"


@dataclass(frozen=True)
class Accessibility:
    """Overrides and claims from the `accessibility:` front-matter key."""

    summary: str | None = None
    hazards: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    access_modes: tuple[str, ...] = ()
    access_modes_sufficient: tuple[str, ...] = ()
    certified_by: str | None = None
    certifier_credential: str | None = None
    certifier_report: str | None = None
    conforms_to: str | None = None
    exemption: str | None = None


@dataclass(frozen=True)
class Metadata:
    title: str
    lang: str
    authors: tuple[str, ...] = ()
    subtitle: str | None = None
    publisher: str | None = None
    rights: str | None = None
    description: str | None = None
    subjects: tuple[str, ...] = ()
    date: str | None = None
    identifier: str = ""
    cover_image: str | None = None
    cover_alt: str | None = None
    disclaimer: str | None = None
    accessibility: Accessibility = field(default_factory=Accessibility)
    split_level: int = 1
    toc_depth: int = 2
    chapters: tuple[str, ...] = ()
    read_aloud: dict | None = None  # {"command": ..., "narrator": ..., "model": ...} for --read-aloud
    source: str | None = None  # the page the text comes from (book import writes its URL): dc:source
    page_source: str | None = None  # the edition {page=N} markers come from: "urn:isbn:…", or "none"

    @property
    def direction(self) -> str:
        return text_direction(self.lang)

    @property
    def primary_language(self) -> str:
        return self.lang.split("-")[0].lower()


# Characters XML 1.0 (§2.2) forbids, and U+E000 which book.render.passes keeps for placeholders:
# they can never reach the package document or a page.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ue000\ud800-\udfff]")


_C0_ILLEGAL = bytes(c for c in range(32) if c not in (9, 10, 13))


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids (§2.2 Char: C0 controls but tab, LF and
    CR; surrogates; U+FFFE, U+FFFF) and U+E000 (book's placeholders).  Most texts hold none: that
    is found at the speed of bytes operations (a regular expression over a 6 MB book took
    ~15 ms), and only a text that holds one goes through the expression."""
    try:
        data = text.encode("utf-8")  # (fails on a surrogate: then the expression removes it)
    except UnicodeEncodeError:
        return _XML_ILLEGAL.sub("", text)
    if len(data.translate(None, _C0_ILLEGAL)) == len(data) and (
            text.isascii() or not ("\ue000" in text or "\ufffe" in text or "\uffff" in text)):
        return text
    return _XML_ILLEGAL.sub("", text)


def _text(value) -> str:
    """YAML gives dates, numbers and booleans; every metadata value is written as text."""
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return xml_safe(str(value))


def _did_you_mean(key, known) -> str:
    """The hint for an unknown key: the known key nearest to it, if one is near."""
    import difflib  # only for a key that is not known

    guess = difflib.get_close_matches(str(key), known, n=1)
    return f"did you mean '{guess[0]}'?" if guess else "see README for the keys"


class _Collector:
    def __init__(self, file: str, lines: dict[str, int]):
        self.file, self.lines, self.problems, self.warnings = file, lines, [], []

    def error(self, key: str, message: str, hint: str | None = None) -> None:
        # A missing key has no line of its own: point at the start of the front matter.
        self.problems.append(Problem(message, self.file, self.lines.get(key, self.lines.get("")), hint))

    def warn(self, key: str, message: str, hint: str | None = None) -> None:
        self.warnings.append(Problem(message, self.file, self.lines.get(key), hint))


def _plain(c: _Collector, raw: dict, key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        c.error(key, f"'{key}' must be plain text, not a {type(value).__name__}",
                f"write it as one line, e.g. {key}: Some text")
        return None
    text = _text(value).strip()
    return text or None


def _text_list(c: _Collector, raw: dict, key: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, (dict, list)):
            c.error(key, f"'{key}' must be a name or a list of names",
                    f"e.g. {key}: [First Person, Second Person]")
            return ()
        if _text(item).strip():
            out.append(_text(item).strip())
    return tuple(out)


def derive_identifier(title: str, lang: str, authors: tuple[str, ...], date: str | None) -> str:
    """A stable `urn:uuid:` from the metadata, so rebuilding a book gives the same identifier
    (EPUB 3.3 §5.5.3.1.1 asks for a unique identifier; a random one would change every build)."""
    basis = "\x1f".join([title, lang, *authors, date or ""])
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "book:" + basis))


def validate(raw: dict, file: str, lines: dict[str, int] | None = None,
             *, need_chapters: bool = False) -> tuple[Metadata, list[Problem]]:
    """Check the front matter and return (Metadata, warnings).  Raises SourceError listing every
    problem found, each with the line of its key."""
    c = _Collector(file, lines or {})
    if not isinstance(raw, dict):
        raise SourceError("the front matter must be a YAML mapping of keys to values", file=file,
                          line=1, hint="start with 'title: ...' and 'lang: ...'")

    for key in raw:
        if key not in KNOWN_KEYS:
            c.warn(str(key), f"unknown front-matter key '{key}' is ignored", _did_you_mean(key, KNOWN_KEYS))

    title = _plain(c, raw, "title")
    if not title:
        c.error("title", "the front matter has no 'title'", "add a line like: title: My Book")
    lang = _plain(c, raw, "lang")
    if not lang:
        c.error("lang", "the front matter has no 'lang'",
                "add the language of the text as a BCP 47 tag, e.g. lang: en-US")
    elif not is_valid_language_tag(lang):
        c.error("lang", f"'{lang}' is not a BCP 47 language tag", language_hint(lang))

    date = _plain(c, raw, "date")
    if date and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        c.error("date", f"date '{date}' is not YYYY-MM-DD", "e.g. date: 2024-03-14")
    elif date:
        try:
            _dt.date.fromisoformat(date)
        except ValueError:
            c.error("date", f"date '{date}' is not a real day", "e.g. date: 2024-03-14")

    def _level(key: str, default: int, low: int, high: int) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            c.error(key, f"'{key}' must be a whole number from {low} to {high}", f"e.g. {key}: {default}")
            return default
        return value

    split_level = _level("split-level", 1, 1, 6)
    toc_depth = _level("toc-depth", 2, 2, 6)

    cover_image = _plain(c, raw, "cover-image")
    cover_alt = _plain(c, raw, "cover-alt")
    if cover_image and not cover_alt:
        c.error("cover-image", "the cover image has no text alternative",
                "add cover-alt: a sentence describing the cover (WCAG 1.1.1)")

    disclaimer = raw.get("disclaimer")
    if disclaimer is not None and not isinstance(disclaimer, str):
        c.error("disclaimer", "'disclaimer' must be Markdown text",
                "write it as a block: disclaimer: |, then indented lines")
        disclaimer = None

    a11y = _accessibility(c, raw.get("accessibility"))

    read_aloud = raw.get("read-aloud")
    if read_aloud is not None:
        if not isinstance(read_aloud, dict) or any(not isinstance(v, (str, int, float)) for v in read_aloud.values()):
            c.error("read-aloud", "'read-aloud' must be a mapping of text values",
                    "e.g. read-aloud: {narrator: Piper, en_US lessac voice}")
            read_aloud = None
        else:
            for key in read_aloud:
                if key not in READ_ALOUD_KEYS:
                    c.warn("read-aloud", f"unknown key 'read-aloud.{key}' is ignored",
                           "the keys are: " + ", ".join(READ_ALOUD_KEYS))
            read_aloud = {k: xml_safe(str(v)) for k, v in read_aloud.items() if k in READ_ALOUD_KEYS}
    page_source = _page_source(c, raw)
    chapters = _text_list(c, raw, "chapters")
    if need_chapters and not chapters:
        c.error("chapters", "book.yaml lists no chapter files",
                "add chapters: [chapter1.md, chapter2.md]")

    if c.problems:
        raise SourceError(problems=c.problems)
    authors = _text_list(c, raw, "author")
    identifier = _plain(c, raw, "identifier") or derive_identifier(title, lang, authors, date)
    meta = Metadata(
        title=title, lang=lang, authors=authors, subtitle=_plain(c, raw, "subtitle"),
        publisher=_plain(c, raw, "publisher"), rights=_plain(c, raw, "rights"),
        description=_plain(c, raw, "description"), subjects=_text_list(c, raw, "subject"),
        date=date, identifier=identifier, cover_image=cover_image, cover_alt=cover_alt,
        disclaimer=xml_safe(disclaimer).strip() or None if disclaimer else None,
        accessibility=a11y, split_level=split_level, toc_depth=toc_depth, chapters=chapters,
        read_aloud=read_aloud, source=_plain(c, raw, "source"), page_source=page_source,
    )
    if c.problems:
        raise SourceError(problems=c.problems)
    return meta, c.warnings


_ISBN = re.compile(r"^urn:isbn:(?:97[89])?\d{9}[\dX]$", re.IGNORECASE)


def _page_source(c: _Collector, raw: dict) -> str | None:
    """`page-source`: where the book's {page=N} markers come from (the W3C "Page Source
    Identification" note's `pageBreakSource`): the print edition's ISBN as a URN, another
    URI of it, or `none` for page numbers of no other edition."""
    value = _plain(c, raw, "page-source")
    if value is None:
        return None
    if value.lower() == "none":
        return "none"
    compact = value.replace("-", "").replace(" ", "")
    if compact.lower().startswith("urn:isbn:"):
        if not _ISBN.match(compact):
            c.error("page-source", f"'{value}' is not an ISBN URN", "e.g. page-source: urn:isbn:9780123456786")
            return None
        return "urn:isbn:" + compact[9:].upper()
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:\S+", value):
        return value
    c.error("page-source", f"page-source '{value}' is not an identifier of an edition",
            "give the print edition's ISBN, e.g. page-source: urn:isbn:9780123456786, or page-source: none")
    return None


def _accessibility(c: _Collector, value) -> Accessibility:
    if value is None:
        return Accessibility()
    if not isinstance(value, dict):
        c.error("accessibility", "'accessibility' must be a mapping",
                "e.g. accessibility: {certified-by: Jane Doe}")
        return Accessibility()
    for key in value:
        if key not in ACCESSIBILITY_KEYS:
            c.warn("accessibility", f"unknown key 'accessibility.{key}' is ignored",
                   _did_you_mean(key, ACCESSIBILITY_KEYS))

    def one(key):
        v = value.get(key)
        return _text(v).strip() if v is not None and not isinstance(v, (dict, list)) else None

    def many(key):
        v = value.get(key)
        if v is None:
            return ()
        return tuple(_text(x).strip() for x in (v if isinstance(v, list) else [v]) if str(x).strip())

    hazards = many("hazards")
    for h in hazards:
        if h not in HAZARDS:
            c.error("accessibility", f"unknown hazard '{h}'", "use one of: " + ", ".join(HAZARDS))
    exemption = one("exemption")
    if exemption and exemption not in EXEMPTIONS:
        c.error("accessibility", f"unknown exemption '{exemption}'", "use one of: " + ", ".join(EXEMPTIONS))
    return Accessibility(
        summary=one("summary"), hazards=hazards, features=many("features"),
        access_modes=many("access-modes"), access_modes_sufficient=many("access-modes-sufficient"),
        certified_by=one("certified-by"), certifier_credential=one("certifier-credential"),
        certifier_report=one("certifier-report"), conforms_to=one("conforms-to"), exemption=exemption,
    )
