"""Endpointing: cuts a 16 kHz microphone stream into utterances as soon as each one ends.

WebRTC VAD decides voiced frames, gated by energy above an adaptive noise floor, by spectral
flatness (hiss and water noise are flat, vowels are peaky) and, within an utterance, by energy at
most ``max_below_peak_db`` below its loudest frame (a fading vowel has ended for a listener by
then; answers only, see ``asr.LISTENING``). An utterance starts with 3 voiced frames out of 5 and
ends after 300 ms without voice -- or already after 120 ms (60 ms while listening for a barge-in)
when the recognizer says what was said so far is a whole answer it is sure of (``complete``), so a
one-word answer is decoded 60-300 ms after it was said, not after a second of silence.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import webrtcvad

from ..audio.levels import levels_db

SAMPLE_RATE = 16000
"""Samples per second of everything the recognizer hears."""
FRAME_MS = 30
"""VAD frame length (ms)."""
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * 2
"""Bytes of one int16 frame."""


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
    """Frames kept before the detected start (240 ms), also when the last utterance ended within them: a breath
    or click just before a word must not cut the word's first sound."""
    tail_frames: int = 7
    """Frames of the hangover kept after the speech (about 200 ms)."""
    min_voiced: int = 4
    """Utterances with fewer voiced frames are dropped silently (clicks, breaths)."""
    max_frames: int = 333
    """An utterance is force-ended after this many frames (10 s)."""
    max_flatness: float = 0.4
    """Voiced frames have a peaky spectrum: hiss, hum-free noise and water are flatter than this."""
    max_below_peak_db: float = 35.0
    """Within an utterance a voiced frame must also be at most this far below its loudest frame: on a quiet
    line a word's fading vowel otherwise counts as speech down to the 30 dB gate, 60-140 ms past where a
    listener hears it end."""
    early_frames: int = 4
    """Unvoiced frames in a row (120 ms) after which ``complete`` may end the utterance early."""
    check_frames: int = 2
    """Unvoiced frames in a row (60 ms) at which ``complete`` is asked: it decodes while the rest of the
    ``early_frames`` pause arrives, and its yes counts only if the pause lasts that long."""
    early_min_voiced: int = 8
    """Voiced frames (240 ms) an utterance needs before it may end early: noise chops speech into
    short bursts, and a burst of a longer answer can sound like a whole one ("five")."""
    early_max_frames: int = 50
    """Only utterances up to this long (1.5 s) are checked early: longer ones are sentences, which
    pause more often, and each check costs a decode."""
    recheck: bool = False
    """When the check says no, ask once more at the next unvoiced frame: a check 30 ms into the pause can come
    a frame before a word's last sound ended (barge-in "wait", live: 5 of 12 failed so, and all 5 passed a frame
    later)."""
    resume_frames: int = 0
    """Frames after a sure check within which speech may go on without voiding its yes; the utterance then ends
    after ``early_frames`` of silence, with the check's answer (barge-in: flite's "pau... s", the word's last
    sound after what the endpointer took for a pause, was checked twice and cut 180-220 ms after its end)."""
    hold_on_sound: bool = False
    """Within an utterance, a frame loud enough for speech but not voiced (a fricative: the "s" of "sorry" is as
    flat as hiss) neither goes on with it nor counts toward its pause. Set where answers wait for the full pause
    (yes/no): espeak's "yes... sorry, I misheard, no" was cut after "yes" (the s of "yes", 210 ms of silence and
    the s of "sorry" made 300 ms without a voiced frame) and taken as yes."""
    fade_frames: int = 10
    """For this many frames (300 ms) after an utterance ends, sound more than ``max_below_peak_db`` (as set when it
    ended) below its loudest frame is its fading end, not the start of the next one, whatever the settings are
    now: flite's "my calf", ended early, left the rest of its "f" (VAD speech, not flat); with the gate gone with
    the utterance, those frames started one of their own, heard "S, F."."""
    complete: Callable[[bytes], bool] | None = None
    """Asked once per pause, at ``check_frames``, with the utterance so far: True ends it at ``early_frames``."""

    def __post_init__(self) -> None:
        self._vad = webrtcvad.Vad(self.vad_mode)
        self._buf = b""
        self.floor_db: float | None = None
        self._fade_db, self._fade_left = -math.inf, 0  # the last utterance's fading-end gate (kept by reset)
        self.reset()

    def reset(self) -> None:
        """Forget the current utterance (the noise floor is kept)."""
        self._pre: deque[bytes] = deque(maxlen=self.preroll_frames)
        self._recent: deque[bool] = deque(maxlen=self.start_window)
        self._utt: list[bytes] | None = None
        self._voiced = self._silent = 0
        self._sure = False
        self._sure_at = 0  # the utterance's length (frames) when the check said yes
        self._peak_db = -math.inf  # within an utterance: the level of its loudest frame so far

    @property
    def in_utterance(self) -> bool:
        """Whether speech has started and not yet ended."""
        return self._utt is not None

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
        self._fade_db, self._fade_left = -math.inf, 0
        levels = levels_db(pcm, FRAME_BYTES)
        if len(levels):
            self.floor_db = float(np.percentile(levels, 5))

    def _voiced_frame(self, frame: bytes) -> tuple[bool, bool]:
        """(voiced, loud): loud enough for speech, and voiced as well (VAD, a peaky spectrum)."""
        level = self.level_db(frame)
        if self.floor_db is None:
            self.floor_db = level
        elif level < self.floor_db:
            self.floor_db = level
        else:
            self.floor_db += 0.01  # slow rise: about 0.3 dB per second
        gate = -math.inf
        if self._utt is not None:
            self._peak_db = max(self._peak_db, level)
            gate = self._peak_db - self.max_below_peak_db
        elif self._fade_left > 0:  # just after an utterance: its fading end
            self._fade_left -= 1
            gate = self._fade_db
        loud = level > max(self.floor_db + self.margin_db, 30.0, gate)
        return loud and self._vad.is_speech(frame, SAMPLE_RATE) and self.flatness(frame) < self.max_flatness, loud

    def feed(self, pcm: bytes) -> list[tuple[bytes, int]]:
        """Add audio; return (utterance audio, voiced frames) for every utterance that ended."""
        self._buf += pcm
        done = []
        while len(self._buf) >= FRAME_BYTES:
            frame, self._buf = self._buf[:FRAME_BYTES], self._buf[FRAME_BYTES:]
            voiced, loud = self._voiced_frame(frame)
            if self._utt is None:
                self._pre.append(frame)
                self._recent.append(voiced)
                if sum(self._recent) >= self.start_frames:
                    self._utt, self._voiced, self._silent = list(self._pre), sum(self._recent), 0
                    self._peak_db = float(levels_db(b"".join(self._pre), FRAME_BYTES).max())
                    self._pre.clear()
                continue
            self._utt.append(frame)
            self._voiced += voiced
            if voiced:
                self._silent = 0
            elif not (loud and self.hold_on_sound):
                self._silent += 1
            if self._silent >= self.hangover_frames or len(self._utt) >= self.max_frames or self._whole():
                done.extend(self._close())
        return done

    def _whole(self) -> bool:
        """Asks ``complete`` at the ``check_frames``-th silent frame (with ``recheck``, after a no, at the next
        one too); its yes ends the utterance at the ``early_frames``-th (speech in between voids it, unless it
        comes within ``resume_frames`` of the check)."""
        if self._sure:
            if self._silent > 0 or len(self._utt or []) - self._sure_at <= self.resume_frames:
                return self._silent >= self.early_frames
            self._sure = False  # speech went on: what was checked is not the whole
        if self._silent < self.check_frames:
            return False
        again = self.recheck and self._silent == self.check_frames + 1  # a sure check returned above
        if self._silent == self.check_frames or again:
            self._sure = (self.complete is not None and self._voiced >= self.early_min_voiced
                          and len(self._utt or []) <= self.early_max_frames
                          and self.complete(b"".join(self._utt or [])))
            self._sure_at = len(self._utt or [])
        return self._sure and self._silent >= self.early_frames

    def flush(self) -> list[tuple[bytes, int]]:
        """End the current utterance now (end of a recording, or the context changes)."""
        out = self._close() if self._utt is not None else []
        self._buf = b""
        self.reset()
        return out

    def _close(self) -> list[tuple[bytes, int]]:
        frames, voiced = self._utt or [], self._voiced
        cut = max(0, self._silent - self.tail_frames)
        self._fade_db, self._fade_left = self._peak_db - self.max_below_peak_db, self.fade_frames
        self.reset()
        self._pre.extend(frames[-self.preroll_frames:])  # the next utterance's pre-roll, if it starts soon
        frames = frames[:len(frames) - cut]
        return [(b"".join(frames), voiced)] if voiced >= self.min_voiced else []

