"""The scripted session of the live benchmark: a patient with two voices talks to a warm `voicecoach run`.

Turns (response latency: last sample of the patient's speech at the microphone -> first audible
sample of the reply at the speaker): "repeat" in idle (the greeting again), "start session", and
"resume" after each pause. Barge-ins (last sample of "pause"/"stop" said over a line of the coach ->
the output going silent): "pause" over a question, and a final "stop".

The session follows the coach's state rather than a fixed script: a "pause" heard only after the
line had ended still pauses the coach (it is noted, not timed, and the session resumes), a word not
heard is said again over the next line, and every wait is bounded by the coach's deadline.

The patient has two voices (VOICES: flite's slt and espeak-ng's US English); response turns take them in
turn, and so do barge-ins, and each voice keeps its own choice of phrasing for each intent. Every turn
and barge-in records its voice and the run of the benchmark it belongs to.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..demo import PATIENT_VOICE
from .live_coach import CoachProcess, Ended
from .measure import cut_time, first_audible_after, mic_speech_end

SAY = {
    "repeat": ["repeat that", "pardon", "repeat", "say that again"],
    "start": ["start session", "start extension"],
    "pause": ["pause", "wait", "hold on", "take a break"],
    "resume": ["continue", "resume", "go on", "carry on"],
    "stop": ["stop", "stop the session"],
}
"""What the patient says for each intent, in order of preference: when one is not understood, the
next one is tried and the one that worked is kept."""
LINE_WORDS = 7
"""A barge-in is said over a line of at least this many words (about 2.5 s): time to say the word and
for the coach to recognize it before the line ends."""
BARGE_AFTER_S = 0.5
"""The patient starts the barge-in word this long after the line started."""
VOICES = {"flite-slt": [*PATIENT_VOICE], "espeak-us": ["espeak-ng", "-v", "en-us"]}
"""The patient's voices: name -> synthesizer command (Patient.clip adds the text and the output file)."""


def synth_command(voice: str, text: str, out: Path) -> list[str]:
    """The command that writes ``text`` said in ``voice`` to the WAV file ``out``."""
    cmd = VOICES[voice]
    return [*cmd, "-w", str(out), text] if cmd[0] == "espeak-ng" else [*cmd, "-t", text, "-o", str(out)]


class LiveError(Exception):
    """The session went somewhere the script cannot follow (the message says where)."""


class Patient:
    """Plays pre-synthesized words, in one of VOICES, into the virtual microphone and times their end."""

    def __init__(self, audio, mic_rec, clip_dir: Path) -> None:
        self.audio, self.mic_rec, self.dir = audio, mic_rec, clip_dir
        clip_dir.mkdir(parents=True, exist_ok=True)

    def clip(self, text: str, voice: str) -> Path:
        """The WAV file of ``text`` said in ``voice`` (synthesized once, then kept)."""
        path = self.dir / voice / f"{text.replace(' ', '_')}.wav"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            part = path.with_suffix(".part.wav")
            subprocess.run(synth_command(voice, text, part), check=True, capture_output=True, timeout=30)
            os.replace(part, path)
        return path

    def say(self, text: str, voice: str) -> float | None:
        """Play ``text`` said in ``voice`` into the microphone; when its last sample reached the microphone."""
        play = self.audio.play_into_mic(self.clip(text, voice))
        if not play.wait(10):
            play.stop()
        time.sleep(0.05)  # the recorder's last chunk
        return mic_speech_end(self.mic_rec, play.started_at)


