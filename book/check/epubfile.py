"""Reading an EPUB that may come from anyone, within bounds.

``book check`` and ``book preview`` open EPUBs made by other tools, or made to hurt: a ZIP entry
named ``../x`` or ``/etc/x`` (zip-slip), entities in the package document (billion laughs,
external entities), tens of thousands of entries, names that are not UTF-8, a 1 MB file whose
entries inflate to gigabytes.  Nothing here extracts anything to disk; every entry is read with
a ceiling on its inflated size, every XML file is parsed without DTDs, entities or network, and
a file past a limit is refused with one clear message.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from lxml import etree

from ..errors import SourceError

MAX_ENTRIES = 10_000  # a long book has a few hundred
MAX_ENTRY_BYTES = 64 * 1024 * 1024  # one document or package file, inflated
MAX_TOTAL_BYTES = 512 * 1024 * 1024  # everything read from one EPUB, inflated


def xml_parser() -> etree.XMLParser:
    """A parser that expands no entity, reads no DTD and fetches nothing (no XXE, no billion
    laughs); one per call, since lxml parsers must not be shared between threads."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False)


def parse_xml(data: bytes, name: str, path: Path):
    try:
        root = etree.fromstring(data, xml_parser())
    except etree.XMLSyntaxError as e:
        raise SourceError(f"{name} is not well-formed XML ({e.msg})", file=str(path),
                          hint="run EPUBCheck on it for details") from None
    if root is None:
        raise SourceError(f"{name} is empty", file=str(path))
    return root


def _not_utf8(raw: bytes, path: Path) -> SourceError:
    shown = raw.decode("utf-8", "backslashreplace")[:80]
    return SourceError(f"the EPUB has an entry whose name is not UTF-8 ('{shown}')", file=str(path),
                       hint="EPUB 3.3 §4.2.3 requires UTF-8 file names: rename it, or zip the book again with "
                            "a tool that writes UTF-8 names")


class EpubFile:
    """A ZIP container opened for reading within the limits above."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.zip = zipfile.ZipFile(self.path)
        except UnicodeDecodeError as e:  # a name marked UTF-8 (flag bit 11) that is not
            raise _not_utf8(e.object, self.path) from None
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise SourceError(f"not an EPUB (zip) file ({e})", file=str(self.path)) from None
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            self.close()
            raise SourceError(f"the EPUB has {len(infos):,} entries; book checks at most {MAX_ENTRIES:,}",
                              file=str(self.path), hint="an EPUB of a book has hundreds, not tens of thousands")
        for info in infos:
            # A name not marked UTF-8 is read by zipfile as code page 437 (the ZIP default,
            # APPNOTE 6.3 appendix D), which turns any bytes into some text; EPUB 3.3 §4.2.3
            # requires UTF-8 names, and other readers (EPUBCheck: PKG-027; reading systems) read
            # those bytes differently or not at all, so such a container is refused whole.
            if not info.flag_bits & 0x800:
                raw = info.orig_filename.encode("cp437")
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    self.close()
                    raise _not_utf8(raw, self.path) from None
            name = info.filename
            # OCF 3.3 §4.1.3: names are relative paths inside the container.  One that climbs
            # out or starts at the root would be written outside by a careless reader (zip-slip).
            if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name[:3]:
                self.close()
                raise SourceError(f"the EPUB has an entry named '{name[:80]}', which points outside the "
                                  "container", file=str(self.path), hint="an EPUB's entries are relative paths "
                                  "inside it (OCF 3.3 §4.1.3)")
        self.read_total = 0

    def names(self) -> list[str]:
        return self.zip.namelist()

    def read(self, name: str, limit: int = MAX_ENTRY_BYTES) -> bytes:
        """The entry `name`, inflated, or SourceError when it inflates past `limit` (or the
        EPUB past :data:`MAX_TOTAL_BYTES`).  KeyError when there is no such entry."""
        try:
            with self.zip.open(name) as f:
                data = f.read(limit + 1)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, zipfile.LargeZipFile) as e:
            raise SourceError(f"entry '{name[:80]}' cannot be read ({e})", file=str(self.path)) from None
        self.read_total += len(data)
        if len(data) > limit or self.read_total > MAX_TOTAL_BYTES:
            raise SourceError(f"entry '{name[:80]}' inflates to more than {limit // 1048576} MB",
                              file=str(self.path), hint="a book's documents are far smaller; this looks like "
                              "a ZIP bomb")
        return data

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> EpubFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
