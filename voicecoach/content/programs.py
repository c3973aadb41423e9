"""Exercises and programs: load prompts/exercises.yaml and prompts/programs/*.yaml, check
every field, and hand the coach frozen dataclasses with each program's dose overrides applied.

Every exercise names the clinical seed texts it comes from (`seeds`, `seed_dose`). A bad file
never raises anything but ContentError, whose message names the file, line, exercise and field,
so a physical therapist can fix it (``yaml_fields`` reads the files with their lines and checks each
value); check_program_file lists every problem in a file at once.
"""

from __future__ import annotations

import difflib
from importlib import resources
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .yaml_fields import (Checker, ContentError, LineList, LineMap, ListOf, block, kind, one_of, placeholders,
                          read_lines, seconds, some_text, true_or_false, whole_number)

DEFAULT_PROGRAM = "extension"
RULES = ("progression", "in_order")
PARTS = ("stretching", "strengthening")
SIDE_PLACEHOLDERS = ("away_side", "pain_side")
PER_SIDE_PLACEHOLDERS = ("side", "other_side")


@dataclass(frozen=True)
class Dose:
    """How much of an exercise to do."""

    sets: int
    """Sets of reps, or how many times the hold is done (at least 1)."""
    reps: int | None
    """Repetitions per set, or None for a pure hold."""
    hold_s: float
    """Seconds held at the top of each rep, or the whole hold for a pure hold."""
    per_side: bool
    """Whether the sets run on one side, then again on the other."""
    rest_s: float
    """Seconds of rest between sets, holds and sides."""


@dataclass(frozen=True)
class Exercise:
    """One exercise from the library, with the words the coach speaks."""

    id: str
    """Library id, e.g. "press-up"."""
    name: str
    """Spoken name."""
    seeds: tuple[str, ...]
    """Seed texts it comes from, e.g. ("000", "001")."""
    seed_dose: str
    """The seed's own words for the dose."""
    setup: tuple[str, ...]
    """Sentences spoken in order before the first rep or hold."""
    rep_cue: str
    """Said on each rep; empty for pure holds."""
    hold_cues: tuple[str, ...]
    """Said now and then during a hold; may be empty."""
    dose: Dose
    """The dose (a program's override already applied when reached through a Step)."""

    @property
    def is_hold(self) -> bool:
        """True for a pure hold (no reps)."""
        return self.dose.reps is None


@dataclass(frozen=True)
class Step:
    """One entry of a program."""

    exercise: Exercise
    """The exercise, with the program's dose override already applied."""
    part: str
    """"" or the part of the program it belongs to: "stretching" or "strengthening"."""


@dataclass(frozen=True)
class Program:
    """An ordered list of exercises and the rule for moving through them."""

    id: str
    """Program id, e.g. "extension"."""
    name: str
    """Spoken name."""
    seeds: tuple[str, ...]
    """Seed texts it comes from."""
    description: str
    """A sentence or two on who it is for."""
    rule: str
    """"progression" (move on only while pain fails to centralize) or "in_order" (do them all)."""
    requires_clearance: bool
    """Whether the user must confirm a clinician cleared them first."""
    steps: tuple[Step, ...]
    """The exercises, in order."""
    source: str
    """Path of the file it was loaded from."""


@dataclass(frozen=True)
class Library:
    """All exercises and built-in programs."""

    exercises: dict[str, Exercise]
    """Exercises by id."""
    programs: dict[str, Program]
    """Built-in programs by id."""

    def program(self, id_or_path: str) -> Program:
        """A built-in program by id, or a program file loaded and checked against this library."""
        if id_or_path in self.programs:
            return self.programs[id_or_path]
        path = Path(id_or_path)
        if path.suffix in (".yaml", ".yml") or path.exists():
            return load_program_file(path, self.exercises)
        raise ContentError(f"unknown program '{id_or_path}'; choose one of: "
                           f"{', '.join(self.programs)}, or give the path to a program file")


