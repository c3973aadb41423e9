"""The session contract, one scenario per rule, run end to end through `voicecoach simulate --json`.

Each test feeds a script to the real CLI (a subprocess, VOICECOACH_HOME in tmp_path) and
asserts on the JSON summary, and on the transcript where the rule is about what is said.
The expected wording is read from prompts/lines.yaml, so a test fails on behaviour, not on a
rephrased line. A few rules that need many sessions run in-process (conftest.run_session),
wired exactly like the CLI.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import (coach_lines, content, ids, opening, responses, run_session, said_after,
                      template_re)

LINES = content().lines
LIB = content().library
EXERCISE_NAMES = {i: e.name for i, e in LIB.exercises.items()}
SCREENING = [LINES.get(f"screening.{i}") for i in range(LINES.count("screening"))]
SCREENING_SHORT = [LINES.get(f"screening_short.{i}") for i in range(LINES.count("screening_short"))]
ASK_PAIN = LINES.get("ask_pain")
ASK_FINAL = LINES.get("ask_final_score")
SORRY_PREFIX = LINES.get("sorry", examples="\0").split("\0")[0]
NEXT_DAY = "2026-11-21T09:00:00+00:00"
SAME_DAY_LATER = "2026-11-20T15:00:00+00:00"


INTRO = template_re("exercise_intro")


def intro(exercise_id: str) -> str:
    return LINES.get("exercise_intro", name=EXERCISE_NAMES[exercise_id])


def texts(out: dict, who: str = "coach") -> list[str]:
    return [line["text"] for line in out["transcript"] if line["who"] == who]


def between(out: dict, start: str, stop: str) -> list[str]:
    """Coach lines after the first coach line `start` and before the next coach line `stop`."""
    lines = texts(out)
    i = lines.index(start)
    j = lines.index(stop, i + 1)
    return lines[i + 1:j]


def entry(out: dict, exercise_id: str, nth: int = 0) -> dict:
    return [e for e in out["summary"]["exercises"] if e["id"] == exercise_id][nth]


def dose(exercise_id: str, program: str = "extension"):
    step = next(s for s in LIB.programs[program].steps if s.exercise.id == exercise_id)
    return step.exercise.dose


# =============================================================================== idle

def test_help_and_last_session_do_not_start_a_session(run_cli):
    proc = run_cli("simulate", stdin="help\nlast session\n")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert LINES.get("help_idle") in proc.stdout
    assert LINES.get("no_last_session") in proc.stdout
    assert "Traceback" not in proc.stderr
    history = run_cli("history", "--json")
    assert json.loads(history.stdout) == []


def test_help_and_last_session_then_start_gives_the_first_session(simulate):
    out = simulate(["help", "last session", "start session", "stop"])
    said = texts(out)
    assert said.index(LINES.get("help_idle")) < said.index(LINES.get("session_start", program=LIB.programs["extension"].name))
    assert out["summary"]["session_id"] == 1


def test_last_session_speaks_the_last_summary(simulate):
    first = simulate(opening() + ["same", "better", "gone from my leg", "3"])
    assert first["summary"]["end_reason"] == "completed"
    spoken_at_end = said_after(first["transcript"], "3")
    assert spoken_at_end, "the first session spoke no summary"

    second = simulate(["last session", "start session", "stop"], now=SAME_DAY_LATER)
    heard = said_after(second["transcript"], "last session")
    assert heard[0] == LINES.get("last_session_intro")
    read_back = heard[1:1 + len(spoken_at_end)]
    assert read_back == spoken_at_end
    assert second["summary"]["session_id"] == first["summary"]["session_id"] + 1


@pytest.mark.parametrize("phrase, program", [
    ("start flexion", "flexion"),
    ("start easy", "easy"),
    ("start strengthening", "strength"),
    ("start stretching", "general"),
    ("start McKenzie", "extension"),
    ("start session", "extension"),  # no history: the extension progression
])
def test_start_phrase_chooses_the_program(simulate, phrase, program):
    out = simulate([phrase, "stop"])
    assert out["summary"]["program"] == program
    assert LINES.get("session_start", program=LIB.programs[program].name) in texts(out)


def test_start_session_uses_the_last_sessions_program(simulate):
    first = simulate(["start easy", "stop"])
    assert first["summary"]["program"] == "easy"
    second = simulate(["start session", "stop"], now=SAME_DAY_LATER)
    assert second["summary"]["program"] == "easy"


@pytest.mark.parametrize("phrase", ["carry on", "let's keep going", "continue"])
def test_carrying_on_before_a_session_starts_one_where_the_last_left_off(simulate, phrase):
    """Resuming means the paused exercise in a session; before one, "carry on" is "start session" (it was
    "Sorry, I didn't catch that")."""
    simulate(["start easy", "stop"])
    out = simulate([phrase, "stop"], now=SAME_DAY_LATER)
    assert out["summary"]["program"] == "easy" and out["summary"]["session_id"] == 2
    assert LINES.get("session_start", program=LIB.programs["easy"].name) in texts(out)


# =============================================================================== screening

def screening_asked(out: dict) -> list[str]:
    return [t for t in texts(out) if t in SCREENING]


def test_screening_is_asked_once_per_calendar_day(simulate):
    first = simulate(opening() + ["stop"])
    assert screening_asked(first) == SCREENING
    assert len(SCREENING) == 3

    later = simulate(opening(screening=False) + ["stop"], now=SAME_DAY_LATER)
    assert screening_asked(later) == []
    assert LINES.get("screening_intro") not in texts(later)
    assert later["summary"]["baseline"] == {"location": "thigh", "side": "right", "score": 6}

    tomorrow = simulate(opening() + ["stop"], now=NEXT_DAY)
    assert screening_asked(tomorrow) == SCREENING
    assert tomorrow["summary"]["baseline"] == {"location": "thigh", "side": "right", "score": 6}


def test_a_red_flag_screening_does_not_count_as_screened(simulate):
    flagged = simulate(["start session", "yes"])
    assert flagged["summary"]["end_reason"] == "red_flag"
    again = simulate(["start session", "no", "no", "no", "stop"], now=SAME_DAY_LATER)
    assert screening_asked(again) == SCREENING


@pytest.mark.parametrize("question", [0, 1, 2])
def test_a_yes_to_any_screening_question_is_a_red_flag(simulate, question):
    out = simulate(["start session"] + ["no"] * question + ["yes", "thigh", "right", "6", "same"])
    summary = out["summary"]
    assert summary["end_reason"] == "red_flag"
    assert summary["exercises"] == []
    assert summary["baseline"] == {"location": None, "side": None, "score": None}
    assert summary["pain_after"] is None
    said = texts(out)
    assert screening_asked(out) == SCREENING[:question + 1]  # no further question after the yes
    assert not any(INTRO.fullmatch(t) for t in said)
    assert LINES.get("ask_location") not in said
    assert ASK_FINAL not in said
    warning = " ".join(said_after(out["transcript"], "yes")) + " " + summary["advice"]
    if question == 0:
        assert "emergency" in warning.lower()
    else:
        assert "urgent" in warning.lower()
        assert "emergency" not in warning.lower()


# =============================================================================== baseline

def test_baseline_is_three_questions_and_lands_in_the_summary(simulate):
    out = simulate(["start session", "no", "no", "no", "my buttock", "on the left side", "about five"])
    asked = between(out, SCREENING[2], intro("prone-lying"))
    assert asked == [LINES.get("ask_location"), LINES.get("ask_side"), LINES.get("ask_score"),
                     LINES.get("plan.first_today"), LINES.get("plan.aim_in_pain")]  # then the day's plan
    assert out["summary"]["baseline"] == {"location": "buttock", "side": "left", "score": 5}


# =============================================================================== acute rule

STRETCHING = ["prone-props", "double-knee-to-chest", "piriformis-stretch", "hamstring-stretch"]
STRENGTHENING = ["prone-plank", "bridge"]


@pytest.mark.parametrize("location, score", [("thigh", 7), ("calf", 3), ("foot", 2)])
def test_acute_general_runs_only_its_stretching(simulate, location, score):
    out = simulate(opening(location, "right", score, start="start stretching") + ["same"] * 4 + ["2"])
    summary = out["summary"]
    assert summary["end_reason"] == "completed"
    assert ids(summary) == STRETCHING + STRENGTHENING
    for e in summary["exercises"][:4]:
        assert e["response"] == "same" and e["sets"] > 0
    for e in summary["exercises"][4:]:
        assert (e["response"], e.get("reason"), e["sets"]) == ("skipped", "acute", 0)
    said = texts(out)
    assert LINES.get("acute_skip") in said
    assert not any(t == intro(x) for x in STRENGTHENING for t in said)


@pytest.mark.parametrize("location, score", [("back", 7), ("thigh", 10), ("calf", 2), ("foot", 0)])
def test_acute_strength_is_not_suitable_today(simulate, location, score):
    out = simulate(opening(location, "left", score, start="start strengthening") + ["yes", "same"])
    summary = out["summary"]
    assert summary["end_reason"] == "not_suitable_today"
    assert summary["exercises"] == []
    assert summary["baseline"]["score"] == score
    assert LINES.get("ask_clearance") not in texts(out)
    assert ASK_FINAL not in texts(out)


def test_strength_not_cleared_is_not_suitable_today(simulate):
    out = simulate(opening("back", "left", 3, start="start strengthening") + ["no", "same"])
    assert texts(out).count(LINES.get("ask_clearance")) == 1
    assert out["summary"]["end_reason"] == "not_suitable_today"
    assert out["summary"]["exercises"] == []


@pytest.mark.parametrize("answer", ["yeah, well, not yet", "I think so", "my physio said to wait"])
def test_strength_is_never_started_on_a_doubtful_or_taken_back_clearance(simulate, answer):
    """Asked for clearance, "yes" is the riskier answer: doubt or a "no" cue asks again, or is a no."""
    out = simulate(opening("back", "left", 3, start="start strengthening") + [answer, "no", "same"])
    assert out["summary"]["end_reason"] == "not_suitable_today"
    assert out["summary"]["exercises"] == []


def test_strength_cleared_runs_the_hip_flexor_stretch_first(simulate):
    out = simulate(opening("back", "left", 3, start="start strengthening") + ["yes", "same", "same"])
    assert texts(out).count(LINES.get("ask_clearance")) == 1
    assert ids(out["summary"])[:2] == ["hip-flexor-stretch", "hip-abduction"]
    assert entry(out, "hip-flexor-stretch")["response"] == "same"


def test_general_not_acute_runs_all_six(simulate):
    out = simulate(opening("thigh", "right", 4, start="start stretching") + ["same"] * 6 + ["2"])
    summary = out["summary"]
    assert summary["end_reason"] == "completed"
    assert responses(summary) == [(x, "same") for x in STRETCHING + STRENGTHENING]
    assert LINES.get("acute_skip") not in texts(out)


# =============================================================================== pain responses (extension)

def test_centralized_finishes_with_that_working_exercise(simulate):
    out = simulate(opening() + ["same", "gone from my leg", "2"])
    summary = out["summary"]
    assert summary["end_reason"] == "completed"
    assert responses(summary) == [("prone-lying", "same"), ("prone-props", "centralized")]
    assert summary["working_exercise"] == "prone-props"
    assert summary["pain_after"] == 2


def test_partial_repeats_then_moves_on_after_three_rounds(simulate):
    out = simulate(opening() + ["better", "a bit better", "moved up", "same"])
    summary = out["summary"]
    assert ids(summary)[:2] == ["prone-lying", "prone-props"]
    lying = summary["exercises"][0]
    assert (lying["response"], lying["sets"]) == ("partial", 3)
    name = EXERCISE_NAMES["prone-lying"]
    said = texts(out)
    assert LINES.get("exercise_again", name=name, round="two") in said
    assert LINES.get("exercise_again", name=name, round="three") in said
    assert LINES.get("exercise_again", name=name, round="four") not in said
    assert summary["exercises"][1]["response"] == "same"


@pytest.mark.parametrize("answer, response", [("the same", "same"), ("worse", "worse")])
def test_same_or_worse_moves_to_the_next_exercise(simulate, answer, response):
    out = simulate(opening() + [answer, "gone from my leg", "1"])
    assert responses(out["summary"]) == [("prone-lying", response), ("prone-props", "centralized")]
    assert out["summary"]["end_reason"] == "completed"


def test_peripheralized_moves_to_the_next_exercise(simulate):
    out = simulate(opening() + ["moved down", "same", "gone from my leg", "1"])
    assert responses(out["summary"]) == [("prone-lying", "peripheralized"), ("prone-props", "same"),
                                         ("press-up", "centralized")]
    assert said_after(out["transcript"], "moved down")[0] == LINES.get("pain_ack.peripheralized")


def test_two_peripheralized_in_a_row_is_a_safety_stop(simulate):
    out = simulate(opening() + ["moved down", "it's spreading down my leg", "4"])
    summary = out["summary"]
    assert summary["end_reason"] == "safety_stop"
    assert responses(summary) == [("prone-lying", "peripheralized"), ("prone-props", "peripheralized")]
    assert LINES.get("two_peripheralized") in texts(out)
    assert intro("press-up") not in texts(out)


def test_peripheralized_mid_set_stops_the_exercise_at_once(simulate):
    out = simulate(opening() + ["@pain moved down", "same", "1"])
    lying = entry(out, "prone-lying")
    assert lying["response"] == "peripheralized"
    assert 0 < lying["hold_s"] < dose("prone-lying").hold_s
    after = said_after(out["transcript"], "pain moved down")
    assert after[0] == LINES.get("pain_ack.peripheralized")
    before_next = after[:after.index(intro("prone-props"))]
    assert LINES.get("hold_release") not in before_next
    assert ASK_PAIN not in before_next
    assert ids(out["summary"])[:2] == ["prone-lying", "prone-props"]


@pytest.mark.parametrize("answers", [["I can't"], ["same", "too painful"]], ids=["prone-lying", "prone-props"])
def test_unable_in_prone_lying_or_props_is_a_safety_stop(simulate, answers):
    out = simulate(opening() + answers + ["5"])
    summary = out["summary"]
    assert summary["end_reason"] == "safety_stop"
    assert summary["exercises"][-1]["response"] == "unable"
    assert summary["exercises"][-1]["id"] == ["prone-lying", "prone-props"][len(answers) - 1]
    assert summary["advice"] == LINES.get("advice.unable_prone")
    assert LINES.get("unable_prone") in texts(out)


def test_unable_on_press_up_moves_on(simulate):
    out = simulate(opening() + ["same", "same", "I can't", "gone from my leg", "1"])
    summary = out["summary"]
    assert summary["end_reason"] == "completed"
    assert responses(summary)[2:] == [("press-up", "unable"), ("press-up-hips-off-center", "centralized")]


# =============================================================================== side glide

TO_SIDE_GLIDE = ["same"] * 4


@pytest.mark.parametrize("glide, retest, working", [
    ("better", "gone from my leg", "press-up"),
    ("gone from my leg", "gone from my leg", "press-up"),
    ("better", "same", "standing-side-glide"),
    ("gone from my leg", "better", "standing-side-glide"),
])
def test_side_glide_that_helps_retests_the_press_up(simulate, glide, retest, working):
    out = simulate(opening() + TO_SIDE_GLIDE + [glide, retest, "2"])
    summary = out["summary"]
    assert summary["end_reason"] == "completed"
    assert ids(summary) == ["prone-lying", "prone-props", "press-up", "press-up-hips-off-center",
                            "standing-side-glide", "press-up"]
    retested = {"gone from my leg": "centralized", "better": "partial", "same": "same"}[retest]
    assert summary["exercises"][-1]["response"] == retested
    assert summary["exercises"][2]["response"] == "same"
    assert summary["working_exercise"] == working
    assert LINES.get("exercise_retest", name=EXERCISE_NAMES["press-up"]) in texts(out)


def test_side_glide_without_help_moves_on(simulate):
    out = simulate(opening() + TO_SIDE_GLIDE + ["same", "same", "same", "1"])
    summary = out["summary"]
    assert ids(summary)[4:] == ["standing-side-glide", "flexion-rotation", "supine-flexion"]
    assert ids(summary).count("press-up") == 1
    assert summary["working_exercise"] is None


# =============================================================================== other programs

@pytest.mark.parametrize("start, program, order", [
    ("start flexion", "flexion", ["supine-flexion", "seated-flexion", "standing-flexion", "prone-props"]),
    ("start easy", "easy", [s.exercise.id for s in LIB.programs["easy"].steps]),
])
def test_other_programs_run_their_list_in_order(simulate, start, program, order):
    # A centralization does not end an in-order program: the list still runs to the end.
    out = simulate(opening(start=start) + ["gone from my leg"] + ["same"] * (len(order) - 1) + ["2"])
    summary = out["summary"]
    assert summary["program"] == program
    assert summary["end_reason"] == "completed"
    assert ids(summary) == order
    assert summary["working_exercise"] == order[0]


# =============================================================================== global commands

def test_stop_mid_set_ends_user_stopped_and_is_saved(simulate, run_cli):
    out = simulate(opening() + ["@stop", "5"])
    summary = out["summary"]
    assert summary["end_reason"] == "user_stopped"
    assert summary["exercises"][0]["response"] == "interrupted"
    assert summary["pain_after"] == 5
    last = run_cli("last", "--json")
    assert last.returncode == 0, last.stderr
    saved = json.loads(last.stdout)
    assert saved["session_id"] == summary["session_id"]
    assert saved == summary


def test_pause_then_resume_continues(simulate):
    out = simulate(opening() + ["@pause", "resume", "gone from my leg", "3"])
    summary = out["summary"]
    assert summary["end_reason"] == "completed"
    assert responses(summary) == [("prone-lying", "centralized")]
    assert summary["working_exercise"] == "prone-lying"
    after = said_after(out["transcript"], "pause")
    assert after[0] == LINES.get("paused")
    resumed = said_after(out["transcript"], "resume")
    assert resumed[0] == LINES.get("resumed")
    assert LINES.get("hold_release") in resumed[:resumed.index(ASK_PAIN)]


def test_pause_then_resume_records_the_dose_once(simulate):
    """Pausing and resuming a set is still one set of a one-set exercise (entry 'sets')."""
    plain = simulate(opening() + ["gone from my leg", "3"])
    paused = simulate(opening() + ["@pause", "resume", "gone from my leg", "3"], now=NEXT_DAY)
    assert dose("prone-lying").sets == 1
    assert plain["summary"]["exercises"][0]["sets"] == 1
    assert paused["summary"]["exercises"][0]["sets"] == plain["summary"]["exercises"][0]["sets"]


def test_skip_mid_set_records_the_entry_as_skipped(simulate):
    out = simulate(opening() + ["@skip", "gone from my leg", "2"])
    summary = out["summary"]
    assert responses(summary) == [("prone-lying", "skipped"), ("prone-props", "centralized")]
    assert summary["exercises"][0].get("reason") == "user"
    assert said_after(out["transcript"], "skip")[0] == LINES.get("pain_ack.skipped")


HOLD_LEFT = template_re("how_many_left_hold", duration="(?P<d>.+?)")


@pytest.mark.parametrize("command, reply", [
    ("slower", lambda said: said == LINES.get("slower")),
    ("faster", lambda said: said == LINES.get("faster")),
    ("help", lambda said: said == LINES.get("help_session")),
    ("repeat", lambda said: said in [c for c in LIB.exercises["prone-lying"].setup]),
    ("how many left", lambda said: bool(HOLD_LEFT.fullmatch(said))),
])
def test_helper_commands_mid_set_answer_and_do_not_change_the_outcome(simulate, command, reply):
    script = ["same", "better", "gone from my leg", "3"]
    start = "start extension"  # from the top both times ("start session" would resume, plan.py)
    plain = simulate(opening(start=start) + script)
    out = simulate(opening(start=start) + ["@" + command] + script, now=NEXT_DAY)
    answer = said_after(out["transcript"], command)[0]
    assert reply(answer), f"{command!r} answered {answer!r}"
    for key in ("end_reason", "exercises", "working_exercise", "pain_after", "baseline"):
        assert out["summary"][key] == plain["summary"][key], key


def spoken_seconds(text: str) -> int:
    """Seconds in a spoken duration such as 'One minute and 30 seconds' or 'two minutes'."""
    words = {LINES.number(i): i for i in range(120)}
    total = 0
    for number, unit in re.findall(r"([\w-]+) (minute|second)", text.lower()):
        n = int(number) if number.isdigit() else words[number]
        total += n * (60 if unit == "minute" else 1)
    return total


def test_how_many_left_in_a_hold_says_the_time_really_left():
    """Asked about 5 s into the two-minute prone lying hold: about 115 s are left, not 90."""
    s = run_session(opening() + ["@how many left", "same"])
    transcript = s.transcript
    asked = next(i for i, x in enumerate(transcript) if x["who"] == "user" and x["text"] == "how many left")
    answer = transcript[asked + 1]["text"]
    match = HOLD_LEFT.fullmatch(answer)
    assert match, answer
    hold = dose("prone-lying").hold_s
    started = next(x["t"] for x in reversed(transcript[:asked])
                   if x["text"] == LINES.get("hold_start", duration=LINES.duration(hold)))
    really_left = hold - (transcript[asked]["t"] - started)
    said = spoken_seconds(match["d"])
    assert abs(said - really_left) <= 10, f"said {said} s left ({answer!r}) when {really_left:.0f} s of the hold were left"


def test_done_ends_a_hold_early(simulate):
    out = simulate(opening() + ["@done", "same", "1"])
    lying = entry(out, "prone-lying")
    assert 0 < lying["hold_s"] < dose("prone-lying").hold_s
    assert said_after(out["transcript"], "done")[0] == ASK_PAIN
    assert lying["response"] == "same"


# =============================================================================== no answer, unclear answers

def test_one_silence_asks_again_more_briefly(simulate):
    script = ["start session", "", "no", "", "no", "", "no", "", "thigh", "", "right", "", "6",
              "", "same", "stop", "3"]
    out = simulate(script)
    assert out["summary"]["baseline"] == {"location": "thigh", "side": "right", "score": 6}
    assert out["summary"]["exercises"][0]["response"] == "same"
    questions = SCREENING + [LINES.get(k) for k in ("ask_location", "ask_side", "ask_score")] + [ASK_PAIN]
    said = texts(out)
    not_briefer = []
    for question in questions:
        again = said[said.index(question) + 1]
        assert again not in (LINES.get("paused_silence"), LINES.get("paused"), question)
        if len(again) >= len(question):
            not_briefer.append((question, again))
    assert LINES.get("paused_silence") not in said
    assert [t for t in said if t in SCREENING_SHORT] == SCREENING_SHORT
    assert not not_briefer, f"asked again, but not more briefly: {not_briefer}"


def test_two_silences_pause_then_resume_asks_again(simulate):
    out = simulate(["start session", "no", "no", "no", "", "", "resume", "thigh", "left", "4"])
    said = texts(out)
    ask = LINES.get("ask_location")
    i = said.index(ask)
    assert said[i + 1] == LINES.get("ask_location_short")
    assert said[i + 2] == LINES.get("paused_silence")
    assert said_after(out["transcript"], "resume")[:2] == [LINES.get("resumed"), ask]
    assert out["summary"]["baseline"] == {"location": "thigh", "side": "left", "score": 4}


def test_input_end_is_no_response(simulate):
    out = simulate(opening())
    summary = out["summary"]
    assert summary["end_reason"] == "no_response"
    assert summary["pain_after"] is None
    assert summary["exercises"][0]["id"] == "prone-lying"
    assert ASK_FINAL not in texts(out)


@pytest.mark.parametrize("context, script, answer_after", [
    ("location", ["start session", "no", "no", "no", "banana"], ["thigh", "right", "6"]),
    ("pain", opening() + ["banana"], ["gone from my leg", "3"]),
])
def test_unclear_answer_lists_valid_answers_and_waits(simulate, context, script, answer_after):
    out = simulate(script + answer_after)
    sorry = said_after(out["transcript"], "banana")[0]
    assert sorry.startswith(SORRY_PREFIX)
    for example in content().phrases.examples(context):
        assert example in sorry, example
    summary = out["summary"]
    assert summary["baseline"] == {"location": "thigh", "side": "right", "score": 6}
    if context == "pain":
        assert responses(summary) == [("prone-lying", "centralized")]
        assert summary["pain_after"] == 3


def test_red_flag_maybe_is_never_yes_or_no(simulate):
    # "maybe" then "yes": the yes answers question 1 (emergency), so "maybe" was not a "no".
    flagged = simulate(["start session", "maybe", "yes"])
    assert flagged["summary"]["end_reason"] == "red_flag"
    assert "emergency" in said_after(flagged["transcript"], "yes")[0].lower()
    assert said_after(flagged["transcript"], "maybe")[0].startswith(SORRY_PREFIX)
    # "maybe" then three "no": all three questions are still asked, so "maybe" was not a "yes".
    cleared = simulate(["start session", "maybe", "no", "no", "no", "thigh", "right", "6"], now=NEXT_DAY)
    assert cleared["summary"]["end_reason"] == "no_response"
    assert screening_asked(cleared) == SCREENING
    assert cleared["summary"]["baseline"]["score"] == 6


def test_red_flag_question_answered_maybe_is_asked_again(simulate):
    """After "maybe" the same safety question is put again before the next answer."""
    out = simulate(["start session", "maybe", "no", "no", "no"])
    before_next_answer = []
    for line in out["transcript"][[x["text"] for x in out["transcript"]].index("maybe") + 1:]:
        if line["who"] == "user":
            break
        before_next_answer.append(line["text"])
    assert any(t in (SCREENING[0], SCREENING_SHORT[0]) for t in before_next_answer), before_next_answer


def sorry_examples(line: str) -> list[str]:
    listed = line[len(SORRY_PREFIX):].rstrip(".")
    return [x.strip() for x in re.split(r",\s*(?:or\s+)?", listed) if x.strip()]


def test_sorry_in_a_mid_set_pause_offers_only_answers_that_work():
    """An unclear word mid-set pauses; what "Sorry..." then offers must be accepted there."""
    s = run_session(opening() + ["@banana", "banana"])
    sorry = said_after(s.transcript, "banana", nth=2)[0]
    assert sorry.startswith("Sorry, I didn't catch that.")
    offered = re.findall(r"(?:say|or) '([^']+)'", sorry)
    assert "resume" in offered and "moved down" in offered, sorry
    refused = []
    for example in offered:
        r = run_session(opening() + ["@banana", example])
        reply = said_after(r.transcript, example)
        if not reply or reply[0].startswith("Sorry"):
            refused.append(example)
    assert not refused, f"offered {sorry!r} but refused {refused}"


# =============================================================================== the end

def test_final_pain_question_once_after_exercise(simulate):
    out = simulate(opening() + ["same", "gone from my leg", "two"])
    summary = out["summary"]
    assert texts(out).count(ASK_FINAL) == 1
    assert summary["pain_after"] == 2
    spoken = said_after(out["transcript"], "two")
    name = EXERCISE_NAMES[summary["working_exercise"]]
    assert any(name in t for t in spoken), spoken
    assert LINES.get("summary_working", name=name) in spoken


@pytest.mark.parametrize("script, reason", [
    (["start session", "no", "yes", "3"], "red_flag"),
    (opening() + ["same"], "no_response"),
    (opening() + ["", ""], "no_response"),
])
def test_no_final_question_after_red_flag_or_no_response(simulate, script, reason):
    out = simulate(script)
    assert out["summary"]["end_reason"] == reason
    assert ASK_FINAL not in texts(out)
    assert out["summary"]["pain_after"] is None


@pytest.mark.parametrize("after", [["pause"], ["pause", "stop"]], ids=["pause-then-silence", "pause-then-stop"])
def test_a_safety_stop_is_kept_whatever_happens_at_the_final_question(simulate, after):
    """Two peripheralized exercises end the session for safety; pausing at the final pain
    question must not turn it into no_response / user_stopped and drop the safety advice."""
    out = simulate(opening() + ["moved down", "moved down"] + after)
    summary = out["summary"]
    assert LINES.get("two_peripheralized") in texts(out)
    assert summary["end_reason"] == "safety_stop"
    assert summary["advice"] == LINES.get("advice.safety_stop")


# =============================================================================== side-aware cues

@pytest.mark.parametrize("pain_side, away", [("right", "left"), ("left", "right")])
def test_hips_off_center_shifts_away_from_the_pain(simulate, pain_side, away):
    out = simulate(opening(side=pain_side) + ["same", "same", "same"])
    said = texts(out)
    start = said.index(intro("press-up-hips-off-center"))
    setup = said[start + 1:start + 1 + len(LIB.exercises["press-up-hips-off-center"].setup)]
    shift = [t for t in setup if "hips" in t.lower()]
    assert shift, setup
    assert re.search(rf"\bhips to the {away}\b", shift[0]), shift[0]
    assert not re.search(rf"\bhips to the {pain_side}\b", " ".join(said[start:])), "hips shifted towards the pain"


@pytest.mark.parametrize("start, extra, n", [
    ("start session", [], 7), ("start easy", [], 5), ("start flexion", [], 4),
    ("start stretching", [], 6), ("start strengthening", ["yes"], 7),
])
@pytest.mark.parametrize("side", ["left", "right", "both"])
def test_every_spoken_cue_has_its_placeholders_filled(start, extra, n, side):
    s = run_session(opening(side=side, score=3, start=start) + extra + ["same"] * n + ["2"])
    assert s.summary["end_reason"] == "completed"
    unfilled = sorted({t for t in coach_lines(s.transcript) if re.search(r"[{}]", t)})
    assert not unfilled
