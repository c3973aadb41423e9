"""Tests for the crash-safe session history (real SQLite files, a real SIGKILL)."""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.store.history import (DB_NAME, INTERRUPTED_ADVICE, SCHEMA_VERSION, History,
                                      HistoryError, history_dir)

ROOT = Path(__file__).resolve().parents[1]
TZ = timezone(timedelta(hours=2))
T0 = datetime(2024, 5, 6, 9, 0, tzinfo=TZ)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def entry(exercise_id: str, response: str = "better", sets: int = 1, reps: int = 10, hold_s: int = 0) -> dict:
    return {"id": exercise_id, "response": response, "sets": sets, "reps": reps, "hold_s": hold_s}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("VOICECOACH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def hist(home):
    h = History()
    yield h
    h.close()


def test_history_dir_and_default_path(home):
    assert history_dir() == home
    with History() as h:
        assert h.path == home / DB_NAME
    assert (home / DB_NAME).is_file()


def test_history_dir_defaults_to_platformdirs(monkeypatch):
    import platformdirs
    monkeypatch.delenv("VOICECOACH_HOME", raising=False)
    assert history_dir() == Path(platformdirs.user_data_dir("voicecoach"))


def test_wal_mode_and_schema_version(hist):
    db = sqlite3.connect(hist.path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"sessions", "exercises", "events"} <= tables
    finally:
        db.close()


def test_round_trip_full_session(hist, home):
    sid = hist.start_session("extension", at(0))
    hist.log_event(sid, at(0.1), "said", {"text": "Hello"})
    hist.log_event(sid, at(0.2), "heard", {"text": "no"})
    hist.mark_screened(sid, at(1))
    hist.set_baseline(sid, "buttock", "left", 6)
    hist.exercise_started(sid, at(2), "prone_lying")
    hist.exercise_finished(sid, at(4), entry("prone_lying", "same", 1, 1, 120))
    hist.exercise_started(sid, at(5), "prone_press_up")
    hist.exercise_finished(sid, at(8), entry("prone_press_up", "better", 1, 10))
    hist.log_event(sid, at(9), "state", None)
    summary = {
        "session_id": sid, "program": "extension", "started_at": at(0).isoformat(),
        "ended_at": at(10).isoformat(), "end_reason": "completed",
        "baseline": {"location": "buttock", "side": "left", "score": 6}, "pain_after": 3,
        "exercises": [entry("prone_lying", "same", 1, 1, 120), entry("prone_press_up", "better", 1, 10)],
        "working_exercise": "prone_press_up", "advice": "Keep going.",
    }
    hist.finish_session(sid, summary)
    hist.close()

    with History() as again:  # a fresh process would see exactly this
        assert again.last_summary() == summary
        assert again.summaries() == [summary]
        assert again.recover_interrupted(at(20)) == []
        assert again.events(sid) == [
            {"at": at(0.1).isoformat(), "kind": "said", "data": {"text": "Hello"}},
            {"at": at(0.2).isoformat(), "kind": "heard", "data": {"text": "no"}},
            {"at": at(9).isoformat(), "kind": "state", "data": None},
        ]
        assert again.sessions_on(T0.date()) == 1
        assert json.loads(json.dumps(again.last_summary())) == summary


def test_screened_on_is_per_calendar_day(hist):
    day = T0.date()
    assert not hist.screened_on(day)
    first = hist.start_session("extension", at(0))
    assert not hist.screened_on(day)
    hist.mark_screened(first, at(1))
    assert hist.screened_on(day)
    assert not hist.screened_on(day + timedelta(days=1))
    assert not hist.screened_on(day - timedelta(days=1))
    # A session started the next day does not count as screened until it screens.
    second = hist.start_session("extension", at(24 * 60))
    assert not hist.screened_on(day + timedelta(days=1))
    hist.mark_screened(second, at(24 * 60 + 1))
    assert hist.screened_on(day + timedelta(days=1))


def test_day_is_the_date_in_the_callers_offset(hist):
    late = datetime(2024, 5, 6, 23, 30, tzinfo=TZ)  # 21:30 UTC, still 6 May locally
    hist.start_session("extension", late)
    hist.start_session("extension", late + timedelta(hours=1))  # 00:30 on 7 May
    assert hist.sessions_on(date(2024, 5, 6)) == 1
    assert hist.sessions_on(date(2024, 5, 7)) == 1
    assert hist.sessions_on(date(2024, 5, 8)) == 0


def test_recover_interrupted_builds_summary_from_committed_rows(hist):
    sid = hist.start_session("extension", at(0))
    hist.set_baseline(sid, "back", "central", 4)
    hist.exercise_started(sid, at(1), "prone_lying")
    hist.exercise_finished(sid, at(3), entry("prone_lying", "same", 1, 1, 120))
    hist.exercise_started(sid, at(4), "prone_on_elbows")
    hist.exercise_finished(sid, at(6), entry("prone_on_elbows", "better", 1, 1, 60))
    hist.exercise_started(sid, at(7), "prone_press_up")
    hist.log_event(sid, at(7.5), "heard", {"text": "ten"})

    (summary,) = hist.recover_interrupted(at(60))
    assert summary == {
        "session_id": sid, "program": "extension", "started_at": at(0).isoformat(),
        "ended_at": at(7.5).isoformat(), "end_reason": "interrupted",
        "baseline": {"location": "back", "side": "central", "score": 4}, "pain_after": None,
        "exercises": [entry("prone_lying", "same", 1, 1, 120), entry("prone_on_elbows", "better", 1, 1, 60),
                      {"id": "prone_press_up", "response": "interrupted", "sets": 0, "reps": 0, "hold_s": 0}],
        "working_exercise": None, "advice": INTERRUPTED_ADVICE,
    }
    assert hist.last_summary() == summary
    assert hist.summaries() == [summary]


def test_recover_session_with_nothing_but_a_start(hist):
    sid = hist.start_session("flexion", at(0))
    (summary,) = hist.recover_interrupted(at(5))
    assert summary["session_id"] == sid
    assert summary["ended_at"] == at(0).isoformat()
    assert summary["baseline"] is None
    assert summary["exercises"] == []


def test_recovery_is_idempotent_and_leaves_finished_sessions_alone(hist):
    done = hist.start_session("extension", at(0))
    hist.finish_session(done, {"session_id": done, "program": "extension", "started_at": at(0).isoformat(),
                               "ended_at": at(1).isoformat(), "end_reason": "stopped", "baseline": None,
                               "pain_after": None, "exercises": [], "working_exercise": None, "advice": ""})
    lost = hist.start_session("extension", at(10))
    recovered = hist.recover_interrupted(at(30))
    assert [s["session_id"] for s in recovered] == [lost]
    assert hist.recover_interrupted(at(31)) == []
    assert [s["session_id"] for s in hist.summaries()] == [done, lost]
    assert [s["session_id"] for s in hist.summaries(limit=1)] == [lost]
    assert hist.last_summary()["end_reason"] == "interrupted"


def test_exercise_finished_without_start_is_appended(hist):
    sid = hist.start_session("extension", at(0))
    hist.exercise_finished(sid, at(1), entry("standing_extension"))
    hist.exercise_started(sid, at(2), "prone_lying")
    (summary,) = hist.recover_interrupted(at(3))
    assert [e["id"] for e in summary["exercises"]] == ["standing_extension", "prone_lying"]
    assert summary["exercises"][-1]["response"] == "interrupted"


def test_clear_errors_for_bad_input(hist):
    with pytest.raises(ValueError, match="timezone-aware"):
        hist.start_session("extension", datetime(2024, 5, 6, 9, 0))
    sid = hist.start_session("extension", at(0))
    with pytest.raises(ValueError, match="missing keys"):
        hist.exercise_finished(sid, at(1), {"id": "prone_lying"})
    with pytest.raises(ValueError, match="missing keys"):
        hist.finish_session(sid, {"session_id": sid})
    with pytest.raises(ValueError, match="0 to 10"):
        hist.set_baseline(sid, "back", "left", 11)
    with pytest.raises(HistoryError, match="no session 999"):
        hist.mark_screened(999, at(1))
    with pytest.raises(HistoryError):
        hist.log_event(999, at(1), "heard", {"text": "x"})


def test_unwritable_location_raises_history_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("VOICECOACH_HOME", str(blocker / "sub"))
    with pytest.raises(HistoryError, match=r"^Cannot open the session history at .*a_file.*\.$") as info:
        History()
    assert "\n" not in str(info.value)


def test_not_a_database_raises_history_error(tmp_path):
    junk = tmp_path / DB_NAME
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HistoryError, match="Cannot open the session history"):
        History(junk)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / DB_NAME
    History(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(HistoryError, match="newer"):
        History(path)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(min_size=1, max_size=12),
                          st.one_of(st.none(), st.dictionaries(st.text(max_size=8),
                                                               st.one_of(st.text(), st.integers()), max_size=3))),
                max_size=8))
