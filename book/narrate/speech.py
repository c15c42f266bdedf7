"""Offline text-to-speech engines behind one small interface.

`book build --read-aloud` needs speech for every sentence, offline.  The default engine is eSpeak
NG (Debian `espeak-ng`): always available, a voice for about a hundred languages, robotic but
clear.  A better local engine plugs in as a *command* the user names (``--speech-command``,
BuildOptions.speech_command; never the source) that reads text on standard input and writes a
WAV file, e.g. Piper with a voice model the user supplies:

    book build --read-aloud --speech-command 'piper --model en_US-lessac-medium.onnx --output_file {output}'

Every engine returns 16-bit mono PCM; all clips of one book must share one sample rate.
"""

from __future__ import annotations

import hashlib
import io
import shlex
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import SourceError, ToolError


@dataclass(frozen=True)
class Clip:
    pcm: bytes  # 16-bit signed little-endian mono samples
    rate: int


def _read_wav(data: bytes, what: str) -> Clip:
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getsampwidth() != 2:
                raise ToolError(f"{what} did not write 16-bit audio", hint="configure it to write 16-bit PCM WAV")
            frames = w.readframes(w.getnframes())
            if w.getnchannels() == 2:
                # Keep the left channel: narration is mono.
                frames = b"".join(frames[i:i + 2] for i in range(0, len(frames), 4))
            elif w.getnchannels() != 1:
                raise ToolError(f"{what} wrote {w.getnchannels()} channels", hint="configure a mono voice")
            return Clip(frames, w.getframerate())
    except (wave.Error, EOFError) as e:
        raise ToolError(f"{what} did not write a WAV file ({e})") from None


class Engine:
    """The interface: a stable `id` (part of every cache key), a narrator name for the
    `media:narrator` metadata, a voice for a language, and speech for a text."""

    id: str
    narrator: str

    def voice_for(self, lang: str) -> str:
        raise NotImplementedError

    def speak(self, text: str, voice: str) -> Clip:
        raise NotImplementedError


class Espeak(Engine):
    narrator = "eSpeak NG (synthetic voice)"

    def __init__(self, binary: str = "espeak-ng"):
        path = shutil.which(binary)
        if not path:
            raise ToolError("eSpeak NG is not installed, so --read-aloud cannot make speech",
                            hint="install it: apt-get install espeak-ng (or bash .ci/install-tools)")
        self.binary = path
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        self.id = "espeak-ng:" + version

    @lru_cache(maxsize=None)
    def voice_for(self, lang: str) -> str:
        """The eSpeak NG voice for a BCP 47 tag: the most specific non-MBROLA voice (MBROLA voices
        need extra data files).  `es-419` → `es-419`; `en-GB` → `en-gb`; `ja` → `ja`."""
        tag = lang.lower()
        primary = tag.split("-")[0]
        out = subprocess.run([self.binary, f"--voices={primary}"], capture_output=True, text=True, timeout=30).stdout
        langs = []
        for line in out.splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 5 and not cols[4].startswith("mb/"):
                langs.append(cols[1].lower())
        for candidate in (tag, "-".join(tag.split("-")[:2]), primary):
            if candidate in langs:
                return candidate
        if langs:
            return next((v for v in langs if v.split("-")[0] == primary), langs[0])
        raise SourceError(f"eSpeak NG has no voice for the language '{lang}'",
                          hint="build without --read-aloud, or configure another engine with read-aloud.command")

    def speak(self, text: str, voice: str) -> Clip:
        r = subprocess.run([self.binary, "-v", voice, "--stdout", "-b", "1", "--stdin"], input=text.encode("utf-8"),
                           capture_output=True, timeout=120)
        if r.returncode != 0:
            raise ToolError(f"eSpeak NG failed on a sentence ({r.stderr.decode(errors='replace').strip()[:200]})")
        return _read_wav(r.stdout, "eSpeak NG")


class Command(Engine):
    """Any program that reads text on stdin and writes a WAV file to `{output}` (`{voice}` is
    replaced by the book's language tag)."""

    def __init__(self, template: str, narrator: str | None = None, model: Path | None = None):
        self.template = template
        argv = shlex.split(template)
        if not argv or not shutil.which(argv[0]):
            raise ToolError(f"the read-aloud command '{argv[0] if argv else template}' is not installed",
                            hint="install it, or leave out --speech-command to use eSpeak NG")
        digest = hashlib.sha256(template.encode())
        if model and model.is_file():
            digest.update(model.read_bytes()[:1 << 20])
        self.id = "command:" + digest.hexdigest()
        self.narrator = narrator or f"{argv[0]} (synthetic voice)"

    def voice_for(self, lang: str) -> str:
        return lang

    def speak(self, text: str, voice: str) -> Clip:
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "clip.wav"
            argv = [a.replace("{output}", str(out)).replace("{voice}", voice) for a in shlex.split(self.template)]
            r = subprocess.run(argv, input=text.encode("utf-8"), capture_output=True, timeout=300)
            if r.returncode != 0 or not out.is_file():
                raise ToolError(f"the read-aloud command failed ({r.stderr.decode(errors='replace').strip()[:200]})")
            return _read_wav(out.read_bytes(), "the read-aloud command")
