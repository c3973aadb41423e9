"""`voicecoach run` and `doctor` on virtual audio: faults, Ctrl-C, and the device check.

The real command runs as a subprocess on virtual PulseAudio devices (real sounddevice streams,
real recognizer and piper); a flite voice answers into the virtual microphone.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from voicecoach.audio import VirtualAudio
from voicecoach.demo import Patient
from voicecoach.store.history import History
from voicecoach.voice import RESTART_EVERY_S

pytestmark = pytest.mark.real_time  # the coach on virtual devices: run alone (scripts/test)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def va():
    with VirtualAudio(prefix=f"vcrun{os.getpid()}") as virtual:
        yield virtual


class Run:
    """`voicecoach run --events` on the virtual devices, its events on a queue."""

    def __init__(self, va: VirtualAudio, home: Path, *args: str, devices: bool = True) -> None:
        """`devices` False: no --input/--output flags (the settings file names the devices)."""
        env = {**os.environ, "VOICECOACH_HOME": str(home), "PYTHONPATH": str(ROOT)}
        flags = ["--input", va.mic_device, "--output", va.speaker_device] if devices else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voicecoach", "run", "--events", *flags, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.events: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def wait_for(self, test, timeout: float = 60.0) -> dict:
        """The first event (from now on) for which test(event) holds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                event = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            assert event is not None, f"run ended early: {self.proc.stderr.read()[-2000:]}"
            self.seen.append(event)
            if test(event):
                return event
        raise AssertionError(f"no such event within {timeout} s; last events: {self.seen[-8:]}")

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return code, self.proc.stderr.read()


def _say(va: VirtualAudio, tmp_path: Path, text: str) -> None:
    """The demo's patient voice, into the virtual microphone."""
    Patient(va, {}, tmp_path).say(text)


def _answer_until_heard(run: Run, va: VirtualAudio, tmp_path: Path, text: str, tries: int = 5) -> dict:
    """Say ``text`` until the coach understands it (the recognizer may reject it and ask again)."""
    for _ in range(tries):
        _say(va, tmp_path, text)
        try:
            heard = run.wait_for(lambda e: e["event"] == "heard", timeout=15)
        except AssertionError:
            continue
        if heard["answer"] is not None:
            return heard
        run.wait_for(lambda e: e["event"] == "listening")  # after the coach's "sorry"
    raise AssertionError(f"{text!r} was never understood; last events: {run.seen[-8:]}")


def test_lost_microphone_is_said_pauses_and_recovers_and_ctrl_c_saves(va, tmp_path):
    run = Run(va, tmp_path, "--fast")
    try:
        run.wait_for(lambda e: e["event"] == "listening" and e["state"] == "idle", timeout=90)
        heard = _answer_until_heard(run, va, tmp_path, "start session")
        assert heard["answer"] == ["start", "session"]
        run.wait_for(lambda e: e["event"] == "listening" and e["state"] == "screening")
        va.unplug_mic()
        lost = run.wait_for(lambda e: e["event"] == "device", timeout=20)
        assert "paused and saved" in lost["text"]
        said = run.wait_for(lambda e: e["event"] == "say" and "microphone" in e["text"])
        assert said["state"] == "paused", said
        time.sleep(3 * RESTART_EVERY_S)  # missing for longer than a reopen attempt: the run keeps trying
        va.plug_mic()
        back = run.wait_for(lambda e: e["event"] == "device", timeout=30)
        assert "back" in back["text"]
        run.wait_for(lambda e: e["event"] == "say" and "hear you again" in e["text"])
        run.wait_for(lambda e: e["event"] == "listening" and e["state"] == "paused")
        assert _answer_until_heard(run, va, tmp_path, "continue")["answer"] == ["resume", None]
        run.wait_for(lambda e: e["event"] == "listening" and e["state"] == "screening")
        run.proc.send_signal(signal.SIGINT)  # Ctrl-C
        ended = run.wait_for(lambda e: e["event"] == "ended", timeout=30)
        code, stderr = run.finish()
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    assert code == 0 and "Traceback" not in stderr, stderr[-2000:]
    assert ended["summary"]["end_reason"] == "user_stopped"
    with History(tmp_path / "history.sqlite3") as history:
        saved = history.last_summary()
    assert saved["end_reason"] == "user_stopped" and saved["session_id"] == ended["summary"]["session_id"]


def test_devices_come_from_the_settings_file_and_a_pace_said_is_kept(va, tmp_path, own_settings_file):
    settings = (f"# the virtual devices\ninput = {json.dumps(va.mic_device)}\noutput = {json.dumps(va.speaker_device)}\n"
                "pace = 1.6  # slow\n")
    own_settings_file.write_text(settings, encoding="utf-8")
    run = Run(va, tmp_path, "--fast", devices=False)
    try:
        run.wait_for(lambda e: e["event"] == "listening" and e["state"] == "idle", timeout=90)
        assert _answer_until_heard(run, va, tmp_path, "slower")["answer"] == ["slower", None]
        run.wait_for(lambda e: e["event"] == "say" and e["text"] == "Slower.")
        run.proc.send_signal(signal.SIGINT)  # Ctrl-C: no session was started, the pace is kept all the same
        run.wait_for(lambda e: e["event"] == "ended", timeout=30)
        code, stderr = run.finish()
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    assert code == 0 and "Traceback" not in stderr, stderr[-2000:]
    assert own_settings_file.read_text(encoding="utf-8") == settings.replace("pace = 1.6", "pace = 2.0")


def test_missing_microphone_is_one_sentence(va, tmp_path):
    env = {**os.environ, "VOICECOACH_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "voicecoach", "run", "--input", "no such microphone",
                           "--output", va.speaker_device], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "no such microphone" in line]
    assert len(errors) == 1 and errors[0].startswith("voicecoach:"), proc.stderr
    assert time.monotonic() - started < 60  # not held up by preparing the coach's lines


def test_doctor_on_virtual_devices(va, tmp_path):
    env = {**os.environ, "VOICECOACH_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    player = va.play_into_mic(_tone_wav(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "voicecoach", "doctor", "--input", va.mic_device,
                           "--output", va.speaker_device], capture_output=True, text=True, env=env, timeout=120)
    player.wait()
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "recognition engine: whisper" in out, out
    assert "voice: loaded" in out
    assert any(line.startswith("device") for line in out.splitlines()), out  # PortAudio's device list
    assert "microphone: " in out and "model: vosk-en: missing" in out, out
    level = float(out.split("level ")[1].split(" dBFS")[0])
    assert level > -40, out  # the tone played into the microphone was measured


def _tone_wav(tmp_path: Path) -> Path:
    import wave

    import numpy as np

    rate = 16000
    t = np.arange(int(rate * 6)) / rate
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path
