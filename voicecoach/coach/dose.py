"""The dose of an exercise as timed beats: what to say during a set and how long to wait after."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..content.lines import Settings
from ..content.programs import Exercise


MIN_HOLD_S = 4.0
"""Shortest hold even when holds are scaled down for a demo."""


@dataclass(frozen=True)
class Beat:
    """One spoken moment of a set, followed by a wait."""

    key: str
    """The line to speak (a key of prompts/lines.yaml), or "" for the exercise's own text."""
    values: dict[str, Any] = field(default_factory=dict)
    """Values for the line's placeholders ("text" holds the exercise's own words)."""
    wait_s: float = 0.0
    """Seconds to wait after speaking, before the next beat."""
    scaled: bool = False
    """Whether the wait follows the rep tempo ("slower"/"faster")."""
    rep: int | None = None
    """The repetition this beat counts, if it counts one."""
    mark: str | None = None
    """A progress mark for displays and simulators: "hold_started", "rep_done"."""


@dataclass(frozen=True)
class SetPlan:
    """One set (or one hold) of an exercise, in the order they are done."""

    number: int
    """1-based set number on this side."""
    of: int
    """Sets on this side."""
    side: str | None
    """"left"/"right" for exercises done on each side, else None."""


def set_plans(exercise: Exercise) -> list[SetPlan]:
    """Every set of the dose in order: all sets on one side, then all on the other."""
    dose = exercise.dose
    sides: list[str | None] = ["right", "left"] if dose.per_side else [None]
    return [SetPlan(n, dose.sets, side) for side in sides for n in range(1, dose.sets + 1)]


def set_beats(exercise: Exercise, settings: Settings) -> list[Beat]:
    """The beats of one set: counted reps (with a hold at the top) or a held position."""
    if exercise.is_hold:
        return _hold_beats(exercise, settings)
    return _rep_beats(exercise, settings)


def _rep_beats(exercise: Exercise, settings: Settings) -> list[Beat]:
    dose = exercise.dose
    beats = [Beat("reps_start", {"reps": dose.reps})]
    if exercise.rep_cue:
        beats.append(Beat("", {"text": exercise.rep_cue}))
    for n in range(1, dose.reps + 1):
        mark = "rep_done" if n > 1 else None
        if dose.hold_s > 0:
            beats.append(Beat("rep_hold", {"count": n}, settings.rep_up_s + dose.hold_s, True, n, mark))
            beats.append(Beat("rep_release", {}, settings.rep_down_s, True))
        else:
            beats.append(Beat("rep", {"count": n}, settings.rep_up_s + settings.rep_down_s, True, n, mark))
    beats.append(Beat("set_done"))
    return beats


def _hold_beats(exercise: Exercise, settings: Settings) -> list[Beat]:
    hold = max(MIN_HOLD_S, exercise.dose.hold_s * settings.hold_scale)
    countdown = min(settings.countdown_from, int(hold) - 1)
    cue_times = _cue_times(hold - countdown, settings.hold_cue_every_s)
    beats: list[Beat] = []
    moments = [0.0, *cue_times, hold - countdown]
    for i, at in enumerate(moments[:-1]):
        wait = moments[i + 1] - at
        if i == 0:
            beats.append(Beat("hold_start", {"duration": hold}, wait, mark="hold_started"))
        elif i % 2 == 1 and exercise.hold_cues:
            cue = exercise.hold_cues[(i // 2) % len(exercise.hold_cues)]
            beats.append(Beat("", {"text": cue}, wait))
        else:
            beats.append(Beat("hold_left", {"duration": hold - at}, wait))
    for n in range(countdown, 0, -1):
        beats.append(Beat("number", {"n": n}, 1.0))
    beats.append(Beat("hold_release"))
    return beats


def _cue_times(span: float, every: float) -> list[float]:
    """Moments for cues inside a hold, every `every` seconds, none in the last few seconds."""
    if every <= 0:
        return []
    times, at = [], every
    while at < span - 3:
        times.append(at)
        at += every
    return times


def remaining(beats: list[Beat], tempo: float) -> tuple[int, float]:
    """Reps still to count and seconds still to go in the beats left of a set."""
    reps = sum(1 for b in beats if b.rep is not None)
    seconds = sum(b.wait_s * (tempo if b.scaled else 1.0) for b in beats)
    return reps, seconds
