"""The exercise library and programs under prompts/, and the checks on broken files."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.content.programs import (
    Dose, Library, Program, check_program_file, load_library, load_program_file, prompts_dir,
)
from voicecoach.content.yaml_fields import ContentError

REPO_PROMPTS = Path(__file__).resolve().parents[1] / "prompts"

# id: (seeds, sets, reps, hold_s, per_side), from the seeds (lower end of any range).
TABLE = {
    "prone-lying": (("000", "001", "002"), 1, None, 120, False),
    "prone-props": (("000", "001", "002"), 1, None, 120, False),
    "press-up": (("000", "001", "002"), 1, 10, 2, False),
    "press-up-hips-off-center": (("000", "001"), 1, 10, 2, False),
    "standing-side-glide": (("000", "001"), 1, 10, 0, False),
    "flexion-rotation": (("000", "001"), 1, 10, 2, False),
    "supine-flexion": (("000", "001", "002"), 1, 10, 2, False),
    "seated-flexion": (("001", "002"), 1, 10, 0, False),
    "standing-flexion": (("001", "002"), 1, 10, 2, False),
    "standing-extension": (("001",), 1, 10, 3, False),
    "pelvic-tilt": (("002",), 1, 10, 2, False),
    "hip-flexor-stretch": (("003",), 2, None, 30, True),
    "hip-abduction": (("003",), 2, 10, 0, True),
    "straight-leg-raise": (("003",), 2, 10, 0, True),
    "single-leg-bridge": (("003",), 2, 10, 0, True),
    "quadruped-leg-extension": (("003",), 2, 10, 0, True),
    "knee-plank": (("003",), 5, None, 10, False),
    "squat": (("003",), 2, 10, 0, False),
    "double-knee-to-chest": (("004",), 3, None, 20, False),
    "piriformis-stretch": (("004",), 2, None, 20, True),
    "hamstring-stretch": (("004",), 2, None, 60, True),
    "prone-plank": (("004",), 1, None, 10, False),
    "bridge": (("004",), 2, 10, 5, False),
}

PROGRAMS = {
    "extension": ["prone-lying", "prone-props", "press-up", "press-up-hips-off-center",
                  "standing-side-glide", "flexion-rotation", "supine-flexion"],
    "flexion": ["supine-flexion", "seated-flexion", "standing-flexion", "prone-props"],
    "easy": ["prone-lying", "prone-props", "press-up", "pelvic-tilt", "supine-flexion"],
    "strength": ["hip-flexor-stretch", "hip-abduction", "straight-leg-raise", "single-leg-bridge",
                 "quadruped-leg-extension", "knee-plank", "squat"],
    "general": ["prone-props", "double-knee-to-chest", "piriformis-stretch", "hamstring-stretch",
                "prone-plank", "bridge"],
}


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of text containing needle."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> tuple[Path, str]:
    text = textwrap.dedent(text).lstrip()
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path, text


PROGRAM_HEAD = """\
id: mine
name: My program
seeds: ["001"]
rule: in_order
description: "A test program."
"""


def program_errors(tmp_path, library, body: str) -> tuple[list[ContentError], str]:
    path, text = write(tmp_path, PROGRAM_HEAD + textwrap.dedent(body))
    errors = check_program_file(path, library.exercises)
    assert all(isinstance(e, ContentError) for e in errors)
    return errors, text


def one_error(tmp_path, library, body: str) -> tuple[ContentError, str]:
    errors, text = program_errors(tmp_path, library, body)
    assert len(errors) == 1, [str(e) for e in errors]
    with pytest.raises(ContentError) as raised:  # loading raises the same problem
        load_program_file(tmp_path / "mine.yaml", library.exercises)
    assert str(raised.value) == str(errors[0])
    return errors[0], text


# --- the built-in library ------------------------------------------------------------------------

def test_library_loads_every_exercise_with_the_seed_dose(library):
    assert set(library.exercises) == set(TABLE)
    for ex_id, (seeds, sets, reps, hold_s, per_side) in TABLE.items():
        ex = library.exercises[ex_id]
        assert (ex.id, ex.seeds) == (ex_id, seeds)
        assert (ex.dose.sets, ex.dose.reps, ex.dose.hold_s, ex.dose.per_side) == (sets, reps, hold_s, per_side), ex_id
        assert ex.is_hold == (reps is None)
        assert 10 <= ex.dose.rest_s <= 30
        assert ex.name and ex.seed_dose and ex.setup
        assert ex.rep_cue if reps else not ex.rep_cue


def test_exact_doses(library):
    ex = library.exercises
    assert ex["press-up"].dose == Dose(sets=1, reps=10, hold_s=2.0, per_side=False, rest_s=15.0)
    assert (ex["hamstring-stretch"].dose.hold_s, ex["hamstring-stretch"].dose.sets) == (60, 2)
    assert ex["hamstring-stretch"].dose.per_side and ex["hamstring-stretch"].is_hold
    assert ex["bridge"].dose.hold_s == 5 and ex["bridge"].dose.sets == 2
    assert isinstance(ex["press-up"].dose.hold_s, float)
    assert "2-3 sets of 10 on each leg" in ex["single-leg-bridge"].seed_dose


def test_programs_list_their_exercises_in_order(library):
    assert set(library.programs) == set(PROGRAMS)
    for program_id, ids in PROGRAMS.items():
        program = library.program(program_id)
        assert isinstance(program, Program) and program.id == program_id
        assert [step.exercise.id for step in program.steps] == ids
        assert Path(program.source).name == f"{program_id}.yaml"
    assert library.program("extension").rule == "progression"
    assert {p.rule for p in library.programs.values() if p.id != "extension"} == {"in_order"}
    assert [p.id for p in library.programs.values() if p.requires_clearance] == ["strength"]


def test_program_overrides_and_parts(library):
    general = library.program("general").steps
    assert general[0].exercise.dose.hold_s == 30
    assert [s.part for s in general] == ["stretching"] * 4 + ["strengthening"] * 2
    easy = library.program("easy").steps
    assert [s.exercise.dose.hold_s for s in easy[:2]] == [60, 60]
    assert library.exercises["prone-props"].dose.hold_s == 120  # the library itself is untouched
    assert {s.part for s in library.program("strength").steps} == {"strengthening"}
    assert {s.part for s in library.program("extension").steps} == {""}


def test_side_dependent_exercises_use_the_placeholders(library):
    def spoken(ex_id):
        ex = library.exercises[ex_id]
        return " ".join((*ex.setup, ex.rep_cue, *ex.hold_cues))

    assert "hips to the {away_side}" in spoken("press-up-hips-off-center")
    glide = spoken("standing-side-glide")
    assert "{away_side} side to the wall" in glide and "{pain_side}" in glide
    assert "Lie on your {pain_side} side" in spoken("flexion-rotation")
    for ex in library.exercises.values():
        assert ("{side}" in spoken(ex.id)) == ex.dose.per_side, ex.id


def test_program_by_path_and_unknown_program(library, tmp_path):
    path, _ = write(tmp_path, PROGRAM_HEAD + "exercises: [press-up, bridge]\n")
    program = library.program(str(path))
    assert [s.exercise.id for s in program.steps] == ["press-up", "bridge"]
    with pytest.raises(ContentError, match="unknown program 'nope'; choose one of: .*extension"):
        library.program("nope")
    with pytest.raises(ContentError, match="cannot be read"):
        library.program(str(tmp_path / "missing.yaml"))


def test_prompts_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("VOICECOACH_PROMPTS", raising=False)
    assert prompts_dir() == REPO_PROMPTS
    monkeypatch.setenv("VOICECOACH_PROMPTS", str(tmp_path))
    assert prompts_dir() == tmp_path


# --- broken program files ------------------------------------------------------------------------

def test_yaml_syntax_error_names_the_line(tmp_path, library):
    error, text = one_error(tmp_path, library, """\
        exercises:
          - id: press-up
            dose: {reps: 10
          - id: bridge
        """)
    assert error.line and error.line >= line_of(text, "dose: {reps")
    assert "is not valid YAML" in str(error) and "mine.yaml" in str(error)


def test_missing_field(tmp_path, library):
    path, text = write(tmp_path, 'id: mine\nseeds: ["001"]\nrule: in_order\ndescription: x\n'
                                 "exercises: [press-up]\n")
    [error] = check_program_file(path, library.exercises)
    assert (error.field, error.line, error.exercise) == ("name", 1, None)
    assert str(error) == f"{path}, line 1, field 'name': is missing"


@pytest.mark.parametrize("body, marker, exercise, field, says", [
    ("  - id: press-up\n    dose: {reps: ten}\n", "reps: ten", "press-up", "dose.reps", "whole number"),
    ("  - id: press-up\n    dose: {sets: 0}\n", "sets: 0", "press-up", "dose.sets", "1 or more"),
    ("  - id: press-up\n    dose: {rest_s: -5}\n", "rest_s", "press-up", "dose.rest_s", "0 or more"),
    ("  - id: press-up\n    dose: {per_side: maybe}\n", "per_side", "press-up", "dose.per_side", "true or false"),
    ("  - id: press-up\n    dose: {hold: 30}\n", "hold: 30", "press-up", "dose.hold", "not a known field"),
    ("  - id: press-up\n    part: warmup\n", "warmup", "press-up", "part", "stretching, strengthening"),
    ("  - id: press-up\n    dose: 30\n", "dose: 30", "press-up", "dose", "'field: value'"),
    ("  - id: press-upp\n", "press-upp", "press-upp", "id", "did you mean 'press-up'"),
    ("  - id: Press Up\n", "Press Up", "Press Up", "id", "lowercase words"),
    ("  - press-up\n  - 42\n", "42", None, "exercises", "item 2 must be an exercise id"),
    ("  - id: prone-lying\n    dose: {hold_s: 0}\n", "hold_s: 0", "prone-lying", "dose.hold_s", "pure hold"),
    ("  - id: prone-lying\n    dose: {reps: 10}\n", "reps: 10", "prone-lying", "dose.reps", "no rep_cue"),
    ("  - id: hamstring-stretch\n    dose: {per_side: false}\n", "per_side", "hamstring-stretch",
     "dose.per_side", "cues use {side}"),
])
def test_bad_step(tmp_path, library, body, marker, exercise, field, says):
    error, text = one_error(tmp_path, library, "exercises:\n" + body)
    assert (error.line, error.exercise, error.field) == (line_of(text, marker), exercise, field)
    assert says in error.message
    assert f"line {error.line}" in str(error) and f"field '{field}'" in str(error)


def test_reps_null_override_makes_a_pure_hold(tmp_path, library):
    path, _ = write(tmp_path, PROGRAM_HEAD + "exercises:\n  - id: bridge\n    dose: {reps: null}\n")
    bridge = load_program_file(path, library.exercises).steps[0].exercise
    assert bridge.is_hold and bridge.dose.hold_s == 5
    # seated flexion has no top hold, so as a pure hold it would last 0 s: reported at the dose line
    error, text = one_error(tmp_path, library, "exercises:\n  - id: seated-flexion\n    dose:\n      reps: null\n")
    assert (error.field, error.line) == ("dose.hold_s", line_of(text, "reps: null"))


@pytest.mark.parametrize("replace, new, field, says", [
    ("rule: in_order", "rule: sideways", "rule", "progression, in_order"),
    ('seeds: ["001"]', "seeds: [001]", "seeds", 'in quotes, like "001"'),
    ("description: \"A test program.\"", "description: 12", "description", "some text"),
    ("rule: in_order", "rule: in_order\nrequires_clearance: yes please", "requires_clearance", "true or false"),
    ("rule: in_order", "rule: in_order\nrules: in_order", "rules", "not a known field"),
    ("rule: in_order", "rule: in_order\nrule: progression", None, "appears twice"),
])
def test_bad_program_field(tmp_path, library, replace, new, field, says):
    path, text = write(tmp_path, PROGRAM_HEAD.replace(replace, new) + "exercises: [press-up]\n")
    [error] = check_program_file(path, library.exercises)
    marker = new.splitlines()[-1]
    assert (error.line, error.field, error.exercise) == (line_of(text, marker), field, None)
    assert says in str(error)


def test_empty_exercise_list(tmp_path, library):
    error, text = one_error(tmp_path, library, "exercises: []\n")
    assert (error.field, error.line) == ("exercises", line_of(text, "exercises:"))
    assert "at least one" in error.message


def test_duplicate_exercise_in_a_program_is_allowed(tmp_path, library):
    path, _ = write(tmp_path, PROGRAM_HEAD + "exercises: [press-up, prone-props, press-up]\n")
    assert check_program_file(path, library.exercises) == []
    steps = load_program_file(path, library.exercises).steps
    assert [s.exercise.id for s in steps] == ["press-up", "prone-props", "press-up"]


def test_check_program_file_reports_every_problem(tmp_path, library):
    path, text = write(tmp_path, """\
        id: Mine
        seeds: ["001"]
        rule: sideways
        description: "Several problems."
        exercises:
          - id: press-up
            dose: {reps: 0, hold: 2}
          - id: no-such-exercise
          - id: prone-props
            part: cooldown
          - id: bridge
        """)
    errors = check_program_file(path, library.exercises)
    found = {(e.line, e.exercise, e.field) for e in errors}
    assert found == {
        (line_of(text, "id: Mine"), None, "id"),
        (1, None, "name"),
        (line_of(text, "sideways"), None, "rule"),
        (line_of(text, "reps: 0"), "press-up", "dose.reps"),
        (line_of(text, "reps: 0"), "press-up", "dose.hold"),
        (line_of(text, "no-such"), "no-such-exercise", "id"),
        (line_of(text, "cooldown"), "prone-props", "part"),
    }
    with pytest.raises(ContentError):
        load_program_file(path, library.exercises)


@pytest.mark.parametrize("text, says", [
    ("", "should be a YAML mapping that starts with 'id:'"),
    ("- just\n- a list\n", "should be a YAML mapping"),
    ("id: [unclosed\n", "is not valid YAML"),
    ("\tid: tab\n", "is not valid YAML"),
    ("{[1]: x}\n", "is not valid YAML"),
])
def test_not_a_program_at_all(tmp_path, library, text, says):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    [error] = check_program_file(path, library.exercises)
    assert says in str(error)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 200) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20)
program_like = st.fixed_dictionaries({}, optional={
    "id": yaml_values | st.just("mine"), "name": yaml_values, "seeds": yaml_values | st.just(["001"]),
    "rule": yaml_values | st.sampled_from(["progression", "in_order"]),
    "description": yaml_values, "requires_clearance": yaml_values,
    "exercises": yaml_values | st.lists(st.fixed_dictionaries(
        {"id": st.sampled_from(sorted(TABLE)) | yaml_values},
        optional={"part": yaml_values, "dose": yaml_values | st.dictionaries(
            st.sampled_from(["sets", "reps", "hold_s", "per_side", "rest_s"]), yaml_values)}), max_size=3),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=program_like)
def test_any_file_gives_content_errors_or_a_program(tmp_path, library, data):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data))
    errors = check_program_file(path, library.exercises)
    assert all(isinstance(e, ContentError) and str(e) for e in errors)
    if errors:
        with pytest.raises(ContentError):
            load_program_file(path, library.exercises)
    else:
        assert load_program_file(path, library.exercises).steps


# --- broken exercise library ---------------------------------------------------------------------

@pytest.fixture
def prompts_copy(tmp_path) -> Path:
    root = tmp_path / "prompts"
    shutil.copytree(REPO_PROMPTS, root)
    return root


def break_library(root: Path, old: str, new: str) -> str:
    path = root / "exercises.yaml"
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))
    return path.read_text()


@pytest.mark.parametrize("old, new, exercise, field, says", [
    ('rep_cue: "Press up. Further, further."', 'rep_cue: "Press up to the {left}."',
     "press-up", "rep_cue", "unknown placeholder {left}"),
    ('- "Stay on your stomach."', '- "Stay on your {stomach."', "prone-props", "setup", "item 1 has a stray"),
    ("dose: {sets: 1, hold_s: 10, per_side: false, rest_s: 15}", "dose: {sets: 1, per_side: false, rest_s: 15}",
     "prone-plank", "dose.hold_s", "pure hold"),
    ('seed_dose: "Hold this position for 10 to 60 seconds (004)"', "", "prone-plank", "seed_dose", "is missing"),
    ("dose: {sets: 5, hold_s: 10,", "dose: {sets: 5.5, hold_s: 10,", "knee-plank", "dose.sets", "whole number"),
    ("dose: {sets: 2, reps: 10, hold_s: 5, per_side: false, rest_s: 30}",
     "dose: {sets: 2, reps: 10, hold_s: 5, per_side: false, rest_s: 30, tempo: 2}",
     "bridge", "dose.tempo", "not a known field"),
    ('- "Stand with your feet about shoulder-width apart."\n    rep_cue: "Bend forward at the waist',
     '- "Stand with your {side} foot forward."\n    rep_cue: "Bend forward at the waist',
     "standing-flexion", "dose.per_side", "cues use {side}"),
    ('seeds: ["004"]\n    seed_dose: "Hold at the top', 'seeds: [004]\n    seed_dose: "Hold at the top',
     "bridge", "seeds", "item 1 must be a seed number in quotes"),
])
def test_bad_exercise(prompts_copy, old, new, exercise, field, says):
    text = break_library(prompts_copy, old, new)
    with pytest.raises(ContentError) as raised:
        load_library(prompts_copy)
    error = raised.value
    assert (error.exercise, error.field) == (exercise, field)
    assert says in error.message
    reported = text.splitlines()[error.line - 1]
    if field == "dose.per_side":  # reported at the flag that would have to change
        assert "per_side: false" in reported
    elif new:
        assert new.splitlines()[0].strip() in reported
    assert error.file.endswith("exercises.yaml") and f"exercise '{exercise}'" in str(error)


exercise_like = st.fixed_dictionaries({}, optional={
    "name": yaml_values | st.just("X"), "seeds": yaml_values | st.just(["003"]),
    "seed_dose": yaml_values | st.just("x"), "setup": yaml_values | st.lists(st.text(max_size=20), max_size=2),
    "rep_cue": yaml_values, "hold_cues": yaml_values, "extra": yaml_values,
    "dose": yaml_values | st.dictionaries(st.sampled_from(["sets", "reps", "hold_s", "per_side", "rest_s"]),
                                          yaml_values | st.integers(1, 3)),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry=exercise_like, key=st.sampled_from(["squat", "New one", 7, None]))
def test_any_exercise_entry_gives_a_content_error_or_loads(tmp_path, entry, key):
    (tmp_path / "exercises.yaml").write_text(yaml.safe_dump({"exercises": {key: entry}}))
    (tmp_path / "programs").mkdir(exist_ok=True)
    (tmp_path / "programs" / "extension.yaml").write_text(PROGRAM_HEAD.replace("mine", "extension")
                                                          + f"exercises: [{key}]\n")
    try:
        assert load_library(tmp_path).program("extension").steps[0].exercise.id == key
    except ContentError as error:
        assert error.file.endswith(".yaml") and error.message


def test_library_program_with_an_unknown_exercise(prompts_copy):
    path = prompts_copy / "programs" / "easy.yaml"
    path.write_text(path.read_text().replace("- id: pelvic-tilt", "- id: pelvic-tlt"))
    with pytest.raises(ContentError, match=r"easy\.yaml, line \d+, exercise 'pelvic-tlt', field 'id'"):
        load_library(prompts_copy)


def test_duplicate_exercise_key_in_the_library(prompts_copy):
    text = break_library(prompts_copy, "  squat:\n", "  squat:\n    name: Squat\n")
    with pytest.raises(ContentError, match="'name' appears twice") as raised:
        load_library(prompts_copy)
    assert raised.value.line == line_of(text, "name: Squat") + 1


def test_library_without_programs(prompts_copy):
    shutil.rmtree(prompts_copy / "programs")
    (prompts_copy / "programs").mkdir()
    with pytest.raises(ContentError, match="no program files"):
        load_library(prompts_copy)
