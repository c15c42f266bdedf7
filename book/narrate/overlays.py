"""EPUB 3 Media Overlays (EPUB 3.3 §9; Media Overlays 3.3): every sentence of the book paired
with a clip of synthetic speech, so reading systems read aloud and highlight each sentence.

Steps, for each narrated document (title page, disclaimer, every text document):

1. **segment** — wrap each sentence of each text block (headings, paragraphs, list items, table
   cells, captions, definitions) in `<span id="…">`, keeping inline markup intact; images with a
   description get an id so their alt text is read where the image stands.  Nothing changes how
   the page looks or validates.
2. **speak** — synthesise each sentence in the voice of its language (the nearest `lang`), cached
   per sentence by content, so a rebuild after an edit speaks only what changed.
3. **assemble** — one MP3 per document (MP3 is a core media type every Media Overlays reading
   system plays), clips back to back so they are contiguous, each with the pause after it.
4. **SMIL** — one SMIL 3.0 document per text document, a `par` per sentence in reading order,
   with `epub:type` `footnote` on notes and `pagebreak` on print page numbers so a reader can
   skip them (EPUB Accessibility 1.1, SYNC-003 skippability).
"""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ..cache import read_signed_entry, signed_entry, write_entry
from . import sentences, speech

XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
SMIL = "http://www.w3.org/ns/SMIL"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ACTIVE_CLASS = "-epub-media-overlay-active"
PAUSE = 0.35  # seconds of silence after each sentence, inside its clip
# LAME starts every MP3 with 1105 samples of encoder and decoder delay (576 + 529); lameenc writes
# no LAME header that would let players trim them, so every clip is shifted by that much to keep
# the highlight in step with the voice.
MP3_DELAY_SAMPLES = 1105

LEAF_BLOCKS = {f"{{{XHTML}}}{t}" for t in "p h1 h2 h3 h4 h5 h6 li td th figcaption dt dd caption".split()}
BLOCKS = LEAF_BLOCKS | {f"{{{XHTML}}}{t}" for t in
                        "div section aside blockquote ul ol dl table thead tbody tfoot tr figure pre nav hr "
                        "header footer article".split()}
SKIP = {f"{{{XHTML}}}{t}" for t in ("pre", "code", "nav")}


@dataclass
class Sentence:
    id: str
    text: str
    lang: str
    kind: str | None = None  # "footnote" inside a note, "pagebreak" for a page number: for skippability


@dataclass
class Narrated:
    """A document after segmentation, and then its audio."""

    file_name: str
    data: bytes
    sentences: list[Sentence] = field(default_factory=list)


def _lang_of(el, default: str) -> str:
    for node in (el, *el.iterancestors()):
        lang = node.get(XML_LANG) or node.get("lang")
        if lang:
            return lang
    return default


def _kind_of(el) -> str | None:
    for node in el.iterancestors():
        if node.get(f"{{{OPS}}}type") == "footnote":
            return "footnote"
    return None


def _speakable(el) -> str:
    """Text a sentence says: its text, with the descriptions of images inside it, without the
    numbers of note references (eSpeak would read "on.1" as "on dot one")."""
    parts: list[str] = []

    def walk(node):
        if node.get(f"{{{OPS}}}type") == "noteref" or node.get("role") == "doc-noteref":
            return
        if node.tag == f"{{{XHTML}}}img" and node.get("alt"):
            parts.append(" " + node.get("alt") + " ")
        parts.append(node.text or "")
        for child in node:
            if isinstance(child.tag, str):
                walk(child)
            parts.append(child.tail or "")

    walk(el)
    return re.sub(r"\s+", " ", "".join(parts)).strip()


_TERMINAL = re.compile(r"[.!?…؟।॥。！？][\"'”’»)\]」』）]*$")


def _is_noteref(el) -> bool:
    return any(n.get(f"{{{OPS}}}type") == "noteref" or n.get("role") == "doc-noteref" for n in el.iter())


