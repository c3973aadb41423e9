"""Shared helpers for running whole coaching sessions, through the CLI or in-process.

- `simulate` (fixture): runs `python -m voicecoach simulate --json` as a subprocess with
  VOICECOACH_HOME in the test's tmp_path and returns the parsed JSON object.
- `run_cli` (fixture): runs any `voicecoach` command as a subprocess, same environment.
- `own_settings_file` (autouse): VOICECOACH_CONFIG points to a settings file of the test's own.
- `opening()`: the script lines of the standard opening (start, three "no", baseline).
- `run_session()`: the same session in-process (fast, for hypothesis): the coach is built
  the way `voicecoach simulate` builds it (voicecoach/cli.py cmd_simulate).

``scripts/test`` runs the suite in two parts: every test but the ``real_time`` ones on both cores
(pytest-xdist, a test file per worker), then the ``real_time`` ones (sessions and streams on virtual audio
devices, timed against the clock) alone, as a user's machine runs the coach: run beside a busy core, the
coach's own echo arrived after its echo window and was taken as the patient's answer.
"""

from __future__ import annotations

import json
import os
import re
import string
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from voicecoach import simulate as sim
from voicecoach.app import Content, build_coach
from voicecoach.coach.clock import FakeClock
from voicecoach.coach.coach import Coach
from voicecoach.store.history import DB_NAME, History

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-20T09:00:00+00:00"
"""Default simulated start time for CLI sessions (a fixed day, so screening is predictable)."""
END_REASONS = {"completed", "user_stopped", "safety_stop", "red_flag", "not_suitable_today",
               "no_response", "interrupted"}


def opening(location: str = "thigh", side: str = "right", score: int | str = 6, *,
            start: str = "start session", screening: bool = True) -> list[str]:
    """Script lines of the standard opening: start, three "no" (if screened), location, side, score."""
    lines = [start]
    if screening:
        lines += ["no", "no", "no"]
    return lines + [location, side, str(score)]


# ------------------------------------------------------------------------------- subprocess

def _env(home: Path, now: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["VOICECOACH_HOME"] = str(home)
    env.pop("VOICECOACH_PROMPTS", None)
    env.pop("VOICECOACH_NOW", None)
    if now:
        env["VOICECOACH_NOW"] = now
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(autouse=True)
def own_settings_file(monkeypatch, tmp_path_factory) -> Path:
    """Every test has its own (absent) settings file: never the developer's, never another test's."""
    path = tmp_path_factory.mktemp("config") / "settings.toml"
    monkeypatch.setenv("VOICECOACH_CONFIG", str(path))
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The VOICECOACH_HOME of this test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def run_cli(home: Path):
    """Run `python -m voicecoach ARGS...` with this test's home; returns the CompletedProcess."""

    def run(*args: str, stdin: str = "", now: str | None = NOW, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "voicecoach", *map(str, args)], input=stdin,
                              capture_output=True, text=True, env=_env(home, now), cwd=ROOT,
                              timeout=timeout)

    return run


@pytest.fixture
def simulate(run_cli):
    """Run one simulated session from script lines; returns {"summary", "transcript"}."""

    def run(lines: list[str], *, program: str | None = None, now: str | None = NOW) -> dict:
        args = ["simulate", "--json"] + (["--program", program] if program else [])
        proc = run_cli(*args, stdin="".join(f"{line}\n" for line in lines), now=now)
        assert proc.returncode == 0, f"simulate failed ({proc.returncode}): {proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
        return json.loads(proc.stdout)

    return run


# ------------------------------------------------------------------------------- in-process

_CONTENT: Content | None = None
FAST_TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
"""RAM-backed temp dir when there is one: the history fsyncs every event, slow on a disk."""


def content() -> Content:
    """The prompts/ content, loaded once per test process."""
    global _CONTENT
    if _CONTENT is None:
        _CONTENT = Content.load()
    return _CONTENT


@dataclass
class Heard:
    """One utterance as the coach received it, with the coach's state around it."""

    text: str
    state: str
    """State before hearing it."""
    paused_from: str
    context: str | None
    answer: tuple | None
    """(kind, value) the coach parsed, or None."""
    exercise: str | None
    """Id of the exercise under way (an open entry), if any."""
    entries: int
    """Exercise entries recorded before hearing it."""
    line: int
    """Index in the transcript of the user's line."""
    state_after: str


@dataclass
class Session:
    """One in-process session's result."""

    coach: Coach
    started: bool
    summary: dict | None
    transcript: list[dict]
    heard: list[Heard]
    saved: dict | None
    """The last summary in the history, read before it was closed."""


def run_session(lines: list[str], *, home: Path | None = None, program: str | None = None,
                now: datetime | None = None) -> Session:
    """Run one session in-process, exactly as `voicecoach simulate` wires it, with a fake clock.

    `home` holds the history database; by default a fresh temporary one (so the screening
    is always asked).
    """
    start = now or datetime.fromisoformat(NOW)
    heard: list[Heard] = []
    with tempfile.TemporaryDirectory(dir=FAST_TMP) as tmp:
        db = Path(home or tmp) / DB_NAME
        clock = FakeClock(start)
        transcript = sim.Transcript(clock)
        with History(db) as history:
            coach = build_coach(content(), history, clock, transcript, program)
            hear = coach.hear

            def recording_hear(text: str) -> None:
                before = dict(state=coach.state, paused_from=coach.paused_from, context=coach.context,
                              exercise=coach.entry["id"] if coach.entry else None,
                              entries=len(coach.record.exercises) if coach.record else 0,
                              line=len(transcript.lines) - 1)
                hear(text)
                answer = (coach.answer.kind, coach.answer.value) if coach.answer else None
                heard.append(Heard(text=text, answer=answer, state_after=coach.state, **before))

            coach.hear = recording_hear
            started = sim.run(coach, clock, transcript, list(lines))
            saved = history.last_summary()
    return Session(coach, started, coach.summary, transcript.lines, heard, saved)


# ------------------------------------------------------------------------------- transcripts

def coach_lines(transcript: list[dict]) -> list[str]:
    return [line["text"] for line in transcript if line["who"] == "coach"]


def said_after(transcript: list[dict], user_text: str, nth: int = 1) -> list[str]:
    """The coach's lines after the user's nth utterance equal to user_text (until the end)."""
    seen = 0
    for i, line in enumerate(transcript):
        if line["who"] == "user" and line["text"] == user_text:
            seen += 1
            if seen == nth:
                return [x["text"] for x in transcript[i + 1:] if x["who"] == "coach"]
    raise AssertionError(f"the user never said {user_text!r} {nth} time(s)")


def ids(summary: dict) -> list[str]:
    return [e["id"] for e in summary["exercises"]]


def responses(summary: dict) -> list[tuple[str, str]]:
    return [(e["id"], e["response"]) for e in summary["exercises"]]


def template_re(key: str, **parts: str) -> re.Pattern:
    """A line of prompts/lines.yaml as a regex: placeholder `name` matches parts[name], else any text."""
    out = ""
    for literal, field, _, _ in string.Formatter().parse(content().lines.raw(key)):
        out += re.escape(literal)
        if field is not None:
            out += parts.get(field, ".+?")
    return re.compile(out, re.IGNORECASE)
