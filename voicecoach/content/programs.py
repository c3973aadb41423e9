"""Exercises and programs: load prompts/exercises.yaml and prompts/programs/*.yaml, check
every field, and hand the coach frozen dataclasses with each program's dose overrides applied.

Every exercise names the clinical seed texts it comes from (`seeds`, `seed_dose`). A bad file
never raises anything but ContentError, whose message names the file, line, exercise and field,
so a physical therapist can fix it; check_program_file lists every problem in a file at once.
"""

from __future__ import annotations

import difflib
from importlib import resources
import math
import os
import re
import string
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, NamedTuple

import yaml

DEFAULT_PROGRAM = "extension"
RULES = ("progression", "in_order")
PARTS = ("stretching", "strengthening")
SIDE_PLACEHOLDERS = ("away_side", "pain_side")
PER_SIDE_PLACEHOLDERS = ("side", "other_side")


class ContentError(Exception):
    """A program or exercise file is malformed; str() is one clear sentence naming file, line, exercise and field."""

    def __init__(self, message: str, file: str | Path = "", line: int | None = None,
                 exercise: str | None = None, field: str | None = None):
        self.file, self.line, self.exercise, self.field = str(file), line, exercise, field
        self.message = message
        where = [self.file, line and f"line {line}", exercise and f"exercise '{exercise}'",
                 field and f"field '{field}'"]
        where = ", ".join(w for w in where if w)
        super().__init__(f"{where}: {message}" if where else message)


def read_yaml(path: Path) -> Any:
    """A YAML file's data (with libyaml's fast loader when PyYAML has it), or a ContentError naming the
    file and, for a syntax error, the line."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as exc:  # e.g. prompts not installed: one sentence, not a traceback
        raise ContentError(f"cannot read the file ({exc.strerror or exc})", path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ContentError("is not valid YAML", path, mark.line + 1 if mark else None) from None


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


# --- reading YAML with line numbers ------------------------------------------------------------

class _Map(dict):
    """A YAML mapping that remembers its line and the line of each value."""

    line: int | None = None
    lines: dict[Any, int] = {}


class _List(list):
    """A YAML sequence that remembers the line of each item."""

    lines: list[int] = []


class _Loader(yaml.SafeLoader):
    """SafeLoader that builds _Map and _List, and rejects duplicate keys."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    out = _Map(loader.construct_mapping(node, deep=True))
    out.line, out.lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in out.lines:
            raise yaml.constructor.ConstructorError(
                None, None, f"'{key}' appears twice in the same block", key_node.start_mark)
        out.lines[key] = value_node.start_mark.line + 1
    return out


def _construct_list(loader: _Loader, node: yaml.SequenceNode) -> _List:
    out = _List(loader.construct_sequence(node, deep=True))
    out.lines = [item.start_mark.line + 1 for item in node.value]
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_list)


