"""EPUB 3 Media Overlays played by a real reading engine: foliate-js in headless Chromium.

foliate-js (npm `foliate-js`, the engine of the Foliate e-book reader; installed by
tests/e2e/install.sh into .tools/reader/, never kept in the repository) has its own Media
Overlays player: its `MediaOverlay` reads a document's SMIL from the manifest's `media-overlay`,
plays each `par`'s audio clip in an audio element, fires `highlight`/`unhighlight` as the
audio clock crosses clipBegin/clipEnd, and its `<foliate-view>` turns to the sentence and puts the
book's `media:active-class` on it; at the end of a document it goes on to the next one's overlay.

A small two-chapter book is built with `read_aloud=True` (eSpeak NG) and served with the page
tests/e2e/overlay_reader.html on 127.0.0.1.  The test starts the first chapter's overlay, as a
reader's play button does, lets it play in real time (about 14 s of speech), and checks against
the book's own SMIL and XHTML, read here from the EPUB and not through the engine:

* the engine highlights every sentence of the chapter once, in the SMIL's order, with the
  clipBegin/clipEnd the SMIL gives, and then goes on to the first sentence of the next chapter;
* the audio element's currentTime runs forward through the chapter's MP3, is inside each clip
  when the engine highlights its sentence, and reaches the last clip's end — in real time, so the
  audio did play rather than jump;
* in the page the engine shows, exactly one element at a time carries
  `-epub-media-overlay-active`: the sentence's span, whose text is the sentence, and it is on
  screen (the engine turned the page to it);
* no errors from the engine, the audio elements or the page.

A second test plays nothing in real time: for every overlay of the sample book (content/, built
with --read-aloud), the engine resolves each par's text reference to the narrated element, and
Chromium's media stack loads each MP3 through the engine's loader, seeks in it, lasts to the
last clip's end and has speech, not silence, inside every clip.

A screenshot of a highlighted sentence goes to test-artifacts/e2e/media-overlay-foliate.png.
Both tests take about 25 s together.  Missing tools (Playwright, Chromium, foliate-js, eSpeak NG)
skip them with the install command — or fail them under BOOK_REQUIRE_TOOLS=1.
"""

from __future__ import annotations

import functools
import http.server
import os
import posixpath
import re
import shutil
import threading
import time
import zipfile
from pathlib import Path

import pytest
from lxml import etree

import book

from . import engine

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
PAGE = HERE / "overlay_reader.html"
FOLIATE = engine.NODE_MODULES / "foliate-js"
ACTIVE_CLASS = "-epub-media-overlay-active"
SCREENSHOT = engine.ARTIFACTS / "media-overlay-foliate.png"

OPF_NS = {"opf": "http://www.idpf.org/2007/opf"}
SMIL_NS = {"s": "http://www.w3.org/ns/SMIL"}
XHTML_NS = {"h": "http://www.w3.org/1999/xhtml"}

BOOK_YAML = """\
title: "Read Aloud in a Reading Engine"
lang: en
author: Test Writer
chapters:
  - kettle.md
  - garden.md
"""
KETTLE = """\
# The Kettle

The kettle boiled at seven. Nobody came to the *kitchen* that morning.

The cat waited by the door, and the clock ticked on.[^cat]

- Tea was made at eight.
- The post came at nine!

[^cat]: The cat was called Pepper.
"""
# What a reader hears and sees highlighted in the first chapter, in order (a sentence's element
# may also hold its note reference's number).
KETTLE_SENTENCES = ["The Kettle", "The kettle boiled at seven.", "Nobody came to the kitchen that morning.",
                    "The cat waited by the door, and the clock ticked on.", "Tea was made at eight.",
                    "The post came at nine!", "The cat was called Pepper."]
GARDEN = """\
# The Garden

Morning came slowly over the hills.
"""