def prompts_dir() -> Path:
    """The prompts: $VOICECOACH_PROMPTS if set, else the package voicecoach.prompts (importlib.resources).

    That package is the repository's prompts/ folder (pyproject.toml maps it), so an editable
    install reads the checkout's files and a wheel carries its own copy inside the package."""
    env = os.environ.get("VOICECOACH_PROMPTS")
    return Path(env) if env else Path(resources.files("voicecoach.prompts"))


def load_library(root: Path | None = None) -> Library:
    """Load and check exercises.yaml and every programs/*.yaml under root (default prompts_dir())."""
    root = Path(root) if root else prompts_dir()
    exercises, errors = _check_exercises(root / "exercises.yaml")
    if errors:
        raise errors[0]
    files = sorted((root / "programs").glob("*.yaml"))
    if not files:
        raise ContentError("holds no program files (*.yaml)", file=root / "programs")
    programs: dict[str, Program] = {}
    for path in files:
        program = load_program_file(path, exercises)
        if program.id in programs:
            raise ContentError(f"uses id '{program.id}', already used by {programs[program.id].source}",
                               file=path, field="id")
        programs[program.id] = program
    if DEFAULT_PROGRAM not in programs:
        raise ContentError(f"has no '{DEFAULT_PROGRAM}' program (the default)", file=root / "programs")
    return Library(exercises, programs)


def load_program_file(path: Path, exercises: dict[str, Exercise]) -> Program:
    """Load one program file; raise the first ContentError found."""
    errors, program = _check_program(Path(path), exercises)
    if program is None:
        raise errors[0]
    return program


def check_program_file(path: Path, exercises: dict[str, Exercise]) -> list[ContentError]:
    """Every problem in one program file (empty when it is fine)."""
    try:
        return _check_program(Path(path), exercises)[0]
    except ContentError as error:  # unreadable, or not YAML at all
        return [error]


_reps = kind(lambda v: v is None or not whole_number(v),
             "must be a whole number, 1 or more (or null for a pure hold)")
_ident = kind(lambda v: isinstance(v, str) and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", v),
              "must be lowercase words joined by hyphens, like press-up")
_seed = kind(lambda v: isinstance(v, str) and re.fullmatch(r"\d{3}", v),
             'must be a seed number in quotes, like "001"')
_entry = kind(lambda v: isinstance(v, (str, dict)),
              "must be an exercise id, or a block starting with 'id:'")


def _spoken(v: Any) -> str | None:
    """Spoken text: some text, whose {placeholders} are all known."""
    if some_text(v):
        return some_text(v)
    allowed = SIDE_PLACEHOLDERS + PER_SIDE_PLACEHOLDERS
    try:
        unknown = sorted(placeholders(v) - set(allowed))
    except ValueError:
        return "has a stray '{' or '}'; placeholders look like {away_side}"
    names = ", ".join(f"{{{p}}}" for p in allowed)
    return f"uses unknown placeholder {{{unknown[0]}}}; allowed: {names}" if unknown else None


_DOSE = {"sets": whole_number, "reps": _reps, "hold_s": seconds, "per_side": true_or_false, "rest_s": seconds}
_EXERCISE = {"name": some_text, "seeds": ListOf(_seed, True), "seed_dose": some_text, "dose": block,
             "setup": ListOf(_spoken, True), "hold_cues": ListOf(_spoken, False),
             "rep_cue": lambda v: None if v in (None, "") else _spoken(v)}
_PROGRAM = {"id": _ident, "name": some_text, "seeds": ListOf(_seed, True), "rule": one_of(*RULES),
            "requires_clearance": true_or_false, "description": some_text, "exercises": ListOf(_entry, True)}
_STEP = {"id": _ident, "part": one_of(*PARTS), "dose": block, "why": some_text}


