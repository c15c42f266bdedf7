"""The accessibility statement in the reader's language, in the W3C Display Guide's own words.

`statement.statement` speaks the guide's canonical English.  The guide's task force publishes
its compact statements translated into 38 languages (W3C Software and Document License; the
strings, their source commit and the licence are in `display_guide/`), so a Hindi or Hebrew
book's statement — in `book check --html` and in the generated accessibility summary — reads
as a Hindi or Hebrew reading system would show it, not in English.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from .statement import Field

_DATA = Path(__file__).with_name("display_guide") / "strings.json"
# Statements that carry a value after the guide's words ("… certified by " + who).
_PREFIXED = ("conformance-certifier", "conformance-certifier-credentials")


@functools.lru_cache(maxsize=1)
def _languages() -> dict[str, dict[str, str]]:
    return json.loads(_DATA.read_text("utf-8"))["languages"]


@functools.lru_cache(maxsize=1)
def _english_keys() -> dict[str, str]:
    """The canonical English statement → its key in the guide's vocabulary."""
    return {text: key for key, text in _languages()["en-US"].items() if key not in _PREFIXED}


@functools.lru_cache(maxsize=256)
def vocabulary_for(lang: str) -> str | None:
    """The guide's translation nearest to a BCP 47 tag: the same language and region
    (`pt-BR`), else the same language and script (`zh-Hant` → `zh-TW`), else the language
    (`de` → `de-DE`; a bare `en` → the canonical `en-US` words); None when the guide has no
    translation for the language."""
    from ..source import subtags

    simple = subtags.simple(lang)
    if simple is not None:
        # `it`, `ru-RU`: langcodes reads the language as written (book.source.subtags), and so it
        # reads each of the guide's tags (tests/test_languages.py); with no translation in that
        # language, or one, there is nothing to weigh and langcodes need not be imported.
        same = [tag for tag in _languages() if tag.split("-")[0] == simple[0]]
        if len(same) <= 1:
            return same[0] if same else None
    return _chosen_by_langcodes(lang)


def _chosen_by_langcodes(lang: str) -> str | None:
    """:func:`vocabulary_for`'s choice, made by langcodes for a tag of any kind (the tests hold
    vocabulary_for's shortcut to it)."""
    import langcodes

    try:
        want = langcodes.Language.get(lang)
    except (ValueError, LookupError):
        return None
    if not want.language:
        return None
    want_full = want.maximize()
    candidates = []
    for tag in _languages():
        have = langcodes.Language.get(tag)
        if have.language != want.language:
            continue
        have_full = have.maximize()
        score = (have_full.script == want_full.script,
                 bool(want.territory) and have.territory == want.territory,
                 tag == "en-US",  # the canonical words, for a bare `en`
                 have.territory == want_full.territory)
        candidates.append((score, tag))
    return max(candidates)[1] if candidates else None


def words(lang: str) -> tuple[str, dict[str, str]]:
    """(the tag of the translation used, key → statement); the canonical English when the
    guide has none for `lang`."""
    tag = vocabulary_for(lang) or "en-US"
    return tag, _languages()[tag]


def localize(fields: list[Field], lang: str) -> tuple[str, list[Field]]:
    """`fields` (the canonical English of `statement.statement`) in the guide's words for
    `lang`: (the language they are in, the fields).  The accessibility summary is the book's
    own text and stays as it is; a statement the translation lacks stays in English."""
    tag, vocab = words(lang)
    english = _english_keys()
    canon = _languages()["en-US"]

    def say(text: str) -> str:
        # Some translations carry stray spaces at either end: shown as words, they are trimmed.
        key = english.get(text)
        if key is not None:
            return vocab.get(key, text).strip()
        for key in _PREFIXED:
            start = canon[key]
            if text.startswith(start) and key in vocab:
                return f"{vocab[key].strip()} {text[len(start):]}"
        return text

    out = []
    for f in fields:
        if f.heading == canon["accessibility-summary-title"]:
            out.append(Field(say(f.heading), f.statements))
        else:
            out.append(Field(say(f.heading), tuple(say(s) for s in f.statements)))
    return tag, out
