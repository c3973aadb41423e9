"""Offline speech recognition: per-context grammars, endpointing, and rejection.

What the user may say at each waiting point comes from ``Phrases`` (prompts/phrases.yaml):
a context's grammar is its sentences plus the global commands, generated at load time.
Two engines implement the same ``Recognizer`` protocol:

- Vosk (``asr_vosk``) when an English Vosk model directory is found (``--vosk-model``,
  ``$VOICECOACH_VOSK_MODEL`` or ``<repo>/models/vosk``);
- PocketSphinx (``asr_pocketsphinx``) otherwise, with the US English model its wheel ships.

Audio is 16 kHz mono int16. ``accept()`` streams it through an ``Endpointer`` (WebRTC VAD,
an adaptive energy floor, spectral flatness): an utterance ends 300 ms after the speech
does and is decoded then; no speech, no result. Each decoded utterance yields a ``Heard``
whose ``answer`` is None whenever the engine is unsure: asking again beats a wrong answer.
"""

from __future__ import annotations

import logging
import math
import os
import time
import wave
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import webrtcvad

from ..content.phrases import CONTEXTS, GLOBAL, Answer, Phrases

log = logging.getLogger("voicecoach")

SAMPLE_RATE = 16000
FRAME_MS = 30
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * 2
STRICT_KINDS = ("stop", "pause")
"""Global commands heard while the coach speaks (barge-in)."""


@dataclass(frozen=True)
class Heard:
    """One utterance as the recognizer understood it."""

    text: str | None
    """What the engine recognized, None when rejected (or nothing was decoded)."""
    answer: Answer | None
    """``parse(text, context)``; None when rejected."""
    confidence: float
    """0..1: how sure the engine is of ``text`` (low for rejected utterances)."""
    engine: str
    """"pocketsphinx" or "vosk"."""
    ms: float
    """Processing time for this utterance, in milliseconds."""


@dataclass(frozen=True)
class Grammar:
    """What may be said per context, and how a recognized sentence is understood."""

    sentences: Mapping[str, Sequence[str]]
    """Context -> every accepted sentence (lower case, words only), global ones included."""
    parse: Callable[[str, str], Answer | None]
    """(text, context) -> the answer, or None when the text is no accepted sentence."""

    @classmethod
    def from_phrases(cls, phrases: Phrases) -> Grammar:
        """Each context's sentences plus the global commands, straight from the phrase file."""
        glob = phrases.sentences(GLOBAL)
        sentences = {c: sorted(set(phrases.sentences(c)) | set(glob)) for c in CONTEXTS}
        return cls(sentences, phrases.parse)

    def strict(self, context: str) -> list[str]:
        """The barge-in grammar: the sentences of ``context`` that mean stop or pause."""
        out = []
        for s in self.sentences[context]:
            answer = self.parse(s, context)
            if answer is not None and answer.kind in STRICT_KINDS:
                out.append(s)
        return out


