"""The voice loop's barge-in rule in isolation: the real coach (its transitions machine), a fake speaker
and clock. What the recognizer hears over the coach's voice is given; whisper's side is tested in
test_asr_whisper.py and the whole loop on virtual devices in test_voice_e2e.py."""

from __future__ import annotations

from voicecoach.app import Content, build_coach
from voicecoach.audio.echo import EchoCheck
from voicecoach.coach.clock import FakeClock
from voicecoach.content.phrases import Answer
from voicecoach.speech.asr import Heard
from voicecoach.store.history import History
from voicecoach.voice import UTTERANCE_LEAD_S, VoicePort, VoiceRuntime

LINES = Content.load().lines


class Speaker:
    """Plays nothing; remembers being stopped."""

    playing, first_sound_time, last_sound_time = True, None, 0.0

    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1
        self.playing = False


def over_the_coach(tmp_path, state_words: list[str], said: str, line: str = "a line still to say",
                   meant: str | None = None, echo: EchoCheck | None = None, span: tuple[float, float] = (0.0, 0.0)):
    """The coach after ``state_words``, saying ``line``, hearing ``said`` over it: (state, times the speaker was
    stopped, lines still to say, lines the coach queued in reply). ``meant``: the command the recognizer took
    ``said`` for (default: ``said`` itself); ``echo``: what was played and heard, ``span`` the utterance's
    first and last frames' capture times (default: nothing heard)."""
    clock, port = FakeClock(), VoicePort()
    with History(tmp_path / "history.db") as history:
        coach = build_coach(Content.load(), history, clock, port)
        for words in state_words:
            coach.hear(words)
        port.pending.clear()
        port.pending.append("the next line")
        speaker = Speaker()
        runtime = VoiceRuntime(None, None, None, speaker, port, clock=clock, status=lambda e: None)
        runtime.speaking_line = line
        runtime.lines_played.append(line)
        runtime.mode = (coach.context or "global", True)  # barge-in: the coach is speaking
        if echo is not None:
            runtime.echo = echo
        runtime._speech_from = span[0] + UTTERANCE_LEAD_S
        runtime._act(coach, Heard(said, Answer(meant or said, None, said), 0.9, "whisper", 40.0), span[1])
        replies = [t for t in port.pending if t != "the next line"]
        return coach.state, speaker.stopped, "the next line" in port.pending, replies


def test_pause_over_the_coach_cuts_it_and_pauses(tmp_path):
    state, stopped, next_line, replies = over_the_coach(tmp_path, ["start session"], "pause")
    assert (state, stopped, next_line) == ("paused", 1, False) and replies == [LINES.get("paused")]


def test_pause_over_the_coach_while_paused_silences_it_and_says_nothing_more(tmp_path):
    state, stopped, next_line, replies = over_the_coach(tmp_path, ["start session", "pause"], "pause")
    assert (state, stopped, next_line, replies) == ("paused", 1, False, [])


def test_pause_heard_over_the_coach_s_own_paused_line_is_its_echo(tmp_path):
    """The coach's "Paused. Say 'resume'..." came back through the loudspeaker as "Pause P P": not cut, not
    answered (it looped: each cut "Paused..." was said again and heard again)."""
    state, stopped, next_line, replies = over_the_coach(tmp_path, ["start session", "pause"], "pause",
                                                        line=LINES.get("paused"))
    assert (state, stopped, next_line, replies) == ("paused", 0, True, [])


def test_the_coach_s_own_words_heard_back_as_stop_do_not_cut_it(tmp_path):
    """Through a loudspeaker barge-in heard the coach's "Prop yourself up on your elbows." as "Prop yourself,
    prop" and scored it as stop (the echo end-to-end test ended its session so): words of the line being said
    are its echo. The patient's "stop" over the same line still cuts it and ends the session."""
    line = "Prop yourself up on your elbows."
    state, stopped, next_line, _ = over_the_coach(tmp_path, ["start session"], "Prop yourself, prop", line, "stop")
    assert (state, stopped, next_line) == ("screening", 0, True)
    state, stopped, _, _ = over_the_coach(tmp_path, ["start session"], "Stop.", line, "stop")
    assert stopped == 1 and state == "ended"


def test_a_count_heard_back_in_digits_is_the_coach_s_own_voice(tmp_path):
    """Whisper writes the coach's counting ("Eight. Hold.") as "8 Hold, 8", and the barge-in scores took it as
    pause (coach lines streamed through barge-in: "Three." -> "3", "Eight." -> "8"): a number is the same word
    in digits. The patient's "pause" over the count still pauses."""
    for said, line in (("8 Hold, 8", "Eight. Hold."), ("3", "Three.")):
        state, stopped, next_line, _ = over_the_coach(tmp_path, ["start session"], said, line, "pause")
        assert (state, stopped, next_line) == ("screening", 0, True), said
    state, stopped, _, _ = over_the_coach(tmp_path, ["start session"], "Pause.", "Eight. Hold.", "pause")
    assert (state, stopped) == ("paused", 1)


