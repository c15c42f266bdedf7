"""Which way of finding the article in a page: book's own rules (book.webimport), trafilatura, or
readability-lxml?  Measured on the saved pages in tests/sources/web/ (tests/sources/web/expected.py
says what each holds).  Run: python benchmarks/import_extractors.py  (needs
`pip install trafilatura readability-lxml`, which book itself does not use).

For each page and extractor:
  text   paragraphs of the article found, of those expected (in order: `!` when out of order)
  junk   pieces of junk that got into the result (author box, comments, share, related, ads, …)
  head   section headings kept as headings
  img    pictures of the article kept
  ms     time to extract (median of 5); book's figure is a whole import: pictures read and
         checked, Markdown and book.yaml written
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "sources" / "web"))

from expected import PAGES  # noqa: E402


def norm(text: str) -> str:
    text = re.sub(r"[*_`\\]", "", text)
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


def own(path: Path) -> tuple[str, str]:
    from book.webimport import ImportOptions, import_pages

    with tempfile.TemporaryDirectory() as tmp:
        r = import_pages(path, Path(tmp) / "b", ImportOptions())
        md = (Path(tmp) / "b" / r.chapters[0]).read_text("utf-8")
    return md, md  # (text, markup with headings as #)


def trafilatura_(path: Path) -> tuple[str, str]:
    import trafilatura

    html = path.read_bytes()
    md = trafilatura.extract(html, output_format="markdown", include_images=True, include_tables=True,
                             include_links=True, include_formatting=True, include_comments=False) or ""
    return md, md


def readability_(path: Path) -> tuple[str, str]:
    from lxml import html as lhtml
    from readability import Document

    raw = path.read_bytes()
    doc = Document(raw)
    summary = doc.summary(html_partial=True)
    tree = lhtml.fromstring(summary)
    text = "\n".join(t for t in tree.itertext())
    # Headings as Markdown, to score them like the others.
    marked = "\n".join(("#" * int(el.tag[1]) + " " + el.text_content()) if el.tag in ("h1", "h2", "h3", "h4") else ""
                       for el in tree.iter())
    imgs = " ".join(i.get("src", "") + " " + i.get("data-src", "") for i in tree.iter("img"))
    return text + "\n" + imgs, marked


EXTRACTORS = {"book (own rules)": own, "trafilatura 2.x": trafilatura_, "readability-lxml": readability_}


def score(name: str, spec: dict, text: str, marked: str) -> dict:
    flat = norm(text)
    found = [flat.find(norm(p)) for p in spec["paragraphs"]]
    hits = [f for f in found if f >= 0]
    in_order = hits == sorted(hits)
    junk = [j for j in spec["junk"] if j in text]
    head_lines = {norm(ln.lstrip("#").strip()).removesuffix(" {#what-to-do}") for ln in marked.split("\n")
                  if ln.lstrip().startswith("#")}
    heads = sum(1 for _lvl, h in spec["headings"] if norm(h) in head_lines)
    stems = [Path(f).stem.split("-1200")[0].split("-1600")[0] for f in spec["images"]]
    imgs = sum(1 for s in stems if s.lower() in text.lower())
    return {"text": f"{len(hits)}/{len(found)}{'' if in_order else '!'}", "junk": len(junk),
            "head": f"{heads}/{len(spec['headings'])}", "img": f"{imgs}/{len(stems)}", "junk_list": junk}


def main() -> None:
    rows = []
    totals = {n: {"text": 0, "of": 0, "junk": 0, "head": 0, "hof": 0, "img": 0, "iof": 0} for n in EXTRACTORS}
    for key, spec in PAGES.items():
        for name, fn in EXTRACTORS.items():
            times = []
            try:
                for _ in range(5):
                    t = time.perf_counter()
                    text, marked = fn(spec["page"])
                    times.append((time.perf_counter() - t) * 1000)
            except Exception as e:  # an extractor that fails on a page scores nothing there
                text, marked = "", f"{type(e).__name__}: {e}"
                times = times or [0.0]
            s = score(name, spec, text, marked)
            rows.append((key, name, s, statistics.median(times)))
            t = totals[name]
            a, b = s["text"].rstrip("!").split("/")
            t["text"] += int(a)
            t["of"] += int(b)
            t["junk"] += s["junk"]
            a, b = s["head"].split("/")
            t["head"] += int(a)
            t["hof"] += int(b)
            a, b = s["img"].split("/")
            t["img"] += int(a)
            t["iof"] += int(b)
    print(f"{'page':17} {'extractor':18} {'text':>7} {'junk':>5} {'head':>6} {'img':>5} {'ms':>7}")
    for key, name, s, ms in rows:
        print(f"{key:17} {name:18} {s['text']:>7} {s['junk']:>5} {s['head']:>6} {s['img']:>5} {ms:7.1f}"
              + (f"   junk: {', '.join(s['junk_list'][:4])}" if s["junk_list"] else ""))
    print()
    for name, t in totals.items():
        print(f"{name:18} paragraphs {t['text']}/{t['of']}, junk {t['junk']}, headings {t['head']}/{t['hof']}, "
              f"pictures {t['img']}/{t['iof']}")


if __name__ == "__main__":
    main()
