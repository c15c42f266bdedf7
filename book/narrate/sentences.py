"""Where sentences end, for read-aloud: pysbd ("Pragmatic Sentence Boundary Disambiguation",
rules from the Golden Rules corpus for 23 languages: abbreviations such as "Dr.", "z. B.",
"Sra.", numbers such as "3.", ellipses, the Devanagari danda "।", the CJK full stops "。！？").

Chosen by measurement (benchmarks/segmenters.py, on the sentences of the multilingual test
books; the figures are in the README): pysbd splits every labelled paragraph right, where ICU's
BreakIterator (PyICU) breaks after "Dr." and "z. B." even with CLDR's suppressions asked for,
and PyICU ships no wheels (it compiles against libicu-dev, which a stock Linux box and a
virtual environment lack), while pysbd is pure Python.  It is slower than ICU, and still a
fraction of the speech engine's time per sentence.

A language pysbd has no rules for gets those of a language written in the same script
(CLDR's likely script, through langcodes: Hebrew and other alphabetic scripts → English,
Nepali → Hindi, Cantonese → Chinese, Kazakh in Cyrillic → Russian …), which is where sentence
punctuation differs.
"""

from __future__ import annotations

import functools
import re
import threading

# pysbd's languages (pysbd.languages.LANGUAGE_CODES), and for the rest, a language of the same script.
_PYSBD = frozenset("en hi mr zh es am ar hy bg ur ru pl fa nl da fr my el it ja de kk sk".split())
_BY_SCRIPT = {"Deva": "hi", "Arab": "ar", "Hans": "zh", "Hant": "zh", "Hani": "zh", "Jpan": "ja", "Cyrl": "ru",
              "Grek": "el", "Armn": "hy", "Ethi": "am", "Mymr": "my"}
# A piece that ends with sentence punctuation (and closing quotes or brackets), then a space or
# the end: whether it really ends a sentence is asked of pysbd (see `split`).
_TERMINAL_END = re.compile(r"[.!?…؟।॥。！？][\"'”’»)\]」』）]*\s*$")
# pysbd's Arabic, Persian and Urdu rules count the Arabic comma "،" and the colon among sentence
# ends (their `Punctuations`): a clause is not a sentence, so a piece ending so runs on.
_CLAUSE_ENDS = {"ar": ("،", ":"), "fa": ("،", ":"), "ur": ("،", ":")}
# Titles and abbreviations that travel between languages ("Dra. López" quoted in an English
# article, "Dr. Patel" in a Spanish one): pysbd knows each language's own, and a full stop after
# one of these never ends a sentence, whatever the language around it.  Compared lower-cased
# and without inner full stops ("e.g." → "eg").
_ABBREVIATIONS = frozenset("""
dr mr mrs ms mx prof sr sra srta dra jr st mt vs eg ie cf approx fig figs no nos vol pp ca
dept univ mme mlle mgr bzw zb usw evtl ggf dh
""".split())
_LAST_WORD = re.compile(r"(\w[\w.]*)\.\s*$")
_local = threading.local()  # pysbd's segmenters keep state while they work: one per thread


@functools.lru_cache(maxsize=256)
def rules_for(lang: str) -> str:
    """The pysbd language whose rules split text in `lang` (a BCP 47 tag)."""
    primary = (lang or "en").split("-")[0].lower()
    if primary in _PYSBD:
        return primary
    try:
        import langcodes

        script = langcodes.Language.get(lang).maximize().script
    except (ValueError, LookupError):
        return "en"
    return _BY_SCRIPT.get(script, "en")


def _segmenter(rules: str):
    cache = getattr(_local, "segmenters", None)
    if cache is None:
        cache = _local.segmenters = {}
    if rules not in cache:
        import pysbd

        cache[rules] = pysbd.Segmenter(language=rules, clean=False, char_span=True)
    return cache[rules]


