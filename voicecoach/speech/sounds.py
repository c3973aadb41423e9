"""How words sound: their phones from the CMU pronouncing dictionary that PocketSphinx's wheel ships, and how
far apart two words sound (``sound_distance``), so that a transcript's "Mine." can be read as the answer "nine".

The dictionary (126,000 words, 3 MB, sorted) is searched in place through a memory map, not loaded: a look-up
costs microseconds and the coach's start nothing. A word it does not have sounds like nothing.
"""

from __future__ import annotations

import functools
import mmap
import re

from .free_decode import model_paths
from .rejection import sound_distance as phone_distance


@functools.lru_cache(maxsize=1)
def _dictionary() -> mmap.mmap | None:
    """The dictionary file, mapped; None when PocketSphinx or its model is not installed."""
    try:
        with open(model_paths()[1], "rb") as f:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (ImportError, OSError, ValueError):
        return None


def _line_at(data: mmap.mmap, pos: int) -> tuple[int, bytes]:
    """The start and text of the line that holds byte ``pos``."""
    start = data.rfind(b"\n", 0, pos) + 1
    end = data.find(b"\n", pos)
    return start, data[start: end if end >= 0 else len(data)]


def _head(line: bytes) -> bytes:
    """A dictionary line's word, without its variant number ("a(2)" -> "a")."""
    return line.split(b" ", 1)[0].split(b"(", 1)[0]


@functools.lru_cache(maxsize=4096)
def pronunciations(word: str) -> tuple[tuple[str, ...], ...]:
    """Every pronunciation of ``word`` (lower case) as phones without stress ("eight" -> (("EY", "T"),)), or ()."""
    data = _dictionary()
    key = word.lower().encode()
    if data is None or not key or not re.fullmatch(rb"[a-z0-9'.-]+", key):
        return ()
    low, high = 0, len(data)
    while low < high:  # the first line whose word is not before ``key`` (the file is sorted by word)
        mid = (low + high) // 2
        start, line = _line_at(data, mid)
        if _head(line) < key:
            low = start + len(line) + 1
        else:
            high = start
    out = []
    while low < len(data):
        start, line = _line_at(data, low)
        if _head(line) != key:
            break
        out.append(tuple(re.sub(r"\d", "", p) for p in line.decode().split()[1:]))
        low = start + len(line) + 1
    return tuple(out)


def sound_distance(word: str, other: str) -> float:
    """How far apart two words sound: phone edits over the longer word's phones, the nearest of their
    pronunciations (0 alike, 1 nothing alike; "mine"/"nine" 0.33, "a"/"eight" 0.5); 1 for unknown words."""
    return min((phone_distance(" ".join(a), " ".join(b)) for a in pronunciations(word) for b in pronunciations(other)),
               default=1.0)
