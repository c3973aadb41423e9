"""The progress report (`voicecoach report`): one self-contained HTML file for the patient and
the physical therapist, to open in a browser or print.

It holds four charts (voicecoach/report_charts.py, embedded as base64 PNG, so the file needs
no network and no other file): pain before and after each session; how far down the leg the
pain reached, with centralization and peripheralization marked; sessions per day against the
recommended rhythm (seed 002, the same rule the coach uses: voicecoach/coach/plan.py); and the
working exercise over time. Then every red flag and safety stop, dated, and a table of every
session. The numbers come from the saved session summaries only.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from . import report_charts as charts
from .app import Content
from .coach import plan
from .coach.record import exercise_name
from .progress import SessionRow, rows, since

STOP_DETAILS = {"two_peripheralized": "the pain moved down the leg with two exercises in a row",
                "unable_prone": "too painful to lie on the stomach"}
"""What a safety stop's detail means, in the report's words."""


@dataclass(frozen=True)
class Day:
    """One calendar day of the report."""

    day: date
    """The date."""
    done: int
    """Sessions in which at least one exercise was done."""
    started: int
    """Sessions started, however they ended."""
    low: int
    """Fewest sessions recommended that day (seed 002)."""
    high: int
    """Most sessions recommended that day (seed 002)."""


@dataclass(frozen=True)
class SafetyEvent:
    """A red flag, a safety stop, or an exercise stopped because the pain moved down the leg."""

    at: datetime
    """When the session it happened in started."""
    kind: str
    """"red flag", "safety stop" or "exercise stopped"."""
    detail: str
    """What happened, in plain words."""


@dataclass(frozen=True)
class Report:
    """Everything the report shows, before it is drawn."""

    first: date
    """First day covered."""
    last: date
    """Last day covered."""
    sessions: list[SessionRow]
    """The sessions in the period, oldest first."""
    days: list[Day]
    """Every day of the period, with or without sessions."""
    safety: list[SafetyEvent]
    """Safety events in the period, oldest first."""


def build(summaries: list[dict], now: datetime, days: int | None, content: Content) -> Report:
    """The report of the last `days` days up to `now` (of the whole history if None)."""
    every = rows(summaries)
    shown = since(every, now, days)
    last = now.date()
    first = last - timedelta(days=days - 1) if days else min([r.day for r in shown] + [last])
    period = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    day_rows = [Day(d, plan.sessions_done(every, d), sum(1 for r in every if r.day == d), *plan.rhythm(every, d))
                for d in period]
    return Report(first, last, shown, day_rows, _safety(shown, content))


def _safety(sessions: list[SessionRow], content: Content) -> list[SafetyEvent]:
    out = []
    for r in sessions:
        if r.end_reason == "red_flag":
            number = int(r.stop_detail.rsplit(" ", 1)[-1]) if r.stop_detail[-1:].isdigit() else 0
            question = content.lines.get(f"screening.{number - 1}") if number else "a screening question"
            out.append(SafetyEvent(r.started_at, "red flag", f"answered yes to: {question}"))
        elif r.end_reason == "safety_stop":
            out.append(SafetyEvent(r.started_at, "safety stop", STOP_DETAILS.get(r.stop_detail, r.stop_detail)))
        for e in r.exercises:
            if e["response"] == "peripheralized":
                name = exercise_name(content.library, e["id"])
                out.append(SafetyEvent(r.started_at, "exercise stopped", f"{name}: the pain moved down the leg"))
    return out


# ------------------------------------------------------------------------------- HTML

CSS = """
body { font-family: sans-serif; margin: 2em auto; max-width: 960px; color: #212121; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #bdbdbd; }
img { width: 100%; max-width: 900px; display: block; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; margin-top: 0.5em; }
th, td { border: 1px solid #bdbdbd; padding: 0.25em 0.4em; text-align: left; vertical-align: top; }
th { background: #eeeeee; } td:nth-child(-n+2) { white-space: nowrap; } .safety td { color: #b71c1c; } .note { color: #616161; font-size: 0.9em; }
@media print { body { margin: 0; } h2 { page-break-after: avoid; } img, tr { page-break-inside: avoid; } }
"""


def _e(value: object) -> str:
    return "" if value is None else html.escape(str(value))


def _table(table_id: str, head: list[str], body: list[list[object]], cls: str = "") -> str:
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    rows_html = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in body)
    return f'<table id="{table_id}" class="{cls}"><thead><tr>{cells}</tr></thead><tbody>{rows_html}</tbody></table>'


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def render(report: Report, content: Content, generated: datetime) -> str:
    """The report as one HTML document."""
    lib, s = content.library, report.sessions
    name = lambda x: exercise_name(lib, x) if x else ""  # noqa: E731
    tz = s[0].started_at.tzinfo if s else generated.tzinfo
    first = datetime.combine(report.first, datetime.min.time(), tz)
    last = datetime.combine(report.last, datetime.max.time(), tz)
    order = [st.exercise.id for st in lib.programs["extension"].steps] if "extension" in lib.programs else []
    rated = [r for r in s if r.pain_before is not None]
    working = [r for r in s if r.working_exercise]
    changes = [r for i, r in enumerate(working) if i == 0 or r.working_exercise != working[i - 1].working_exercise]
    parts = [
        f"<h1>Back exercise progress, {report.first:%d %B %Y} to {report.last:%d %B %Y}</h1>",
        f'<p id="overview">Sessions: <b data-n="sessions">{len(s)}</b>, with exercises done: '
        f'<b data-n="exercised">{sum(r.exercised for r in s)}</b>, on '
        f'<b data-n="days">{sum(1 for d in report.days if d.done)}</b> days. '
        + (f"Pain at the start of the first session: <b>{rated[0].pain_before}</b>; at the start of the "
           f"last: <b>{rated[-1].pain_before}</b>. " if rated else "")
        + (f"Working exercise now: <b>{_e(name(working[-1].working_exercise))}</b>." if working else "")
        + "</p>",
        "<h2>Pain before and after each session (0-10)</h2>",
        _img(charts.pain_chart(s, first, last), "pain before and after each session"),
        "<h2>How far down the leg the pain reached</h2>",
        '<p class="note">At the start of each session. Up-triangle: an exercise moved the pain toward '
        "the spine (centralized). Down-triangle: an exercise moved it down the leg (peripheralized).</p>",
        _img(charts.location_chart(s, first, last), "how far down the leg the pain reached"),
        "<h2>Sessions per day</h2>",
        '<p class="note">Recommended: three to four sessions a day while in pain, once a day once the '
        "pain has been 0-2 for three days in a row.</p>",
        _img(charts.rhythm_chart(report.days, first, last), "sessions per day against the recommended rhythm"),
        _table("days", ["date", "sessions done", "sessions started", "recommended"],
               [[f"{d.day:%Y-%m-%d}", d.done, d.started, f"{d.low}-{d.high}" if d.low != d.high else d.low]
                for d in report.days]),
        "<h2>Working exercise</h2>",
        _img(charts.working_chart(s, order, {k: v.name for k, v in lib.exercises.items()}, first, last),
             "working exercise over time"),
        '<p class="note">When a working exercise was first found, and each time it changed.</p>',
        _table("working", ["date", "time", "working exercise"],
               [[f"{r.started_at:%Y-%m-%d}", f"{r.started_at:%H:%M}", name(r.working_exercise)] for r in changes]),
        "<h2>Red flags and safety stops</h2>",
        _table("safety", ["date", "time", "what", "detail"],
               [[f"{e.at:%Y-%m-%d}", f"{e.at:%H:%M}", e.kind, e.detail] for e in report.safety], "safety")
        if report.safety else '<p id="safety">None.</p>',
        "<h2>Every session</h2>",
        _table("sessions", ["date", "time", "program", "pain reached", "side", "pain before", "pain after",
                            "exercises", "working exercise", "ended"],
               [[f"{r.started_at:%Y-%m-%d}", f"{r.started_at:%H:%M}", _program(content, r.program), r.location,
                 r.side, r.pain_before, r.pain_after,
                 "; ".join(f"{name(e['id'])}: {e['response']}" for e in r.exercises),
                 name(r.working_exercise), r.end_reason.replace("_", " ")] for r in s]),
        f'<p class="note">Made by VoiceCoach on {generated:%Y-%m-%d %H:%M}.</p>',
    ]
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Back exercise progress'
            f"</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


def _program(content: Content, program_id: str) -> str:
    program = content.library.programs.get(program_id)
    return program.name if program else program_id
