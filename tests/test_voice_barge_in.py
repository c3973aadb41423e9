"""The voice loop's barge-in rule in isolation: the real coach (its transitions machine), a fake speaker
and clock. What the recognizer hears over the coach's voice is given; whisper's side is tested in
test_asr_whisper.py and the whole loop on virtual devices in test_voice_e2e.py."""

from __future__ import annotations

from voicecoach.app import Content, build_coach
from voicecoach.coach.clock import FakeClock
from voicecoach.content.phrases import Answer
from voicecoach.speech.asr import Heard
from voicecoach.store.history import History
from voicecoach.voice import VoicePort, VoiceRuntime


class Speaker:
    """Plays nothing; remembers being stopped."""

    playing, first_sound_time, last_sound_time = True, None, 0.0

    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1
        self.playing = False


def over_the_coach(tmp_path, state_words: list[str], said: str):
    """The coach after ``state_words``, one line still to say, hearing ``said`` while it speaks."""
    clock, port = FakeClock(), VoicePort()
    with History(tmp_path / "history.db") as history:
        coach = build_coach(Content.load(), history, clock, port)
        for words in state_words:
            coach.hear(words)
        port.pending.append("a line still to say")
        speaker = Speaker()
        runtime = VoiceRuntime(None, None, None, speaker, port, clock=clock, status=lambda e: None)
        runtime.mode = (coach.context or "global", True)  # barge-in: the coach is speaking
        runtime._act(coach, Heard(said, Answer(said, None, said), 0.9, "whisper", 40.0), 0.0)
        return coach.state, speaker.stopped, list(port.pending)


def test_pause_over_the_coach_cuts_it_and_pauses(tmp_path):
    state, stopped, pending = over_the_coach(tmp_path, ["start session"], "pause")
    assert (state, stopped) == ("paused", 1) and "a line still to say" not in pending


def test_pause_heard_while_already_paused_is_the_coach_s_own_line_and_does_not_cut_it(tmp_path):
    state, stopped, pending = over_the_coach(tmp_path, ["start session", "pause"], "pause")
    assert (state, stopped) == ("paused", 0) and pending[-1] == "a line still to say"


def test_stop_while_paused_still_cuts_the_coach_and_ends(tmp_path):
    state, stopped, _ = over_the_coach(tmp_path, ["start session", "pause"], "stop")
    assert stopped == 1 and state == "ended"
