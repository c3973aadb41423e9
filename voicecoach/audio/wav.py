"""WAV files out: 16-bit mono PCM, the one format the coach writes (demo, saved utterances, corpus, `say --wav`)."""

from __future__ import annotations

import os
import wave

import numpy as np


def write_wav(path: str | os.PathLike, pcm: bytes | np.ndarray, rate: int) -> None:
    """Write int16 mono samples (bytes or an int16 array) at ``rate`` Hz; OSError when it cannot."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype(np.int16).tobytes() if isinstance(pcm, np.ndarray) else pcm)