def _read(path: Path, first_key: str) -> _Map:
    """Parse a YAML file whose top level is a mapping that starts with first_key."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError) as error:
        raise ContentError(f"cannot be read ({getattr(error, 'strerror', None) or error})", path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        raise ContentError(f"is not valid YAML: {problem}" + (f" ({context})" if context else ""),
                           path, mark and mark.line + 1)
    if not isinstance(data, _Map):
        raise ContentError(f"should be a YAML mapping that starts with '{first_key}:'", path, 1)
    return data


# --- checking values ---------------------------------------------------------------------------

Kind = Callable[[Any], "str | None"]  # says what is wrong with a value, or None if it fits


def _kind(fits: Callable[[Any], Any], says: str) -> Kind:
    return lambda v: None if fits(v) else says


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


_text = _kind(lambda v: isinstance(v, str) and v.strip(), "must be some text")
_count = _kind(lambda v: _number(v) and isinstance(v, int) and v >= 1,
               "must be a whole number, 1 or more")
_reps = _kind(lambda v: v is None or not _count(v),
              "must be a whole number, 1 or more (or null for a pure hold)")
_seconds = _kind(lambda v: _number(v) and v >= 0, "must be a number of seconds, 0 or more")
_bool = _kind(lambda v: isinstance(v, bool), "must be true or false")
_mapping = _kind(lambda v: isinstance(v, dict), "must be a block of 'field: value' lines")
_ident = _kind(lambda v: isinstance(v, str) and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", v),
               "must be lowercase words joined by hyphens, like press-up")
_seed = _kind(lambda v: isinstance(v, str) and re.fullmatch(r"\d{3}", v),
              'must be a seed number in quotes, like "001"')
_entry = _kind(lambda v: isinstance(v, (str, dict)),
               "must be an exercise id, or a block starting with 'id:'")


def _one_of(*options: str) -> Kind:
    return _kind(lambda v: isinstance(v, str) and v in options, f"must be one of: {', '.join(options)}")


def _spoken(v: Any) -> str | None:
    """Spoken text: some text, whose {placeholders} are all known."""
    if _text(v):
        return _text(v)
    allowed = SIDE_PLACEHOLDERS + PER_SIDE_PLACEHOLDERS
    try:
        unknown = sorted(_placeholders(v) - set(allowed))
    except ValueError:
        return "has a stray '{' or '}'; placeholders look like {away_side}"
    names = ", ".join(f"{{{p}}}" for p in allowed)
    return f"uses unknown placeholder {{{unknown[0]}}}; allowed: {names}" if unknown else None


class _ListOf(NamedTuple):
    """A list whose every item must fit `item`; `nonempty` if it needs at least one."""

    item: Kind
    nonempty: bool


_DOSE = {"sets": _count, "reps": _reps, "hold_s": _seconds, "per_side": _bool, "rest_s": _seconds}
_EXERCISE = {"name": _text, "seeds": _ListOf(_seed, True), "seed_dose": _text, "dose": _mapping,
             "setup": _ListOf(_spoken, True), "hold_cues": _ListOf(_spoken, False),
             "rep_cue": lambda v: None if v in (None, "") else _spoken(v)}
_PROGRAM = {"id": _ident, "name": _text, "seeds": _ListOf(_seed, True), "rule": _one_of(*RULES),
            "requires_clearance": _bool, "description": _text, "exercises": _ListOf(_entry, True)}
_STEP = {"id": _ident, "part": _one_of(*PARTS), "dose": _mapping, "why": _text}


class _Checker:
    """Collects every ContentError found in one file."""

    def __init__(self, file: Path):
        self.file = str(file)
        self.errors: list[ContentError] = []

    def error(self, line: int | None, exercise: str | None, field: str | None, message: str) -> None:
        self.errors.append(ContentError(message, self.file, line, exercise, field))

    def in_order(self) -> list[ContentError]:
        """The errors from the top of the file down, as a therapist reads it."""
        return sorted(self.errors, key=lambda e: e.line or 0)

    def value(self, v: Any, kind: Kind | _ListOf, line: int | None, exercise: str | None,
              field: str, label: str = "") -> bool:
        """Check one value; report and return False if it does not fit."""
        if isinstance(kind, _ListOf):
            if not isinstance(v, list) or (kind.nonempty and not v):
                says = "must be a list of at least one item" if kind.nonempty else "must be a list"
                self.error(line, exercise, field, says)
                return False
            return all([self.value(item, kind.item, item_line, exercise, field, f"item {i} ")
                        for i, (item, item_line) in enumerate(zip(v, v.lines), 1)])
        problem = kind(v)
        if problem:
            self.error(line, exercise, field, label + problem)
        return not problem

    def fields(self, m: _Map, spec: dict, exercise: str | None, prefix: str = "",
               optional: tuple | dict = ()) -> dict[str, Any]:
        """Check a mapping against spec {field: kind}; return the fields present that fit."""
        for key in m:
            if key not in spec:
                self.error(m.lines[key], exercise, f"{prefix}{key}",
                           f"is not a known field; expected one of: {', '.join(spec)}")
        out = {}
        for key, kind in spec.items():
            if key not in m:
                if key not in optional:
                    self.error(m.line, exercise, prefix + key, "is missing")
            elif self.value(m[key], kind, m.lines[key], exercise, prefix + key):
                out[key] = m[key]
        return out

    def consistency(self, ex: Exercise, m: _Map) -> bool:
        """Check a built exercise's (maybe overridden) dose against its cues, reporting at the
        lines of m's dose block; True if all is well."""
        texts = (*ex.setup, ex.rep_cue, *ex.hold_cues)
        side = ", ".join(f"{{{p}}}" for p in PER_SIDE_PLACEHOLDERS
                         if p in set().union(*map(_placeholders, texts)))
        bad = [(field, says) for field, wrong, says in [
            ("hold_s", ex.is_hold and ex.dose.hold_s <= 0, "must be above 0 for a pure hold (no reps)"),
            ("reps", not ex.is_hold and not ex.rep_cue, "is set, but there is no rep_cue for each rep"),
            ("per_side", side and not ex.dose.per_side, f"must be true, since the cues use {side}"),
        ] if wrong]
        for field, says in bad:
            self.error(m["dose"].lines.get(field, m["dose"].line), ex.id, f"dose.{field}", says)
        return not bad


