"""Safety properties over random answer sequences (hypothesis, in-process sessions).

Every example runs a whole session in-process (conftest.run_session: the coach wired as
`voicecoach simulate` wires it, a fake clock, a fresh history) from a valid start followed
by random utterances drawn from real phrases: pain answers, yes/no, numbers, baseline
answers, global commands, "@" mid-set variants, silences and gibberish.

(a) a peripheralized answer stops that exercise at once;
(b) two peripheralized exercises in a row end the session (safety_stop). A "skip" between
    them does not break the run: the code counts skipped exercises as neither (the streak of
    peripheralized exercises is kept across a skip), so peripheralized, skip, peripheralized
    is a safety stop too; any other response resets the streak;
(c) a "yes" to a red-flag question means no exercise runs;
(d) the session always ends once the input runs out, with a valid end reason, and its
    summary is the one saved in the history.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from conftest import END_REASONS, content, opening, run_session, template_re
from voicecoach.coach.machine import EXERCISE

LINES = content().lines
LIB = content().library
NUMBER = "(?:" + "|".join(LINES.raw("numbers")) + r"|\d+)"

PAIN = ["gone from my leg", "better", "a bit better", "moved up", "the same", "same", "worse",
        "moved down", "pain moved down", "it's spreading", "into my leg", "I can't", "too painful"]
PERIPHERAL = ["moved down", "pain moved down", "it's spreading", "into my leg", "further down my leg"]
YESNO = ["yes", "no", "maybe", "yeah", "nope"]
NUMBERS = ["0", "3", "5", "7", "10", "five", "no pain"]
BASELINE = ["back", "thigh", "calf", "foot", "left", "right", "both"]
COMMANDS = ["stop", "pause", "resume", "repeat", "skip", "slower", "faster", "how many left", "help",
            "done", "what"]
GIBBERISH = ["banana", "asdf qwer", "the weather is nice"]
SILENCE = [""]

PHRASES = PAIN + YESNO + NUMBERS + BASELINE + COMMANDS + GIBBERISH + SILENCE


def utterances(pool: list[str]) -> st.SearchStrategy[str]:
    """A phrase from the pool, said plainly (at the next waiting point) or "@" mid-set."""
    phrase = st.sampled_from(pool)
    return st.one_of(phrase, phrase.map(lambda p: "@" + p))


# Exercise-phase sequences lean on pain answers (peripheralized above all) and go easy on "stop".
EXERCISE_POOL = PAIN + PERIPHERAL * 3 + ["same", "better", "skip", "skip", "resume", "resume"] + PHRASES
exercise_scripts = st.lists(utterances(EXERCISE_POOL), max_size=25)
START = st.sampled_from([
    ("start session", []), ("start flexion", []), ("start easy", []), ("start stretching", []),
    ("start strengthening", ["yes"]),
])
openings = st.builds(
    lambda start, side, score, where: opening(where, side, score, start=start[0]) + start[1],
    START, st.sampled_from(["left", "right", "both"]), st.integers(0, 6),
    st.sampled_from(["back", "buttock", "thigh", "knee"]),
)

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Lines that belong to running an exercise's dose: counting, holding, resting.
DOSE_LINES = [template_re(key, count=NUMBER, n=NUMBER, set=NUMBER, sets=NUMBER, reps=NUMBER)
              for key in ("reps_start", "hold_start", "rep", "rep_hold", "rep_release", "hold_left",
                          "hold_release", "set_done", "rest", "rest_over", "set_intro", "side_intro")]
COUNTDOWN = re.compile(NUMBER + r"\.", re.IGNORECASE)
INTROS = [template_re(k) for k in ("exercise_intro", "exercise_again", "exercise_retest")]


def cue_patterns(exercise_id: str) -> list[re.Pattern]:
    """The exercise's own rep and hold cues, placeholders matching any side."""
    exercise = LIB.exercises[exercise_id]
    cues = [exercise.rep_cue, *exercise.hold_cues]
    return [re.compile(re.sub(r"\\\{\w+\\\}", ".+?", re.escape(c)), re.IGNORECASE) for c in cues if c]


def is_dose_line(text: str, exercise_id: str) -> bool:
    return (any(p.fullmatch(text) for p in DOSE_LINES) or bool(COUNTDOWN.fullmatch(text))
            or any(p.fullmatch(text) for p in cue_patterns(exercise_id)))


def assert_peripheralized_stops_the_exercise(s) -> int:
    """(a); returns how many peripheralized answers were checked."""
    entries = s.summary["exercises"]
    checked = 0
    for h in s.heard:
        if h.answer != ("pain", "peripheralized"):
            continue
        checked += 1
        # Heard only where pain answers are listened for: during an exercise or its pain question.
        assert h.state in (*EXERCISE, "checking_pain") or (h.state == "paused" and h.paused_from in EXERCISE), h
        assert h.exercise is not None, h
        assert len(entries) > h.entries, f"no entry recorded for {h}"
        assert (entries[h.entries]["id"], entries[h.entries]["response"]) == (h.exercise, "peripheralized"), h
        assert h.state_after not in ("exercising", "resting", "checking_pain", "paused"), h
        for line in s.transcript[h.line + 1:]:
            if line["who"] != "coach":
                continue
            if any(p.fullmatch(line["text"]) for p in INTROS):
                break
            assert not is_dose_line(line["text"], h.exercise), (
                f"{h.exercise} went on after {h.text!r}: {line['text']!r}")
    return checked