# pysbd knows the ellipsis as three full stops, not as the one character "…" (U+2026) that
# typographers and word processors write; it is given a full stop in its place (one character
# for one, so the offsets stay those of the text).
_ELLIPSIS = str.maketrans("…", ".")


def _starts(text: str, rules: str) -> list[int]:
    """Where each sentence pysbd finds in `text` starts, as offsets into `text`."""
    text = text.translate(_ELLIPSIS)
    starts, at = [], 0
    for span in _segmenter(rules).segment(text):
        # pysbd's spans are offsets into the text; each is found again from where the last one
        # ended, so a repeated sentence maps to its own place.
        begin = text.find(span.sent, at) if span.sent else -1
        if begin < 0:
            continue
        if text[:begin].strip():  # not the spaces a run of text starts with
            starts.append(begin)
        at = begin + len(span.sent)
    return starts


def _join_clauses(pieces: list[str], marks: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for piece in pieces:
        if out and out[-1].rstrip().endswith(marks):
            out[-1] += piece
        else:
            out.append(piece)
    return out


def _after_abbreviation(piece: str) -> bool:
    word = _LAST_WORD.search(piece)
    return bool(word) and word.group(1).replace(".", "").lower() in _ABBREVIATIONS


def _join_abbreviations(pieces: list[str]) -> list[str]:
    out: list[str] = []
    for piece in pieces:
        if out and _after_abbreviation(out[-1]):
            out[-1] += piece
        else:
            out.append(piece)
    return out


# pysbd's time grows with the square of a text's length (30,000 characters of "a. a. a." take
# 20 s), so a long run of text is given to it in pieces of at most this many characters, each
# cut after sentence punctuation and a space where there is one (else at a space), so a hostile
# paragraph costs seconds, not hours, and an ordinary one is split exactly as a whole.
CHUNK = 1000
_CUT = re.compile(r"[.!?…؟।॥。！？][\"'”’»)\]」』）]*\s+")


def split(text: str, lang: str) -> list[tuple[str, bool]]:
    """Text (one run of text between inline elements) → [(piece, ends_sentence)]: the pieces,
    joined, are `text`, each with the spaces that follow it; pieces that do not end a sentence
    run on into the next.  The last piece ends its sentence only when it ends in sentence
    punctuation that pysbd would break after if more text followed ("… weeks. " before a note
    reference or an emphasised next sentence), not after an abbreviation ("Dr. " before an
    emphasised name)."""
    out: list[tuple[str, bool]] = []
    start = 0
    while len(text) - start > CHUNK:
        window = text[start + CHUNK // 2:start + CHUNK]
        cuts = list(_CUT.finditer(window))
        if cuts:
            end = start + CHUNK // 2 + cuts[-1].end()
        else:
            space = window.rfind(" ")
            end = start + CHUNK // 2 + space + 1 if space >= 0 else start + CHUNK
        out += _split(text[start:end], lang)
        start = end
    return out + _split(text[start:], lang)


def _split(text: str, lang: str) -> list[tuple[str, bool]]:
    if not text.strip():
        return [(text, False)] if text else []
    rules = rules_for(lang)
    cuts = [0, *(s for s in _starts(text, rules) if 0 < s < len(text)), len(text)]
    pieces = [text[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]
    if rules in _CLAUSE_ENDS:
        pieces = _join_clauses(pieces, _CLAUSE_ENDS[rules])
    pieces = _join_abbreviations(pieces)
    out = [(p, True) for p in pieces[:-1]]
    last = pieces[-1]
    ends = False
    if _TERMINAL_END.search(last) and not _after_abbreviation(last):
        # Ask with a sentence after it: "Dr. Patel" stays one, "weeks. Walking" is two.
        probe = "我" if rules in ("zh", "ja") else "A"
        body = last.rstrip()
        ends = len(_starts(body + ("" if rules in ("zh", "ja") else " ") + probe, rules)) > 0
    out.append((last, ends))
    return out