def _as_dose(d: dict[str, Any]) -> Dose:
    return Dose(**{**d, "hold_s": float(d["hold_s"]), "rest_s": float(d["rest_s"])})


def _check_exercises(path: Path) -> tuple[dict[str, Exercise], list[ContentError]]:
    chk, exercises = _Checker(path), {}
    top = chk.fields(_read(path, "exercises"), {"exercises": _mapping}, None)
    for ex_id, entry in top.get("exercises", {}).items():
        line = top["exercises"].lines[ex_id]
        name = ex_id if isinstance(ex_id, str) else None
        before = len(chk.errors)
        if not (chk.value(ex_id, _ident, line, name, "id")
                and chk.value(entry, _mapping, line, name, "")):
            continue
        f = chk.fields(entry, _EXERCISE, ex_id, optional=("rep_cue", "hold_cues"))
        d = chk.fields(f["dose"], _DOSE, ex_id, "dose.", ("reps", "hold_s")) if "dose" in f else {}
        if len(chk.errors) > before:
            continue
        exercise = Exercise(ex_id, f["name"], tuple(f["seeds"]), f["seed_dose"], tuple(f["setup"]),
                            f.get("rep_cue") or "", tuple(f.get("hold_cues") or ()),
                            _as_dose({"reps": None, "hold_s": 0, **d}))
        if chk.consistency(exercise, entry):
            exercises[ex_id] = exercise
    if "exercises" in top and not top["exercises"]:
        chk.error(top["exercises"].line, None, "exercises", "lists no exercises")
    return exercises, chk.in_order()


def _check_program(path: Path, exercises: dict[str, Exercise]
                   ) -> tuple[list[ContentError], Program | None]:
    chk = _Checker(path)
    data = _read(path, "id")
    f = chk.fields(data, _PROGRAM, None, optional=("requires_clearance",))
    entries = data["exercises"] if isinstance(data.get("exercises"), list) else _List()
    steps = [_step(chk, item, line, exercises)  # items that are not even an entry are reported
             for item, line in zip(entries, entries.lines) if not _entry(item)]
    if chk.errors:
        return chk.in_order(), None
    return [], Program(f["id"], f["name"], tuple(f["seeds"]), f["description"], f["rule"],
                        f.get("requires_clearance", False), tuple(steps), str(path))


def _step(chk: _Checker, item: Any, line: int, exercises: dict[str, Exercise]) -> Step | None:
    """One program entry: `- id: press-up` with optional part/dose/why, or just `- press-up`."""
    if isinstance(item, str):
        item = _Map(id=item)
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
        if not chk.consistency(exercise, item):
            return None
    return Step(exercise, f.get("part", ""))