def split_text(text: str, lang: str = "en") -> list[tuple[str, bool]]:
    """Text → [(piece, ends_sentence)], by the sentence rules of `lang` (book.narrate.sentences:
    pysbd, chosen by measurement)."""
    return sentences.split(text, lang)


def _wrap_block(block, next_id, lang: str = "en") -> list:
    """Wrap the sentences of one block (its text in `lang`) in spans; returns the spans in order."""
    tokens: list[tuple[str, object]] = []
    if block.text:
        tokens.append(("text", block.text))
    for child in list(block):
        tokens.append(("break" if child.tag in BLOCKS else "el", child))
        if child.tail:
            tokens.append(("text", child.tail))
        child.tail = None
        block.remove(child)
    block.text = None

    spans, current = [], None

    def add_text(s: str, target):
        if len(target):
            target[-1].tail = (target[-1].tail or "") + s
        else:
            target.text = (target.text or "") + s

    def close():
        nonlocal current
        current = None

    # "weeks.[^1] Walking": the sentence ends after the note reference that follows its full stop.
    ended_before_note = False
    for kind, value in tokens:
        if kind == "break":
            close()
            ended_before_note = False
            block.append(value)
        elif kind == "el":
            if current is None:
                current = etree.SubElement(block, f"{{{XHTML}}}span", id=next_id())
                spans.append(current)
            current.append(value)
            if not (ended_before_note and _is_noteref(value)):
                ended_before_note = False
        else:
            if ended_before_note and value[:1].isspace():
                close()
            ended_before_note = bool(_TERMINAL.search(value))
            for piece, ends in split_text(value, lang):
                if current is None:
                    lead = piece[: len(piece) - len(piece.lstrip())]
                    if lead:
                        add_text(lead, block)
                    piece = piece[len(lead):]
                    if not piece:
                        continue
                    current = etree.SubElement(block, f"{{{XHTML}}}span", id=next_id())
                    spans.append(current)
                if ends:
                    body = piece.rstrip()
                    add_text(body, current)
                    add_text(piece[len(body):], block)
                    close()
                else:
                    add_text(piece, current)
    # A span holding only spaces or an empty element says nothing: unwrap it.
    kept = []
    for span in spans:
        if _speakable(span):
            kept.append(span)
        else:
            _unwrap(span)
    return kept


def _unwrap(el) -> None:
    """Remove `el` but keep its text and children where they were."""
    parent = el.getparent()
    idx = parent.index(el)
    prev = parent[idx - 1] if idx > 0 else None
    if prev is None:
        parent.text = (parent.text or "") + (el.text or "")
    else:
        prev.tail = (prev.tail or "") + (el.text or "")
    children = list(el)
    for i, child in enumerate(children):
        parent.insert(idx + i, child)
    last = children[-1] if children else prev
    if last is None:
        parent.text = (parent.text or "") + (el.tail or "")
    else:
        last.tail = (last.tail or "") + (el.tail or "")
    parent.remove(el)


