"""The pictures of an article: the real file behind lazy loading and responsive markup, and
whether the page's alt text describes it.

Where a page keeps its picture (HTML §4.8.4 and what lazy-loading scripts do):

* `<picture>`: its `<source srcset>` candidates, then the `<img>`;
* `srcset` (and `data-srcset`, `data-lazy-srcset`): the largest candidate, by its `w` or `x`
  descriptor (HTML §4.8.4.3.5);
* `data-src`, `data-lazy-src`, `data-original`, `data-orig-file`: lazysizes, WP Rocket, Jetpack
  and lazyload.js keep the real address there while `src` holds a placeholder;
* a `<noscript><img></noscript>` fallback right after the image (same picture: taken once);
* `src`, unless it is a `data:` stub or a 1×1 placeholder.

A saved page keeps the pictures the browser loaded, so the best candidate that is really in the
page's folder is taken.
"""

from __future__ import annotations

import hashlib
import io
import re
import urllib.parse
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from ..errors import SourceError
from ..render.images import CORE_IMAGE_TYPES, SVG, svg_check
from . import page as pagelib

LAZY_SRC = ("data-src", "data-lazy-src", "data-original", "data-orig-file", "data-large-file", "data-hi-res-src",
            "data-full-src")
LAZY_SRCSET = ("data-srcset", "data-lazy-srcset")
_PLACEHOLDER_NAME = re.compile(r"(^|[/_-])(spacer|blank|pixel|transparent|placeholder|lazy|loading|1x1|grey|gray)"
                               r"[._-]", re.I)
# Decorative by their role in the page, not the article: dropped (WCAG 1.1.1: decoration).
_DECORATIVE_CLASS = re.compile(r"\b(avatar|gravatar|logo|icon|emoji|wp-smiley|badge|spinner|tracking|pixel)\b",
                               re.I)
MIN_SIDE = 48  # a picture smaller than this on both sides is an icon or a spacer, not information

# Alt text that is not a description (WCAG 1.1.1; ACCESSIBILITY.md: "alt that is a file name,
# placeholder words"): file names, camera and picture-library names, ids, placeholder words.
_FILE_NAME = re.compile(r"\.(jpe?g|png|gif|webp|svg|bmp|tiff?|heic|avif)\b", re.I)
_LIBRARY = re.compile(r"^\s*(istock(photo)?|shutterstock|gettyimages|getty|adobestock|adobe ?stock|depositphotos|"
                      r"dreamstime|123rf|bigstock(photo)?|pexels|unsplash|pixabay|freepik|canstock(photo)?|alamy|"
                      r"fotolia)[\s_-]*(photo[\s_-]*)?\d", re.I)
_CAMERA = re.compile(r"^\s*(img|dsc|dscn|dscf|pxl|photo|image|pic|screenshot|screen shot|capture|p)[\s_-]*\d{2,}",
                     re.I)
_PLACEHOLDER_WORDS = {"image", "img", "photo", "picture", "pic", "graphic", "figure", "icon", "logo", "chart",
                      "diagram", "screenshot", "untitled", "alt", "alt text", "placeholder", "spacer", "featured image",
                      "thumbnail", "banner", "bild", "imagen", "foto", "image description", "画像", "صورة", "null",
                      "undefined", "none", "default"}


def alt_problem(alt: str | None) -> str | None:
    """Why `alt` is not a description, or None when it may be one (a person still judges it)."""
    if alt is None or not alt.strip():
        return "the page gives it no alt text"
    text = alt.strip()
    if _LIBRARY.search(text):
        return f"the page's alt text '{text[:60]}' is a picture-library id"
    if _FILE_NAME.search(text) or _CAMERA.search(text):
        return f"the page's alt text '{text[:60]}' is a file name"
    tokens = re.findall(r"\w+", text)
    if tokens and sum(1 for t in tokens if re.fullmatch(r"\d+|\d+x\d+|[a-f0-9]{8,}", t, re.I)) * 2 >= len(tokens):
        return f"the page's alt text '{text[:60]}' is an id, not words"
    if text.lower().strip(" .:") in _PLACEHOLDER_WORDS:
        return f"the page's alt text is only '{text}'"
    return None


def _srcset(value: str | None) -> list[tuple[float, str]]:
    """(size, url) of each candidate of a srcset (HTML §4.8.4.3.5): "a.jpg 800w, b.jpg 1600w"."""
    out = []
    for part in re.split(r",\s+(?=\S)", (value or "").strip()):
        bits = part.strip().split()
        if not bits:
            continue
        size = 1.0
        if len(bits) > 1:
            m = re.fullmatch(r"(\d+(?:\.\d+)?)([wx])", bits[1])
            if m:
                size = float(m.group(1)) * (1 if m.group(2) == "w" else 1000)
        out.append((size, bits[0]))
    return out


def candidates(img) -> list[str]:
    """Every address the picture may be at, best first."""
    sized: list[tuple[float, str]] = []
    # libxml2 does not know <source> is void, so the <img> may sit inside the last <source>.
    picture = next((a for a in list(img.iterancestors())[:3] if a.tag == "picture"), None)
    if picture is not None:
        for source in picture.iter("source"):
            for attr in ("srcset", *LAZY_SRCSET):
                sized += _srcset(source.get(attr))
    for attr in ("srcset", *LAZY_SRCSET):
        sized += _srcset(img.get(attr))
    sized.sort(key=lambda c: -c[0])
    plain = [img.get(a) for a in LAZY_SRC] + [_noscript_src(img, picture)] + [img.get("src")]
    out = []
    for url in [u for _s, u in sized] + plain:
        if url and url.strip() and not url.strip().lower().startswith("data:") and url.strip() not in out:
            out.append(url.strip())
    return [u for u in out if not _PLACEHOLDER_NAME.search(u.rsplit("/", 1)[-1])] + \
           [u for u in out if _PLACEHOLDER_NAME.search(u.rsplit("/", 1)[-1])]


