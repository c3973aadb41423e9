"""The voice demo: a whole session on virtual audio devices, with a simulated patient.

`voicecoach demo` makes a virtual speaker and microphone (PulseAudio null sinks), starts
`voicecoach run` on them, and plays a patient (flite, a different voice from the coach's)
into the microphone, answering what the coach asks. It prints the live transcript, saves the
session, and writes both sides of the conversation to a WAV file.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import VirtualAudio
from .audio.resample import resample
from .audio.wav import write_wav
from .store.history import history_dir
from .voice import describe

CENTRALIZING_PATIENT = {
    "idle": ["start session"],
    "screening": ["no"],
    "asking_location": ["my calf"],
    "asking_side": ["right"],
    "asking_score": ["five"],
    "checking_pain": ["same", "better", "it's just in my back"],
    "asking_final_score": ["three"],
}
"""What the demo's patient answers in each state, in order: prone lying leaves the pain the
same, prone props moves it up, then clears it from the leg (the working exercise)."""
PATIENT_VOICE = ["flite", "-voice", "slt"]
"""The patient's voice (Debian flite): clearly not the coach's piper voice."""
RETRY_AFTER_S = 6.0
"""A patient who gets no reaction says the answer again after this long."""


@dataclass
class Patient:
    """Answers the coach by playing synthesized speech into the virtual microphone."""

    audio: VirtualAudio
    """The virtual devices."""
    answers: dict[str, list[str]]
    """Answers per coach state, in order; the last one repeats."""
    workdir: Path
    """Where the patient's WAV files go."""
    said: list[str] = field(default_factory=list)
    """Everything the patient said."""
    last_said_at: float = 0.0
    """Monotonic time the patient last finished speaking."""
    repeats: int = 0
    """Answers said again because the coach did not take the first try (it asked again, or did nothing)."""
    _next: dict[str, int] = field(default_factory=dict)
    _waiting: str = ""
    _untaken: str = ""

    def react(self, event: dict | None) -> None:
        """Answer when the coach listens; say it again if nothing happens; move on once understood.

        ``event`` None means a second passed with no event."""
        now = time.monotonic()
        if event is None:
            if self._waiting and now - self.last_said_at > RETRY_AFTER_S:
                self._answer(self._waiting)
            return
        state = event.get("state", "")
        if event["event"] in ("heard", "say"):
            self._waiting = ""
        if event["event"] == "heard" and event.get("answer") and state in self.answers:
            self._next[state] = self._next.get(state, 0) + 1
            self._untaken = ""
        elif event["event"] == "listening" and state in self.answers:
            self._waiting = state
            self._answer(state)

    def _answer(self, state: str) -> None:
        self.repeats += self._untaken == state
        self._untaken = state
        options = self.answers[state]
        self.say(options[min(self._next.get(state, 0), len(options) - 1)])

    def say(self, text: str) -> None:
        wav = self.workdir / f"patient-{len(self.said)}.wav"
        subprocess.run([*PATIENT_VOICE, "-t", text, "-o", str(wav)], check=True)
        time.sleep(0.3)  # a person pauses before answering
        self.audio.play_into_mic(wav).wait()
        self.said.append(text)
        self.last_said_at = time.monotonic()


def run_demo(fast: bool = True, out: Path | None = Path("demo.wav"), answers: dict | None = None,
             echo: bool = False, home: Path | None = None, timeout_s: float = 900,
             extra_args: tuple[str, ...] = (), on_event=None) -> int:
    """Run the demo; returns 0 when the session ended as the patient's script says it should."""
    home = home or Path(os.environ.get("VOICECOACH_HOME") or history_dir()) / "demo"
    env = {**os.environ, "VOICECOACH_HOME": str(home)}
    summary = None
    with VirtualAudio(echo=echo) as audio, tempfile.TemporaryDirectory() as tmp:
        patient = Patient(audio, answers or CENTRALIZING_PATIENT, Path(tmp))
        speaker_rec, mic_rec = audio.record_speaker(), audio.record_mic()
        cmd = [sys.executable, "-m", "voicecoach", "run", "--events", "--program", "extension",
               "--input", audio.mic_device, "--output", audio.speaker_device, *(["--fast"] if fast else []), *extra_args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + timeout_s
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
        try:
            while True:
                try:
                    line = lines.get(timeout=1.0)
                except queue.Empty:
                    patient.react(None)
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the demo took longer than {timeout_s:.0f} s") from None
                    continue
                if line is None:
                    break
                event = json.loads(line)
                if on_event:
                    on_event(event, patient)
                if event["event"] == "ended":
                    summary = event.get("summary")
                    continue
                if event["event"] != "status":
                    print(describe(event), flush=True)
                patient.react(event)
        except TimeoutError as exc:
            print(f"voicecoach demo: {exc}", file=sys.stderr)
        finally:
            if proc.poll() is None:
                proc.terminate()
            proc.wait(30)
            speaker_rec.stop()
            mic_rec.stop()
        if out is not None:
            _write_conversation(out, speaker_rec, mic_rec)
            print(f"Wrote both sides of the conversation to {out}.")
    print(f"Answers said: {len(patient.said)}; said again because the coach asked again or did not react: "
          f"{patient.repeats} ({100 * patient.repeats / max(len(patient.said), 1):.0f} %).")
    print(f"Session saved in {home}: {json.dumps(summary, ensure_ascii=False) if summary else 'none'}")
    return 0 if summary and summary.get("end_reason") == "completed" else 1


def _pump(stream, lines: queue.Queue) -> None:
    """Hand the run's output lines to the demo loop; None at the end."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def _write_conversation(path: Path, speaker_rec, mic_rec) -> None:
    """Mix the coach (speaker monitor) and the patient (microphone) on one time line."""
    rate = speaker_rec.rate
    coach = speaker_rec.samples().astype(np.float32)
    patient = resample(mic_rec.samples(), mic_rec.rate, rate).astype(np.float32)
    if len(coach) == 0 and len(patient) == 0:
        return
    offset = int(round((mic_rec.time_of(0) - speaker_rec.time_of(0)) * rate)) if len(coach) and len(patient) else 0
    start = min(0, offset)
    length = max(len(coach), offset + len(patient)) - start
    mix = np.zeros(length, dtype=np.float32)
    mix[-start:-start + len(coach)] += coach
    mix[offset - start:offset - start + len(patient)] += patient
    pcm = np.clip(mix, -32768, 32767).astype(np.int16)
    write_wav(path, pcm, rate)
