"""Issue 5: no input crashes the builder.  Arbitrary Markdown (with random HTML fragments and any
Unicode) and arbitrary metadata strings either build an EPUB or raise BookError — never anything
else — and a sample of the books built pass EPUBCheck.

CI runs a few hundred examples; for a larger run by hand:
    BOOK_FUZZ_EXAMPLES=5000 BOOK_FUZZ_SAMPLES=60 python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from book import build
from book.errors import BookError

EXAMPLES = int(os.environ.get("BOOK_FUZZ_EXAMPLES", "300"))
SAMPLES = int(os.environ.get("BOOK_FUZZ_SAMPLES", "8"))  # built books that EPUBCheck then checks
SAMPLE_EVERY = max(1, EXAMPLES // (SAMPLES * 3 // 4 or 1))

TAGS = ["p", "div", "span", "em", "b", "script", "iframe", "img", "a", "table", "tr", "td", "th", "li", "ul",
        "Myths", "svg", "math", "form", "input", "style", "h2", "blockquote", "pre", "code", "br", "hr",
        "object", "video", "section", "aside", "figure", "sup", "x-custom", "p:weird"]
ATTRS = ["id", "class", "onclick", "href", "src", "style", "lang", "title", "role", "epub:type", "1bad",
         "data-x", "aria-label", "tabindex", "alt", "xmlns"]
VALUES = st.sampled_from(["x", "javascript:alert(1)", "#top", "a.png", "en", "zz-!!", "", "\"q\"", "<&>",
                          "https://example.org/", "0", "-1"])


@st.composite
def html_fragment(draw):
    tag = draw(st.sampled_from(TAGS))
    attrs = draw(st.lists(st.tuples(st.sampled_from(ATTRS), VALUES), max_size=3))
    inner = draw(st.text(max_size=20))
    close = draw(st.booleans())
    attr_text = "".join(f' {k}="{v}"' for k, v in attrs)
    return f"<{tag}{attr_text}>{inner}" + (f"</{tag}>" if close else "")


MARKDOWN_BITS = st.one_of(
    st.text(max_size=60),
    html_fragment(),
    st.sampled_from(["# ", "## ", "### ", "- ", "1. ", "> ", "```\n", "\n\n", "| a | b |\n|---|---|\n| c | d |\n",
                     "[^1]", "\n[^1]: note\n", "![alt](a.png)", "![](a.png){.decorative}", "[x](#nowhere)",
                     "{#dup}", "{lang=fr}", "*", "**", "`", "<!-- c -->", "&amp;", "&#0;", "&nbsp;", "\t", "\r",
                     "\ufeff", "\u202e", "\ue000L", "😀", "مرحبا", "日本語"]),
)


def _write(folder: Path, title: str, lang: str, author: str, body: str) -> Path:
    front = yaml.safe_dump({"title": title, "lang": lang, "author": author}, allow_unicode=True)
    src = folder / "a.md"
    src.write_text(f"---\n{front}---\n{body}", "utf-8")
    return src


built_samples: list[Path] = []
_keep = Path(tempfile.mkdtemp(prefix="book-fuzz-"))
_png = None


def _image(folder: Path):
    global _png
    if _png is None:
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (0, 100, 0)).save(buf, format="PNG")
        _png = buf.getvalue()
    (folder / "a.png").write_bytes(_png)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    title=st.text(min_size=0, max_size=40),
    lang=st.one_of(st.sampled_from(["en", "ar", "ja", "es-419", "zh-Hant-TW"]), st.text(max_size=8)),
    author=st.text(max_size=20),
    bits=st.lists(MARKDOWN_BITS, max_size=25),
)
def test_any_input_builds_or_fails_cleanly(title, lang, author, bits):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        _image(folder)
        src = _write(folder, title, lang, author, "".join(bits))
        out = folder / "out.epub"
        try:
            build(src, out)
        except BookError as e:
            assert e.problems and all(str(p) for p in e.problems)
            assert not out.exists()
            return
        assert out.is_file()
        if len(built_samples) < SAMPLES and (len(built_samples) == 0 or hash((title, tuple(bits))) % SAMPLE_EVERY == 0):
            keep = _keep / f"{len(built_samples)}.epub"
            shutil.copy(out, keep)
            built_samples.append(keep)


@pytest.mark.checkers
def test_sample_of_fuzzed_books_pass_epubcheck():
    from book.check import tools as checkers

    if not built_samples:
        pytest.skip("run together with test_any_input_builds_or_fails_cleanly")
    try:
        checkers.run_epubcheck(built_samples[0])
    except checkers.ToolMissing as e:
        pytest.skip(str(e))
    for path in built_samples:
        report = checkers.run_epubcheck(path)
        assert report.fatals == 0 and report.errors == 0 and report.warnings == 0, (
            path, [str(m) for m in report.messages])
