"""The language tags most books carry — a two-letter language, perhaps with a region (`en`,
`pt-BR`, `es-419`) — checked and read without importing langcodes.

langcodes holds the IANA Language Subtag Registry and CLDR's validity and likely-subtags data,
and importing it compiles one regular expression of every valid subtag (`langcodes.data_dicts`'
VALIDITY): 20 to 60 ms, which every `book build` paid again for `lang: en`.  For the tags above
what langcodes answers fits in the short lists below, a snapshot of langcodes 3.5's answers:

- LANGUAGES: the two-letter language subtags langcodes accepts as they are written — ISO 639-1
  less `in`, `iw`, `ji`, `jw`, `mo`, `sh` and `tl`, which it replaces (by `id`, `he`, `yi`, `jv`,
  `ro`, `sr-Latn` and `fil`);
- REGIONS: the region subtags it accepts as they are written — ISO 3166-1 codes, the
  registry's private-use codes (AA, QM–QZ, XA–XZ, ZZ), the exceptionally reserved ones it knows
  (AC, CP, DG, EA, EU, EZ, IC, TA, UN) and XK, less the withdrawn codes it replaces (SU, YU, …),
  and the UN M.49 areas (001 the world, 419 Latin America, …);
- RIGHT_TO_LEFT and REGIONAL_DIRECTION: the languages whose likely script (CLDR's likely
  subtags, langcodes' `maximize`) is written right to left (EPUB 3.3 §5.4.1.8,
  `page-progression-direction`), and the language-region pairs whose likely script runs the
  other way from the language's own (`pa-PK` is Punjabi in Shahmukhi, an Arabic script; `ug-KZ`
  Uyghur in Cyrillic).

A tag of one of these languages alone or with one of these regions is valid, has no script
subtag, and names that language and region exactly as written (langcodes replaces none of them).
Every other tag — a script subtag, a three-letter language, variants, extensions, private use,
grandfathered tags, anything not plain ASCII — is langcodes' to answer.  tests/test_languages.py
asks langcodes about every tag these lists answer (some 60,000) and compares, so a langcodes
release that answers otherwise fails there instead of changing a book.
"""

from __future__ import annotations

LANGUAGES = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da
de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz
ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln
lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi
pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti
tk tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())

REGIONS = frozenset("""
AA AC AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CP CR CU CV CW CX CY CZ DE DG DJ DK DM
DO DZ EA EC EE EG EH ER ES ET EU EZ FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR
GS GT GU GW GY HK HM HN HR HT HU IC ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT
PW PY QA QM QN QO QP QQ QR QS QT QV QW QX QY QZ RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
SM SN SO SR SS ST SV SX SY SZ TA TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM UN US
UY UZ VA VC VE VG VI VN VU WF WS XA XB XC XD XE XF XG XH XI XJ XK XL XM XN XO XP XQ XR XS XT XU
XV XW XX XY XZ YE YT ZA ZM ZW ZZ
001 002 003 005 009 011 013 014 015 017 018 019 021 029 030 034 035 039 053 054 057 061 142 143
145 150 151 154 155 202 419
""".split())

# Avestan, Arabic, Dhivehi (Thaana), Persian, Hebrew, Kashmiri, Pashto, Sindhi, Uyghur, Urdu,
# Yiddish.
RIGHT_TO_LEFT = frozenset("ae ar dv fa he ks ps sd ug ur yi".split())

REGIONAL_DIRECTION = {
    "az-IQ": "rtl", "az-IR": "rtl", "ha-CM": "rtl", "ha-SD": "rtl", "kk-AF": "rtl", "kk-CN": "rtl",
    "kk-IR": "rtl", "kk-MN": "rtl", "ku-LB": "rtl", "ky-CN": "rtl", "ms-CC": "rtl", "pa-PK": "rtl",
    "tg-PK": "rtl", "ug-KZ": "ltr", "ug-MN": "ltr", "uz-AF": "rtl",
}


def simple(tag: str) -> tuple[str, str | None] | None:
    """(language, region or None) of `tag` in the registry's case (`pt-br` → ("pt", "BR")), when
    it is one of LANGUAGES alone or with one of REGIONS; None for every other tag.  Language tags
    are case-insensitive (RFC 5646 §2.1.1)."""
    if not isinstance(tag, str) or not tag.isascii():  # "ſ".upper() is "S": ASCII only
        return None
    language, hyphen, region = tag.partition("-")
    language = language.lower()
    if language not in LANGUAGES:
        return None
    if not hyphen:
        return language, None
    region = region.upper()
    return (language, region) if region in REGIONS else None


def direction(language: str, region: str | None) -> str:
    """'rtl' or 'ltr' for a (language, region) that `simple` returned."""
    if region is not None and f"{language}-{region}" in REGIONAL_DIRECTION:
        return REGIONAL_DIRECTION[f"{language}-{region}"]
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"
