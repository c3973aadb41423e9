"""Text runtime: drives the coach with typed utterances and a fake clock (`voicecoach simulate`).

Script lines: a plain line answers the next point where the coach waits; a line starting
with "@" is said in the middle of the next set (after its first rep, or 5 s into its hold),
or at the next waiting point if one comes first; an empty line is silence at one waiting
point; after the last line the user is silent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .coach.clock import FakeClock
from .coach.coach import Coach

MIDSET_HOLD_S = 5.0
"""A mid-set line is said this long into a hold."""
WORDS_PER_SECOND = 2.7
"""Speaking rate used to move the fake clock while the coach talks."""


class Transcript:
    """The coach's Port for text: records both sides with times, optionally echoing them."""

    def __init__(self, clock: FakeClock, echo: Callable[[str], None] | None = None) -> None:
        self.clock = clock
        self.echo = echo
        self.lines: list[dict[str, Any]] = []
        self.marks: list[tuple[str, float, dict]] = []

    def say(self, text: str) -> None:
        self._add("coach", text)
        self.clock.advance(0.3 + len(text.split()) / WORDS_PER_SECOND)

    def user(self, text: str) -> None:
        self._add("user", text)

    def mark(self, name: str, **info: Any) -> None:
        self.marks.append((name, self.clock.now(), info))

    def _add(self, who: str, text: str) -> None:
        self.lines.append({"who": who, "text": text, "t": round(self.clock.now(), 1)})
        if self.echo:
            self.echo(f"{'coach' if who == 'coach' else '  you'}: {text}")


class Script:
    """The user's lines, read one at a time as the coach needs them (so a pipe can stay open)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._it: Iterator[str] = iter(lines)
        self._next: str | None = None
        self._done = False

    def peek(self) -> str | None:
        if self._next is None and not self._done:
            try:
                self._next = next(self._it).rstrip("\r\n")
            except StopIteration:
                self._done = True
        return self._next

    def take(self) -> str | None:
        line = self.peek()
        self._next = None
        return line


def run(coach: Coach, clock: FakeClock, transcript: Transcript, lines: Iterable[str]) -> bool:
    """Drive the coach until its session ends; False if the input ended before any session began."""
    script = Script(lines)
    midset_at: float | None = None
    while not coach.ended:
        midset_at = _schedule_midset(transcript, script, midset_at)
        if coach.waiting:
            midset_at = None
            line = script.take()
            if line is None and coach.timer_due is None:
                return False
            if line:
                _say(coach, transcript, line.removeprefix("@").strip())
            elif coach.timer_due is not None:
                clock.advance_to(coach.timer_due)
                coach.fire_timer()
            continue
        due = coach.timer_due
        if due is None:
            raise RuntimeError(f"the coach is stuck in state {coach.state} with nothing to wait for")
        if midset_at is not None and midset_at <= due:
            clock.advance_to(midset_at)
            midset_at = None
            _say(coach, transcript, (script.take() or "").removeprefix("@").strip())
        else:
            clock.advance_to(due)
            coach.fire_timer()
    return True


def _schedule_midset(transcript: Transcript, script: Script, midset_at: float | None) -> float | None:
    """When a set reaches its first rep or hold, plan the pending "@" line for it."""
    marks, transcript.marks = transcript.marks, []
    for name, at, info in marks:
        if midset_at is not None or not (script.peek() or "").startswith("@"):
            continue
        if name == "rep_done" and info.get("n") == 1:
            midset_at = at
        elif name == "hold_started":
            midset_at = at + MIDSET_HOLD_S
    return midset_at


def _say(coach: Coach, transcript: Transcript, text: str) -> None:
    transcript.user(text)
    coach.hear(text)
