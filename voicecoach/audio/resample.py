"""Sample-rate conversion in numpy: a streaming windowed-sinc resampler for mono int16 audio.

Used when a device cannot run at the rate we need (the microphone at 16 kHz, the speaker at the
voice's rate). Band-limited (no aliasing when going down, e.g. 48 kHz -> 16 kHz), exact in the
long run (integer bookkeeping, no drift), and stateful so that blocks can be fed one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np


CHUNK = 4096
"""Input samples filtered at a time (bounds memory to a few MB whatever the clip's length)."""


@dataclass
class Resampler:
    """Converts a stream of int16 blocks from ``rate_in`` to ``rate_out``."""

    rate_in: int
    """Sample rate of the blocks fed in (Hz)."""
    rate_out: int
    """Sample rate of the blocks given back (Hz)."""
    half_taps: int = 12
    """Filter half-width in zero crossings: quality against CPU."""

    def __post_init__(self) -> None:
        g = gcd(int(self.rate_in), int(self.rate_out))
        self._up, self._down = int(self.rate_out) // g, int(self.rate_in) // g
        self._cut = min(1.0, self.rate_out / self.rate_in) * 0.94
        self._width = int(np.ceil(self.half_taps / self._cut))
        # the filter is centred on each output time, so start with `width` samples of history
        self._buf = np.zeros(self._width, dtype=np.float64)
        self._base = -self._width  # input index of _buf[0]
        self._n_out = 0
        # the weights depend only on the output's phase between two inputs: tabulate them
        self._table = self._weights(np.arange(self._up)) if self._up <= 4096 else None

    def _weights(self, phase: np.ndarray) -> np.ndarray:
        d = phase[:, None] / self._up + (self._width - 1 - np.arange(2 * self._width))[None, :]
        w = np.sinc(self._cut * d) * self._cut
        return w * (0.5 + 0.5 * np.cos(np.pi * np.clip(d / self._width, -1.0, 1.0)))  # Hann window

    @property
    def delay(self) -> float:
        """Seconds by which the output lags the input (the filter's look-ahead)."""
        return self._width / self.rate_in

    def process(self, pcm: np.ndarray | bytes, final: bool = False) -> np.ndarray:
        """Feed int16 samples, get the int16 samples now ready; ``final`` flushes the tail."""
        x = np.frombuffer(pcm, dtype=np.int16) if isinstance(pcm, (bytes, bytearray, memoryview)) else pcm
        if self._up == self._down:
            return np.asarray(x, dtype=np.int16).copy()
        # in pieces: the filter works on an (outputs x taps) matrix, which must stay small
        outs = [self._process(x[i:i + CHUNK]) for i in range(0, len(x), CHUNK)]
        if final:
            outs.append(self._process(x[:0], final=True))
        return np.concatenate(outs) if outs else np.zeros(0, dtype=np.int16)

    def _process(self, x: np.ndarray, final: bool = False) -> np.ndarray:
        if final:
            x = np.concatenate([np.asarray(x, dtype=np.float64), np.zeros(self._width + 1)])
        buf = np.concatenate([self._buf, np.asarray(x, dtype=np.float64)])
        end = self._base + len(buf)  # one past the last input index held
        # output m needs inputs up to floor(m*down/up) + width
        last_m = ((end - 1 - self._width) * self._up) // self._down
        m = np.arange(self._n_out, max(self._n_out, last_m + 1), dtype=np.int64)
        if len(m) == 0:
            self._buf = buf
            return np.zeros(0, dtype=np.int16)
        num = m * self._down  # output m sits at input position num / up: exact integers
        first = num // self._up - self._width + 1
        phase = num % self._up
        k = first[:, None] + np.arange(2 * self._width)[None, :]
        w = self._table[phase] if self._table is not None else self._weights(phase)
        y = np.einsum("ij,ij->i", buf[k - self._base], w)
        self._n_out = int(m[-1]) + 1
        keep_from = self._n_out * self._down // self._up - self._width + 1
        drop = max(0, keep_from - self._base)
        self._buf = buf[drop:]
        self._base += drop
        return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def resample(pcm: np.ndarray | bytes, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample a whole int16 clip in one go (keeps its length in seconds)."""
    if rate_in == rate_out:
        return np.frombuffer(pcm, dtype=np.int16).copy() if isinstance(pcm, bytes) else np.asarray(pcm, np.int16)
    r = Resampler(rate_in, rate_out)
    out = r.process(pcm, final=True)
    x_len = len(pcm) // 2 if isinstance(pcm, bytes) else len(pcm)
    return out[: round(x_len * rate_out / rate_in)]
