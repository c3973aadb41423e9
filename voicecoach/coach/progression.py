"""The clinical progression: which exercise comes next after each pain response.

Rules and their sources:
- centralized (pain moves toward the spine) means this is the right exercise: it becomes the
  working exercise and, in a progression, the session finishes with it (seed 000).
- partial centralization: repeat the exercise, then move on after a few rounds (seed 000:
  "only centralize partially, move on to the next exercise").
- no change or worse: move on to the next exercise (seed 000).
- peripheralized (pain moves down the leg): stop that exercise at once (seed 001: "stop the
  exercise immediately"); two in a row end the session (clinical safety rule).
- unable in prone lying or prone props: rest a day or two, then try again (seed 001).
- side glide that helps: try the press-up again (seed 001); if it then centralizes it is the
  working exercise, otherwise the side glide is.
- a progression may start further on, at the working exercise of earlier days (`first`, see
  plan.py), and may have steps added after it (`added`: strengthening once the pain has
  settled, seed 004), which run in order once the program's own steps are done.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..content.programs import Program, Step

RESPONSES = ("centralized", "partial", "same", "worse", "peripheralized", "unable", "skipped")
"""Every response an exercise can end with (besides "interrupted" for a session cut short)."""
PRONE_EXERCISES = ("prone-lying", "prone-props")
"""Exercises whose "unable" ends the session (seed 001)."""
SIDE_GLIDE, PRESS_UP = "standing-side-glide", "press-up"


@dataclass(frozen=True)
class Outcome:
    """What the coach does after an exercise's response."""

    action: str
    """"repeat" the exercise, "next" exercise, "retest" the press-up, "finish", or "safety_stop"."""
    skipped: list[Step] = field(default_factory=list)
    """Steps passed over on the way to the next one (strengthening while acute)."""
    reason: str = ""
    """Why the session stops: "two_peripheralized" or "unable_prone"; else empty."""


class Progression:
    """Walks a program's steps, applying the rules above to each response."""

    def __init__(self, program: Program, max_partial_rounds: int = 3, skip_parts: tuple[str, ...] = (),
                 first: int = 0, added: tuple[Step, ...] = ()) -> None:
        self.program = program
        self.steps = program.steps + tuple(added)
        self.main = len(program.steps)
        self.max_partial_rounds = max_partial_rounds
        self.skip_parts = skip_parts
        self.index = first - 1
        self.round = 1
        self.working: str | None = None
        self.retesting: Step | None = None
        self._last_peripheralized = False

    @property
    def step(self) -> Step:
        """The step being run now (the press-up during a side-glide retest)."""
        return self.retesting or self.steps[self.index]

    def start(self) -> Outcome:
        """Move to the first step to run; "finish" if every step is skipped."""
        return self._advance()

    def steps_left(self) -> int:
        """Steps after the current one that will still run."""
        rest = self.steps[self.index + 1 :]
        return sum(1 for s in rest if s.part not in self.skip_parts)

    def record(self, response: str) -> Outcome:
        """Apply one exercise's response and say what comes next."""
        if response not in RESPONSES:
            raise ValueError(f"unknown response {response!r}")
        step = self.step
        if response == "peripheralized" and self._last_peripheralized:
            return Outcome("safety_stop", reason="two_peripheralized")
        if response == "unable" and step.exercise.id in PRONE_EXERCISES:
            return Outcome("safety_stop", reason="unable_prone")
        outcome = self._decide(step, response)
        if outcome.action != "repeat" and response != "skipped":
            self._last_peripheralized = response == "peripheralized"
        return outcome

    def _decide(self, step: Step, response: str) -> Outcome:
        if self.retesting is not None:
            self.working = PRESS_UP if response == "centralized" else SIDE_GLIDE
            self.retesting = None
            return self._finish()
        if self.index >= self.main:  # an added step: run them in order
            return self._advance()
        if self.program.rule == "progression":
            return self._progress(step, response)
        if response == "centralized" and self.working is None:
            self.working = step.exercise.id
        return self._advance()

    def _progress(self, step: Step, response: str) -> Outcome:
        if step.exercise.id == SIDE_GLIDE and response in ("centralized", "partial"):
            press_up = next((s for s in self.program.steps if s.exercise.id == PRESS_UP), None)
            if press_up is not None:
                self.retesting = press_up
                self.round = 1
                return Outcome("retest")
        if response == "centralized":
            self.working = step.exercise.id
            return self._finish()
        if response == "partial" and self.round < self.max_partial_rounds:
            self.round += 1
            return Outcome("repeat")
        return self._advance()

    def _finish(self) -> Outcome:
        """The program's own steps are done: go on to the added steps, if any, else finish."""
        self.index = max(self.index, self.main - 1)
        return self._advance()

    def _advance(self) -> Outcome:
        skipped: list[Step] = []
        self.round = 1
        self.index += 1
        while self.index < len(self.steps):
            step = self.steps[self.index]
            if step.part not in self.skip_parts:
                return Outcome("next", skipped)
            skipped.append(step)
            self.index += 1
        return Outcome("finish", skipped)