def assert_two_peripheralized_end_the_session(s) -> None:
    """(b), both ways round."""
    summary = s.summary
    entries = summary["exercises"]
    ran = [e for e in entries if e["response"] != "skipped"]
    for first, second in zip(ran, ran[1:]):
        if first["response"] == second["response"] == "peripheralized":
            assert summary["end_reason"] == "safety_stop", entries
            assert second is entries[-1], f"exercises ran after two peripheralized in a row: {entries}"
    if summary["end_reason"] == "safety_stop":
        last = ran[-1]
        two_in_a_row = len(ran) >= 2 and ran[-2]["response"] == last["response"] == "peripheralized"
        unable_prone = last["response"] == "unable" and last["id"] in ("prone-lying", "prone-props")
        assert two_in_a_row or unable_prone, entries


def assert_session_ended(s) -> None:
    """(d)."""
    assert s.started
    assert s.coach.ended
    summary = s.summary
    assert summary is not None
    assert summary["end_reason"] in END_REASONS - {"interrupted"}, summary["end_reason"]
    assert s.saved == summary
    assert summary["pain_after"] is None or 0 <= summary["pain_after"] <= 10
    for e in summary["exercises"]:
        assert e["response"] in ("centralized", "partial", "same", "worse", "peripheralized", "unable",
                                 "skipped", "interrupted"), e
    if summary["end_reason"] in ("red_flag", "not_suitable_today"):
        assert all(e["response"] == "skipped" for e in summary["exercises"]), summary


@SETTINGS
@given(openings, exercise_scripts)
def test_a_peripheralized_exercise_never_continues(start, script):
    s = run_session(start + script)
    assert_session_ended(s)
    event(f"peripheralized answers checked: {min(assert_peripheralized_stops_the_exercise(s), 2)}")


@SETTINGS
@given(openings, exercise_scripts)
@example(opening(), ["moved down", "better", "moved down"])  # a partial round in between
@example(opening(), ["moved down", "moved down", "pause"])  # a pause at the final question
def test_two_peripheralized_in_a_row_always_end_the_session(start, script):
    s = run_session(start + script)
    assert_session_ended(s)
    assert_two_peripheralized_end_the_session(s)


SCREENING_POOL = YESNO * 4 + PHRASES
screening_scripts = st.lists(utterances(SCREENING_POOL), max_size=20)


@SETTINGS
@given(screening_scripts)
def test_a_red_flag_yes_means_no_exercise_ran(script):
    s = run_session(["start session"] + script)
    assert_session_ended(s)
    said_yes = any(h.state == "screening" and h.answer == ("yesno", "yes") for h in s.heard)
    event(f"red-flag yes: {said_yes}")
    summary = s.summary
    assert said_yes == (summary["end_reason"] == "red_flag")
    if said_yes:
        assert summary["exercises"] == []
        assert summary["baseline"] == {"location": None, "side": None, "score": None}
        assert summary["pain_after"] is None
        assert not any(p.fullmatch(x["text"]) for x in s.transcript for p in INTROS)
        assert not any(is_dose_line(x["text"], "prone-lying") for x in s.transcript if x["who"] == "coach")


ANY_POOL = PHRASES + PERIPHERAL + ["start session"]
STARTS = ["start session", "start flexion", "start easy", "start stretching", "start strengthening",
          "start McKenzie"]
# Either only a start (random answers then meet the screening and baseline) or a valid opening.
prefixes = st.one_of(st.sampled_from(STARTS).map(lambda start: [start]), openings)


@SETTINGS
@given(prefixes, st.lists(utterances(ANY_POOL), max_size=40))
def test_the_session_always_ends_when_input_runs_out(prefix, script):
    s = run_session(prefix + script)
    assert_session_ended(s)
    event(f"end_reason: {s.summary['end_reason']}")
    assert_peripheralized_stops_the_exercise(s)


def test_skip_between_two_peripheralized_still_stops():
    """What the code does: a skipped exercise neither breaks nor extends the peripheralized run."""
    s = run_session(opening() + ["moved down", "@skip", "moved down", "4"])
    assert [(e["id"], e["response"]) for e in s.summary["exercises"]] == [
        ("prone-lying", "peripheralized"), ("prone-props", "skipped"), ("press-up", "peripheralized")]
    assert s.summary["end_reason"] == "safety_stop"
    assert_two_peripheralized_end_the_session(s)


def test_any_other_response_breaks_the_peripheralized_run():
    s = run_session(opening() + ["moved down", "worse", "moved down", "same", "1"])
    assert [e["response"] for e in s.summary["exercises"]][:4] == ["peripheralized", "worse", "peripheralized", "same"]
    assert s.summary["end_reason"] != "safety_stop"


def test_a_partial_round_does_not_hide_a_peripheralized_exercise():
    """Prone lying peripheralized; prone props helped partly, then its second round peripheralized:
    two exercises in a row ended with the pain moving down the leg, so the session stops."""
    s = run_session(opening() + ["moved down", "better", "moved down", "same", "1"])
    entries = [(e["id"], e["response"]) for e in s.summary["exercises"]]
    assert entries[:2] == [("prone-lying", "peripheralized"), ("prone-props", "peripheralized")]
    assert s.summary["end_reason"] == "safety_stop", entries
    assert len(entries) == 2, entries


def test_the_properties_see_peripheralized_answers():
    """Guard: the checker of (a) really inspects peripheralized answers (it is not vacuous)."""
    s = run_session(opening() + ["@moved down", "moved down", "1"])
    assert assert_peripheralized_stops_the_exercise(s) == 2
    assert s.summary["end_reason"] == "safety_stop"
