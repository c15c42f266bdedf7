"""The EPUB's ZIP container, written by book (EPUB 3.3 §4.2, OCF ZIP container).

OCF asks for a plain ZIP (PKWARE APPNOTE 6.3): no encryption, entries stored or deflated, and
`mimetype` first, stored, with no extra field, so that its bytes sit at a fixed offset (§4.2.3).
Python's `zipfile` writes that, but it compresses one entry at a time as it is written.  This
writer takes the entries first and compresses them when the file is closed:

* on several threads at once (zlib releases the GIL while it deflates), which matters for a
  large book, where deflating the documents was a tenth of the build (issue 6);
* or not at all, when a :class:`book.cache.BlobCache` already holds the compressed bytes of
  the same content: a rebuild after an edit deflates only the documents that changed.

The result is the same bytes `zipfile` gives with the same settings (raw deflate at the given
level, version 2.0, Unix attributes 0644), with one fixed date (1980-01-01, the earliest a ZIP
can hold), so a build never leaks the time it ran and the same book gives the same file.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_DOS_TIME = 0  # 00:00:00
_VERSION = 20  # 2.0: deflate
_MADE_BY = (3 << 8) | _VERSION  # 3: Unix, so that the external attributes mean 0644
_UNIX_0644 = 0o644 << 16  # -rw-r--r--
_UTF8_NAME = 0x800  # general purpose bit 11: the name is UTF-8 (APPNOTE appendix D)
_STORED, _DEFLATED = 0, 8
_PARALLEL_BYTES = 1 << 20  # below this much to deflate, threads cost more than they save
CACHE_MIN_BYTES = 4096  # smaller entries deflate faster than a cache file is read


class ZipOut:
    """A ZIP written to an open binary file: `writestr` each entry in order, then `close`."""

    def __init__(self, fileobj, *, level: int = 6, cache=None, threads: int | None = None):
        self.file = fileobj
        self.level = level
        self.cache = cache  # a book.cache.BlobCache, or None
        self.threads = threads or os.cpu_count() or 1
        self._entries: list[list] = []  # [name, data, method, compressed or None]
        self.deflated = self.from_cache = 0  # entries deflated here / taken from the cache

    def writestr(self, name, data, compress_type=None, compresslevel=None) -> None:
        """Add an entry (the signature of `zipfile.ZipFile.writestr`, which ebooklib calls):
        `mimetype` is stored, everything else deflated."""
        name = getattr(name, "filename", name)
        if isinstance(data, str):
            data = data.encode("utf-8")
        method = _STORED if name == "mimetype" else _DEFLATED
        self._entries.append([name, bytes(data), method, None])

    def close(self) -> None:
        self._compress()
        central = []
        offset = 0
        write = self.file.write
        for name, data, method, packed in self._entries:
            raw_name = name.encode("utf-8")
            flags = 0 if raw_name.isascii() else _UTF8_NAME
            crc = zlib.crc32(data)
            body = data if method == _STORED else packed
            if max(len(data), len(body), offset) >= 0xFFFFFFFF or len(self._entries) >= 0xFFFF:
                raise ValueError("the EPUB would need ZIP64, which EPUB reading systems need not support")
            fields = (_VERSION, flags, method, _DOS_TIME, _DOS_DATE, crc, len(body), len(data), len(raw_name))
            header = struct.pack("<4s5HLLLHH", b"PK\x03\x04", *fields, 0)
            write(header)
            write(raw_name)
            write(body)
            central.append(struct.pack("<4sH5HLLLHHHHHLL", b"PK\x01\x02", _MADE_BY, *fields, 0, 0, 0, 0,
                                       _UNIX_0644, offset) + raw_name)
            offset += len(header) + len(raw_name) + len(body)
        directory = b"".join(central)
        write(directory)
        write(struct.pack("<4s4HLLH", b"PK\x05\x06", 0, 0, len(central), len(central), len(directory),
                          offset, 0))

    # -----------------------------------------------------------------------------------------

    def _key(self, data: bytes) -> str:
        return hashlib.sha256(b"deflate-%d\0" % self.level + data).hexdigest()

    def _compress(self) -> None:
        todo = []  # (entry, its cache key or None)
        for entry in self._entries:
            if entry[2] != _DEFLATED:
                continue
            key = self._key(entry[1]) if self.cache is not None and len(entry[1]) >= CACHE_MIN_BYTES else None
            packed = self.cache.get(key) if key else None
            if packed is not None:
                entry[3] = packed
                self.from_cache += 1
                continue
            todo.append((entry, key))
        size = sum(len(e[1]) for e, _key in todo)
        if self.threads > 1 and size >= _PARALLEL_BYTES and len(todo) > 1:
            # Largest first, so one long document at the end does not leave a thread idle.
            order = sorted((e for e, _key in todo), key=lambda e: -len(e[1]))
            with ThreadPoolExecutor(self.threads) as pool:
                for entry, packed in zip(order, pool.map(self._deflate, (e[1] for e in order))):
                    entry[3] = packed
        else:
            for entry, _key in todo:
                entry[3] = self._deflate(entry[1])
        self.deflated += len(todo)
        for entry, key in todo:
            if key:
                self.cache.put(key, entry[3])

    def _deflate(self, data: bytes) -> bytes:
        # Raw deflate (no zlib header), as ZIP method 8 stores it: what zipfile does too.
        c = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()
