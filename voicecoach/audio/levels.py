"""Loudness of int16 mono audio, frame by frame (dB): for the endpointer, rejection and the echo check."""

from __future__ import annotations

import numpy as np


def levels_db(pcm: bytes, frame_bytes: int) -> np.ndarray:
    """Energy in dB (int16 full scale is about 90 dB) of every whole frame of ``frame_bytes`` of ``pcm``."""
    n = len(pcm) // frame_bytes
    x = np.frombuffer(pcm[: n * frame_bytes], np.int16).astype(np.float64).reshape(n, frame_bytes // 2)
    return 10.0 * np.log10((x * x).mean(axis=1) + 1.0)