@dataclass
class Endpointer:
    """Cuts a 16 kHz int16 stream into utterances: VAD + energy above an adaptive floor."""

    vad_mode: int = 2
    """WebRTC VAD aggressiveness 0..3."""
    margin_db: float = 9.0
    """A voiced frame must also be this much louder than the noise floor."""
    start_frames: int = 3
    """Voiced frames among the last ``start_window`` that start an utterance."""
    start_window: int = 5
    """Window (frames) for the start decision."""
    hangover_frames: int = 10
    """Unvoiced frames in a row (300 ms) that end an utterance."""
    preroll_frames: int = 8
    """Frames kept before the detected start."""
    tail_frames: int = 7
    """Frames of the hangover kept after the speech (about 200 ms)."""
    min_voiced: int = 4
    """Utterances with fewer voiced frames are dropped silently (clicks, breaths)."""
    max_frames: int = 333
    """An utterance is force-ended after this many frames (10 s)."""
    max_flatness: float = 0.4
    """Voiced frames have a peaky spectrum: hiss, hum-free noise and water are flatter than this."""

    def __post_init__(self) -> None:
        self._vad = webrtcvad.Vad(self.vad_mode)
        self._buf = b""
        self.floor_db: float | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the current utterance (the noise floor is kept)."""
        self._pre: deque[bytes] = deque(maxlen=self.preroll_frames)
        self._recent: deque[bool] = deque(maxlen=self.start_window)
        self._utt: list[bytes] | None = None
        self._voiced = self._silent = 0

    @staticmethod
    def level_db(frame: bytes) -> float:
        """Frame energy in dB (int16 full scale is about 90 dB)."""
        x = np.frombuffer(frame, np.int16).astype(np.float64)
        return 10.0 * math.log10(float(np.mean(x * x)) + 1.0)

    @staticmethod
    def flatness(frame: bytes) -> float:
        """Spectral flatness over 300-3400 Hz: near 0 for vowels, about 0.6 for white noise."""
        x = np.frombuffer(frame, np.int16).astype(np.float64) * np.hanning(len(frame) // 2)
        p = np.abs(np.fft.rfft(x))[9:110] ** 2 + 1e-3
        return float(np.exp(np.mean(np.log(p))) / np.mean(p))

    def prime(self, pcm: bytes) -> None:
        """Start afresh on a whole recording: a new VAD, the noise floor from its quietest frames."""
        self._vad = webrtcvad.Vad(self.vad_mode)
        levels = [self.level_db(pcm[i:i + FRAME_BYTES]) for i in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)]
        if levels:
            self.floor_db = float(np.percentile(levels, 5))

    def _voiced_frame(self, frame: bytes) -> bool:
        level = self.level_db(frame)
        if self.floor_db is None:
            self.floor_db = level
        elif level < self.floor_db:
            self.floor_db = level
        else:
            self.floor_db += 0.01  # slow rise: about 0.3 dB per second
        return (level > max(self.floor_db + self.margin_db, 30.0) and self._vad.is_speech(frame, SAMPLE_RATE)
                and self.flatness(frame) < self.max_flatness)

    def feed(self, pcm: bytes) -> list[tuple[bytes, int]]:
        """Add audio; return (utterance audio, voiced frames) for every utterance that ended."""
        self._buf += pcm
        done = []
        while len(self._buf) >= FRAME_BYTES:
            frame, self._buf = self._buf[:FRAME_BYTES], self._buf[FRAME_BYTES:]
            voiced = self._voiced_frame(frame)
            if self._utt is None:
                self._pre.append(frame)
                self._recent.append(voiced)
                if sum(self._recent) >= self.start_frames:
                    self._utt, self._voiced, self._silent = list(self._pre), sum(self._recent), 0
                    self._pre.clear()
                continue
            self._utt.append(frame)
            self._voiced += voiced
            self._silent = 0 if voiced else self._silent + 1
            if self._silent >= self.hangover_frames or len(self._utt) >= self.max_frames:
                done.extend(self._close())
        return done

    def flush(self) -> list[tuple[bytes, int]]:
        """End the current utterance now (end of a recording, or the context changes)."""
        out = self._close() if self._utt is not None else []
        self._buf = b""
        self.reset()
        return out

    def _close(self) -> list[tuple[bytes, int]]:
        frames, voiced = self._utt or [], self._voiced
        cut = max(0, self._silent - self.tail_frames)
        frames = frames[:len(frames) - cut]
        self.reset()
        return [(b"".join(frames), voiced)] if voiced >= self.min_voiced else []


LOCATION_ORDER = ("back", "buttock", "thigh", "knee", "calf", "foot")
"""Body areas from the spine outwards: answers more than one apart are far off."""
IMPROVING, WORSENING = {"centralized", "partial"}, {"peripheralized", "worse"}


def opposite(a: Answer | None, b: Answer | None) -> bool:
    """True when mistaking ``a`` for ``b`` would be dangerous (yes/no, digits 2+ apart, better/worse...)."""
    if a is None or b is None or a.kind != b.kind or a.value == b.value:
        return False
    if a.kind == "number" and isinstance(a.value, int) and isinstance(b.value, int):
        return abs(a.value - b.value) > 1
    if a.kind == "location" and a.value in LOCATION_ORDER and b.value in LOCATION_ORDER:
        return abs(LOCATION_ORDER.index(a.value) - LOCATION_ORDER.index(b.value)) > 1
    if a.kind == "pain":
        return {a.value, b.value} & IMPROVING != set() and {a.value, b.value} & WORSENING != set()
    return a.kind in ("yesno", "side")


class Recognizer:
    """Streaming recognizer: endpointing here, decoding and rejection in an engine subclass."""

    engine = "none"
    sample_rate = SAMPLE_RATE

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.context = GLOBAL
        self.strict = False
        self.endpointer = Endpointer()

    def set_context(self, context: str, strict: bool = False) -> None:
        """Listen for ``context`` (plus global commands); strict: barge-in, only stop/pause."""
        if context not in self.grammar.sentences:
            raise ValueError(f"unknown context {context!r}; expected one of {sorted(self.grammar.sentences)}")
        self.context, self.strict = context, strict

    def accept(self, pcm: bytes) -> Heard | None:
        """Feed 16 kHz mono int16 audio; a Heard when an utterance has ended, else None."""
        return next(reversed([self._decode_timed(u) for u, _ in self.endpointer.feed(pcm)]), None)

    def flush(self) -> Heard | None:
        """Force the current utterance to end; its Heard, or None when there was no speech."""
        return next(reversed([self._decode_timed(u) for u, _ in self.endpointer.flush()]), None)

    def recognize(self, pcm: bytes) -> Heard:
        """Recognize a whole recording: the first accepted utterance, else the last one heard."""
        self.endpointer.flush()
        self.endpointer.prime(pcm)
        results = [self._decode_timed(u) for u, _ in self.endpointer.feed(pcm) + self.endpointer.flush()]
        accepted = [h for h in results if h.answer is not None]
        if accepted:
            return accepted[0]
        return results[-1] if results else Heard(None, None, 0.0, self.engine, 0.0)

    def _decode_timed(self, pcm: bytes) -> Heard:
        t = time.perf_counter()
        text, answer, confidence = self.decode(pcm)
        ms = (time.perf_counter() - t) * 1000.0
        if answer is None:
            log.debug("%s rejected %r (%.2f) in %s", self.engine, text, confidence, self.context)
        return Heard(text if answer is not None else None, answer, round(confidence, 3), self.engine, round(ms, 1))

    def decode(self, pcm: bytes) -> tuple[str | None, Answer | None, float]:
        """One utterance -> (best text, answer or None when rejected, confidence)."""
        raise NotImplementedError


def read_wav(path: str | os.PathLike) -> bytes:
    """A WAV file (any rate, channels, 8/16/24/32-bit PCM) as 16 kHz mono int16 bytes."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) * 256.0
    elif width == 3:
        x = np.frombuffer(raw, np.uint8).reshape(-1, 3)[:, 1:].copy().view("<i2").ravel().astype(np.float64)
    else:
        x = np.frombuffer(raw, {2: np.int16, 4: np.int32}[width]).astype(np.float64) / (1 << (8 * width - 16))
    x = x.reshape(-1, channels).mean(axis=1) if channels > 1 else x
    return _resample(x, rate, SAMPLE_RATE).clip(-32768, 32767).astype(np.int16).tobytes()


def _resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Windowed-sinc low-pass (when going down) then linear interpolation."""
    if rate == target or len(x) == 0:
        return x
    if target < rate:
        cutoff = 0.45 * target / rate  # cycles per input sample, a little under the new Nyquist
        n = np.arange(-32, 33)
        taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(len(n))
        x = np.convolve(x, taps / taps.sum(), mode="same")
    count = int(round(len(x) * target / rate))
    return np.interp(np.arange(count) * (rate / target), np.arange(len(x)), x)


def load_recognizer(phrases: Phrases, vosk_model: Path | None = None) -> Recognizer:
    """Vosk when an English Vosk model is found, else PocketSphinx; logs which one."""
    from .asr_vosk import VoskRecognizer, find_vosk_model

    grammar = Grammar.from_phrases(phrases)
    model = find_vosk_model(vosk_model)
    if model is not None:
        log.info("speech recognition: vosk, model %s", model)
        return VoskRecognizer(model, grammar)
    from .asr_pocketsphinx import PocketSphinxRecognizer

    rec = PocketSphinxRecognizer(grammar)
    log.info("speech recognition: pocketsphinx, model %s (no English Vosk model found)", rec.model_dir)
    return rec
