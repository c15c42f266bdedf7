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


# Month names for the date on the title page, in the languages book has labels for.
_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "ar": "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر",
    "he": "ינואר פברואר מרץ אפריל מאי יוני יולי אוגוסט ספטמבר אוקטובר נובמבר דצמבר",
}


def human_date(iso: str, lang: str) -> str:
    """A YYYY-MM-DD date as a reader of `lang` writes it ("14 March 2024", "March 14, 2024" in
    US English, "14. März 2024", "2024年3月14日"), so it reads well on the page and aloud (a
    speech engine says an ISO date digit group by digit group).  The ISO form stays in the
    `<time datetime>` around it.  Other languages, and anything else, keep the ISO form."""
    try:
        year, month, day = (int(x) for x in iso.split("-"))
    except ValueError:
        return iso
    primary = lang.split("-")[0].lower()
    if primary == "ja":
        return f"{year}年{month}月{day}日"
    months = _MONTHS.get(primary)
    if months is None or not 1 <= month <= 12:
        return iso
    name = months.split()[month - 1]
    if primary == "en" and lang.lower() in ("en-us", "en-ph"):
        return f"{name} {day}, {year}"
    return {"es": f"{day} de {name} de {year}", "de": f"{day}. {name} {year}", "he": f"{day} ב{name} {year}",
            "fr": f"{'1er' if day == 1 else day} {name} {year}"}.get(primary, f"{day} {name} {year}")


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
