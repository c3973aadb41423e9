"""The history read as progress: one row per session, and the CSV export (`history --csv`).

Rows come from the saved session summaries (voicecoach/store/history.py). The report
(voicecoach/report.py) and the coach's plan across days (voicecoach/coach/plan.py) read the
same rows, so the patient, the therapist and the coach see the same numbers.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO

LOCATIONS = ("back", "buttock", "thigh", "knee", "calf", "foot")
"""Where the pain reaches, from the spine down the leg (the baseline question's answers)."""
SAFETY_REASONS = ("red_flag", "safety_stop")
"""End reasons that are a safety event: a red-flag answer, or a stop for safety."""
CSV_COLUMNS = ("session_id", "started_at", "ended_at", "program", "end_reason", "stop_detail",
               "pain_location", "pain_side", "pain_before", "pain_after", "working_exercise",
               "exercise_seq", "exercise_id", "response", "sets", "reps", "hold_s")
"""The CSV header: session columns, then one exercise's columns."""


@dataclass(frozen=True)
class SessionRow:
    """One session as the report and the plan read it."""

    session_id: int
    """Id of the session in the history."""
    started_at: datetime
    """When it started (aware, in the offset it was recorded in)."""
    ended_at: datetime
    """When it ended."""
    program: str
    """Id of the program run."""
    end_reason: str
    """Why it ended: completed, user_stopped, safety_stop, red_flag, ..."""
    stop_detail: str
    """More about a stop ("two_peripheralized", "screening question 2", ...), else ""."""
    location: str | None
    """How far down the leg the pain reached at the start (one of LOCATIONS), if asked."""
    side: str | None
    """Which side the pain was on, if asked."""
    pain_before: int | None
    """Pain 0-10 at the start, if asked."""
    pain_after: int | None
    """Pain 0-10 at the end, if asked."""
    working_exercise: str | None
    """The exercise that centralized the pain in this session, if any."""
    exercises: tuple[dict, ...]
    """Exercise entries in order: id, response, sets, reps, hold_s."""

    @classmethod
    def from_summary(cls, s: dict) -> "SessionRow":
        baseline = s.get("baseline") or {}
        return cls(session_id=s["session_id"], started_at=datetime.fromisoformat(s["started_at"]),
                   ended_at=datetime.fromisoformat(s["ended_at"]), program=s["program"],
                   end_reason=s["end_reason"], stop_detail=s.get("stop_detail") or "",
                   location=baseline.get("location"), side=baseline.get("side"),
                   pain_before=baseline.get("score"), pain_after=s.get("pain_after"),
                   working_exercise=s.get("working_exercise"),
                   exercises=tuple(s.get("exercises") or ()))

    @property
    def day(self) -> date:
        """The calendar day it started on (in its own offset)."""
        return self.started_at.date()

    @property
    def exercised(self) -> bool:
        """True if at least one exercise was done (not only skipped): it counts toward the rhythm."""
        return any(e["response"] != "skipped" for e in self.exercises)

    @property
    def safety_event(self) -> bool:
        """True for a red flag or a stop for safety."""
        return self.end_reason in SAFETY_REASONS

    def responses(self) -> set[str]:
        """Every response its exercises ended with."""
        return {e["response"] for e in self.exercises}

    def scores(self) -> list[int]:
        """The pain scores reported in it (start and end)."""
        return [s for s in (self.pain_before, self.pain_after) if s is not None]


def rows(summaries: list[dict]) -> list[SessionRow]:
    """Session rows, oldest first."""
    return sorted((SessionRow.from_summary(s) for s in summaries), key=lambda r: (r.started_at, r.session_id))


def since(sessions: list[SessionRow], now: datetime, days: int | None) -> list[SessionRow]:
    """The sessions of the last `days` calendar days up to `now` (all of them if days is None)."""
    if days is None:
        return list(sessions)
    first = now.date() - timedelta(days=days - 1)
    return [r for r in sessions if first <= r.day <= now.date()]


def write_csv(sessions: list[SessionRow], out: IO[str]) -> int:
    """Every session and exercise as CSV, one row per exercise (a session without any has one
    row with the exercise columns empty); returns the number of data rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for r in sessions:
        head = [r.session_id, r.started_at.isoformat(), r.ended_at.isoformat(), r.program, r.end_reason,
                r.stop_detail, r.location, r.side, r.pain_before, r.pain_after, r.working_exercise]
        tails = [[seq, e["id"], e["response"], e["sets"], e["reps"], e["hold_s"]]
                 for seq, e in enumerate(r.exercises, 1)] or [[None] * 6]
        for tail in tails:
            writer.writerow(["" if v is None else v for v in head + tail])
            count += 1
    return count
