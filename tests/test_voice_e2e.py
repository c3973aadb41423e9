"""End to end on virtual audio: real PulseAudio devices, sounddevice streams, recognizer and piper.

`voicecoach run` is started on a virtual speaker and microphone; a simulated patient
(flite) answers into the microphone. These are the demo's own machinery.
"""

import re
import time
import wave

import pytest

from voicecoach.demo import CENTRALIZING_PATIENT, run_demo
from voicecoach.store.history import History

pytestmark = pytest.mark.real_time  # whole sessions on virtual devices: run alone (scripts/test)

def _summary(home):
    with History(home / "history.sqlite3") as history:
        return history.last_summary()


def test_whole_session_with_its_own_voice_in_the_microphone(tmp_path, capsys):
    """The demo's whole session, with the coach's voice leaking into the microphone (echo): the
    session follows the patient's script, and nothing the coach heard came from its own voice."""
    heard = []

    def watch(event, patient):
        if event["event"] == "heard":  # accepted or not: anything the coach took as the user's turn
            heard.append((event["text"], time.monotonic() - patient.last_said_at, len(patient.said)))

    out = tmp_path / "demo.wav"
    assert run_demo(fast=True, out=out, echo=True, home=tmp_path, timeout_s=480, on_event=watch) == 0
    printed = capsys.readouterr().out
    summary = _summary(tmp_path)
    assert summary["end_reason"] == "completed"
    assert summary["baseline"] == {"location": "calf", "side": "right", "score": 5}
    # prone lying: same; prone props: better (partial, a second round), then only in the back
    assert [(e["id"], e["response"]) for e in summary["exercises"]] == [
        ("prone-lying", "same"), ("prone-props", "centralized")]
    assert summary["exercises"][1]["sets"] == 2
    assert summary["working_exercise"] == "prone-props"
    assert summary["pain_after"] == 3
    with wave.open(str(out)) as w:
        assert w.getnframes() / w.getframerate() > 30  # both sides of a whole session
    assert heard, printed
    # every turn the coach heard follows one the patient said (within the 0.3 s hangover plus
    # decoding), one per utterance at most: none came from the coach's own voice in the echo
    assert all(since < 4.0 for _, since, _ in heard), heard
    assert len(heard) <= heard[-1][2], heard
    said, again = (int(x) for x in re.search(r"Answers said: (\d+); said again[^:]*: (\d+)", printed).groups())
    assert again * 10 <= said, printed[-2000:]  # at most one answer in ten asked again


def test_stop_while_the_coach_talks_cuts_speech_and_ends_the_session(tmp_path):
    events = []

    def interrupt(event, patient):
        events.append(event)
        if event["event"] == "say" and event["state"] == "asking_location" and "stop" not in patient.said:
            patient.say("stop")

    run_demo(fast=True, out=None, answers=CENTRALIZING_PATIENT, home=tmp_path, timeout_s=300, on_event=interrupt)
    summary = _summary(tmp_path)
    assert summary["end_reason"] == "user_stopped"
    kinds = [e["event"] for e in events]
    assert "barge_in" in kinds, kinds
    assert summary["exercises"] == []
