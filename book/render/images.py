"""Images are checked by their bytes, never their names: a `.png` that is really HTML, or a
format EPUB 3.3 does not list as a core media type (§3.2), stops the build with a clear message.
SVG files are parsed without DTDs, external entities or network access (no XXE), and must carry
no script, since a reading system may run it.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ..errors import SourceError

# EPUB 3.3 §3.2 core media types for images.  WebP is core since EPUB 3.3, but many e-ink
# readers in use cannot show it, so it is accepted with a rule warning (see book.rules).
CORE_IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
SVG = "image/svg+xml"
SVG_NS = "http://www.w3.org/2000/svg"
_SVG_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=False)


@dataclass(frozen=True)
class ImageInfo:
    media_type: str
    width: int | None
    height: int | None


# Limits on what a source may make the build download or decode (README, "Reliability"); the
# connect and read timeout and the redirects are book.net's.
MAX_DOWNLOAD = 20 * 1024 * 1024  # bytes of one remote image
DOWNLOAD_DEADLINE = 60.0  # seconds for one remote image, whatever the server does
# Pixels of one image: 40 million is a 7,700 × 5,200 photograph, far more than any e-reader
# shows.  A larger one is refused before it is decoded: a 109 KB PNG can claim 30,000 × 30,000
# pixels and need gigabytes (a "decompression bomb").
MAX_PIXELS = 40_000_000
_REMOTE_MAGIC = b"book-remote-1\n"

# What `inspect` found in pictures decoded before, by the SHA-256 of their bytes.  book.cache
# adds the pictures of each chapter it loads (their bytes checked against the entry, which
# only this user's book can have signed), so a rebuild that renders one edited chapter takes a
# picture's type and size from there instead of importing Pillow (~15 ms) to decode it again.
_KNOWN: dict[str, ImageInfo] = {}


def known(digest: str, media_type: str, width: int | None, height: int | None) -> None:
    """Record that the picture whose bytes have SHA-256 `digest` passed `inspect` with these."""
    if media_type != SVG and width and height:  # (an SVG is parsed again: it is not decoded)
        _KNOWN[digest] = ImageInfo(media_type, width, height)


def fetch(url: str, folder: Path, *, file: str, line: int | None, allow_private: bool = False) -> Path:
    """A remote image (``--allow-remote-images``) as a file in `folder`.  EPUB 3.3 §3.6 keeps
    images inside the container, so a remote picture is fetched at build time, checked by its
    bytes like any other, and packaged.

    It is downloaded once and kept as a signed cache entry (book.cache: a folder that came
    with a hostile book cannot plant a file or a link in its place), and the working copy the
    build reads is written again from those verified bytes on every build.  The download obeys
    :func:`download`'s limits."""
    import hashlib

    from ..cache import read_signed_entry, signed_entry, write_entry

    name = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "image"
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in name).strip(".")[:60] or "image"
    digest = hashlib.sha256(url.encode()).hexdigest()[:32]
    entry = folder / f"{digest}.bin"
    data = read_signed_entry(entry, _REMOTE_MAGIC, url)
    if data is None:
        data = download(url, file=file, line=line, allow_private=allow_private)
        write_entry(entry, signed_entry(_REMOTE_MAGIC, url, data), folder)  # best effort: a cache
    dest = folder / digest / safe
    if not write_entry(dest, data, folder):
        raise SourceError(f"could not keep the downloaded image '{url[:80]}' in {folder}", file=file, line=line,
                          hint="check that the cache folder can be written (or build with --no-cache)")
    return dest


def download(url: str, *, file: str, line: int | None, allow_private: bool = False) -> bytes:
    """The bytes of the image at `url`, within book.net's bounds (http(s) only, redirects,
    timeouts, :data:`DOWNLOAD_DEADLINE`, :data:`MAX_DOWNLOAD` bytes, public addresses unless
    `allow_private`), and an answer that is an image."""
    from .. import __version__, net

    try:
        data = net.download(url, limit=MAX_DOWNLOAD, allow_private=allow_private, deadline=DOWNLOAD_DEADLINE,
                            accept="image/*", user_agent=f"book/{__version__}")
    except net.DownloadError as e:
        why = str(e).replace("in time", f"within {DOWNLOAD_DEADLINE:.0f} s")
        if "private network" in why:
            hint = ("book downloads only from public addresses; build with --allow-private-network if you "
                    "trust the source")
        elif "http(s)" in why:
            hint = "only http and https images are downloaded; put the picture in the book's folder"
        elif "more than book downloads" in why:
            hint = "download it, make it smaller, and link the file"
        else:
            hint = "check the address, or download the picture into the book's folder"
        raise SourceError(f"could not download image '{url[:80]}' ({why})", file=file, line=line, hint=hint) from None
    if _sniff(data) is None:
        raise SourceError(f"could not download image '{url[:80]}' (the answer is not an image)", file=file,
                          line=line, hint="link the picture itself, not a page that shows it")
    return data