def _noscript_src(img, picture) -> str | None:
    anchor = picture if picture is not None else img
    nxt = anchor.getnext()
    if nxt is not None and nxt.tag == "noscript":
        inner = next(iter(nxt.iter("img")), None)
        if inner is not None:
            return inner.get("src")
    return None


def is_decorative_markup(img) -> bool:
    words = " ".join(filter(None, [img.get("class"), img.get("id"), img.get("role")]))
    if img.get("role") in ("presentation", "none") or img.get("aria-hidden") == "true":
        return True
    if _DECORATIVE_CLASS.search(words):
        return True
    w, h = img.get("width", ""), img.get("height", "")
    if w.isdigit() and h.isdigit() and int(w) < MIN_SIDE and int(h) < MIN_SIDE:
        return True
    return "display:none" in (img.get("style") or "").replace(" ", "")


@dataclass
class Picture:
    data: bytes
    media_type: str
    width: int | None
    height: int | None
    origin: str  # the address it was found at


def sniff(data: bytes, ref: str, *, file: str, line: int | None) -> tuple[str, int | None, int | None] | None:
    """(media type, width, height) from the bytes, or None when they are not a picture EPUB takes."""
    head = data[:512].lstrip()
    if head.startswith((b"<?xml", b"<svg")) or ref.lower().split("?")[0].endswith(".svg"):
        svg_check(data, ref=ref, file=file, line=line)
        return SVG, None, None
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, size = im.format, im.size
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    if fmt not in CORE_IMAGE_TYPES:
        return None
    return CORE_IMAGE_TYPES[fmt], size[0], size[1]


class Fetcher:
    """Finds a page's pictures: in the saved page's folder (never outside it), or with
    --allow-remote over http(s).  Counts what it takes, so a hostile page cannot make it read
    thousands of files or gigabytes."""

    def __init__(self, allow_remote: bool, allow_private: bool = False):
        self.allow_remote = allow_remote
        self.allow_private = allow_private
        self.count = 0
        self.total = 0

    def get(self, url: str, pg: pagelib.Page, *, line: int | None) -> Picture | None:
        """The picture at `url` (a page reference), or None when it is not there."""
        self.count += 1
        if self.count > pagelib.MAX_IMAGES * 4:
            raise SourceError(f"the page names more than {pagelib.MAX_IMAGES} pictures", file=pg.name, line=line,
                              hint="import a page that is one article")
        raw = url
        scheme = urllib.parse.urlsplit(raw).scheme.lower()
        data = None
        if pg.folder is not None and scheme in ("", "file") and not raw.startswith("//"):
            data = self._local(raw, pg, line)
        if data is None:
            absolute = urllib.parse.urljoin(pg.url, raw) if pg.url else (raw if scheme in ("http", "https") else None)
            if absolute and self.allow_remote and urllib.parse.urlsplit(absolute).scheme in ("http", "https"):
                try:
                    data = pagelib.download(absolute, pagelib.MAX_IMAGE_BYTES, file=pg.name, line=line, what="picture",
                                            allow_private=self.allow_private)
                except pagelib.NotFound:
                    return None  # another candidate may be there
        if data is None:
            return None
        self.total += len(data)
        if self.total > pagelib.MAX_IMAGES * pagelib.MAX_IMAGE_BYTES // 20:
            raise SourceError("the page's pictures add up to more than book imports", file=pg.name, line=line)
        kind = sniff(data, raw, file=pg.name, line=line)
        if kind is None:
            return None
        return Picture(data, kind[0], kind[1], kind[2], raw)

    def _local(self, ref: str, pg: pagelib.Page, line: int | None) -> bytes | None:
        path_part = urllib.parse.unquote(urllib.parse.urlsplit(ref).path if "://" in ref or ref.startswith("file:")
                                         else ref.split("?", 1)[0].split("#", 1)[0])
        if ref.lower().startswith("file:") or path_part.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path_part):
            # A site-relative or absolute path: not a file the browser saved beside the page.
            return None
        target = (pg.folder / path_part).resolve()
        if target != pg.folder and pg.folder not in target.parents:
            raise SourceError(f"picture '{ref[:80]}' is outside the page's folder", file=pg.name, line=line,
                              hint="a page may only use pictures saved beside it; this one was refused")
        if not target.is_file():
            return None
        size = target.stat().st_size
        if size > pagelib.MAX_IMAGE_BYTES:
            raise SourceError(f"picture '{ref[:80]}' is {size / 1048576:.0f} MB, more than book imports "
                              f"({pagelib.MAX_IMAGE_BYTES // 1048576} MB)", file=pg.name, line=line,
                              hint="make the picture smaller")
        return target.read_bytes()


def file_name(origin: str, media_type: str, used: set[str], data: bytes) -> str:
    """A short, safe, unique name under images/ for a picture."""
    stem = urllib.parse.unquote(origin.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1])
    stem = re.sub(r"\.[A-Za-z0-9]{2,5}$", "", stem)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:60] or "picture-" + hashlib.sha256(data).hexdigest()[:8]
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", SVG: "svg"}[media_type]
    name, n = f"{stem}.{ext}", 1
    while name.lower() in used:
        n += 1
        name = f"{stem}-{n}.{ext}"
    used.add(name.lower())
    return name