def test_events_round_trip_in_order(tmp_path, events):
    with History(tmp_path / DB_NAME) as h:  # one file across examples; each gets its own session
        sid = h.start_session("extension", at(0))
        for i, (kind, data) in enumerate(events):
            h.log_event(sid, at(i), kind, data)
        assert h.events(sid) == [{"at": at(i).isoformat(), "kind": k, "data": d}
                                 for i, (k, d) in enumerate(events)]


CHILD = textwrap.dedent("""
    import sys, time
    from datetime import datetime, timedelta, timezone
    from pathlib import Path
    from voicecoach.store.history import History

    t0 = datetime(2024, 5, 6, 9, 0, tzinfo=timezone.utc)
    h = History(Path(sys.argv[1]))
    sid = h.start_session("extension", t0)
    h.set_baseline(sid, "thigh", "right", 5)
    for i, name in enumerate(["prone_lying", "prone_on_elbows"]):
        h.exercise_started(sid, t0 + timedelta(minutes=2 * i), name)
        h.exercise_finished(sid, t0 + timedelta(minutes=2 * i + 1),
                            {"id": name, "response": "better", "sets": 1, "reps": 1, "hold_s": 60})
    h.exercise_started(sid, t0 + timedelta(minutes=5), "prone_press_up")
    print("ready", sid, flush=True)
    time.sleep(120)
""")


def test_sigkill_mid_exercise_is_recovered(tmp_path):
    path = tmp_path / "crash" / DB_NAME
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready, _, _ = select.select([child.stdout], [], [], 60)
        line = child.stdout.readline() if ready else ""
        assert line.startswith("ready"), f"child did not get ready: {line!r} {child.poll()!r}"
        sid = int(line.split()[1])
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()

    with History(path) as h:
        (summary,) = h.recover_interrupted(datetime.now(timezone.utc))
        assert summary["session_id"] == sid
        assert summary["end_reason"] == "interrupted"
        assert summary["baseline"] == {"location": "thigh", "side": "right", "score": 5}
        assert summary["ended_at"] == "2024-05-06T09:05:00+00:00"
        assert summary["exercises"] == [
            {"id": "prone_lying", "response": "better", "sets": 1, "reps": 1, "hold_s": 60},
            {"id": "prone_on_elbows", "response": "better", "sets": 1, "reps": 1, "hold_s": 60},
            {"id": "prone_press_up", "response": "interrupted", "sets": 0, "reps": 0, "hold_s": 0},
        ]
        assert h.recover_interrupted(datetime.now(timezone.utc)) == []
        assert h.last_summary() == summary
