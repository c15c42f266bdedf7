"""Images are checked by their bytes, never their names: a `.png` that is really HTML, or a
format EPUB 3.3 does not list as a core media type (§3.2), stops the build with a clear message.
SVG files are parsed without DTDs, external entities or network access (no XXE), and must carry
no script, since a reading system may run it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from PIL import Image, UnidentifiedImageError

from .errors import SourceError

# EPUB 3.3 §3.2 core media types for images.  WebP is core since EPUB 3.3, but many e-ink
# readers in use cannot show it, so it is accepted with a rule warning (see book.rules).
CORE_IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
SVG = "image/svg+xml"
SVG_NS = "http://www.w3.org/2000/svg"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_comments=False)


@dataclass(frozen=True)
class ImageInfo:
    media_type: str
    width: int | None
    height: int | None


MAX_DOWNLOAD = 20 * 1024 * 1024


def fetch(url: str, folder: Path, *, file: str, line: int | None) -> Path:
    """Download a remote image once into `folder` (inside the book's folder), for
    --allow-remote-images.  EPUB 3.3 §3.6 keeps images inside the container, so a remote picture
    is fetched at build time, checked by its bytes like any other, and packaged."""
    import hashlib
    import os
    import urllib.error
    import urllib.request

    from . import __version__

    if not url.lower().startswith(("http://", "https://")):
        raise SourceError(f"image '{url[:80]}' is not an http(s) address", file=file, line=line,
                          hint="put the picture in the book's folder and link it by a relative path")
    name = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "image"
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in name)[:60] or "image"
    dest = folder / hashlib.sha256(url.encode()).hexdigest()[:16] / safe
    if dest.is_file():
        return dest
    request = urllib.request.Request(url, headers={"User-Agent": f"book/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            data = response.read(MAX_DOWNLOAD + 1)
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = f"HTTP {e.code} {e.reason}" if isinstance(e, urllib.error.HTTPError) else (
            getattr(e, "reason", None) or e)
        raise SourceError(f"could not download image '{url[:80]}' ({reason})", file=file, line=line,
                          hint="check the address, or download the picture into the book's folder") from None
    if len(data) > MAX_DOWNLOAD:
        raise SourceError(f"image '{url[:80]}' is larger than {MAX_DOWNLOAD // 1048576} MB", file=file, line=line,
                          hint="download it, make it smaller, and link the file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    return dest


def inspect(path: Path, *, ref: str, file: str, line: int | None) -> ImageInfo:
    if not path.is_file():
        raise SourceError(f"image '{ref}' does not exist", file=file, line=line,
                          hint="check the file name and that it is inside the book's folder")
    data = path.read_bytes()
    head = data[:512].lstrip()
    if head.startswith((b"<?xml", b"<svg", b"<!--")) or path.suffix.lower() == ".svg":
        svg_check(data, ref=ref, file=file, line=line)
        return ImageInfo(SVG, None, None)
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format
            size = im.size
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise SourceError(f"'{ref}' is not an image (its bytes are not PNG, JPEG, GIF, WebP or SVG)",
                          file=file, line=line, hint="export the picture again as PNG or JPEG") from None
    if fmt not in CORE_IMAGE_TYPES:
        raise SourceError(f"image '{ref}' is {fmt}, which EPUB does not allow",
                          file=file, line=line,
                          hint="convert it to PNG or JPEG (EPUB 3.3 §3.2 core media types)")
    return ImageInfo(CORE_IMAGE_TYPES[fmt], size[0], size[1])


def svg_check(data: bytes, *, ref: str, file: str, line: int | None) -> None:
    """Parse an SVG safely and refuse what a reading system could execute or fetch."""
    if b"<!DOCTYPE" in data[:4096] and b"<!ENTITY" in data:
        raise SourceError(f"SVG '{ref}' declares XML entities", file=file, line=line,
                          hint="remove the <!DOCTYPE …> block: entities can read other files (XXE)")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        raise SourceError(f"SVG '{ref}' is not well-formed XML ({e.msg})", file=file, line=line,
                          hint="open it in an editor or export it again") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise SourceError(f"'{ref}' is not an SVG image (its root element is not <svg>)", file=file,
                          line=line, hint="export it again as SVG, or use PNG")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        local = etree.QName(el).localname
        if local in ("script", "foreignObject", "iframe"):
            raise SourceError(f"SVG '{ref}' contains <{local}>", file=file, line=line,
                              hint="remove it: a book's images must not run code or embed pages")
        for name, value in el.attrib.items():
            lname = etree.QName(name).localname.lower()
            if lname.startswith("on"):
                raise SourceError(f"SVG '{ref}' has an event handler '{lname}'", file=file, line=line,
                                  hint="remove the attribute: a book's images must not run code")
            if lname == "href" and value.strip() and not value.strip().startswith(("#", "data:image/")):
                raise SourceError(f"SVG '{ref}' links to '{value[:60]}'", file=file, line=line,
                                  hint="embed the resource or remove the link: EPUB images must be "
                                       "self-contained")


# SVG elements that common e-reader engines cannot draw.  Seen in MuPDF 1.28 (SumatraPDF, several
# Android readers; PyMuPDF 2.0): a linear or radial gradient and a pattern are painted solid black,
# a filter, a mask and a clip path are ignored (the shape is drawn whole and sharp).  Adobe RMSDK
# and crengine implement less of SVG still.  foreignObject is refused outright by svg_check.
SVG_UNSUPPORTED = {
    "linearGradient": "a gradient", "radialGradient": "a gradient", "meshgradient": "a gradient",
    "pattern": "a pattern", "filter": "a filter", "mask": "a mask", "clipPath": "a clip path",
    "foreignObject": "foreignObject",
}


def svg_unsupported(data: bytes) -> list[str]:
    """What an SVG picture uses that common e-reader engines cannot draw, in the order found
    (for the `svg-unsupported` rule).  `data` has passed svg_check."""
    found: list[str] = []
    for el in etree.fromstring(data, _PARSER).iter():
        if isinstance(el.tag, str):
            what = SVG_UNSUPPORTED.get(etree.QName(el).localname)
            if what and what not in found:
                found.append(what)
    return found


def raster_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except Exception:  # noqa: BLE001 - any undecodable picture simply has no known size
        return None


def for_ereaders(data: bytes, media_type: str, name: str) -> tuple[bytes, str, str]:
    """(bytes, media type, file name) as e-readers can show them: WebP, core in EPUB 3.3 but
    unknown to many e-ink readers in use, becomes a lossless PNG; every other type is kept."""
    if media_type != "image/webp":
        return data, media_type, name
    with Image.open(io.BytesIO(data)) as im:
        out = io.BytesIO()
        im.save(out, format="PNG", optimize=True)
    stem = name.rsplit(".", 1)[0]
    return out.getvalue(), "image/png", stem + ".png"
