"""Spoken lines and coach timing: loads prompts/lines.yaml and prompts/settings.yaml."""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from .programs import prompts_dir
from .yaml_fields import ContentError, read_yaml


@dataclass(frozen=True)
class Settings:
    """Coach timing, in seconds, from prompts/settings.yaml."""

    rep_up_s: float = 2.0
    """Time to move into each repetition (scaled by the tempo)."""
    rep_down_s: float = 2.0
    """Time to come back down from each repetition (scaled by the tempo)."""
    setup_s: float = 5.0
    """Time to get into position after the setup cues."""
    hold_cue_every_s: float = 30.0
    """During long holds, speak a cue or the time left this often."""
    countdown_from: int = 3
    """Count the last seconds of a hold aloud from this number."""
    answer_timeout_s: float = 8.0
    """Silence before a question is asked again, more briefly."""
    pause_timeout_s: float = 1800.0
    """A pause with no "resume" for this long ends the session as no_response."""
    tempo_step: float = 1.25
    """"slower" multiplies the rep time by this; "faster" divides by it."""
    tempo_min: float = 0.5
    """Fastest tempo factor allowed."""
    tempo_max: float = 2.0
    """Slowest tempo factor allowed."""
    max_partial_rounds: int = 3
    """Rounds of an exercise that only partly centralizes before moving on (seed 000)."""
    hold_scale: float = 1.0
    """Holds last their dose times this (demos shorten them; never above 1 in coaching)."""
    rest_scale: float = 1.0
    """Rests last their dose times this (demos shorten them)."""

    def fast(self) -> "Settings":
        """Short holds, rests and setup pauses for demos; speech and counting are unchanged."""
        return dataclasses.replace(self, hold_scale=0.05, rest_scale=0.1, setup_s=1.0)

    @classmethod
    def load(cls, path: Path) -> "Settings":
        """Read settings from a YAML file; unknown or non-numeric keys are a ContentError."""
        data = _read_yaml(path)
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise ContentError(f"unknown setting '{key}'", str(path), None, None, key)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ContentError("must be a number of zero or more", str(path), None, None, key)
            values[key] = type(getattr(cls, key))(value)
        return cls(**values)


class Lines:
    """The coach's spoken lines, looked up by key and filled in with values."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self._data = data
        self._source = source

    @classmethod
    def load(cls, root: Path | None = None) -> "Lines":
        """Load prompts/lines.yaml (from root, default the prompts directory)."""
        path = (root or prompts_dir()) / "lines.yaml"
        return cls(_read_yaml(path), str(path))

    def raw(self, key: str) -> Any:
        """The entry at a dotted key (e.g. 'pain_ack.partial'), as stored."""
        node: Any = self._data
        for part in key.split("."):
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise ContentError(f"the line '{key}' is missing", self._source, None, None, key)
        return node

    def get(self, key: str, **values: Any) -> str:
        """The line at key with its {placeholders} filled in."""
        template = self.raw(key)
        if not isinstance(template, str):
            raise ContentError(f"the line '{key}' is not text", self._source, None, None, key)
        try:
            return string.Formatter().vformat(template, (), values)
        except (KeyError, IndexError) as exc:
            raise ContentError(f"unknown placeholder {exc}", self._source, None, None, key) from None

    def count(self, key: str) -> int:
        """How many entries the list at key has (e.g. the screening questions)."""
        entry = self.raw(key)
        return len(entry) if isinstance(entry, list) else 0

    def number(self, n: int) -> str:
        """A whole number in words where the lines have one, else digits."""
        words, tens = self.raw("numbers"), self.raw("tens")
        if 0 <= n < len(words):
            return words[n]
        ten, unit = divmod(n, 10)
        if len(words) <= n < 10 * (len(tens) + 2):
            return tens[ten - 2] + (f"-{words[unit]}" if unit else "")
        return str(n)

    def join(self, items: list[str]) -> str:
        """Items as spoken in a sentence: 'a', 'a and b', 'a, b and c' (the line 'list_and')."""
        if len(items) < 2:
            return "".join(items)
        return self.get("list_and", items=", ".join(items[:-1]), last=items[-1])

    def duration(self, seconds: float) -> str:
        """A duration in spoken words: 'thirty seconds', 'two minutes', 'one minute and ten seconds'."""
        total = max(0, round(seconds))
        mins, secs = divmod(total, 60)
        sec_text = self.get("one_second") if secs == 1 else self.get("seconds", n=self.number(secs))
        if mins == 0:
            return sec_text
        min_text = self.get("one_minute") if mins == 1 else self.get("minutes", n=self.number(mins))
        return min_text if secs == 0 else self.get("minutes_seconds", m=min_text, s=sec_text)


def _read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from a file, or a ContentError naming the file and line."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ContentError("must be a mapping of keys to lines", str(path), 1, None, None)
    return data
