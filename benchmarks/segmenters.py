"""Which sentence segmenter read-aloud uses: pysbd, ICU's BreakIterator (PyICU) and book's former
regular expression, measured on the sentences of the multilingual test books.

    python benchmarks/segmenters.py            # needs pysbd; PyICU is measured when installed

Each paragraph below is taken from a test book under tests/sources/ (or content/), with its
sentences split by hand; a segmenter gets a paragraph right when it returns exactly those
sentences.  Then each segments every paragraph 200 times, for its speed.  The result is in the
README ("Read aloud"), and why book uses what it uses is in book/narrate/sentences.py.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# (language, sentences of one paragraph); the paragraph is the sentences joined by a space, or
# by nothing in Chinese and Japanese.
LABELLED = [
    ("en", ["Back pain is a prevalent and debilitating condition that affects millions of people worldwide.",
            "Finding effective treatments for back pain is crucial for improving the quality of life for those "
            "suffering from this condition."]),
    ("en", ["Dr. Patel said so.", "Then we left."]),
    ("en", ["Try gentle exercise, e.g. walking or swimming.", "Ask your GP if it does not help."]),
    ("en", ["Most back pain gets better within weeks.", "Does it?", "Yes!"]),
    ("en", ["Gabapentin vs. placebo: the results were mixed.", "More studies are needed."]),
    ("es", ["El dolor de espalda afecta a millones de personas en todo el mundo.",
            "Consulte siempre a su médico antes de tomar un medicamento."]),
    ("es", ["La Sra. García lo recomienda.", "¿Duele?", "Sí, a veces."]),
    ("de", ["Rückenschmerzen sind weit verbreitet.", "Dr. Müller empfiehlt z. B. regelmäßige Bewegung.",
            "Die meisten Beschwerden bessern sich innerhalb weniger Wochen."]),
    ("de", ["Fragen Sie Ihre Ärztin, bevor Sie ein Medikament nehmen.", "Wärme hilft vielen Menschen!",
            "Hilft auch Ruhe?", "Nur kurz."]),
    ("ar", ["آلام الظهر حالة شائعة تصيب ملايين الناس حول العالم.", "استشر طبيبك دائماً قبل تناول أي دواء."]),
    ("ar", ["هل تحتاج إلى طبيب؟", "نعم، إذا استمر الألم."]),
    ("he", ["כאבי גב נפוצים מאוד.", "רוב האנשים מחלימים תוך כמה שבועות.", "האם כדאי לפנות לרופא?",
            "כן, אם הכאב נמשך."]),
    ("he", ["התייעצו עם הרופא לפני נטילת תרופה.", "חום עוזר לאנשים רבים!"]),
    ("hi", ["पीठ दर्द बहुत आम है।", "ज़्यादातर लोग कुछ हफ़्तों में ठीक हो जाते हैं।", "क्या आपको लंबे समय से दर्द है?",
            "डॉक्टर से सलाह लें।"]),
    ("hi", ["कोई भी दवा लेने से पहले अपने डॉक्टर से पूछें।", "हल्का व्यायाम मदद करता है!", "आराम भी ज़रूरी है।"]),
    ("zh", ["背痛很常见。", "大多数人几周内会好转！", "你需要看医生吗？", "如果疼痛持续，请咨询医生。"]),
    ("zh", ["服药前请先咨询医生。", "热敷对很多人有帮助。"]),
    ("ja", ["腰痛は多くの人に影響を与える一般的な症状です。", "長時間の座り仕事、運動不足、姿勢の悪さなどが原因になります。"]),
    ("ja", ["医師に相談してください。", "痛みは続きますか？", "はい。"]),
]


def paragraph(lang: str, sentences: list[str]) -> str:
    return ("" if lang in ("zh", "ja") else " ").join(sentences)


# book 0.2's own splitter, kept here only to be measured against: a regular expression and an
# abbreviation list for English, Spanish, French and German.
_END = re.compile(r"(?:[.!?…؟]+[\"'”’»)\]]*\s+)|(?:[。！？]+[」』）]*\s*)")
_ABBR = frozenset("dr mr mrs ms mx prof sr sra srta dra jr st mt vs eg ie cf approx fig figs no nos vol pp ca "
                  "dept univ mme mlle mgr bzw zb usw evtl ggf dh".split())


def regex_split(text: str, lang: str) -> list[str]:
    out, start = [], 0
    for m in _END.finditer(text):
        if m.group().strip() == ".":
            word = re.search(r"(\w[\w.]*)$", text[:m.start()])
            if word and word.group(1).replace(".", "").lower() in _ABBR:
                continue
            if text[m.end():m.end() + 1].islower():
                continue
        out.append(text[start:m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return out


def pysbd_split(text: str, lang: str) -> list[str]:
    from book.narrate.sentences import split

    return [piece for piece, _ends in split(text, lang)]


_ICU: dict = {}


def icu_split(text: str, lang: str) -> list[str]:
    import icu

    if lang not in _ICU:  # one iterator per language, made once (CLDR's suppressions asked for)
        _ICU[lang] = icu.BreakIterator.createSentenceInstance(icu.Locale(f"{lang}@ss=standard"))
    it = _ICU[lang]
    it.setText(text)
    out, start = [], 0
    for end in it:
        out.append(text[start:end])
        start = end
    return out


def measure(name: str, split) -> None:
    right, wrong = 0, []
    for lang, sentences in LABELLED:
        got = [s.strip() for s in split(paragraph(lang, sentences), lang) if s.strip()]
        if got == sentences:
            right += 1
        else:
            wrong.append(f"{lang}: {got}")
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(200):
            for lang, sentences in LABELLED:
                split(paragraph(lang, sentences), lang)
        runs.append(time.perf_counter() - start)
    per = statistics.median(runs) / (200 * len(LABELLED)) * 1e6
    print(f"{name:8} {right}/{len(LABELLED)} paragraphs right, {per:7.1f} µs per paragraph")
    for w in wrong:
        print(f"           wrong: {w}")


if __name__ == "__main__":
    measure("regex", regex_split)
    measure("pysbd", pysbd_split)
    try:
        import icu  # noqa: F401
    except ImportError:
        print("PyICU   not installed (pip install PyICU needs a C++ compiler and libicu-dev)")
    else:
        measure("PyICU", icu_split)
