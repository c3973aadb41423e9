"""An answer: what one utterance means at a waiting point, which answers are dangerous to mix up (``opposite``),
and the text normalization every reader shares."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

CONTEXTS: tuple[str, ...] = ("idle", "yesno", "clearance", "location", "side", "number", "pain", "global")
"""The waiting points' kinds of answer; "global" commands are valid in every context."""
GLOBAL = "global"

Meaning = tuple[str, Any]
"""(kind, value) of an answer, whatever the words."""


@dataclass(frozen=True)
class Answer:
    """One recognized answer."""

    kind: str
    """Answer type: start, last_session, yesno, location, side, number, pain, or a global command."""
    value: str | int | None
    """Program id, "yes"/"no", body area, side, 0..10, pain change; None for commands."""
    text: str
    """The normalized text that matched."""


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


def normalize(text: str) -> str:
    """Lower-case, drop punctuation (keeping apostrophes inside words), single-space."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    text = re.sub(r"[^\w']|_", " ", text)
    text = re.sub(r"(?<!\w)'+|'+(?!\w)", " ", text)
    return " ".join(text.split())


DIGITS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
"""Number words by value: Whisper writes "3" where "three" was said."""


def spelled(text: str) -> str:
    """``normalize(text)`` with the numbers 0-10 as words ("8 Hold, 8" -> "eight hold eight")."""
    return " ".join(DIGITS[int(w)] if w.isdigit() and int(w) < len(DIGITS) else w for w in normalize(text).split())


def shown(answer: Answer | None) -> object:
    """An answer as `hear` and `understand` print it: the value ("yes", 7, "thigh"), a command's name, or None."""
    if answer is None:
        return None
    return answer.value if answer.value is not None else answer.kind