def _skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine; fail under BOOK_REQUIRE_TOOLS=1 (CI), as tests/conftest.py does."""
    if os.environ.get("BOOK_REQUIRE_TOOLS") == "1":
        pytest.fail(f"BOOK_REQUIRE_TOOLS=1 but {reason}")
    pytest.skip(reason)


def missing_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright for Python is not installed (run: {engine.INSTALL})"
    if not engine.CHROMIUM.is_file():
        return f"Chromium is not at {engine.CHROMIUM} (run: {engine.INSTALL})"
    if not (FOLIATE / "view.js").is_file() or not (FOLIATE / "epub.js").is_file():
        return f"the foliate-js reading engine is not installed ({FOLIATE} missing; run: {engine.INSTALL})"
    if not shutil.which("espeak-ng"):
        return "eSpeak NG is not installed, so --read-aloud cannot make speech (apt-get install espeak-ng)"
    return None


# ---- what the book says, read from the EPUB without the engine ----------------------------------

def parse_clock(value: str) -> float:
    """A SMIL clock value (full or partial clock, or a timecount such as `1.5s`, `200ms`)."""
    value = value.strip()
    if ":" in value:
        seconds = 0.0
        for part in value.split(":"):
            seconds = seconds * 60 + float(part)
        return seconds
    m = re.fullmatch(r"([\d.]+)(h|min|s|ms)?", value)
    return float(m.group(1)) * {"h": 3600, "min": 60, "s": 1, "ms": 0.001, None: 1}[m.group(2)]


def read_overlays(epub: Path) -> dict[str, list[dict]]:
    """Every Media Overlay of the book, by content document (its path inside the package folder,
    e.g. text/ch001.xhtml): the `par`s in SMIL order as [{id, begin, end, audio, target, text,
    position}], `audio` and `target` being paths inside the ZIP, `text` the narrated element's
    text and `position` its place in the document."""
    out = {}
    with zipfile.ZipFile(epub) as z:
        container = etree.fromstring(z.read("META-INF/container.xml"))
        opf_path = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
        base = posixpath.dirname(opf_path)
        opf = etree.fromstring(z.read(opf_path))
        items = {it.get("id"): it for it in opf.xpath("//opf:manifest/opf:item", namespaces=OPF_NS)}
        for item in items.values():
            if not item.get("media-overlay"):
                continue
            doc = item.get("href")
            smil_path = posixpath.join(base, items[item.get("media-overlay")].get("href"))
            smil = etree.fromstring(z.read(smil_path))
            xhtml = etree.fromstring(z.read(posixpath.join(base, doc)))
            order = {el.get("id"): n for n, el in enumerate(xhtml.iter()) if el.get("id")}
            pars = out[doc] = []
            for par in smil.xpath("//s:par", namespaces=SMIL_NS):
                audio = par.find("s:audio", SMIL_NS)
                target = posixpath.normpath(posixpath.join(posixpath.dirname(smil_path),
                                                           par.find("s:text", SMIL_NS).get("src")))
                path, _, frag = target.partition("#")
                assert path == posixpath.join(base, doc), f"{smil_path} narrates {path} inside the overlay of {doc}"
                el = xhtml.xpath("//*[@id=$id]", id=frag)
                assert el, f"{smil_path} points at #{frag}, which {doc} does not have"
                pars.append({"id": frag, "begin": parse_clock(audio.get("clipBegin")),
                             "end": parse_clock(audio.get("clipEnd")), "target": target,
                             "audio": posixpath.normpath(posixpath.join(posixpath.dirname(smil_path), audio.get("src"))),
                             "text": re.sub(r"\s+", " ", "".join(el[0].itertext())).strip(),
                             "position": order[frag]})
    return out


# ---- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tools():
    reason = missing_reason()
    if reason:
        _skip_or_fail(reason)


@pytest.fixture(scope="module")
def narrated(tools, tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("overlay-src")
    (src / "book.yaml").write_text(BOOK_YAML, "utf-8")
    (src / "kettle.md").write_text(KETTLE, "utf-8")
    (src / "garden.md").write_text(GARDEN, "utf-8")
    out = tmp_path_factory.mktemp("overlay-book") / "read-aloud.epub"
    book.build(src, out, read_aloud=True, cache=False)
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def sample_narrated(tools, tmp_path_factory) -> Path:
    """The sample book in content/, built with --read-aloud (about 7 minutes of speech)."""
    out = tmp_path_factory.mktemp("overlay-sample") / "sample-read-aloud.epub"
    book.build(engine.ROOT / "content", out, read_aloud=True, cache=False)
    return out


@pytest.fixture(scope="module")
def overlay_site(tools, tmp_path_factory):
    """index.html (the overlay page) + /foliate/ (the installed engine) + /books/ on 127.0.0.1;
    `overlay_site(epub)` publishes a book and returns the page's URL for it."""
    root = tmp_path_factory.mktemp("overlay-site")
    (root / "index.html").symlink_to(PAGE)
    (root / "foliate").symlink_to(FOLIATE.resolve(), target_is_directory=True)
    (root / "books").mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def publish(epub: Path) -> str:
        shutil.copyfile(epub, root / "books" / epub.name)
        return f"http://127.0.0.1:{server.server_port}/index.html?book=/books/{epub.name}"

    yield publish
    server.shutdown()
    server.server_close()


