"""Issue 7: `book build --read-aloud` — EPUB 3 Media Overlays from offline text-to-speech."""

from __future__ import annotations

import math
import re
import shutil
from array import array

import pytest
from conftest import ROOT, VARIED, require
from helpers import NS, Epub

from book import build
from book.errors import BookError

SMIL_NS = {"s": "http://www.w3.org/ns/SMIL", "epub": "http://www.idpf.org/2007/ops"}
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed "
                                "(bash .ci/install-tools installs it)")


def _seconds(clock: str) -> float:
    h, m, s = clock.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.fixture(scope="module")
def narrated(tmp_path_factory):
    out = tmp_path_factory.mktemp("ra")
    cache = out / "cache"
    books = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BOOK_CACHE_DIR", str(cache))
        for name in ("sample", "spanish", "arabic"):
            books[name] = build(VARIED[name], out / f"{name}.epub", read_aloud=True).output
    return books


def _overlays(epub: Epub):
    """[(xhtml name, smil name, [(text src, begin, end, audio name)])] in spine order."""
    items = epub.manifest()
    out = []
    for name in epub.spine():
        item = next(i for i in items.values() if epub.full(i["href"]) == name)
        if "media-overlay" not in item:
            continue
        smil_name = epub.full(items[item["media-overlay"]]["href"])
        smil = epub.xml(smil_name)
        pars = []
        for par in smil.xpath("//s:par", namespaces=SMIL_NS):
            text = par.xpath("./s:text/@src", namespaces=SMIL_NS)[0]
            audio = par.xpath("./s:audio", namespaces=SMIL_NS)[0]
            pars.append((epub.full(text, smil_name) + "#" + text.split("#")[1],
                         _seconds(audio.get("clipBegin")), _seconds(audio.get("clipEnd")),
                         epub.full(audio.get("src"), smil_name)))
        out.append((name, smil_name, pars))
    return out


@pytest.mark.parametrize("name", ["sample", "spanish", "arabic"])
def test_smil_points_to_every_sentence_in_reading_order(narrated, name):
    epub = Epub(narrated[name])
    overlays = _overlays(epub)
    assert len(overlays) >= 3
    for doc_name, _smil, pars in overlays:
        doc = epub.xml(doc_name)
        ids_in_order = [el.get("id") for el in doc.iter() if el.get("id")]
        targets = [p[0].split("#")[1] for p in pars]
        assert all(t in ids_in_order for t in targets), "every SMIL text points to an existing id"
        positions = [ids_in_order.index(t) for t in targets]
        assert positions == sorted(positions), "pars follow the reading order"
        # every word of the body text is inside a narrated element (completeness, SYNC-001)
        body = doc.xpath("//x:body", namespaces=NS)[0]
        narrated_text = "".join("".join(doc.xpath(f"//*[@id='{t}']", namespaces=NS)[0].itertext()) for t in targets)
        for p in body.xpath(".//x:p|.//x:h1|.//x:h2|.//x:li", namespaces=NS):
            words = re.findall(r"\w+", "".join(p.itertext()))
            assert all(w in narrated_text for w in words), (doc_name, "".join(p.itertext()))


@pytest.mark.parametrize("name", ["sample", "spanish", "arabic"])
def test_clips_contiguous_inside_audio_and_durations_add_up(narrated, name):
    import miniaudio

    epub = Epub(narrated[name])
    items = epub.manifest()
    total = 0.0
    for _doc, smil_name, pars in _overlays(epub):
        audio_names = {p[3] for p in pars}
        assert len(audio_names) == 1, "one audio file per document"
        decoded = miniaudio.mp3_read_s16(epub.files[audio_names.pop()])
        assert pars[0][1] == 0.0
        for a, b in zip(pars, pars[1:]):
            assert a[2] == b[1], "clips are contiguous"
        for _t, begin, end, _a in pars:
            assert 0 <= begin < end <= decoded.duration + 0.001
        uid = next(k for k, v in items.items() if epub.full(v["href"]) == smil_name)
        declared = epub.opf.xpath(f"//opf:meta[@property='media:duration'][@refines='#{uid}']/text()", namespaces=NS)
        assert abs(_seconds(declared[0]) - pars[-1][2]) < 0.002
        total += _seconds(declared[0])
    overall = epub.opf.xpath("//opf:meta[@property='media:duration'][not(@refines)]/text()", namespaces=NS)[0]
    assert abs(_seconds(overall) - total) < 0.01
    assert epub.meta("media:active-class") == ["-epub-media-overlay-active"]
    assert epub.meta("media:narrator") == ["eSpeak NG (synthetic voice)"]
    css = epub.files["EPUB/styles/book.css"].decode()
    assert ".-epub-media-overlay-active" in css


