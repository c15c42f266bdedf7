"""Accessibility metadata computed from what the book contains (EPUB Accessibility 1.1 §2).

Nothing here is a fixed claim.  :func:`discover` looks at the rendered book — its images and how
they are described, its headings, tables, whether there is anything that could flash, move or
sound — and returns only what is true.  The front matter's `accessibility:` key may add to it or,
for hazards and summary, override it: the author knows things no program can see.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..source.metadata import Metadata

CONFORMANCE_AA = "EPUB Accessibility 1.1 - WCAG 2.2 Level AA"
CONFORMS_TO_VALUES = (
    "EPUB Accessibility 1.1 - WCAG 2.2 Level A", CONFORMANCE_AA, "EPUB Accessibility 1.1 - WCAG 2.2 Level AAA",
    "EPUB Accessibility 1.1 - WCAG 2.1 Level AA", "EPUB Accessibility 1.1 - WCAG 2.0 Level AA",
)


@dataclass(frozen=True)
class Content:
    """What the metadata is computed from."""

    informative_images: int = 0
    described_images: int = 0
    decorative_images: int = 0
    headings_well_nested: bool = True
    heading_count: int = 0
    media_overlays: bool = False
    long_descriptions: int = 0  # images with an extended description (book.render.longdesc)
    page_breaks: int = 0  # print page-break markers, each in the page list (book.render.pagebreaks)


@dataclass(frozen=True)
class Discovery:
    access_modes: tuple[str, ...]
    access_modes_sufficient: tuple[tuple[str, ...], ...]
    features: tuple[str, ...]
    hazards: tuple[str, ...]
    summary: str


# One short sentence per fact, per language; a book in Spanish deserves its summary in Spanish.
_SUMMARY = {
    "en": {
        "text": "This publication is text, with a table of contents and navigation by headings.",
        "text_nohead": "This publication is text with a table of contents.",
        "images_described": "Every image that carries information has a text description.",
        "images_missing": "Some images that carry information have no text description ({m} of {n}).",
        "decorative": "Decorative images are hidden from assistive technology.",
        "reflow": "The text reflows, and its fonts, sizes and colours can be changed in the reading system.",
        "hazards_none": "It contains nothing that flashes, moves or makes sound.",
        "hazards_none_audio": "Apart from the narration, it contains nothing that flashes, moves or makes sound.",
        "audio": "Every sentence can be heard in synthetic speech synchronised with the text.",
        "longdesc": "Complex images also have an extended description, linked from the image.",
        "pages": "Page numbers are marked in the text, with a list of pages to go to.",
    },
    "es": {
        "text": "Esta publicación es texto, con índice y navegación por encabezados.",
        "text_nohead": "Esta publicación es texto con índice.",
        "images_described": "Todas las imágenes con información tienen una descripción de texto.",
        "images_missing": "Algunas imágenes con información no tienen descripción de texto ({m} de {n}).",
        "decorative": "Las imágenes decorativas están ocultas para las tecnologías de apoyo.",
        "reflow": "El texto se adapta a la pantalla y su tipo de letra, tamaño y colores se pueden cambiar.",
        "hazards_none": "No contiene nada que parpadee, se mueva o emita sonido.",
        "hazards_none_audio": "Aparte de la narración, no contiene nada que parpadee, se mueva o emita sonido.",
        "audio": "Cada frase se puede escuchar con voz sintética sincronizada con el texto.",
        "longdesc": "Las imágenes complejas tienen además una descripción extendida, enlazada desde la imagen.",
        "pages": "Los números de página están marcados en el texto, con una lista de páginas para ir a ellas.",
    },
    "fr": {
        "text": "Cette publication est du texte, avec une table des matières et une navigation par titres.",
        "text_nohead": "Cette publication est du texte avec une table des matières.",
        "images_described": "Chaque image porteuse d’information a une description textuelle.",
        "images_missing": "Certaines images porteuses d’information n’ont pas de description textuelle ({m} sur {n}).",
        "decorative": "Les images décoratives sont masquées aux technologies d’assistance.",
        "reflow": "Le texte est recomposable ; police, taille et couleurs peuvent être modifiées.",
        "hazards_none": "Elle ne contient rien qui clignote, bouge ou émet un son.",
        "hazards_none_audio": "Hormis la narration, elle ne contient rien qui clignote, bouge ou émet un son.",
        "audio": "Chaque phrase peut être écoutée en voix de synthèse synchronisée avec le texte.",
        "longdesc": "Les images complexes ont aussi une description détaillée, liée depuis l’image.",
        "pages": "Les numéros de page sont marqués dans le texte, avec une liste des pages pour s’y rendre.",
    },
    "de": {
        "text": "Diese Publikation ist Text mit Inhaltsverzeichnis und Navigation über Überschriften.",
        "text_nohead": "Diese Publikation ist Text mit Inhaltsverzeichnis.",
        "images_described": "Jedes informative Bild hat eine Textbeschreibung.",
        "images_missing": "Einige informative Bilder haben keine Textbeschreibung ({m} von {n}).",
        "decorative": "Dekorative Bilder sind für Hilfstechnologien ausgeblendet.",
        "reflow": "Der Text fließt um; Schrift, Größe und Farben lassen sich ändern.",
        "hazards_none": "Sie enthält nichts, was blinkt, sich bewegt oder Töne abgibt.",
        "hazards_none_audio": "Außer der Erzählstimme enthält sie nichts, was blinkt, sich bewegt oder Töne abgibt.",
        "audio": "Jeder Satz kann als synthetische Sprache synchron zum Text gehört werden.",
        "longdesc": "Komplexe Bilder haben zusätzlich eine ausführliche Beschreibung, die vom Bild aus verlinkt ist.",
        "pages": "Seitenzahlen sind im Text markiert, mit einer Seitenliste zum Springen.",
    },
    "ar": {
        "text": "هذا المنشور نص، مع جدول محتويات وتنقل عبر العناوين.",
        "text_nohead": "هذا المنشور نص مع جدول محتويات.",
        "images_described": "لكل صورة تحمل معلومات وصف نصي.",
        "images_missing": "بعض الصور التي تحمل معلومات ليس لها وصف نصي ({m} من {n}).",
        "decorative": "الصور الزخرفية مخفية عن التقنيات المساعدة.",
        "reflow": "يتكيف النص مع الشاشة، ويمكن تغيير خطوطه وأحجامه وألوانه في نظام القراءة.",
        "hazards_none": "لا يحتوي على أي شيء يومض أو يتحرك أو يصدر صوتًا.",
        "hazards_none_audio": "باستثناء السرد الصوتي، لا يحتوي على أي شيء يومض أو يتحرك أو يصدر صوتًا.",
        "audio": "يمكن الاستماع إلى كل جملة بصوت اصطناعي متزامن مع النص.",
        "longdesc": "للصور المعقدة أيضًا وصف مفصل مرتبط من الصورة.",
        "pages": "أرقام الصفحات مميزة في النص، مع قائمة صفحات للانتقال إليها.",
    },
    "ja": {
        "text": "この出版物はテキストで、目次と見出しによるナビゲーションがあります。",
        "text_nohead": "この出版物は目次付きのテキストです。",
        "images_described": "情報を伝えるすべての画像にテキストによる説明があります。",
        "images_missing": "情報を伝える画像の一部にテキストによる説明がありません（{n}点中{m}点）。",
        "decorative": "装飾的な画像は支援技術から隠されています。",
        "reflow": "テキストはリフローし、読書システムでフォント、サイズ、色を変更できます。",
        "hazards_none": "点滅、動き、音を含むものはありません。",
        "hazards_none_audio": "読み上げ音声のほかに、点滅、動き、音を含むものはありません。",
        "audio": "すべての文を、テキストと同期した合成音声で聞くことができます。",
        "longdesc": "複雑な画像には、画像からリンクされた詳細な説明もあります。",
        "pages": "本文にはページ番号が記され、ページ一覧から移動できます。",
    },
}
# Sentences are joined without spaces in languages written without them.
_NO_SPACES = {"ja", "zh"}


def discover(meta: Metadata, content: Content) -> Discovery:
    a = meta.accessibility
    visual = content.informative_images > 0
    all_described = content.described_images >= content.informative_images

    modes = ["textual"] + (["visual"] if visual else []) + (["auditory"] if content.media_overlays else [])
    # accessModeSufficient: each set of modes that on its own suffices to read everything.
    sufficient: list[tuple[str, ...]] = []
    if not visual or all_described:
        sufficient.append(("textual",))
    if visual:
        sufficient.append(("textual", "visual"))

    features = ["tableOfContents", "readingOrder", "displayTransformability"]
    if content.heading_count and content.headings_well_nested:
        features.append("structuralNavigation")
    if visual and all_described:
        features.append("alternativeText")
    if content.long_descriptions:
        # An image described at length in a document of its own, linked from the image
        # (DAISY KB "Extended descriptions"; schema.org `longDescription`).
        features.append("longDescription")
    if content.page_breaks:
        # Page-break markers in the text and a page-list nav to each (EPUB Accessibility 1.1
        # §4: `pageBreakMarkers` and `pageNavigation`, only when both are really there).
        features += ["pageBreakMarkers", "pageNavigation"]
    if content.media_overlays:
        features.append("synchronizedAudioText")
    for f in a.features:
        if f not in features:
            features.append(f)

    # A reflowable book of text, still images and (with --read-aloud) narration at speaking volume
    # cannot flash, simulate motion or play a startling sound: book makes nothing else (inline SVG,
    # MathML, audio and video in the source are removed), so `none` is true unless the author says
    # otherwise.
    hazards = a.hazards or ("none",)

    if a.access_modes:
        modes = list(a.access_modes)
    if a.access_modes_sufficient:
        sufficient = [tuple(x.split(",")) for x in a.access_modes_sufficient]
    summary = a.summary or (_summary(meta, content, visual, all_described, hazards)
                            if meta.primary_language in _SUMMARY or not _guide_speaks(meta.lang) else
                            _guide_summary(meta.lang, modes, sufficient, features, hazards))
    return Discovery(tuple(modes), tuple(sufficient), tuple(features), tuple(hazards), summary)


def _summary(meta: Metadata, content: Content, visual: bool, all_described: bool, hazards) -> str:
    s = _SUMMARY.get(meta.primary_language, _SUMMARY["en"])
    parts = [s["text"] if content.heading_count and content.headings_well_nested else s["text_nohead"]]
    if visual:
        n = content.informative_images
        parts.append(s["images_described"].format(n=n) if all_described else
                     s["images_missing"].format(n=n, m=n - content.described_images))
    if content.long_descriptions:
        parts.append(s["longdesc"])
    if content.decorative_images:
        parts.append(s["decorative"])
    if content.page_breaks:
        parts.append(s["pages"])
    parts.append(s["reflow"])
    if content.media_overlays:
        parts.append(s["audio"])
    if tuple(hazards) == ("none",):
        parts.append(s["hazards_none_audio"] if content.media_overlays else s["hazards_none"])
    return ("" if meta.primary_language in _NO_SPACES else " ").join(parts)


def _guide_speaks(lang: str) -> bool:
    from ..check.display_words import vocabulary_for

    return vocabulary_for(lang) is not None


# How a summary made of the Display Guide's statements ends a field: its full stop and the
# colon after the field's name, where the language's differ from ". " and ": ".
_STOPS = {"hi": ("।", ": "), "zh": ("。", "："), "ja": ("。", "："), "ko": (".", ": "), "th": (" ", ": ")}


def _guide_summary(lang: str, modes, sufficient, features, hazards) -> str:
    """A summary for a language book has no sentences of its own for, made of the W3C Display
    Guide's translated statements of this very metadata (the ways of reading, navigation, rich
    content and hazards; the conformance claim is decided later and has its own metadata),
    each statement a sentence after its field's name: a Hindi book's summary in Hindi, not in
    English (WCAG 3.1.1)."""
    from ..check.display_words import localize
    from ..check.statement import Field, statement

    english = statement({"schema:accessMode": list(modes),
                         "schema:accessModeSufficient": [",".join(s) for s in sufficient],
                         "schema:accessibilityFeature": list(features),
                         "schema:accessibilityHazard": list(hazards)})
    # Not the conformance field (decided later, with metadata of its own), nor what is unknown:
    # a summary says what the book has.
    english = [Field(f.heading, tuple(x for x in f.statements if not x.startswith("No information")))
               for f in english if f.heading not in ("Conformance", "Accessibility summary")]
    _tag, fields = localize(english, lang)
    primary = lang.split("-")[0].lower()
    stop, colon = _STOPS.get(primary, (".", ": "))
    space = "" if primary in _NO_SPACES else " "
    return space.join(f"{f.heading}{colon}" + space.join(f"{x}{stop}" for x in f.statements)
                      for f in fields if f.statements)


def summary_language(meta: Metadata) -> str:
    """The language the generated summary is in: the book's, when book has sentences for it
    or the W3C Display Guide has a translation; else English."""
    if meta.accessibility.summary:
        return meta.lang
    return meta.lang if meta.primary_language in _SUMMARY or _guide_speaks(meta.lang) else "en"
