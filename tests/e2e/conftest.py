"""Fixtures of the end-to-end tests: the books (built once per session) and the reading engine.

Books: the sample book in content/, and three sources under tests/e2e/sources/ — a right-to-left
Arabic book, a Japanese one, and one with PNG/JPEG/SVG/decorative images, footnotes and a table
whose raster images are drawn here with Pillow (no binary test files in the repository).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import skip_or_fail
import yaml

import book

from . import engine

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"


@dataclass
class BuiltBook:
    name: str
    epub: Path
    title: str
    authors: list[str]
    lang: str
    rtl: bool
    markdown: str  # every chapter of the source, in reading order

    def sections(self) -> list[tuple[str, str]]:
        """(heading, first sentence of its first paragraph) for every `#`/`##` section."""
        out = []
        for block in re.split(r"^(?=#{1,2} )", self.markdown, flags=re.M):
            if not block.startswith("#"):
                continue
            heading, _, rest = block.partition("\n")
            # The first plain paragraph: not an image, table, footnote text or other markup.
            para = next((p.strip() for p in rest.split("\n\n") if p.strip()[:1].isalnum()), "")
            para = re.sub(r"\[\^[^\]]+\]|[*_`]", "", para)  # footnote marks and emphasis
            out.append((heading.lstrip("#").strip(), re.split(r"(?<=[.!?。])\s*", para)[0].strip()))
        return out


def _front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text("utf-8")
    if text.startswith("---\n"):
        head, body = text[4:].split("\n---\n", 1)
        return yaml.safe_load(head), body
    return {}, text


def _spec(name: str, epub: Path, meta: dict, markdown: str) -> BuiltBook:
    authors = meta.get("author") or []
    return BuiltBook(name, epub, meta["title"], [authors] if isinstance(authors, str) else authors,
                     meta["lang"], meta["lang"].split("-")[0] in ("ar", "he", "fa", "ur"), markdown)


def draw_images(folder: Path) -> None:
    """The raster images of sources/images-book: a PNG chart, a JPEG, a decorative PNG rule."""
    from PIL import Image, ImageDraw

    chart = Image.new("RGB", (300, 200), "white")
    draw = ImageDraw.Draw(chart)
    for i, colour in enumerate(["blue", "green", "orange"]):
        draw.rectangle([30 + i * 90, 170 - 50 * (i + 1), 90 + i * 90, 170], fill=colour)
    chart.save(folder / "images" / "chart.png")
    sunset = Image.merge("RGB", [Image.new("L", (200, 150), 200), Image.linear_gradient("L").resize((200, 150)),
                                 Image.new("L", (200, 150), 60)])
    sunset.save(folder / "images" / "sunset.jpg", quality=85)
    Image.new("RGB", (400, 10), "gray").save(folder / "images" / "rule.png")


@pytest.fixture(scope="session")
def built_books(tmp_path_factory) -> dict[str, BuiltBook]:
    out = tmp_path_factory.mktemp("books")
    books = {}

    # The sample book, with its metadata read from content/book.yaml (not through book's loader,
    # so a loader bug cannot make the expectation agree with it).
    content = engine.ROOT / "content"
    meta = yaml.safe_load((content / "book.yaml").read_text("utf-8"))
    text = "\n\n".join((content / ch).read_text("utf-8") for ch in meta["chapters"])
    book.build(content, out / "sample.epub")
    books["sample"] = _spec("sample", out / "sample.epub", meta, text)

    for name in ("arabic", "japanese"):
        meta, body = _front_matter(SOURCES / f"{name}.md")
        book.build(SOURCES / f"{name}.md", out / f"{name}.epub")
        books[name] = _spec(name, out / f"{name}.epub", meta, body)

    folder = out / "images-book"
    shutil.copytree(SOURCES / "images-book", folder)
    draw_images(folder)
    meta = yaml.safe_load((folder / "book.yaml").read_text("utf-8"))
    text = "\n\n".join((folder / ch).read_text("utf-8") for ch in meta["chapters"])
    book.build(folder, out / "images.epub")
    books["images"] = _spec("images", out / "images.epub", meta, text)
    return books


# ---- the reading engine -----------------------------------------------------------------------

@pytest.fixture(scope="session")
def site(tmp_path_factory):
    reason = engine.missing_reason()
    if reason:
        skip_or_fail(reason)
    s = engine.Site(tmp_path_factory.mktemp("site"))
    yield s
    s.close()


@pytest.fixture(scope="session")
def playwright():
    """The session's one Playwright, shared by every e2e test.  Playwright's synchronous API
    runs an asyncio loop on the thread that starts it and refuses to start a second one there
    while the first runs ("using Playwright Sync API inside the asyncio loop"), so a test module
    that started its own would fail after any module that used this one — whatever their order."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail(f"Playwright for Python is not installed (run: {engine.INSTALL})")
    if not engine.CHROMIUM.is_file():
        skip_or_fail(f"Chromium is not at {engine.CHROMIUM} (run: {engine.INSTALL})")
    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="session")
def browser(playwright):
    """The session's one Chromium: Debian's (engine.CHROMIUM), never a downloaded one.
    Headless Chromium plays audio without a user gesture only if told so (the Media Overlays
    tests need it: a reading system's play button is that gesture); it changes nothing for a
    page that plays no media.  With no sound device it plays to a silent sink and the media
    clock runs as it would with one."""
    b = playwright.chromium.launch(executable_path=str(engine.CHROMIUM),
                                   args=engine.CHROMIUM_ARGS + ["--autoplay-policy=no-user-gesture-required"])
    yield b
    b.close()


@pytest.fixture(scope="session")
def browser_context(browser):
    # A page about the size of a small tablet in portrait.
    ctx = browser.new_context(viewport={"width": 900, "height": 700})
    yield ctx
    ctx.close()
