"""Small readers for built EPUBs, so tests read as: build this, expect that."""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path

from lxml import etree

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class Epub:
    def __init__(self, path: Path):
        self.path = Path(path)
        with zipfile.ZipFile(self.path) as z:
            self.infos = z.infolist()
            self.files = {i.filename: z.read(i.filename) for i in self.infos}
        container = etree.fromstring(self.files["META-INF/container.xml"])
        self.opf_path = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
        self.base = posixpath.dirname(self.opf_path)
        self.opf = etree.fromstring(self.files[self.opf_path])

    def xml(self, name: str):
        return etree.fromstring(self.files[name])

    def full(self, href: str, relative_to: str | None = None) -> str:
        base = posixpath.dirname(relative_to) if relative_to else self.base
        return posixpath.normpath(posixpath.join(base, href.split("#")[0]))

    def meta(self, prop: str) -> list[str]:
        return [m.text for m in self.opf.xpath(f"//opf:meta[@property='{prop}']", namespaces=NS)]

    def dc(self, name: str) -> list[str]:
        return [e.text for e in self.opf.xpath(f"//dc:{name}", namespaces=NS)]

    def manifest(self) -> dict[str, dict]:
        return {i.get("id"): dict(i.attrib) for i in self.opf.xpath("//opf:manifest/opf:item", namespaces=NS)}

    def spine(self) -> list[str]:
        items = self.manifest()
        return [self.full(items[r.get("idref")]["href"])
                for r in self.opf.xpath("//opf:spine/opf:itemref", namespaces=NS)]

    def nav_path(self) -> str:
        item = next(i for i in self.manifest().values() if "nav" in i.get("properties", "").split())
        return self.full(item["href"])

    def documents(self) -> dict[str, etree._Element]:
        return {name: self.xml(name) for name in self.spine()}

    def toc_links(self) -> list[tuple[str, str]]:
        """(text, resolved href) of every entry in the nav's toc, in order."""
        nav = self.nav_path()
        doc = self.xml(nav)
        out = []
        for a in doc.xpath("//x:nav[@epub:type='toc']//x:a", namespaces=NS):
            href = a.get("href")
            target = self.full(href, nav) + ("#" + href.split("#", 1)[1] if "#" in href else "")
            out.append(("".join(a.itertext()).strip(), target))
        return out

    def ncx_links(self) -> list[tuple[str, str]]:
        item = next(i for i in self.manifest().values() if i["media-type"] == "application/x-dtbncx+xml")
        path = self.full(item["href"])
        doc = self.xml(path)
        out = []
        for point in doc.xpath("//ncx:navPoint", namespaces=NS):
            text = point.xpath("./ncx:navLabel/ncx:text/text()", namespaces=NS)[0]
            src = point.xpath("./ncx:content/@src", namespaces=NS)[0]
            out.append((text, self.full(src, path) + ("#" + src.split("#", 1)[1] if "#" in src else "")))
        return out

    def resolves(self, target: str) -> bool:
        """True when `file#id` names a file in the EPUB holding an element with that id."""
        name, _, frag = target.partition("#")
        if name not in self.files:
            return False
        if not frag:
            return True
        return bool(self.xml(name).xpath(f"//*[@id='{frag}']"))