def test_a_word_of_the_coach_s_line_in_a_transcript_scored_as_a_command_is_its_echo(tmp_path):
    """The echo end-to-end test's coach paused its own session: "Hold for six seconds." came back as "Hold first,
    hold", which names no command but was scored as pause. A transcript taken from the scores that shares a word
    with the line being said is its echo; one that names the command ("Hold on.") still pauses, and so does a
    scored one that shares no word with it ("Paul's." for "pause")."""
    line = "Hold for six seconds."
    state, stopped, next_line, _ = over_the_coach(tmp_path, ["start session"], "Hold first, hold", line, "pause")
    assert (state, stopped, next_line) == ("screening", 0, True)
    for said in ("Hold on.", "Paul's."):
        state, stopped, _, _ = over_the_coach(tmp_path, ["start session"], said, line, "pause")
        assert (state, stopped) == ("paused", 1), said


def test_a_command_scored_from_the_coach_s_echo_alone_is_ignored(tmp_path):
    """The echo end-to-end test's coach paused itself: "buttock, thigh" heard back came out "Vedic, die", which
    names no command and shares no word with the line, and the scores took it for pause. When the microphone
    heard only the line (the echo check, on the real piper line through a simulated room) it is ignored; when
    flite's "stop" was said over the line, the same words pause; a transcript that says "pause" always does."""
    from test_echo import LINE, SOUNDED_AT, check, room

    from voicecoach.speech.tts import Voice

    line = Voice().speech(LINE)
    span = (SOUNDED_AT + 2.6, SOUNDED_AT + 3.4)
    mic = room(line, 0.1, 0.25, 0.3)
    state, stopped, next_line, _ = over_the_coach(tmp_path, ["start session"], "Vedic, die", LINE, "pause",
                                                  check(mic, line), span)
    assert (state, stopped, next_line) == ("screening", 0, True)
    for said, heard in (("Pause.", mic), ("Vedic, die", _with_stop(mic, tmp_path, 2.8))):
        state, stopped, _, _ = over_the_coach(tmp_path, ["start session"], said, LINE, "pause", check(heard, line), span)
        assert (state, stopped) == ("paused", 1), said


def _with_stop(mic, tmp_path, at_s: float):
    """``mic`` with flite's "stop" said ``at_s`` after the line sounds (about 12 dB over its echo at 0.25)."""
    import subprocess

    import numpy as np

    from voicecoach.speech.asr import read_wav

    wav = tmp_path / "stop.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", "stop", "-o", str(wav)], check=True)
    stop = np.frombuffer(read_wav(wav), np.int16).astype(np.float64)
    out = mic.copy()
    s = 8000 + int(16000 * at_s)
    out[s:s + len(stop)] += stop
    return out


def test_stop_while_paused_still_cuts_the_coach_and_ends(tmp_path):
    state, stopped, _, _ = over_the_coach(tmp_path, ["start session", "pause"], "stop", line=LINES.get("paused"))
    assert stopped == 1 and state == "ended"


class Voice:
    """Lines are not spoken here."""

    def hold(self, held: bool) -> None:
        pass


def _said_as_the_line_ends(tmp_path, starts_before_end_s: float) -> str:
    """The real Whisper recognizer hears flite's "resume" starting ``starts_before_end_s`` before the coach's
    line ("Paused. Say 'resume'...") stops sounding, frame by frame on a fake clock: the coach's state after."""
    import subprocess

    from voicecoach.speech.asr import read_wav
    from voicecoach.speech.endpoint import FRAME_BYTES, FRAME_MS
    from voicecoach.speech.engines import load_recognizer

    wav = tmp_path / "resume.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", "resume", "-o", str(wav)], check=True)
    line_end, lead = 2.0, 1.0
    pcm = bytes(int(16000 * (line_end - starts_before_end_s - lead)) * 2) + read_wav(wav) + bytes(32000 * 2)
    clock, port, content = FakeClock(), VoicePort(), Content.load()
    with History(tmp_path / "history.db") as history:
        coach = build_coach(content, history, clock, port)
        coach.hear("start session")
        coach.hear("pause")
        port.pending.clear()  # the "Paused..." line: sounding until line_end
        speaker = Speaker()
        speaker.playing, speaker.last_sound_time = False, line_end
        runtime = VoiceRuntime(load_recognizer(content.phrases, "whisper"), Voice(), None, speaker, port,
                               clock=clock, status=lambda e: None)
        for k in range(len(pcm) // FRAME_BYTES):
            clock.t = lead + k * FRAME_MS / 1000
            runtime.frames.put((pcm[k * FRAME_BYTES:(k + 1) * FRAME_BYTES], clock.t))
            runtime._listen(coach, timeout=0)
        return coach.state


def test_resume_said_as_the_coach_s_line_ends_is_heard_whole(tmp_path):
    """Said as the "Paused..." line stops sounding (the clip starts 50 ms before; flite's voice a little later),
    the word runs on past the echo window's end (0.35 s after): it was flushed there, decoded in halves and
    lost, so the coach stayed paused (the outside latency client's "resume", 2026-12-04)."""
    assert _said_as_the_line_ends(tmp_path, 0.05) != "paused"
