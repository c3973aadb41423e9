"""The plan across days: the rhythm of sessions, and where "start session" picks up.

Pure rules over the saved sessions (voicecoach/progress.py rows); the coach and the report use
the same ones, so what the coach says and what the therapist reads agree. Rules and sources:
- rhythm: three to four sessions a day while in pain, once a day once it has subsided
  (seed 002). A day is settled when every pain score reported that day was 0-2 (SETTLED_SCORE)
  and it had no red flag or safety stop (clinical safety rule); after three settled days in a
  row, and while today's pain is 0-2 too, once a day is enough.
- strengthening: "As symptoms improve, strengthening exercises can be added" (seed 004), so
  on the same settled days "start session" adds the strengthening part of the `general`
  program (seed 004) after the session's own exercises, unless its program already has one.
- resuming: "start session" continues the last session's program. In a progression it starts
  from the working exercise once one is known: the exercise that centralized the pain "is the
  correct one for you to be doing" (seed 000). If the pain is worse than last time (a higher
  score, or reaching further down the leg), it starts one step before it, the gentler step of
  the same progression (seeds 000, 001: the progression is climbed one step at a time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from ..content.lines import Lines
from ..content.programs import Library, Program, Step
from ..progress import LOCATIONS, SessionRow
from .record import SETTLED_SCORE, exercise_name

SETTLED_DAYS = 3
"""Settled days in a row before once a day is enough (and strengthening is added)."""
IN_PAIN = (3, 4)
"""Sessions a day while in pain (seed 002)."""
SETTLED = (1, 1)
"""Sessions a day once the pain has subsided (seed 002)."""
STRENGTH_SOURCE = "general"
"""The program whose strengthening part is added once settled (seed 004)."""


@dataclass(frozen=True)
class Resume:
    """Where a progression starts today."""

    index: int
    """Index of the first step to run in the program."""
    working: str | None
    """The last known working exercise of this progression, if any (None for in_order programs)."""
    stepped_back: bool
    """True if the pain is worse than last time, so the start is one step before the working exercise."""


def settled_day(sessions: list[SessionRow], day: date) -> bool:
    """Every pain score reported on `day` was 0-2, at least one was, and nothing stopped for safety."""
    that_day = [r for r in sessions if r.day == day]
    scores = [s for r in that_day for s in r.scores()]
    return bool(scores) and max(scores) <= SETTLED_SCORE and not any(r.safety_event for r in that_day)


def settled_streak(sessions: list[SessionRow], day: date) -> int:
    """Settled days in a row just before `day`."""
    streak = 0
    while settled_day(sessions, day - timedelta(days=streak + 1)):
        streak += 1
    return streak


def settled_now(sessions: list[SessionRow], day: date, scores: Iterable[int] = ()) -> bool:
    """True if once a day is enough on `day`: three settled days before it, and the pain on
    `day` (its saved sessions, and `scores` of the one under way) still 0-2 with no safety stop."""
    that_day = [r for r in sessions if r.day == day]
    scores = [s for r in that_day for s in r.scores()] + list(scores)
    today_ok = all(s <= SETTLED_SCORE for s in scores) and not any(r.safety_event for r in that_day)
    return today_ok and settled_streak(sessions, day) >= SETTLED_DAYS


def rhythm(sessions: list[SessionRow], day: date) -> tuple[int, int]:
    """Recommended sessions on `day`, (fewest, most): seed 002."""
    return SETTLED if settled_now(sessions, day) else IN_PAIN


def sessions_done(sessions: list[SessionRow], day: date) -> int:
    """Sessions on `day` in which at least one exercise was done."""
    return sum(1 for r in sessions if r.day == day and r.exercised)


def worse_than_last_time(sessions: list[SessionRow], location: str | None, score: int | None) -> bool:
    """True if this pain is stronger, or reaches further down the leg, than at the start of
    the last session that asked."""
    last = next((r for r in reversed(sessions) if r.pain_before is not None), None)
    if last is None or score is None:
        return False
    rank = {name: i for i, name in enumerate(LOCATIONS)}
    further = rank.get(location or "", -1) > rank.get(last.location or "", len(LOCATIONS))
    return score > last.pain_before or further


def resume_point(program: Program, sessions: list[SessionRow], location: str | None,
                 score: int | None) -> Resume:
    """Where a "start session" of `program` begins today (the first step if no working exercise)."""
    ids = [s.exercise.id for s in program.steps]
    working = next((r.working_exercise for r in reversed(sessions)
                    if r.program == program.id and r.working_exercise in ids), None)
    if program.rule != "progression" or working is None:  # an in_order program always runs whole
        return Resume(0, None, False)
    index = ids.index(working)
    back = worse_than_last_time(sessions, location, score) and index > 0
    return Resume(index - 1 if back else index, working, back)


def strengthening_to_add(library: Library, program: Program) -> tuple[Step, ...]:
    """The strengthening steps added once settled (seed 004); none if `program` has its own."""
    if any(s.part == "strengthening" for s in program.steps) or STRENGTH_SOURCE not in library.programs:
        return ()
    return tuple(s for s in library.programs[STRENGTH_SOURCE].steps if s.part == "strengthening")


@dataclass(frozen=True)
class Today:
    """The plan for the session under way, decided once its baseline is known."""

    done_today: int
    """Sessions with exercises already done today, before this one."""
    settled: bool
    """True if once a day is enough now (seed 002)."""
    resume: Resume | None
    """Where a resumed progression starts; None when the program was asked for by name."""
    added: tuple[Step, ...]
    """Strengthening steps added after the program's own (seed 004); empty unless settled."""


def today(library: Library, program: Program, sessions: list[SessionRow], day: date, location: str | None,
          score: int | None, *, resuming: bool, acute: bool) -> Today:
    """The plan for a session of `program` on `day` with this baseline. Only "start session"
    (`resuming`) continues from earlier days; a program asked for by name starts at its top."""
    settled = settled_now(sessions, day, [] if score is None else [score])
    resume = resume_point(program, sessions, location, score) if resuming else None
    added = strengthening_to_add(library, program) if resuming and settled and not acute else ()
    return Today(sessions_done(sessions, day), settled, resume, added)


def sentences(today: Today, program: Program, lines: Lines, library: Library) -> list[str]:
    """What the coach says about the plan once the baseline is known: sessions today against
    the rhythm, where the session starts, and the strengthening added (lines.yaml `plan`)."""
    n = today.done_today + 1
    out = [lines.get("plan.first_today" if n == 1 else "plan.session_today", n=lines.number(n)),
           lines.get("plan.aim_settled" if today.settled else "plan.aim_in_pain")]
    resume = today.resume
    if resume and resume.working and resume.stepped_back:
        out.append(lines.get("plan.step_back", name=exercise_name(library, program.steps[resume.index].exercise.id)))
    elif resume and resume.working:
        out.append(lines.get("plan.resume_working", name=exercise_name(library, resume.working)))
    if today.added:
        out.append(lines.get("plan.strengthening_added", names=lines.join([s.exercise.name for s in today.added])))
    return out
