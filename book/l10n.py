"""The few words `book` itself writes into a book, in the book's language (WCAG 3.1.1: a page's
language must match its text, so an Arabic book gets Arabic labels, not English ones)."""

from __future__ import annotations

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
}


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
