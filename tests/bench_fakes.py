"""Stand-ins for the live benchmark's unit tests: a recording with known samples, and a scripted coach
with its patient and speaker on a virtual clock, to test the session's script without audio.

The scripted coach answers like `voicecoach run --events`: "repeat" says the line again, "start
session" starts the screening, "pause"/"stop" over a line cut it (a barge_in event) unless
``late_barge_in``, when they are heard only after the line has ended (a heard event), as on a slow
machine; "resume" says "Resuming." and the question again. A phrase in ``deaf`` ((voice, text) pairs) is
heard but not understood: the coach says sorry and listens again.

:func:`live_result` builds the turns and barge-ins of several runs in two voices with known latencies,
to test the live figures, the budgets and the report without audio.
"""

from __future__ import annotations

import numpy as np

from voicecoach.bench.live_session import SAY

INTENT = {text: intent for intent, texts in SAY.items() for text in texts}
"""What the patient says -> the intent the scripted coach hears."""
QUESTION = "Do you have any new numbness or weakness in your legs today?"
LOUD = 5000


class FakeRecording:
    """A Recording whose sample i arrived at t0 + i / rate."""

    def __init__(self, x, rate=1000, t0=100.0):
        self.x, self.rate, self.t0 = np.asarray(x, np.int16), rate, t0

    def samples(self):
        return self.x

    def time_of(self, i):
        return self.t0 + i / self.rate

    def index_at(self, t):
        return int(round((t - self.t0) * self.rate))


class Clock:
    """A virtual ``time`` module: ``sleep`` only moves ``monotonic`` on."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += max(0.0, s)


class Speaker(FakeRecording):
    """The coach's output: audible while a line plays (lines can be cut)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__([], t0=0.0)
        self.lines: list[list[float]] = []

    def play(self, t: float, text: str) -> float:
        end = t + 0.02 + 0.3 * len(text.split())
        self.lines.append([t + 0.02, end])
        return end

    def cut(self, t: float) -> None:
        for line in self.lines:
            line[1] = min(line[1], max(line[0], t))

    def samples(self):
        x = np.zeros(int((max((e for _, e in self.lines), default=0) + 1) * self.rate), np.int16)
        for s, e in self.lines:
            x[int(s * self.rate):int(e * self.rate)] = LOUD
        return x


class ScriptedCoach:
    """The events of `voicecoach run --events`, scheduled on the clock as the patient speaks."""

    def __init__(self, late_barge_in: bool = False, deaf: frozenset = frozenset()) -> None:
        self.clock, self.late, self.deaf = Clock(), late_barge_in, deaf
        self.speaker = Speaker(self.clock)
        self.queue: list[dict] = []
        self.events: list[dict] = []
        self.state, self.peak_rss_mb, self.max_rss_mb = "idle", 300.0, 290.0
        self.line_end = 0.0
        self.ended = False

    # what Session uses of CoachProcess
    def wait_for(self, pred, timeout: float, what: str = ""):
        while self.queue:
            e = self.queue.pop(0)
            self.clock.now = max(self.clock.now, e["t"])
            self.events.append(e)
            self.state = e["state"]
            if pred(e):
                return e
        return None

    def cpu_seconds(self) -> float:
        return 0.0

    def memory(self) -> tuple[float, float]:
        return 290.0, 300.0

    # the coach
    def _emit(self, t: float, event: str, state: str, **info) -> None:
        self.queue.append({"event": event, "state": state, "t": t, **info})

    def _say(self, t: float, state: str, *lines: str) -> None:
        for text in lines:
            self._emit(t, "say", state, text=text)
            t = self.line_end = self.speaker.play(t, text)
        self._emit(t, "listening", state)

    def hear(self, text: str, t_end: float, voice: str) -> None:
        intent, state = INTENT.get(text), self._state_after_queue()
        speaking = t_end < self.line_end
        if (voice, text) in self.deaf:
            t = max(t_end, self.line_end) + 0.25
            self._emit(t, "heard", state, text=text, answer=None)
            self._say(t + 0.01, state, "Sorry, I did not catch that.")
            return
        if intent in ("pause", "stop") and speaking and not self.late:
            self.speaker.cut(t_end + 0.2)
            self.queue = [e for e in self.queue if e["t"] <= t_end]  # the cut line's listening event
            self._emit(t_end + 0.21, "barge_in", state, text=text, early=True)
            t = t_end + 0.24
        else:
            t = max(t_end, self.line_end) + 0.25
            self._emit(t, "heard", state, text=text, answer=[intent, None], early=True)
            t += 0.01
        if intent == "pause":
            self._say(t, "paused", "Paused. Say 'resume' when you are ready.")
        elif intent == "stop":
            self._emit(t, "ended", "ended")
        elif intent == "start":
            self._say(t, "screening", "Starting McKenzie extension progression.", QUESTION)
        elif intent == "resume" and state == "paused":
            self._say(t, "screening", "Resuming.", QUESTION)
        elif intent == "repeat":
            self._say(t, state, QUESTION if state != "idle" else "Voice coach ready. Say 'start session' when you are.")

    def _state_after_queue(self) -> str:
        return self.queue[-1]["state"] if self.queue else self.state


class ScriptedPatient:
    """Speaks to the scripted coach: each phrase takes 0.5 s."""

    def __init__(self, coach: ScriptedCoach) -> None:
        self.coach = coach

    def say(self, text: str, voice: str) -> float:
        self.coach.clock.now += 0.5
        self.coach.hear(text, self.coach.clock.now, voice)
        return self.coach.clock.now


def live_result(response_ms: dict, barge_in_ms: dict, voices=("flite-slt", "espeak-us"), errors=None) -> dict:
    """A live result before summarize: run -> response latencies (ms) and run -> barge-in latencies (ms,
    None: not timed), said in the voices in turn; ``errors``: run -> why it failed."""
    errors = errors or {}
    runs = sorted(set(response_ms) | set(barge_in_ms) | set(errors))
    turns = [{"said": "repeat", "voice": voices[i % len(voices)], "run": n, "latency_s": ms / 1000,
              "recognized_s": ms / 1000 - 0.03, "coach_s": 0.01, "output_s": 0.02, "early": True}
             for n in runs for i, ms in enumerate(response_ms.get(n, []))]
    barge_ins = [{"said": "pause", "voice": voices[i % len(voices)], "run": n, "missed": ms is None,
                  "latency_s": ms / 1000 if ms is not None else None, "event_s": 0.1, "cut_after_event_s": 0.0}
                 for n in runs for i, ms in enumerate(barge_in_ms.get(n, []))]
    sessions = [{"run": n, "seconds": 60.0, "cpu_percent": 10.0 + n, "peak_rss_mb": 300.0 + n,
                 "lines_synthesized_by_coach": 0, **({"error": errors[n]} if n in errors else {})} for n in runs]
    return {"turns": turns, "barge_ins": barge_ins, "sessions": sessions, "plan": {"runs": len(runs)},
            "idle": {"cpu_percent": 5.0, "seconds": 30.0, "peak_rss_mb": 290.0},
            "startup": {"cold_s": None, "warm_s": [1.5, 1.2, 1.9][:len(runs)]}, "notes": [],
            "coach_command": "voicecoach run --input pulse --output pulse",
            "patient_voice": "flite -voice slt, espeak-ng -v en-us"}