@dataclass
class Session:
    """Drives one warm `voicecoach run` through the turns and keeps what it measured."""

    proc: CoachProcess
    """The coach, listening in idle after its greeting."""
    patient: Patient
    """Who speaks into the microphone."""
    speaker_rec: object
    """The recording of the speaker (``audio.virtual.Recording``)."""
    run_index: int = 0
    """Which run of the benchmark this session is (0 first); also where the voices' turn-taking starts."""
    turns: list = field(default_factory=list)
    """Response turns measured: {said, voice, run, heard, early, state, reply, latency_s, recognized_s, coach_s, output_s}."""
    barge_ins: list = field(default_factory=list)
    """Barge-in attempts: {said, voice, run, missed, why?, latency_s?, event_s?, cut_after_event_s?}."""
    notes: list = field(default_factory=list)
    """What went differently from the script (words not understood, late pauses)."""
    rejected: dict = field(default_factory=dict)
    """'voice: phrase' -> times it was not understood."""
    _choice: dict = field(default_factory=dict)
    """(voice, intent) -> index in SAY of the phrasing the patient uses now in that voice."""
    _started: dict = field(default_factory=dict)
    """'turn' or 'barge_in' -> how many were started (the next one is said in the next voice)."""

    # ------------------------------------------------------------------ words
    def _phrase(self, intent: str, voice: str) -> str:
        return SAY[intent][self._choice.get((voice, intent), 0) % len(SAY[intent])]

    def _next_voice(self, kind: str) -> str:
        k = self._started.get(kind, 0)
        self._started[kind] = k + 1
        names = list(VOICES)
        return names[(k + self.run_index) % len(names)]

    def _failed(self, intent: str, voice: str, why: str) -> None:
        text = self._phrase(intent, voice)
        self.rejected[f"{voice}: {text}"] = self.rejected.get(f"{voice}: {text}", 0) + 1
        self.notes.append(f"'{text}' ({voice}) {why}")
        self._choice[(voice, intent)] = self._choice.get((voice, intent), 0) + 1  # the next phrasing next time

    def wait_listening(self, timeout: float = 15.0) -> dict | None:
        return self.proc.wait_for(lambda e: e["event"] == "listening", timeout, "the coach to listen")

    # ------------------------------------------------------------------ response turns
    def response_turn(self, intent: str, tries: int = 3) -> dict | None:
        """Say ``intent`` while the coach listens, in the next voice; time it to the first audible sample of the reply."""
        voice = self._next_voice("turn")
        for _ in range(tries):
            turn = self._response_turn(intent, voice)
            if turn is not None:
                return turn
        return None

    def _response_turn(self, intent: str, voice: str) -> dict | None:
        text = self._phrase(intent, voice)
        time.sleep(0.3)  # a person pauses before answering
        t_end = self.patient.say(text, voice)
        first = self.proc.wait_for(lambda e: e["event"] in ("heard", "say"), 6, f"a reaction to '{text}'")
        if first is None:
            self._failed(intent, voice, "got no reaction (rejected)")
            return None
        heard = first if first["event"] == "heard" else None
        say = first if heard is None else self.proc.wait_for(lambda e: e["event"] == "say", 6, f"the reply to '{text}'")
        if heard is not None and not heard.get("answer"):
            self._failed(intent, voice, "was not understood")  # the coach says sorry: wait it out
            self.wait_listening()
            return None
        if say is None or t_end is None:
            self.notes.append(f"'{text}' ({voice}): " + ("no reply" if say is None else "no speech seen at the mic"))
            return None
        time.sleep(0.5)  # let the reply's first samples reach the recorder
        audible = first_audible_after(self.speaker_rec, t_end)
        if audible is None:
            self.notes.append(f"'{text}' ({voice}): the reply was not audible")
            return None
        turn = {"said": text, "voice": voice, "run": self.run_index, "heard": heard.get("text") if heard else None, "early": bool(heard and heard.get("early")),
                "state": say.get("state"), "reply": say.get("text"), "say_t": say["t"], "latency_s": audible - t_end,
                "recognized_s": heard["t"] - t_end if heard else None,
                "coach_s": say["t"] - heard["t"] if heard else None, "output_s": audible - say["t"]}
        self.turns.append(turn)
        return turn

    # ------------------------------------------------------------------ barge-in
    def line_to_cut(self, timeout: float = 12.0) -> float | None:
        """When a line of at least LINE_WORDS words started (event time); when the coach only listens,
        "repeat" makes it say its question again. None if no such line came."""
        end = time.monotonic() + timeout
        e = self.proc.events[-1] if self.proc.events and self.proc.events[-1]["event"] == "listening" else None
        while (left := end - time.monotonic()) > 0:
            e = e or self.proc.wait_for(lambda e: e["event"] in ("say", "listening"), left, "a line to barge in on")
            if e is None:
                return None
            if e["event"] == "say" and len(e.get("text", "").split()) >= LINE_WORDS:
                return e["t"]
            if e["event"] == "listening" and self.proc.state != "idle":
                turn = self.response_turn("repeat", tries=1)
                if turn and len((turn.get("reply") or "").split()) >= LINE_WORDS:
                    return turn["say_t"]
            e = None
        return None

    def barge_in(self, intent: str, line_t: float) -> dict:
        """Say ``intent`` over the line started at ``line_t``, in the next voice; time it to the output going silent."""
        voice = self._next_voice("barge_in")
        text = self._phrase(intent, voice)
        time.sleep(max(0.0, line_t + BARGE_AFTER_S - time.monotonic()))
        t_end = self.patient.say(text, voice)
        event = self.proc.wait_for(lambda e: e["event"] in ("barge_in", "heard"), 5, f"a barge-in on '{text}'")
        b = {"said": text, "voice": voice, "run": self.run_index, "missed": True}
        self.barge_ins.append(b)
        if event is None or t_end is None:
            b["why"] = "not heard" if event is None else "no speech seen at the mic"
            self._failed(intent, voice, "was not heard over the coach (no barge-in)")
            return b
        if event["event"] == "heard":  # heard, but only once the line had ended: not a barge-in
            b["why"] = f"heard after the line ended, as {event.get('answer')}"
            self.notes.append(f"barge-in '{text}' ({voice}): {b['why']}")
            return b
        time.sleep(0.5)
        silent_at = cut_time(self.speaker_rec, t_end, event["t"])
        b.update(missed=False, heard=event.get("text"), state=event.get("state"), early=bool(event.get("early")),
                 event_s=event["t"] - t_end, latency_s=None)
        if silent_at is None or silent_at <= t_end:
            self.notes.append(f"barge-in '{text}' ({voice}): the coach was already silent when the speech ended")
        else:
            b.update(latency_s=silent_at - t_end, cut_after_event_s=silent_at - event["t"])
        return b

    # ------------------------------------------------------------------ the script
    def run(self, idle_turns: int, pause_cycles: int) -> dict:
        """Idle turns, start, pause/resume cycles, final stop. Returns CPU/RSS of the session."""
        cpu0, wall0 = self.proc.cpu_seconds(), time.monotonic()
        done = 0
        for _ in range(2 * idle_turns):
            if done >= idle_turns:
                break
            if self.proc.state != "idle":
                raise LiveError(f"the coach left idle during the idle turns (state {self.proc.state!r})")
            if self.response_turn("repeat", tries=1) is not None:
                done += 1
                self.wait_listening()
        if self.response_turn("start") is None or self.proc.state in ("idle", "paused", ""):
            raise LiveError(f"the session did not start (state {self.proc.state!r})")
        cycles = attempts = 0
        while cycles < pause_cycles and attempts < 3 * pause_cycles:
            attempts += 1
            if self.proc.state != "paused":
                line_t = self.line_to_cut()
                if line_t is None:
                    raise LiveError(f"the coach said no line to barge in on (state {self.proc.state!r})")
                cycles += not self.barge_in("pause", line_t)["missed"]
                self.wait_listening()
            if self.proc.state == "paused" and self.response_turn("resume") is None:
                raise LiveError("the coach did not resume")
        cpu1, wall1 = self.proc.cpu_seconds(), time.monotonic()
        if self.proc.state == "paused":
            self.response_turn("resume")
        line_t = self.line_to_cut()
        if line_t is not None:
            self.barge_in("stop", line_t)
        _, hwm = self.proc.memory()
        try:
            self.proc.wait_for(lambda e: e["event"] == "ended", 10, "the session to end")
        except Ended:
            pass
        return {"seconds": wall1 - wall0, "cpu_percent": 100 * (cpu1 - cpu0) / (wall1 - wall0),
                "peak_rss_mb": max(self.proc.peak_rss_mb, hwm), "max_rss_mb": self.proc.max_rss_mb,
                "pause_cycles": cycles, "pause_attempts": attempts}
