"""Read aloud: EPUB 3 Media Overlays made offline (``book build --read-aloud``).

Each sentence of the title page, the disclaimer and the text is wrapped in a `<span id>`
(book.narrate.overlays), spoken by an offline engine (book.narrate.speech: eSpeak NG, or the
user's --speech-command), and paired with its clip in a SMIL file, one MP3 per document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Problem
from ..options import BuildOptions
from ..package.assemble import Assembly
from ..package.writer import Overlays, PackageItem
from ..source import Source
from ..workers import worker_count
from . import overlays


@dataclass
class Narration:
    """What narrating a book made: the package's overlay metadata and the speech cache's counts."""

    overlays: Overlays
    cache: overlays.SpeechCache
    warnings: list[Problem] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(self.overlays.durations.values())


def narrate(source: Source, assembly: Assembly, options: BuildOptions, cache_folder: Path | None) -> Narration:
    """Media Overlays for the title page, the disclaimer and every text document of `assembly`,
    added to its items (the narrated documents get their sentence spans and `media-overlay`).
    Speech is cached in `cache_folder` (None: not cached)."""
    overlays.require_encoder()
    warnings = []
    asked = (source.meta.read_aloud or {}).get("command")
    if asked and not options.speech_command:
        # Building someone else's article must never run their code: a program to run comes
        # from the user (--speech-command), never from the source it would run on.
        warnings.append(Problem(
            f"read-aloud.command '{asked[:80]}' is not run: a source cannot choose a program to run on "
            "this machine; eSpeak NG reads the book", source.meta_file, source.key_lines.get("read-aloud"),
            f"if you trust it, pass it yourself: --speech-command '{asked[:200]}'"))
    engine = overlays.engine_from(options.speech_command, source.meta.read_aloud)
    cache = overlays.SpeechCache(cache_folder)
    items = assembly.items
    narrated = [it for it in items if it.uid in ("titlepage", "disclaimer") or it.file_name.startswith("text/ch")]
    options.say(f"segmenting {len(narrated)} document(s) into sentences")
    docs = [overlays.segment(it.file_name, it.data, n, source.meta.lang) for n, it in enumerate(narrated, 1)]
    clips = overlays.synthesise(docs, engine, cache, options.progress, threads=worker_count(options.jobs))
    durations = {}
    for it, doc in zip(narrated, docs):
        if not doc.sentences:
            continue
        stem = it.file_name.rsplit("/", 1)[-1].removesuffix(".xhtml")
        ov = overlays.assemble(doc, clips, f"smil/{stem}.smil", f"audio/{stem}.mp3")
        it.data = doc.data
        it.media_overlay = f"mo-{stem}"
        items.append(PackageItem(ov.smil_name, ov.smil, "application/smil+xml", uid=f"mo-{stem}"))
        items.append(PackageItem(ov.audio_name, ov.audio, "audio/mpeg", uid=f"audio-{stem}"))
        durations[f"mo-{stem}"] = ov.duration
    return Narration(Overlays(durations, engine.narrator, overlays.ACTIVE_CLASS), cache, warnings)
