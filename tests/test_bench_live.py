"""The live benchmark's script without audio: bounded waits, and a session that follows the coach in two voices.

A scripted stand-in for `voicecoach run --events` (tests/bench_fakes.py) hears every "pause" in time
or only after its line has ended, as on a slow machine: the session must resume, keep its attempts
bounded and end. The real audio path is tested by tests/test_bench.py's quick run.
"""

import queue
import time

import pytest

from bench_fakes import ScriptedCoach, ScriptedPatient
from voicecoach.bench.live_coach import CoachProcess, LiveTimeout
from voicecoach.bench.live_session import SAY, VOICES, Session

FLITE, ESPEAK = list(VOICES)


def test_a_wait_past_the_deadline_says_what_it_waited_for():
    coach = CoachProcess.__new__(CoachProcess)  # no process: only the event queue
    coach._lines, coach.events, coach.state, coach.ended, coach.waiting_for = queue.Queue(), [], "screening", False, ""
    coach.deadline = time.monotonic() + 0.3
    coach._lines.put('{"event": "say", "state": "screening", "t": 1.0, "text": "Any numbness?"}\n')
    t = time.monotonic()
    with pytest.raises(LiveTimeout, match="a barge-in.*'screening'.*Any numbness"):
        coach.wait_for(lambda e: e["event"] == "barge_in", 30, "a barge-in")
    assert time.monotonic() - t < 2


@pytest.mark.parametrize("late", [False, True])
def test_the_session_follows_the_coach_and_ends(late, monkeypatch):
    """A stand-in coach that hears every "pause" only after its line has ended (late) or over it: the
    script still resumes, keeps its attempts bounded, and measures the barge-ins it could."""
    coach = ScriptedCoach(late_barge_in=late)
    monkeypatch.setattr("voicecoach.bench.live_session.time", coach.clock)
    session = Session(coach, ScriptedPatient(coach), coach.speaker)
    result = session.run(idle_turns=2, pause_cycles=2)
    assert len(session.turns) >= 3 and all(t["latency_s"] > 0 for t in session.turns)
    # every turn said is measured here: the voices take turns, and so do the barge-ins
    assert [t["voice"] for t in session.turns] == [FLITE, ESPEAK] * (len(session.turns) // 2) + [FLITE] * (len(session.turns) % 2)
    assert [b["voice"] for b in session.barge_ins][:2] == [FLITE, ESPEAK]
    pauses = [b for b in session.barge_ins if b["said"] in SAY["pause"]]
    if late:
        assert result["pause_cycles"] == 0 and result["pause_attempts"] == 6 and all(b["missed"] for b in pauses)
        assert len(pauses) == 6 and sum("after the line ended" in n for n in session.notes) == 6 + 1  # and the stop
    else:
        assert result["pause_cycles"] == 2 and all(b["latency_s"] > 0 for b in session.barge_ins)
    assert session.barge_ins[-1]["said"] in SAY["stop"] and coach.state == "ended"


def test_each_voice_keeps_its_own_phrasing(monkeypatch):
    """espeak's "repeat that" is not understood: espeak says "pardon" from then on, flite keeps "repeat that"."""
    coach = ScriptedCoach(deaf=frozenset({(ESPEAK, "repeat that")}))
    monkeypatch.setattr("voicecoach.bench.live_session.time", coach.clock)
    session = Session(coach, ScriptedPatient(coach), coach.speaker)
    session.run(idle_turns=5, pause_cycles=1)
    idle = [(t["voice"], t["said"]) for t in session.turns if t["state"] == "idle"]
    assert {s for v, s in idle if v == FLITE} == {"repeat that"} and {s for v, s in idle if v == ESPEAK} == {"pardon"}
    assert session.rejected == {f"{ESPEAK}: repeat that": 1}
    assert session.notes == [f"'repeat that' ({ESPEAK}) was not understood"]
