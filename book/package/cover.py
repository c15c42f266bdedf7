"""A typographic cover for books that have no cover picture.

Without a cover, an e-reader's library shows a blank tile or the first page; a cover with the
title and author lets a reader find the book.  It is drawn with Pillow from the metadata alone, in
colours derived from the title, so the same book always gets the same cover (and the same bytes).
The text is light on dark with a contrast far above WCAG 1.4.3's 4.5:1.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
from pathlib import Path

from ..source.metadata import Metadata

WIDTH, HEIGHT = 1600, 2400
_FONT_DIRS = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts"]
# Fonts tried in order for each kind of script; the first one found on the machine is used.
_CANDIDATES = {
    "cjk": ["NotoSansCJK-Bold.ttc", "NotoSansCJK-Regular.ttc", "NotoSansCJKjp-Bold.otf", "fonts-japanese-gothic.ttf",
            "DroidSansFallbackFull.ttf"],
    "arabic": ["NotoSansArabic-Bold.ttf", "NotoNaskhArabic-Bold.ttf", "DejaVuSans-Bold.ttf"],
    "hebrew": ["NotoSansHebrew-Bold.ttf", "DejaVuSans-Bold.ttf"],
    "latin": ["DejaVuSerif-Bold.ttf", "NotoSerif-Bold.ttf", "LiberationSerif-Bold.ttf", "DejaVuSans-Bold.ttf"],
}
_found: dict[str, Path | None] = {}


def _find(name: str) -> Path | None:
    if name not in _found:
        _found[name] = None
        for d in _FONT_DIRS:
            if d.is_dir():
                hit = next(iter(sorted(d.rglob(name))), None)
                if hit:
                    _found[name] = hit
                    break
    return _found[name]


def _script(text: str) -> str:
    for ch in text:
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF or 0x4E00 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0x3400 <= o <= 0x4DBF:
            return "cjk"
        if 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F:
            return "arabic"
        if 0x0590 <= o <= 0x05FF:
            return "hebrew"
    return "latin"


def _font_files(text: str):
    """The font files on this machine that suit `text`'s script, best first."""
    return (path for name in _CANDIDATES[_script(text)] if (path := _find(name)))


def _font(text: str, size: int):
    from PIL import ImageFont

    for path in _font_files(text):
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _printable(text: str) -> str:
    """Drop characters a text font cannot draw (emoji, symbols): the cover is for recognition,
    the full title is in the metadata and on the title page."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in ("So", "Cs", "Co", "Cn"))
    return " ".join(kept.split())


def _balanced(draw, text: str, font, width: int) -> list[str]:
    """Wrap into as few lines as fit `width`, then make the lines as even as possible, so no
    word (or, in Japanese, no single character) is left alone on the last line."""
    lines = _wrap(draw, text, font, width)
    low, high = width // 3, width
    while low < high:
        mid = (low + high) // 2
        if len(_wrap(draw, text, font, mid)) <= len(lines):
            high = mid
        else:
            low = mid + 1
    return _wrap(draw, text, font, high)


def _wrap(draw, text: str, font, width: int) -> list[str]:
    cjk = _script(text) == "cjk"
    tokens = list(text) if cjk else text.split(" ")
    lines, line = [], ""
    for tok in tokens:
        trial = (line + tok) if cjk or not line else f"{line} {tok}"
        if draw.textlength(trial, font=font) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = tok
    if line:
        lines.append(line)
    return lines


def _palette(title: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    h = hashlib.sha256(title.encode("utf-8")).digest()
    # Dark background (each channel ≤ 70) so white text keeps a contrast above 10:1.
    bg = (20 + h[0] % 50, 20 + h[1] % 50, 30 + h[2] % 40)
    accent = (150 + h[3] % 100, 120 + h[4] % 100, 90 + h[5] % 100)
    return bg, accent


def cover_png(meta: Metadata, cache=None) -> bytes:
    """`make_cover(meta)`, taken from `cache` (a book.cache.BlobCache) when the same cover was
    drawn before: drawing and encoding it is ~0.1 s, most of a rebuild that changed one chapter.
    The key holds everything the picture depends on: the code, the texts and the fonts."""
    if cache is None:
        return make_cover(meta)
    from ..cache import code_fingerprint

    texts = [meta.title, meta.subtitle or "", ", ".join(meta.authors)]
    fonts = [str(next(_font_files(_printable(t)), "")) for t in texts]
    key = hashlib.sha256(json.dumps(["cover", code_fingerprint(), texts, fonts]).encode()).hexdigest()
    png = cache.get(key)
    if png is None:
        png = make_cover(meta)
        cache.put(key, png)
    return png


def make_cover(meta: Metadata) -> bytes:
    """PNG bytes of a cover showing the title, subtitle and authors."""
    # Pillow is imported here, where the cover is drawn: a rebuild takes it from the cache.
    from PIL import Image, ImageDraw

    bg, accent = _palette(meta.title)
    im = Image.new("RGB", (WIDTH, HEIGHT), bg)
    draw = ImageDraw.Draw(im)
    margin = 140
    draw.rectangle([margin // 2, margin // 2, WIDTH - margin // 2, HEIGHT - margin // 2], outline=accent, width=12)

    title = _printable(meta.title) or "…"
    size = 150
    while size > 60:
        font = _font(title, size)
        lines = _balanced(draw, title, font, WIDTH - 2 * margin)
        if len(lines) * size * 1.25 <= HEIGHT * 0.5:
            break
        size -= 10
    y = int(HEIGHT * 0.18)
    for line in lines:
        draw.text((WIDTH // 2, y), line, font=font, fill=(255, 255, 255), anchor="ma")
        y += int(size * 1.25)
    if meta.subtitle:
        sub = _printable(meta.subtitle)
        sfont = _font(sub, 70)
        y += 40
        for line in _wrap(draw, sub, sfont, WIDTH - 2 * margin)[:4]:
            draw.text((WIDTH // 2, y), line, font=sfont, fill=(235, 235, 235), anchor="ma")
            y += 90
    draw.line([WIDTH // 2 - 200, y + 60, WIDTH // 2 + 200, y + 60], fill=accent, width=8)
    if meta.authors:
        names = _printable(", ".join(meta.authors))
        afont = _font(names, 90)
        lines = _wrap(draw, names, afont, WIDTH - 2 * margin)[:3]
        ay = HEIGHT - margin - 110 * len(lines) - 60
        for line in lines:
            draw.text((WIDTH // 2, ay), line, font=afont, fill=(255, 255, 255), anchor="ma")
            ay += 110
    buf = io.BytesIO()
    # No timestamps or text chunks, so the PNG is the same bytes for the same metadata.  Level 6
    # takes about 60% of level 9's time for 1% more bytes; the cover is most of a short article's
    # build time.
    im.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()
