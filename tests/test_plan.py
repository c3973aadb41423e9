"""The plan across days (voicecoach/coach/plan.py): resuming from the working exercise, one step
back after a worse day, the sessions-a-day rhythm (seed 002) and the strengthening unlock
(seed 004), and the spoken summary of the last session.

Sessions run in-process exactly as `voicecoach simulate` wires them (conftest.run_session),
several days in a row on one history, with a fake clock.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import FAST_TMP, coach_lines, content, ids, opening, run_session, said_after
from voicecoach.coach import plan
from voicecoach.progress import SessionRow

LINES = content().lines
LIB = content().library
DAY1 = datetime.fromisoformat("2026-11-02T09:00:00+00:00")
FINDS_PRESS_UP = ["same", "same", "gone from my leg"]
"""Extension from the top: prone lying and prone props no change, press-up centralizes."""
STRENGTHENING = [s.exercise.id for s in LIB.programs["general"].steps if s.part == "strengthening"]


def at(day: int, hour: int = 9) -> datetime:
    """Day `day` (1-based) of the simulated fortnight at `hour`."""
    return DAY1 + timedelta(days=day - 1, hours=hour - 9)


@pytest.fixture
def home():
    with tempfile.TemporaryDirectory(dir=FAST_TMP) as tmp:
        yield Path(tmp)


def session(home: Path, when: datetime, lines: list[str]):
    out = run_session(lines, home=home, now=when)
    assert out.summary is not None, coach_lines(out.transcript)
    return out


def said(out) -> list[str]:
    return coach_lines(out.transcript)


def first_exercise_day(home: Path) -> None:
    """Day 1: the progression from the top finds the press-up (pain 6 at the thigh, then 3)."""
    out = session(home, at(1), opening("thigh", "right", 6) + FINDS_PRESS_UP + ["3"])
    assert out.summary["working_exercise"] == "press-up"
    assert ids(out.summary) == ["prone-lying", "prone-props", "press-up"]


# =============================================================================== resuming

def test_start_session_resumes_from_the_working_exercise(home):
    first_exercise_day(home)
    out = session(home, at(2), opening("thigh", "right", 5) + ["gone from my leg", "2"])
    assert ids(out.summary) == ["press-up"]
    assert out.summary["working_exercise"] == "press-up"
    assert LINES.get("plan.resume_working", name="Press-up") in said(out)
    assert not any(line.startswith(LINES.get("plan.step_back", name="")[:20]) for line in said(out))


def test_resumed_working_exercise_that_stops_working_goes_on_down_the_progression(home):
    first_exercise_day(home)
    out = session(home, at(2), opening("thigh", "right", 5) + ["same", "gone from my leg", "3"])
    assert ids(out.summary) == ["press-up", "press-up-hips-off-center"]  # seed 000: try the next one
    assert out.summary["working_exercise"] == "press-up-hips-off-center"
    third = session(home, at(3), opening("thigh", "right", 4) + ["gone from my leg", "2"])
    assert ids(third.summary) == ["press-up-hips-off-center"]


@pytest.mark.parametrize("location, score", [("thigh", 7), ("calf", 6), ("foot", 6)])
def test_worse_than_last_time_goes_back_one_step(home, location, score):
    first_exercise_day(home)  # started at thigh 6
    out = session(home, at(2), opening(location, "right", score) + ["gone from my leg", "3"])
    assert ids(out.summary) == ["prone-props"]  # the step before press-up
    assert LINES.get("plan.step_back", name="Prone props") in said(out)
    assert LINES.get("plan.resume_working", name="Press-up") not in said(out)


def test_not_worse_does_not_step_back(home):
    first_exercise_day(home)
    out = session(home, at(2), opening("thigh", "right", 6) + ["gone from my leg", "3"])  # same as last time
    assert ids(out.summary) == ["press-up"]


def test_a_program_asked_for_by_name_starts_at_its_top(home):
    first_exercise_day(home)
    out = session(home, at(2), opening("thigh", "right", 5, start="start extension") + FINDS_PRESS_UP + ["2"])
    assert ids(out.summary) == ["prone-lying", "prone-props", "press-up"]
    assert not any("worked for you" in line for line in said(out))


def test_without_a_working_exercise_start_session_starts_at_the_top(home):
    out = session(home, at(1), opening("thigh", "right", 6) + ["same", "stop", "5"])
    assert out.summary["working_exercise"] is None
    nxt = session(home, at(2), opening("thigh", "right", 6) + FINDS_PRESS_UP + ["3"])
    assert ids(nxt.summary)[0] == "prone-lying"


# =============================================================================== the rhythm (seed 002)

def test_says_how_many_sessions_are_done_today_against_the_rhythm(home):
    red = session(home, at(1, 7), ["start session", "no", "yes"])  # a red flag: no exercise, not counted
    assert red.summary["end_reason"] == "red_flag"
    first = session(home, at(1, 8), opening("thigh", "right", 6) + FINDS_PRESS_UP + ["4"])
    assert said_after(first.transcript, "6")[:2] == [LINES.get("plan.first_today"), LINES.get("plan.aim_in_pain")]
    second = session(home, at(1, 12), opening("thigh", "right", 5, screening=False) + ["gone from my leg", "3"])
    assert said_after(second.transcript, "5")[:2] == [
        LINES.get("plan.session_today", n="two"), LINES.get("plan.aim_in_pain")]
    third = session(home, at(1, 16), opening("thigh", "right", 4, screening=False) + ["gone from my leg", "3"])
    assert LINES.get("plan.session_today", n="three") in said(third)
    tomorrow = session(home, at(2, 8), opening("thigh", "right", 4) + ["gone from my leg", "3"])
    assert LINES.get("plan.first_today") in said(tomorrow)


def settle(home: Path, days: range, scores=(2, 1)) -> None:
    """One session a day on `days` with pain `scores` (before, after)."""
    for day in days:
        session(home, at(day), opening("back", "right", scores[0]) + ["gone from my leg", str(scores[1])])


def test_three_settled_days_in_a_row_suggest_once_a_day(home):
    first_exercise_day(home)
    settle(home, range(2, 4))  # two settled days are not enough
    early = session(home, at(4), opening("back", "right", 1) + ["gone from my leg", "1"])
    assert LINES.get("plan.aim_in_pain") in said(early)
    assert LINES.get("advice.settling") in early.summary["advice"]
    # Days 2, 3, 4 settled: once a day (and the strengthening is added, see below).
    out = session(home, at(5), opening("back", "right", 1) + ["gone from my leg", "same", "same", "0"])
    assert LINES.get("plan.aim_settled") in said(out)
    assert LINES.get("plan.aim_in_pain") not in said(out)
    assert LINES.get("advice.settled") in out.summary["advice"]


def test_pain_back_above_two_keeps_three_to_four_a_day(home):
    first_exercise_day(home)
    settle(home, range(2, 5))
    out = session(home, at(5), opening("back", "right", 4) + ["gone from my leg", "3"])
    assert LINES.get("plan.aim_in_pain") in said(out) and LINES.get("plan.aim_settled") not in said(out)
    assert LINES.get("advice.in_pain") in out.summary["advice"]


def test_a_day_in_pain_or_a_missed_day_breaks_the_streak(home):
    first_exercise_day(home)
    settle(home, range(2, 4))
    settle(home, range(4, 5), scores=(3, 2))  # day 4: pain 3 at the start
    settle(home, range(5, 7))
    out = session(home, at(7), opening("back", "right", 1) + ["gone from my leg", "1"])
    assert LINES.get("plan.aim_in_pain") in said(out)  # only days 5 and 6 are settled
    settle(home, range(9, 11))  # day 8 missed
    out = session(home, at(11), opening("back", "right", 1) + ["gone from my leg", "1"])
    assert LINES.get("plan.aim_in_pain") in said(out)


# =============================================================================== strengthening (seed 004)

def test_settled_pain_adds_the_strengthening_after_the_working_exercise(home):
    first_exercise_day(home)
    settle(home, range(2, 5))
    out = session(home, at(5), opening("back", "right", 1) + ["gone from my leg", "same", "same", "0"])
    assert ids(out.summary) == ["press-up"] + STRENGTHENING
    assert out.summary["end_reason"] == "completed"
    assert out.summary["working_exercise"] == "press-up"
    names = LINES.join([LIB.exercises[x].name for x in STRENGTHENING])
    assert LINES.get("plan.strengthening_added", names=names) in said(out)


def test_no_strengthening_before_the_pain_has_settled(home):
    first_exercise_day(home)
    settle(home, range(2, 4))
    out = session(home, at(4), opening("back", "right", 1) + ["gone from my leg", "0"])
    assert ids(out.summary) == ["press-up"]
    assert not any(x in ids(out.summary) for x in STRENGTHENING)


def test_no_strengthening_on_a_day_the_pain_is_back(home):
    first_exercise_day(home)
    settle(home, range(2, 5))
    out = session(home, at(5), opening("back", "right", 3) + ["gone from my leg", "2"])
    assert ids(out.summary) == ["prone-props"]  # worse than yesterday's 1: one step back, nothing added
    assert not any("strengthening" in line for line in said(out))


def test_strengthening_is_not_added_to_a_program_asked_for_by_name(home):
    first_exercise_day(home)
    settle(home, range(2, 5))
    out = session(home, at(5), opening("back", "right", 1, start="start extension") + FINDS_PRESS_UP + ["0"])
    assert ids(out.summary) == ["prone-lying", "prone-props", "press-up"]


def test_moved_down_in_an_added_strengthening_exercise_stops_it(home):
    first_exercise_day(home)
    settle(home, range(2, 5))
    out = session(home, at(5), opening("back", "right", 1) + ["gone from my leg", "moved down", "same", "2"])
    assert [(e["id"], e["response"]) for e in out.summary["exercises"]] == [
        ("press-up", "centralized"), (STRENGTHENING[0], "peripheralized"), (STRENGTHENING[1], "same")]


# =============================================================================== the rules themselves

def row(day: int, before: int | None, after: int | None, end: str = "completed") -> SessionRow:
    when = at(day).isoformat()
    return SessionRow.from_summary({
        "session_id": day, "program": "extension", "started_at": when, "ended_at": when, "end_reason": end,
        "baseline": {"location": "back", "side": "right", "score": before}, "pain_after": after,
        "exercises": [{"id": "press-up", "response": "same", "sets": 1, "reps": 10, "hold_s": 2}],
        "working_exercise": None})


def test_settled_streak_counts_whole_days_before_today():
    rows = [row(1, 3, 2), row(2, 2, 1), row(3, 1, 1), row(4, 2, 0)]
    assert plan.settled_streak(rows, at(5).date()) == 3
    assert plan.settled_streak(rows, at(4).date()) == 2
    assert plan.rhythm(rows, at(5).date()) == plan.SETTLED == (1, 1)
    assert plan.rhythm(rows, at(4).date()) == plan.IN_PAIN == (3, 4)
    stopped = rows[:2] + [row(3, 1, 1, end="safety_stop")] + rows[3:]
    assert plan.settled_streak(stopped, at(5).date()) == 1  # a safety stop is never a settled day


# =============================================================================== last session

def test_last_session_by_voice_is_a_short_plain_summary(home):
    first_exercise_day(home)
    out = session(home, at(1, 12), ["last session", "start session", "stop"])
    after = said_after(out.transcript, "last session")
    summary = after[1:after.index(LINES.get("session_start", program=LIB.programs["extension"].name))]
    assert after[0] == LINES.get("last_session_intro")
    assert summary[0] == LINES.get("summary_when", date="Monday 02 November", time="09:00",
                                   program=LIB.programs["extension"].name)
    joined = " ".join(summary)
    assert "Prone lying and Prone props: no change." in joined  # one sentence for the same response
    assert "Press-up: the pain moved to your back." in joined
    assert LINES.get("summary_pain", before="six", after="three") in joined
    assert LINES.get("advice.working", name="Press-up") in joined
    assert len(summary) <= 6


def test_an_in_order_program_runs_whole_even_with_a_working_exercise(home):
    easy = [s.exercise.id for s in LIB.programs["easy"].steps]
    first = session(home, at(1), opening("thigh", "right", 5, start="start easy") + ["gone from my leg"]
                    + ["same"] * (len(easy) - 1) + ["3"])
    assert first.summary["working_exercise"] == easy[0]
    nxt = session(home, at(2), opening("thigh", "right", 5) + ["same"] * len(easy) + ["3"])
    assert nxt.summary["program"] == "easy" and ids(nxt.summary) == easy
    assert not any("worked for you" in line or "go back one step" in line for line in said(nxt))
