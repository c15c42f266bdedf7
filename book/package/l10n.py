"""The few words `book` itself writes into a book, in the book's language (WCAG 3.1.1: a page's
language must match its text, so an Arabic book gets Arabic labels, not English ones)."""

from __future__ import annotations

import datetime as _dt
import functools

LABELS = {
    "en": {"contents": "Contents", "disclaimer": "Disclaimer", "landmarks": "Landmarks", "cover": "Cover",
           "titlepage": "Title page", "start": "Start of the text", "by": "by", "code": "Code",
           "cover_alt": "Cover of “{title}” by {authors}.", "cover_alt_noauthor": "Cover of “{title}”."},
    "es": {"contents": "Índice", "disclaimer": "Aviso", "landmarks": "Puntos de referencia", "cover": "Cubierta",
           "titlepage": "Portada", "start": "Inicio del texto", "by": "por", "code": "Código",
           "cover_alt": "Cubierta de «{title}», de {authors}.", "cover_alt_noauthor": "Cubierta de «{title}»."},
    "fr": {"contents": "Table des matières", "disclaimer": "Avertissement", "landmarks": "Repères",
           "cover": "Couverture", "titlepage": "Page de titre", "start": "Début du texte", "by": "par",
           "code": "Code", "cover_alt": "Couverture de « {title} », par {authors}.",
           "cover_alt_noauthor": "Couverture de « {title} »."},
    "de": {"contents": "Inhalt", "disclaimer": "Haftungsausschluss", "landmarks": "Orientierungspunkte",
           "cover": "Umschlag", "titlepage": "Titelseite", "start": "Beginn des Textes", "by": "von",
           "code": "Code", "cover_alt": "Umschlag von „{title}“ von {authors}.",
           "cover_alt_noauthor": "Umschlag von „{title}“."},
    "ar": {"contents": "المحتويات", "disclaimer": "إخلاء المسؤولية", "landmarks": "المعالم", "cover": "الغلاف",
           "titlepage": "صفحة العنوان", "start": "بداية النص", "by": "تأليف", "code": "شيفرة",
           "cover_alt": "غلاف «{title}» تأليف {authors}.", "cover_alt_noauthor": "غلاف «{title}»."},
    "he": {"contents": "תוכן העניינים", "disclaimer": "כתב ויתור", "landmarks": "ציוני דרך", "cover": "כריכה",
           "titlepage": "עמוד שער", "start": "תחילת הטקסט", "by": "מאת", "code": "קוד",
           "cover_alt": "כריכת „{title}” מאת {authors}.", "cover_alt_noauthor": "כריכת „{title}”."},
    "ja": {"contents": "目次", "disclaimer": "免責事項", "landmarks": "ランドマーク", "cover": "表紙",
           "titlepage": "扉", "start": "本文の始まり", "by": "著", "code": "コード",
           "cover_alt": "{authors}『{title}』の表紙。", "cover_alt_noauthor": "『{title}』の表紙。"},
    "hi": {"contents": "विषय-सूची", "disclaimer": "अस्वीकरण", "landmarks": "मुख्य स्थान", "cover": "आवरण",
           "titlepage": "शीर्षक पृष्ठ", "start": "पाठ का आरंभ", "by": "लेखक", "code": "कोड",
           "cover_alt": "{authors} की पुस्तक “{title}” का आवरण।", "cover_alt_noauthor": "“{title}” का आवरण।"},
    "zh": {"contents": "目录", "disclaimer": "免责声明", "landmarks": "导航标志", "cover": "封面",
           "titlepage": "扉页", "start": "正文开始", "by": "作者", "code": "代码",
           "cover_alt": "{authors}著《{title}》的封面。", "cover_alt_noauthor": "《{title}》的封面。"},
}


def _babel_locale(lang: str):
    """The CLDR locale (Babel) nearest to a BCP 47 tag: language-script-region, then without the
    region, then the language alone; None when CLDR has no data for the language.  A bare `en`
    is CLDR's `en_001`, "world English" (14 March 2024): CLDR's `en` is US English, and a book
    tagged `en` says nothing about the United States."""
    from babel import Locale, UnknownLocaleError

    from ..source import subtags

    simple = subtags.simple(lang)
    if simple is not None:  # `en`, `pt-BR`: what langcodes reads in it, without importing it
        language, tag_script, tag_territory = simple[0], None, simple[1]
    else:
        import langcodes

        try:
            tag = langcodes.Language.get(lang)
        except (ValueError, LookupError):
            return None
        language, tag_script, tag_territory = (tag.language or "").lower(), tag.script, tag.territory
    if not language:
        return None
    if language == "en" and not tag_territory:
        return Locale("en", "001")
    for script, territory in ((tag_script, tag_territory), (tag_script, None), (None, tag_territory), (None, None)):
        try:
            return Locale(language, territory=territory, script=script)
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return None


@functools.lru_cache(maxsize=256)
def human_date(iso: str, lang: str) -> str:
    """A YYYY-MM-DD date as a reader of `lang` writes it ("14 March 2024", "March 14, 2024" in
    US English, "14. März 2024", "2024年3月14日", "14 मार्च 2024"), so it reads well on the page
    and aloud (a speech engine says an ISO date digit group by digit group).  The words and the
    order are CLDR's "long" date format for the locale (Babel), so every language CLDR knows gets
    its own.  The ISO form stays in the `<time datetime>` around it; a language CLDR has no data
    for, or anything but a real date, keeps the ISO form, which is neutral."""
    try:
        day = _dt.date.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    locale = _babel_locale(lang)
    if locale is None:
        return iso
    from babel.dates import format_date

    return format_date(day, "long", locale=locale)


def join_names(names, lang: str) -> str:
    """Names as one phrase in the book's language, with CLDR's list pattern ("Ada, Grace and
    Alan"; "Ada y Grace"; "Ada、Grace和Alan"): a screen reader reads "and" where a sighted
    reader sees the comma.  Without CLDR data for the language, commas."""
    names = list(names)
    locale = _babel_locale(lang) if len(names) > 1 else None
    if locale is None:
        return ", ".join(names)
    from babel.lists import format_list

    return format_list(names, locale=locale)


def labels(primary_language: str) -> dict[str, str]:
    return LABELS.get(primary_language, LABELS["en"])


def label_lang(lang: str) -> str:
    """The language the labels are really in: the book's own, or English as a fallback."""
    return lang if lang.split("-")[0].lower() in LABELS else "en"


def lang_attrs(book_lang: str) -> str:
    """` lang="en" xml:lang="en"` for a label when the labels fall back to English in a book of
    another language (WCAG 3.1.2, language of parts); empty when they are in the book's language."""
    lang = label_lang(book_lang)
    return "" if lang == book_lang else f' lang="{lang}" xml:lang="{lang}"'