def open_book(browser, url: str, viewport: dict):
    """A page with the book open in foliate-js; returns (page, console errors so far and to come)."""
    page = browser.new_page(viewport=viewport)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.overlayReady === true", timeout=20_000)
    opened = page.evaluate("overlayLog")
    assert not opened["errors"], opened["errors"]
    assert opened["activeClass"] == ACTIVE_CLASS, "the engine did not read media:active-class"
    return page, errors


# ---- the test ----------------------------------------------------------------------------------

def wait_for(page, condition: str, seconds: float, what: str) -> None:
    """Wait until the JavaScript expression `condition` holds; fail at once, with what the
    engine logged, if it reports an error, or when `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        done, log = page.evaluate(f"[Boolean({condition}), overlayLog]")
        if done:
            return
        played = [h["text"] for h in log["highlights"] if h["type"] == "highlight"]
        if log["errors"]:
            pytest.fail(f"the engine reported errors while waiting for {what}: {log['errors']}; highlighted: {played}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds:.0f} s; highlighted: {played}")
        page.wait_for_timeout(100)


def _runs(values):
    """Consecutive duplicates collapsed: [a, a, b, a] → [a, b, a]."""
    out = []
    for v in values:
        if not out or out[-1] != v:
            out.append(v)
    return out


def test_foliate_plays_a_chapter_overlay_sentence_by_sentence(narrated, overlay_site, browser):
    overlays = read_overlays(narrated)
    chapter, following = overlays["text/ch001.xhtml"], overlays["text/ch002.xhtml"]
    ids = [c["id"] for c in chapter]
    # The book's side: one par per sentence, in reading order (document order, the source's).
    assert len(chapter) == len(KETTLE_SENTENCES), [c["text"] for c in chapter]
    assert all(want in c["text"] for want, c in zip(KETTLE_SENTENCES, chapter)), [c["text"] for c in chapter]
    assert [c["position"] for c in chapter] == sorted(c["position"] for c in chapter), "SMIL order is not document order"
    assert all(a["end"] == b["begin"] for a, b in zip(chapter, chapter[1:])), "clips are not back to back"

    # A small, wide page, so the chapter takes two screens and the engine must turn the page to
    # keep the sentence it reads in view.
    page, console_errors = open_book(browser, overlay_site(narrated), {"width": 640, "height": 260})
    try:
        sections = page.evaluate("overlayLog.sections")
        assert any(s["overlay"] and s["id"].endswith("text/ch001.xhtml") for s in sections), sections
        started = time.monotonic()
        page.evaluate("playFrom('text/ch001.xhtml')")
        budget = chapter[-1]["end"] + following[0]["end"] + 15  # real-time playback, with slack
        # A screenshot while a sentence in the middle of a paragraph is read and highlighted.
        shot = chapter[2]["id"]
        wait_for(page, f"overlayLog.active.some(a => a.ids.includes({shot!r}))", budget, f"the highlight of #{shot}")
        engine.ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
        # Played to the end of the chapter and on into the next one.
        nxt = following[0]["id"]
        wait_for(page, f"overlayLog.highlights.some(h => h.type === 'highlight' && h.text === {following[0]['target']!r})",
                 max(1.0, budget - (time.monotonic() - started)), f"the next chapter's first sentence, #{nxt}")
        page.evaluate("view.mediaOverlay.stop()")
        log = page.evaluate("overlayLog")
    finally:
        page.close()

    assert not log["errors"], log["errors"]
    assert not console_errors, console_errors

    # 1. The engine's highlight events: every par of the chapter once, in SMIL order, then the
    #    next chapter's first par; clip times as the SMIL gives them.
    mine = chapter[0]["target"].partition("#")[0] + "#"  # EPUB/text/ch001.xhtml#
    lit = [h for h in log["highlights"] if h["type"] == "highlight"]
    in_chapter = [h for h in lit if h["text"].startswith(mine)]
    assert [h["text"] for h in in_chapter] == [c["target"] for c in chapter]
    assert lit[: len(in_chapter)] == in_chapter, "a highlight outside the chapter came in between"
    after = lit[len(in_chapter)]
    assert after["text"] == following[0]["target"], after
    assert after["audio"] != in_chapter[0]["audio"], "the next chapter should play its own audio"
    for h, c in zip(in_chapter, chapter):
        assert abs(h["begin"] - c["begin"]) < 0.002 and abs(h["end"] - c["end"]) < 0.002, (h, c)
    # highlight and unhighlight alternate: never two sentences lit at once.
    events = [(h["type"], h["text"]) for h in log["highlights"] if h["text"].startswith(mine)]
    assert [e[0] for e in _runs(events)] == ["highlight", "unhighlight"] * len(ids), events

    # 2. The audio clock: one element for the chapter's MP3, inside each clip when its sentence
    #    is highlighted, running forward to the end of the last clip, in real time.
    audio = in_chapter[0]["audio"]
    assert audio and all(h["audio"] == audio for h in in_chapter), in_chapter
    assert len({c["audio"] for c in chapter}) == 1
    for h, c in zip(in_chapter, chapter):
        assert c["begin"] - 0.05 <= h["t"] < c["end"], f"{c['id']} highlighted at {h['t']:.3f} s, outside its clip {c}"
    clock = [s["t"] for s in log["times"] if s["audio"] == audio]
    assert clock == sorted(clock), f"the audio clock went back: {clock}"
    assert clock[-1] >= chapter[-1]["end"] - 0.3, f"the audio stopped at {clock[-1]:.3f} s of {chapter[-1]['end']:.3f} s"
    span = chapter[-1]["begin"] - chapter[0]["begin"]
    wall = in_chapter[-1]["at"] - in_chapter[0]["at"]
    assert wall >= 0.9 * span - 0.3, f"{span:.1f} s of clips were highlighted in {wall:.1f} s: the audio did not play"

    # 3. What a reader sees: one element at a time with the active class, the sentence's span
    #    with the sentence's text, on screen.
    samples = [a for a in log["active"] if a["ids"]]
    assert all(len(a["ids"]) == 1 for a in samples), [a["ids"] for a in samples if len(a["ids"]) > 1]
    shown = [a for a in samples if a["ids"][0] in ids]
    assert _runs([a["ids"][0] for a in shown]) == ids
    by_id = {c["id"]: c for c in chapter}
    for a in shown:
        assert a["texts"][0] == by_id[a["ids"][0]]["text"], a
    unseen = [i for i in ids if not any(a["visible"][0] for a in shown if a["ids"][0] == i)]
    assert not unseen, f"highlighted but never on screen: {unseen}"
    pages = _runs([a["scroll"][0] for a in shown])
    assert len(pages) >= 2, f"the chapter should fill more than one page here, and the engine turn it: {pages}"
    assert SCREENSHOT.stat().st_size > 0


_CHECK_CLIPS_JS = r"""
async (pars) => {
  const book = view.book
  const out = { unresolved: [], audio: {} }
  // Every par's text reference, resolved by the engine, is an element of its document.
  const docs = new Map()
  for (const p of pars) {
    const nav = view.resolveNavigation(p.target)
    if (!nav || nav.index < 0) { out.unresolved.push(p.target + " (no spine item)"); continue }
    if (!docs.has(nav.index)) docs.set(nav.index, await book.sections[nav.index].createDocument())
    const el = nav.anchor(docs.get(nav.index))
    if (!el || el.id !== p.id) out.unresolved.push(p.target)
  }
  // Every MP3, through the engine's loader, in Chromium's media stack: an <audio> element (what
  // the engine plays) gives its duration and seeks to the last clip; Web Audio decodes it whole,
  // to find the loudest sample inside each clip.
  const files = [...new Set(pars.map(p => p.audio))]
  for (const src of files) {
    const clips = pars.filter(p => p.audio === src)
    const blob = await book.loadBlob(src)
    if (!blob) { out.audio[src] = { error: "not in the EPUB" }; continue }
    const url = URL.createObjectURL(blob)
    const a = new Audio(url)
    const res = out.audio[src] = {}
    try {
      await new Promise((ok, no) => { a.onloadedmetadata = ok; a.onerror = () => no(new Error(a.error?.message || "cannot load")) })
      res.duration = a.duration
      a.currentTime = clips.at(-1).begin
      await new Promise(ok => { a.onseeked = ok })
      res.seeked = a.currentTime
      const decoded = await new OfflineAudioContext(1, 1, 44100).decodeAudioData(await blob.arrayBuffer())
      const d = decoded.getChannelData(0), rate = decoded.sampleRate
      res.decoded = decoded.duration
      res.peaks = clips.map(c => {
        let m = 0
        for (let i = Math.floor(c.begin * rate), n = Math.min(d.length, Math.ceil(c.end * rate)); i < n; i++)
          m = Math.max(m, Math.abs(d[i]))
        return m
      })
    } catch (e) { res.error = String(e.message || e) }
    finally { URL.revokeObjectURL(url) }
  }
  return out
}
"""


def test_every_clip_of_the_sample_book_resolves_and_sounds_in_foliate(sample_narrated, overlay_site, browser):
    """Without playing in real time: for every overlay of the sample book (title page, disclaimer,
    every chapter), the engine resolves each par's text reference to the narrated element, and
    Chromium loads each MP3, seeks in it, and finds speech (not silence) inside every clip,
    with the file lasting to the last clip's end."""
    overlays = read_overlays(sample_narrated)
    assert {"text/titlepage.xhtml", "text/disclaimer.xhtml", "text/ch001.xhtml"} <= set(overlays), sorted(overlays)
    pars = [p for doc in overlays.values() for p in doc]
    page, console_errors = open_book(browser, overlay_site(sample_narrated), {"width": 900, "height": 700})
    try:
        result = page.evaluate(_CHECK_CLIPS_JS, pars)
    finally:
        page.close()
    assert not console_errors, console_errors
    assert not result["unresolved"], result["unresolved"]
    problems = []
    for src, res in result["audio"].items():
        clips = [p for p in pars if p["audio"] == src]
        if res.get("error"):
            problems.append(f"{src}: {res['error']}")
            continue
        last = clips[-1]["end"]
        if not (last - 0.01 <= res["duration"] <= last + 0.25):
            problems.append(f"{src} lasts {res['duration']:.3f} s in an <audio> element; its SMIL ends at {last:.3f} s")
        if abs(res["decoded"] - res["duration"]) > 0.1:
            problems.append(f"{src}: {res['decoded']:.3f} s decoded, {res['duration']:.3f} s as media")
        if abs(res["seeked"] - clips[-1]["begin"]) > 0.05:
            problems.append(f"{src}: a seek to {clips[-1]['begin']:.3f} s landed at {res['seeked']:.3f} s")
        silent = [f"#{c['id']} {c['begin']:.3f}-{c['end']:.3f} s (peak {peak:.3f})"
                  for c, peak in zip(clips, res["peaks"]) if peak < 0.05]
        if silent:
            problems.append(f"{src}: silent clips: {', '.join(silent)}")
    assert len(result["audio"]) == len({p["audio"] for p in pars})
    assert not problems, "\n".join(problems)