def _sniff(data: bytes) -> str | None:
    """The image type the first bytes announce (the format signatures), or None."""
    head = data[:512].lstrip()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"<?xml", b"<svg", b"<!--")) and b"<svg" in data[:4096]:
        return SVG
    return None


def inspect(path: Path, *, ref: str, file: str, line: int | None) -> ImageInfo:
    if not path.is_file():
        raise SourceError(f"image '{ref}' does not exist", file=file, line=line,
                          hint="check the file name and that it is inside the book's folder")
    data = path.read_bytes()
    head = data[:512].lstrip()
    if head.startswith((b"<?xml", b"<svg", b"<!--")) or path.suffix.lower() == ".svg":
        svg_check(data, ref=ref, file=file, line=line)
        return ImageInfo(SVG, None, None)
    if _KNOWN:
        info = _KNOWN.get(hashlib.sha256(data).hexdigest())
        if info is not None:
            return info
    # Pillow is imported where a picture is decoded: a build whose chapters come from the cache
    # decodes none.
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:  # reads the header only
            fmt = im.format
            size = im.size
            if size[0] * size[1] > MAX_PIXELS:
                raise SourceError(f"image '{ref}' is {size[0]} × {size[1]} pixels, more than the "
                                  f"{MAX_PIXELS // 1_000_000} million book accepts", file=file, line=line,
                                  hint="scale it down: e-readers show far fewer pixels than that")
            im.verify()
    except Image.DecompressionBombError:
        raise SourceError(f"image '{ref}' claims more pixels than book decodes", file=file, line=line,
                          hint="scale it down: e-readers show far fewer pixels than that") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise SourceError(f"'{ref}' is not an image (its bytes are not PNG, JPEG, GIF, WebP or SVG)",
                          file=file, line=line, hint="export the picture again as PNG or JPEG") from None
    if fmt not in CORE_IMAGE_TYPES:
        raise SourceError(f"image '{ref}' is {fmt}, which EPUB does not allow",
                          file=file, line=line,
                          hint="convert it to PNG or JPEG (EPUB 3.3 §3.2 core media types)")
    return ImageInfo(CORE_IMAGE_TYPES[fmt], size[0], size[1])


# CSS that makes a reading system fetch something: @import, or url(...) of anything but a
# fragment (#gradient) or embedded data.
_CSS_FETCH = re.compile(r"(@import\b[^;]*|url\(\s*['\"]?(?!#|data:)[^)'\"]+)", re.IGNORECASE)


def svg_check(data: bytes, *, ref: str, file: str, line: int | None) -> None:
    """Parse an SVG safely and refuse what a reading system could execute or fetch."""
    # Anywhere in the file, not only at its start: a long comment first must not hide them.
    if b"<!ENTITY" in data:
        raise SourceError(f"SVG '{ref}' declares XML entities", file=file, line=line,
                          hint="remove the <!DOCTYPE …> block: entities can read other files (XXE)")
    try:
        root = etree.fromstring(data, etree.XMLParser(**_SVG_PARSER_OPTIONS))  # one per call: threads
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
        if local == "style" and el.text and _CSS_FETCH.search(el.text):
            raise SourceError(f"SVG '{ref}' has a style sheet that loads '{_CSS_FETCH.search(el.text).group(1)[:60]}'",
                              file=file, line=line, hint="remove it: EPUB images must be self-contained "
                                                         "(EPUB 3.3 §3.6: no remote resources in an image)")
        if local in ("script", "foreignObject", "iframe"):
            raise SourceError(f"SVG '{ref}' contains <{local}>", file=file, line=line,
                              hint="remove it: a book's images must not run code or embed pages")
        for name, value in el.attrib.items():
            lname = etree.QName(name).localname.lower()
            if lname.startswith("on"):
                raise SourceError(f"SVG '{ref}' has an event handler '{lname}'", file=file, line=line,
                                  hint="remove the attribute: a book's images must not run code")
            if lname == "style" and _CSS_FETCH.search(value):
                raise SourceError(f"SVG '{ref}' has a style that loads '{_CSS_FETCH.search(value).group(1)[:60]}'",
                                  file=file, line=line, hint="remove it: EPUB images must be self-contained")
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
    for el in etree.fromstring(data, etree.XMLParser(**_SVG_PARSER_OPTIONS)).iter():
        if isinstance(el.tag, str):
            what = SVG_UNSUPPORTED.get(etree.QName(el).localname)
            if what and what not in found:
                found.append(what)
    return found


def raster_size(data: bytes) -> tuple[int, int] | None:
    from PIL import Image

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
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        out = io.BytesIO()
        im.save(out, format="PNG", optimize=True)
    stem = name.rsplit(".", 1)[0]
    return out.getvalue(), "image/png", stem + ".png"
