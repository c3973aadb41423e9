"""A session process killed with SIGKILL mid-session: nothing completed is lost."""

import json
import os
import signal
import subprocess
import sys
import time

from voicecoach.store.history import History


def _env(home):
    return {**os.environ, "VOICECOACH_HOME": str(home), "VOICECOACH_NOW": "2026-11-20T09:00:00+00:00"}


def _finished_exercises(home) -> int:
    path = home / "history.sqlite3"
    if not path.exists():
        return 0
    with History(path) as history:
        return len(history.exercises(1))  # the first session of a fresh history


def test_sigkill_mid_session_keeps_completed_exercises_and_reports_interrupted(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "simulate", "--json"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(tmp_path), text=True)
    # Two exercises answered; the coach then runs the press-up and waits for its answer: the pipe stays open.
    proc.stdin.write("start session\nno\nno\nno\nthigh\nright\n6\nsame\nworse\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while _finished_exercises(tmp_path) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _finished_exercises(tmp_path) == 2
    time.sleep(0.3)  # let it run on into the third exercise
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    # The next start says the last session was interrupted ...
    again = subprocess.run([sys.executable, "-m", "voicecoach", "simulate", "--json"], input="start session\nstop\n",
                           env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    out = json.loads(again.stdout)
    assert "interrupted" in out["transcript"][0]["text"].lower()
    # ... and the history holds it, with every completed exercise and the one in flight.
    listed = subprocess.run([sys.executable, "-m", "voicecoach", "history", "--json"], env=_env(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    interrupted, stopped = json.loads(listed.stdout)
    assert interrupted["end_reason"] == "interrupted"
    assert interrupted["baseline"] == {"location": "thigh", "side": "right", "score": 6}
    assert [(e["id"], e["response"]) for e in interrupted["exercises"]] == [
        ("prone-lying", "same"), ("prone-props", "worse"), ("press-up", "interrupted")]
    assert stopped["end_reason"] == "user_stopped"
