"""One session's record: what was done, the advice that follows, and the summary read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..content.lines import Lines
from ..content.programs import Library, Program

SETTLED_SCORE = 2
"""Pain at or below this counts as settled (seed 002: once a day when pain has subsided)."""


@dataclass
class SessionRecord:
    """The session under way, kept in step with the history as it happens."""

    session_id: int
    """Id of the session in the history."""
    program: str
    """Id of the program being run."""
    program_name: str
    """Spoken name of the program."""
    started_at: datetime
    """When the session started (aware)."""
    rule: str = "progression"
    """The program's rule: "progression" looks for a working exercise; "in_order" runs the list."""
    baseline: dict = field(default_factory=lambda: {"location": None, "side": None, "score": None})
    """Where the pain reaches, which side, and how strong, asked at the start."""
    exercises: list[dict] = field(default_factory=list)
    """One entry each time an exercise ran: id, response, sets, reps, hold_s."""
    end_reason: str | None = None
    """Why the session ended, once decided."""
    stop_detail: str = ""
    """More about a stop: "two_peripheralized", "unable_prone", or the red-flag question."""
    pain_after: int | None = None
    """Pain score asked at the end."""
    working_exercise: str | None = None
    """The exercise that centralized the pain, if any."""

    def summary(self, ended_at: datetime, advice: str) -> dict:
        """The summary object saved to the history and printed by `simulate --json`."""
        return {
            "session_id": self.session_id,
            "program": self.program,
            "started_at": self.started_at.isoformat(),
            "ended_at": ended_at.isoformat(),
            "end_reason": self.end_reason,
            "stop_detail": self.stop_detail,
            "baseline": dict(self.baseline),
            "pain_after": self.pain_after,
            "exercises": [dict(e) for e in self.exercises],
            "working_exercise": self.working_exercise,
            "advice": advice,
        }


def exercise_name(library: Library, exercise_id: str) -> str:
    """The spoken name of an exercise (its id if the library no longer has it)."""
    exercise = library.exercises.get(exercise_id)
    return exercise.name if exercise else exercise_id


def advice_for(record: SessionRecord, lines: Lines, library: Library, settled: bool = False) -> str:
    """What to do next, from how the session ended (seeds 001, 002, 004 and the safety rules).

    ``settled``: the pain has been 0-2 for three days in a row and still is (plan.py), so once
    a day is enough (seed 002); a low score before that keeps three to four a day."""
    reason = record.end_reason
    if reason == "red_flag":
        return lines.get("advice.red_flag")
    if reason == "safety_stop":
        return lines.get("advice.unable_prone" if record.stop_detail == "unable_prone" else "advice.safety_stop")
    if reason in ("not_suitable_today", "no_response"):
        return lines.get(f"advice.{reason}")
    parts = []
    if record.working_exercise:
        parts.append(lines.get("advice.working", name=exercise_name(library, record.working_exercise)))
    elif any(e["response"] not in ("skipped", "interrupted") for e in record.exercises):
        no_working = "advice.no_working" if record.rule == "progression" else "advice.keep_program"
        parts.append(lines.get(no_working, program=record.program_name))
    score = record.pain_after if record.pain_after is not None else record.baseline.get("score")
    if score is not None:
        low = "advice.settled" if settled else "advice.settling"
        parts.append(lines.get(low if score <= SETTLED_SCORE else "advice.in_pain"))
    return " ".join(parts)


def summary_sentences(summary: dict, lines: Lines, library: Library, current: Program | None = None) -> list[str]:
    """The summary in plain spoken sentences: when, what, how the pain responded, what next.

    ``current`` names a program that is not in the library (a therapist's program file)."""
    started = datetime.fromisoformat(summary["started_at"])
    known = {**library.programs, **({current.id: current} if current else {})}
    program = known[summary["program"]].name if summary["program"] in known else summary["program"]
    out = [lines.get("summary_when", date=started.strftime("%A %d %B"), time=started.strftime("%H:%M"), program=program)]
    ran = summary.get("exercises") or []
    if not ran:
        out.append(lines.get("summary_none"))
    for response, names in _runs(ran, library):  # one sentence per run of the same response
        out.append(lines.get("summary_exercise", name=lines.join(names), response=lines.get(f"responses.{response}")))
    before, after = (summary.get("baseline") or {}).get("score"), summary.get("pain_after")
    if before is not None and after is not None:
        out.append(lines.get("summary_pain", before=lines.number(before), after=lines.number(after)))
    if summary.get("working_exercise"):
        out.append(lines.get("summary_working", name=exercise_name(library, summary["working_exercise"])))
    out.append(lines.get(f"end_reasons.{summary['end_reason']}"))
    out.append(summary.get("advice") or "")
    return [s for s in out if s]


def _runs(entries: list[dict], library: Library) -> list[tuple[str, list[str]]]:
    """Consecutive entries with the same response, as (response, exercise names without repeats)."""
    out: list[tuple[str, list[str]]] = []
    for entry in entries:
        name = exercise_name(library, entry["id"])
        if out and out[-1][0] == entry["response"]:
            if name not in out[-1][1]:
                out[-1][1].append(name)
        else:
            out.append((entry["response"], [name]))
    return out