def segment(file_name: str, data: bytes, doc_index: int, lang: str) -> Narrated:
    root = etree.fromstring(data)
    counter = [0]
    existing = {el.get("id") for el in root.iter() if el.get("id")}

    def next_id():
        while True:
            counter[0] += 1
            ident = f"mo{doc_index}-{counter[0]}"
            if ident not in existing:
                return ident

    narrated = Narrated(file_name, b"")
    body = root.find(f"{{{XHTML}}}body")
    for el in list(body.iter()):
        if not isinstance(el.tag, str) or any(a.tag in SKIP for a in el.iterancestors()) or el.tag in SKIP:
            continue
        if el.tag in LEAF_BLOCKS:
            for span in _wrap_block(el, next_id, _lang_of(el, lang)):
                narrated.sentences.append(Sentence(span.get("id"), _speakable(span), _lang_of(span, lang),
                                                   _kind_of(span)))
        elif el.tag == f"{{{XHTML}}}img" and el.get("alt") and not any(
                a.tag in LEAF_BLOCKS for a in el.iterancestors()):
            # A figure's image: its description is read where it stands.
            if not el.get("id"):
                el.set("id", next_id())
            narrated.sentences.append(Sentence(el.get("id"), el.get("alt"), _lang_of(el, lang), _kind_of(el)))
        elif el.get(f"{{{OPS}}}type") == "pagebreak" and el.get("id") and el.get("aria-label"):
            # A print page number (book.render.pagebreaks) is read where its page begins, marked
            # `pagebreak` in the SMIL so a reading system can skip it (EPUB Accessibility 1.1
            # skippability; Ace `epub-pagelist-mediaoverlays`).
            narrated.sentences.append(Sentence(el.get("id"), el.get("aria-label"), _lang_of(el, lang), "pagebreak"))
    # Reading order is document order; spans were appended while walking, so sort by position.
    order = {el.get("id"): i for i, el in enumerate(root.iter()) if el.get("id")}
    narrated.sentences.sort(key=lambda s: order[s.id])
    narrated.data = etree.tostring(root, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")
    return narrated


# ---------------------------------------------------------------------------------------------
# Speech, cached per sentence


class SpeechCache:
    """Speech clips by sentence, engine and voice, so a rebuild speaks only what changed.  The
    folder may have come with a hostile book: entries are signed and read like the chapter
    cache's (book.cache: no symbolic links, regular files of bounded size, the user's signature
    over name and content), and a clip whose sample rate no speech engine writes is a miss."""

    MAGIC = b"book-speech-1\n"
    RATES = range(8000, 192001)  # telephone quality to studio: what speech engines write

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.hits = self.misses = 0

    def key(self, engine: speech.Engine, voice: str, text: str) -> str:
        return hashlib.sha256("\x1f".join([engine.id, voice, text]).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pcm"

    def get(self, key: str) -> speech.Clip | None:
        if self.folder is None:
            return None
        data = read_signed_entry(self._path(key), self.MAGIC, key)
        if data is None or len(data) < 4 or len(data) % 2:
            return None
        rate = int.from_bytes(data[:4], "little")
        if rate not in self.RATES:
            return None
        self.hits += 1
        return speech.Clip(data[4:], rate)

    def put(self, key: str, clip: speech.Clip) -> None:
        if self.folder is None:
            return
        # A cache only saves time: one that cannot be written never fails a build.
        write_entry(self._path(key), signed_entry(self.MAGIC, key, clip.rate.to_bytes(4, "little") + clip.pcm),
                    self.folder)


def synthesise(docs: list[Narrated], engine: speech.Engine, cache: SpeechCache, progress=None,
               threads: int | None = None):
    """Speech for every sentence → {sentence id: Clip}, `threads` sentences at a time (default:
    one per CPU; each runs the speech engine as a process of its own)."""
    jobs = {}
    for doc in docs:
        for s in doc.sentences:
            voice = engine.voice_for(s.lang)
            jobs[(doc.file_name, s.id)] = (cache.key(engine, voice, s.text), s.text, voice)
    clips, todo = {}, {}
    for job, (key, text, voice) in jobs.items():
        clip = cache.get(key)
        if clip is None:
            todo.setdefault(key, (text, voice))
        else:
            clips[key] = clip
    if todo:
        if progress:
            progress(f"speaking {len(todo)} sentence(s) ({len(jobs) - len(todo)} from the cache)")
        # A progress that counts (book's command line draws a bar with it) is told how many
        # sentences are spoken, as each is done.
        count = getattr(progress, "count", None)
        with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 2) as pool:
            futures = {pool.submit(engine.speak, text, voice): key for key, (text, voice) in todo.items()}
            for done, fut in enumerate(as_completed(futures), 1):
                key = futures[fut]
                clips[key] = fut.result()
                cache.misses += 1
                cache.put(key, clips[key])
                if count is not None:
                    count(done, len(todo))
    return {job: clips[key] for job, (key, _t, _v) in jobs.items()}


# ---------------------------------------------------------------------------------------------
# Audio and SMIL


def clock(seconds: float) -> str:
    """A SMIL clock value `h:mm:ss.fff` (Media Overlays 3.3 §2.4 uses SMIL clock values)."""
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h}:{m:02d}:{s:02d}.{ms:03d}"


