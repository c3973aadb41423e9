"""Echo check: whether a sound the microphone caught while the coach spoke was only the coach's own voice.

Through a loudspeaker the coach hears itself, and Whisper turns its voice into words: "buttock, thigh"
came back as "Vedic, die", and barge-in's scores took that for "pause" (the echo end-to-end test's session
paused itself so). The coach knows what it played and when: ``EchoCheck`` keeps the loudness of the lines
played (10 ms frames, from when the speaker says each sounded) and of the microphone; for an utterance it
finds the delay and level at which the lines' loudness best follows the microphone's (a room's echo), then
looks for frames clearly louder than that echo: someone else speaking (double-talk detection, as echo
cancellers do). None: only the echo. The lines' loudness is held and let die away slowly
(``decay_db_per_s``), so a room's reverberation after a word is echo too.

Loudness alone finds a patient speaking as loud as the echo or louder (piper's lines with flite's "stop"
mixed in: 12 dB louder nearly always, 6 dB louder about 6 in 10, as loud about 1 in 4), so the runtime asks
it only about a command taken from the scores alone (the transcript names none), never about a "stop" said.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .levels import levels_db

HOP_S = 0.01
"""Loudness is measured in frames of this length (seconds)."""


def loudness(pcm: bytes, rate: int) -> np.ndarray:
    """``levels_db`` of each ``HOP_S`` frame of int16 mono ``pcm`` at ``rate``."""
    return levels_db(pcm, 2 * max(1, int(rate * HOP_S)))


@dataclass
class PlayedLine:
    """One line the speaker played."""

    sounded_at: float
    """Monotonic time its first sample sounded (the speaker's estimate)."""
    level: np.ndarray
    """Its loudness per ``HOP_S`` frame, held and decaying (reverberation), with a silent tail."""
    raw: np.ndarray
    """Its loudness per ``HOP_S`` frame as played, with the same tail."""
    cut_at: float = float("inf")
    """Monotonic time it was cut off (barge-in), if it was."""


@dataclass
class EchoCheck:
    """Tells the coach's own voice, heard back, from someone speaking over it."""

    max_delay_s: float = 0.6
    """Longest delay from a line sounding to its echo reaching the microphone searched for (seconds)."""
    context_s: float = 1.5
    """Microphone sound before the utterance also used to find the echo's delay and level (seconds)."""
    decay_db_per_s: float = 60.0
    """How fast a line's loudness is let die away after each sound: a room's reverberation (RT60 1 s)."""
    spread_s: float = 0.02
    """A line's loudness also counts this long before and after each frame: timing jitter (seconds)."""
    margin_db: float = 8.0
    """A microphone frame this much louder than the echo expected there is someone else speaking ..."""
    voice_s: float = 0.12
    """... when such frames add up to this long within the utterance (seconds)."""
    above_noise_db: float = 10.0
    """Frames within this of the microphone's quiet floor are not counted as speech."""
    min_match: float = 0.5
    """The lines' loudness must follow the microphone's this closely (correlation) to call anything echo."""
    tail_s: float = 1.0
    """A line's reverberation is looked for this long after its end (seconds)."""
    keep_s: float = 30.0
    """How much history is kept (seconds)."""
    lines: deque = field(default_factory=lambda: deque(maxlen=8))
    """The lines played lately (``PlayedLine``)."""
    heard_times: deque = field(default_factory=deque)
    """Capture times of the microphone's loudness frames."""
    heard_levels: deque = field(default_factory=deque)
    """The microphone's loudness per frame (dB)."""

    def played(self, pcm: bytes, rate: int, sounded_at: float) -> None:
        """A line (int16 mono ``pcm`` at ``rate``) started sounding at ``sounded_at`` (monotonic)."""
        level = loudness(pcm, rate)
        level = np.concatenate([level, np.zeros(int(self.tail_s / HOP_S))])
        step = self.decay_db_per_s * HOP_S
        held = level.copy()
        for i in range(1, len(held)):  # a room's sound dies away, it does not stop
            held[i] = max(held[i], held[i - 1] - step)
        k = int(round(self.spread_s / HOP_S))
        if k:
            padded = np.pad(held, k, constant_values=0.0)
            held = np.max(np.stack([padded[j:j + len(held)] for j in range(2 * k + 1)]), axis=0)
        self.lines.append(PlayedLine(sounded_at, held, level))

    def cut(self, at: float) -> None:
        """The line playing was cut off at ``at`` (monotonic): nothing of it sounded after."""
        if self.lines:
            self.lines[-1].cut_at = min(self.lines[-1].cut_at, at)

    def heard(self, pcm: bytes, captured_at: float, rate: int = 16000) -> None:
        """A microphone block whose first sample was captured at ``captured_at`` (monotonic)."""
        level = loudness(pcm, rate)
        self.heard_times.extend(captured_at + (np.arange(len(level)) + 0.5) * HOP_S)
        self.heard_levels.extend(level)
        while self.heard_times and self.heard_times[0] < captured_at - self.keep_s:
            self.heard_times.popleft()
            self.heard_levels.popleft()

    def only_echo(self, start: float, end: float) -> bool:
        """Whether the microphone's sound from ``start`` to ``end`` (capture times) was the coach's lines
        heard back and nothing else: False when no line could have sounded then."""
        times, levels = np.asarray(self.heard_times), np.asarray(self.heard_levels)
        window = (times >= start - self.context_s) & (times <= end)
        t, m = times[window], levels[window]
        mine = t >= start  # the utterance's own frames; the rest of the window only helps find the echo
        if not mine.any():
            return False
        best = None
        for delay in np.arange(0.0, self.max_delay_s + HOP_S / 2, HOP_S):
            raw = self._expected(t - delay, held=False)
            if (raw > 0.0).sum() < 10 or np.std(raw) == 0.0 or np.std(m) == 0.0:
                continue
            match = float(np.corrcoef(m, raw)[0, 1])
            if best is None or match > best[0]:
                best = (match, delay, raw)
        if best is None or best[0] < self.min_match:
            return False
        _, delay, raw = best
        echo = self._expected(t - delay)
        loud = raw >= raw.max() - 20.0
        gain = float(np.median(m[loud] - raw[loud]))
        floor = float(np.percentile(m, 10)) + self.above_noise_db
        louder = (m > echo + gain + self.margin_db) & (m > floor) & mine
        return louder.sum() * HOP_S < self.voice_s

    def _expected(self, at: np.ndarray, held: bool = True) -> np.ndarray:
        """The lines' loudness (``held``: held and dying away) at the times ``at`` (0 dB where none sounded)."""
        out = np.zeros(len(at))
        for line in self.lines:
            level = line.level if held else line.raw
            idx = np.floor((at - line.sounded_at) / HOP_S).astype(int)
            ok = (idx >= 0) & (idx < len(level)) & (at < line.cut_at)
            out[ok] = np.maximum(out[ok], level[idx[ok]])
        return out