def _rms(samples) -> float:
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


def test_audio_is_speech_not_silence(narrated):
    import miniaudio

    epub = Epub(narrated["sample"])
    checked = 0
    for _doc, _smil, pars in _overlays(epub)[:4]:
        decoded = miniaudio.mp3_read_s16(epub.files[pars[0][3]])
        samples = array("h", decoded.samples)
        rate = decoded.sample_rate
        for _t, begin, end, _a in pars[:3]:
            speech = samples[int(begin * rate): int((end - 0.35) * rate)]
            assert _rms(speech) > 300, "a clip holds sound"
            # and its sound changes over time, as speech does: the loudness of 50 ms windows varies
            windows = [_rms(speech[i:i + rate // 20]) for i in range(0, len(speech) - rate // 20, rate // 20)]
            assert max(windows) > 4 * (min(windows) + 1)
            checked += 1
        pause = samples[int((pars[0][2] - 0.3) * rate): int((pars[0][2] - 0.05) * rate)]
        assert _rms(pause) < 200, "the pause after a sentence is quiet"
    assert checked >= 6


def test_metadata_follows_the_overlays(narrated, built):
    with_audio = Epub(narrated["sample"])
    assert "auditory" in with_audio.meta("schema:accessMode")
    assert "synchronizedAudioText" in with_audio.meta("schema:accessibilityFeature")
    assert "synthetic speech" in with_audio.meta("schema:accessibilitySummary")[0]
    without = Epub(built["sample"])
    assert "auditory" not in without.meta("schema:accessMode")
    assert "synchronizedAudioText" not in without.meta("schema:accessibilityFeature")


def test_voice_follows_the_language(narrated):
    epub = Epub(narrated["arabic"])
    assert epub.dc("language") == ["ar"]
    from book.narrate.speech import Espeak

    engine = Espeak()
    assert engine.voice_for("ar") == "ar"
    assert engine.voice_for("es") in ("es", "es-es")
    assert engine.voice_for("en-GB") == "en-gb"


def test_no_voice_for_the_language(tmp_path):
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: tlh\n---\n# H\n\nQapla'.\n", "utf-8")
    with pytest.raises(BookError, match="eSpeak NG has no voice for the language 'tlh'"):
        build(src, tmp_path / "a.epub", read_aloud=True)
    assert not (tmp_path / "a.epub").exists()


def test_rebuild_speaks_only_changed_sentences(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\n---\n# One\n\nFirst sentence. Second sentence.\n\n# Two\n\nThird.\n", "utf-8")
    cold = build(src, tmp_path / "a.epub", read_aloud=True)
    # the title, two headings and three sentences
    assert cold.narration.cache.misses == 6 and cold.narration.cache.hits == 0
    warm = build(src, tmp_path / "b.epub", read_aloud=True)
    assert warm.narration.cache.misses == 0
    assert (tmp_path / "a.epub").read_bytes() == (tmp_path / "b.epub").read_bytes()
    src.write_text(src.read_text("utf-8").replace("Second sentence.", "A new second sentence."), "utf-8")
    edited = build(src, tmp_path / "c.epub", read_aloud=True)
    assert edited.narration.cache.misses == 1


def test_command_engine_is_pluggable(tmp_path, monkeypatch):
    """Any offline engine that reads stdin and writes a WAV plugs in: the user names it."""
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\nread-aloud:\n  narrator: Slow eSpeak\n---\n# One\n\nHello there.\n",
                   "utf-8")
    result = build(src, tmp_path / "a.epub", read_aloud=True,
                   speech_command="espeak-ng -v en-us -s 140 --stdin -w {output}")
    assert Epub(result.output).meta("media:narrator") == ["Slow eSpeak"]
    with pytest.raises(BookError, match="the read-aloud command 'no-such-tts' is not installed"):
        build(src, tmp_path / "b.epub", read_aloud=True, speech_command="no-such-tts -v en-us --stdin -w {output}")


def test_a_source_cannot_choose_a_program_to_run(tmp_path, monkeypatch):
    """Front matter (or book.yaml) naming a command: nothing runs, a warning says how to allow it."""
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "ran"
    src = tmp_path / "a.md"
    src.write_text("---\ntitle: T\nlang: en\nread-aloud:\n"
                   f"  command: sh -c 'touch {marker}; espeak-ng --stdin -w $0' {{output}}\n"
                   "---\n# One\n\nHello there.\n", "utf-8")
    result = build(src, tmp_path / "a.epub", read_aloud=True)
    assert not marker.exists(), "the source's command ran"
    assert Epub(result.output).meta("media:narrator") == ["eSpeak NG (synthetic voice)"]
    [warning] = [w for w in result.warnings if "is not run" in str(w)]
    assert ":4: read-aloud.command 'sh -c" in str(warning)
    assert "--speech-command" in str(warning)


@pytest.mark.checkers
@pytest.mark.parametrize("name", ["sample", "spanish", "arabic"])
def test_read_aloud_books_pass_epubcheck_and_ace(narrated, name):
    from book.check import tools as checkers

    require("epubcheck")
    require("ace")
    report = checkers.run_epubcheck(narrated[name])
    assert (report.fatals, report.errors, report.warnings) == (0, 0, 0), [str(m) for m in report.messages]
    ace = checkers.run_ace(narrated[name])
    assert ace.violations == (), [str(v) for v in ace.violations]


def test_sample_builds_with_read_aloud_from_the_command_line(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "book", "build", "--read-aloud", "-o", str(tmp_path / "s.epub")],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "narrated:" in r.stdout


def test_note_numbers_are_not_read_aloud():
    from book.narrate.overlays import segment

    doc = ('<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
           'lang="en"><head><title>t</title></head><body><p>The clock ticked on.<sup><a epub:type="noteref" '
           'role="doc-noteref" href="#n">1</a></sup> Then it stopped.</p></body></html>').encode()
    texts = [s.text for s in segment("EPUB/text/ch001.xhtml", doc, 1, "en").sentences]
    # the sentence ends after the note reference that follows its full stop, and the number is not said
    assert texts == ["The clock ticked on.", "Then it stopped."]


@pytest.mark.parametrize("text, sentences", [
    ("Dr. Patel said so. Then we left.", ["Dr. Patel said so.", "Then we left."]),
    ("Walk daily, e.g. after lunch. It helps.", ["Walk daily, e.g. after lunch.", "It helps."]),
    ("Pregunte a la Dra. López. Ella sabe.", ["Pregunte a la Dra. López.", "Ella sabe."]),
    ("Surgery vs. rest: see fig. 2 first.", ["Surgery vs. rest: see fig. 2 first."]),
    ("Stretch, walk, etc. and rest. Then sleep.", ["Stretch, walk, etc. and rest.", "Then sleep."]),
    ("Apples, pears etc. The end!", ["Apples, pears etc.", "The end!"]),
    ("Really? Yes. Fine… Go.", ["Really?", "Yes.", "Fine…", "Go."]),
])
def test_a_full_stop_after_an_abbreviation_does_not_end_the_sentence(text, sentences):
    from book.narrate.overlays import segment

    doc = ('<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml" lang="en"><head><title>t</title></head>'
           f'<body><p>{text}</p></body></html>').encode()
    assert [s.text for s in segment("EPUB/text/ch001.xhtml", doc, 1, "en").sentences] == sentences