def _consistent(chk: Checker, ex: Exercise, m: LineMap) -> bool:
    """Check a built exercise's (maybe overridden) dose against its cues, reporting at the
    lines of m's dose block; True if all is well."""
    texts = (*ex.setup, ex.rep_cue, *ex.hold_cues)
    side = ", ".join(f"{{{p}}}" for p in PER_SIDE_PLACEHOLDERS
                     if p in set().union(*map(placeholders, texts)))
    bad = [(field, says) for field, wrong, says in [
        ("hold_s", ex.is_hold and ex.dose.hold_s <= 0, "must be above 0 for a pure hold (no reps)"),
        ("reps", not ex.is_hold and not ex.rep_cue, "is set, but there is no rep_cue for each rep"),
        ("per_side", side and not ex.dose.per_side, f"must be true, since the cues use {side}"),
    ] if wrong]
    for field, says in bad:
        chk.error(m["dose"].lines.get(field, m["dose"].line), ex.id, f"dose.{field}", says)
    return not bad


def _as_dose(d: dict[str, Any]) -> Dose:
    return Dose(**{**d, "hold_s": float(d["hold_s"]), "rest_s": float(d["rest_s"])})


def _check_exercises(path: Path) -> tuple[dict[str, Exercise], list[ContentError]]:
    chk, exercises = Checker(path), {}
    top = chk.fields(read_lines(path, "exercises"), {"exercises": block}, None)
    for ex_id, entry in top.get("exercises", {}).items():
        line = top["exercises"].lines[ex_id]
        name = ex_id if isinstance(ex_id, str) else None
        before = len(chk.errors)
        if not (chk.value(ex_id, _ident, line, name, "id")
                and chk.value(entry, block, line, name, "")):
            continue
        f = chk.fields(entry, _EXERCISE, ex_id, optional=("rep_cue", "hold_cues"))
        d = chk.fields(f["dose"], _DOSE, ex_id, "dose.", ("reps", "hold_s")) if "dose" in f else {}
        if len(chk.errors) > before:
            continue
        exercise = Exercise(ex_id, f["name"], tuple(f["seeds"]), f["seed_dose"], tuple(f["setup"]),
                            f.get("rep_cue") or "", tuple(f.get("hold_cues") or ()),
                            _as_dose({"reps": None, "hold_s": 0, **d}))
        if _consistent(chk, exercise, entry):
            exercises[ex_id] = exercise
    if "exercises" in top and not top["exercises"]:
        chk.error(top["exercises"].line, None, "exercises", "lists no exercises")
    return exercises, chk.in_order()


def _check_program(path: Path, exercises: dict[str, Exercise]
                   ) -> tuple[list[ContentError], Program | None]:
    chk = Checker(path)
    data = read_lines(path, "id")
    f = chk.fields(data, _PROGRAM, None, optional=("requires_clearance",))
    entries = data["exercises"] if isinstance(data.get("exercises"), list) else LineList()
    steps = [_step(chk, item, line, exercises)  # items that are not even an entry are reported
             for item, line in zip(entries, entries.lines) if not _entry(item)]
    if chk.errors:
        return chk.in_order(), None
    return [], Program(f["id"], f["name"], tuple(f["seeds"]), f["description"], f["rule"],
                        f.get("requires_clearance", False), tuple(steps), str(path))


def _step(chk: Checker, item: Any, line: int, exercises: dict[str, Exercise]) -> Step | None:
    """One program entry: `- id: press-up` with optional part/dose/why, or just `- press-up`."""
    if isinstance(item, str):
        item = LineMap(id=item)
        item.line, item.lines = line, {"id": line}
    before = len(chk.errors)
    ex_id = item.get("id") if isinstance(item.get("id"), str) else None
    f = chk.fields(item, _STEP, ex_id, optional=("part", "dose", "why"))
    if "id" in f and ex_id not in exercises:
        near = difflib.get_close_matches(ex_id, exercises, n=1)
        chk.error(item.lines["id"], ex_id, "id", "is not in exercises.yaml"
                  + (f"; did you mean '{near[0]}'?" if near else ""))
    override = chk.fields(f["dose"], _DOSE, ex_id, "dose.", _DOSE) if "dose" in f else {}
    if len(chk.errors) > before:
        return None
    exercise = exercises[ex_id]
    if override:
        exercise = replace(exercise, dose=_as_dose({**asdict(exercise.dose), **override}))
        if not _consistent(chk, exercise, item):
            return None
    return Step(exercise, f.get("part", ""))