def require_encoder() -> None:
    try:
        import lameenc  # noqa: F401
    except ImportError:
        raise speech.ToolError("the MP3 encoder for --read-aloud (PyPI lameenc) is not installed",
                               hint="pip install 'book[read-aloud]' (in a clone: pip install -e '.[read-aloud]')") from None
    try:
        import pysbd  # noqa: F401
    except ImportError:
        raise speech.ToolError("the sentence splitter for --read-aloud (PyPI pysbd) is not installed",
                               hint="pip install 'book[read-aloud]' (in a clone: pip install -e '.[read-aloud]')") from None


def encode_mp3(pcm: bytes, rate: int) -> bytes:
    import lameenc

    enc = lameenc.Encoder()
    enc.set_bit_rate(64)
    enc.set_in_sample_rate(rate)
    enc.set_channels(1)
    enc.set_quality(2)
    return bytes(enc.encode(pcm) + enc.flush())


@dataclass
class Overlay:
    smil_name: str
    smil: bytes
    audio_name: str
    audio: bytes
    duration: float
    clips: list[tuple[str, float, float]]  # (sentence id, begin, end)


def assemble(doc: Narrated, clips: dict, smil_name: str, audio_name: str) -> Overlay:
    rate = None
    pcm = bytearray()
    timeline = []
    for s in doc.sentences:
        clip = clips[(doc.file_name, s.id)]
        if rate is None:
            rate = clip.rate
        elif clip.rate != rate:
            raise speech.ToolError("the speech engine changed its sample rate between sentences",
                                   hint="configure one voice with one sample rate")
        delay = MP3_DELAY_SAMPLES / rate
        begin = len(pcm) // 2 / rate + delay if timeline else 0.0
        pcm += clip.pcm
        pcm += b"\x00\x00" * int(PAUSE * rate)
        timeline.append((s.id, begin, len(pcm) // 2 / rate + delay))
    duration = timeline[-1][2]
    audio = encode_mp3(bytes(pcm), rate)

    text_href = os.path.relpath(doc.file_name, os.path.dirname(smil_name)).replace(os.sep, "/")
    audio_href = os.path.relpath(audio_name, os.path.dirname(smil_name)).replace(os.sep, "/")
    root = etree.Element(f"{{{SMIL}}}smil", nsmap={None: SMIL, "epub": OPS}, version="3.0")
    body = etree.SubElement(root, f"{{{SMIL}}}body")
    seq = etree.SubElement(body, f"{{{SMIL}}}seq", id="seq1")
    seq.set(f"{{{OPS}}}textref", text_href)
    kinds = {s.id: s.kind for s in doc.sentences}
    for n, (sid, begin, end) in enumerate(timeline, 1):
        par = etree.SubElement(seq, f"{{{SMIL}}}par", id=f"par{n}")
        if kinds.get(sid):
            par.set(f"{{{OPS}}}type", kinds[sid])
        etree.SubElement(par, f"{{{SMIL}}}text", src=f"{text_href}#{sid}")
        etree.SubElement(par, f"{{{SMIL}}}audio", src=audio_href, clipBegin=clock(begin), clipEnd=clock(end))
    smil = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    # Durations are given as the rounded clock values, so the sum in the package metadata equals
    # what the SMIL files say (EPUBCheck MED-016 compares them).
    return Overlay(smil_name, smil, audio_name, audio, round(duration, 3), timeline)


def engine_from(command: str | None, meta_read_aloud: dict | None) -> speech.Engine:
    """The user's speech `command` (BuildOptions.speech_command) when given, else eSpeak NG.
    The source may name the narrator and a voice model file, never the program."""
    cfg = meta_read_aloud or {}
    if command:
        model = Path(cfg["model"]) if cfg.get("model") else None
        return speech.Command(command, cfg.get("narrator"), model)
    return speech.Espeak()
