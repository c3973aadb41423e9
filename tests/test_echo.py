"""The echo check (audio/echo.py) on the coach's real voice: piper's lines heard back through a simulated room
(delay, level, reverberation) are only echo; flite's "stop" said over them is someone else; nothing played,
nothing is echo."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from voicecoach.audio.echo import EchoCheck
from voicecoach.audio.resample import resample
from voicecoach.speech.asr import read_wav
from voicecoach.speech.tts import Voice

LINE = "Where does your pain reach furthest from your spine: back, buttock, thigh, knee, calf or foot?"
SOUNDED_AT = 100.5
"""When the line sounds (monotonic seconds); the microphone's first sample is captured at 100.0."""


@pytest.fixture(scope="module")
def line():
    return Voice().speech(LINE)


@pytest.fixture(scope="module")
def stop(tmp_path_factory) -> np.ndarray:
    wav = tmp_path_factory.mktemp("stop") / "stop.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", "stop", "-o", str(wav)], check=True)
    return np.frombuffer(read_wav(wav), np.int16).astype(np.float64)


def room(line, delay_s: float, gain: float, rt60_s: float, seed: int = 0) -> np.ndarray:
    """What the microphone hears (16 kHz, from 0.5 s before the line sounds): the line after ``delay_s``, at
    ``gain``, with a reverberation tail of ``rt60_s`` (decaying noise), and a little noise."""
    rng = np.random.default_rng(seed)
    x = resample(np.frombuffer(line.pcm, np.int16), line.sample_rate, 16000).astype(np.float64)
    if rt60_s:
        n = int(16000 * rt60_s)
        ir = rng.normal(0, 1, n) * np.exp(-6.9 * np.arange(n) / n)
        ir[0] = 8.0
        x = np.convolve(x, ir / np.sqrt((ir ** 2).sum()))[: len(x)]
    out = np.zeros(len(x) + 16000 * 2)
    start = 8000 + int(16000 * delay_s)
    out[start:start + len(x)] += gain * x
    return out + rng.normal(0, 5, len(out))


def check(mic: np.ndarray, line, played: bool = True) -> EchoCheck:
    echo = EchoCheck()
    if played:
        echo.played(line.pcm, line.sample_rate, SOUNDED_AT)
    pcm = mic.clip(-32768, 32767).astype(np.int16)
    for i in range(0, len(pcm), 480):  # the microphone's 30 ms frames
        echo.heard(pcm[i:i + 480].tobytes(), 100.0 + i / 16000)
    return echo


@pytest.mark.parametrize("delay_s,gain,rt60_s", [(0.05, 1.0, 0.0), (0.2, 0.3, 0.3), (0.45, 1.0, 0.6)])
def test_the_line_heard_back_through_a_room_is_only_echo(line, delay_s, gain, rt60_s):
    echo = check(room(line, delay_s, gain, rt60_s), line)
    seconds = len(line.pcm) / 2 / line.sample_rate
    windows = np.arange(0.0, seconds - 0.5, 0.4)
    assert all(echo.only_echo(SOUNDED_AT + a, SOUNDED_AT + a + 0.8) for a in windows)


@pytest.mark.parametrize("delay_s,rt60_s", [(0.05, 0.0), (0.2, 0.3), (0.45, 0.6)])
def test_stop_said_over_the_line_is_someone_else(line, stop, delay_s, rt60_s):
    """flite's "stop" about 12 dB louder than the echo, wherever it falls in the line (one miss allowed); the
    same windows without it are echo (a control)."""
    seconds = len(line.pcm) / 2 / line.sample_rate
    found = []
    for k, at in enumerate(np.arange(0.2, seconds - 0.6, 0.5)):
        mic = room(line, delay_s, 0.25, rt60_s, seed=k)
        plain = check(mic, line)
        s = 8000 + int(16000 * at)
        mic[s:s + len(stop)] += stop[: len(mic) - s]
        assert plain.only_echo(SOUNDED_AT + at - 0.2, SOUNDED_AT + at + 0.6)
        found.append(not check(mic, line).only_echo(SOUNDED_AT + at - 0.2, SOUNDED_AT + at + 0.6))
    assert sum(found) >= len(found) - 1, found


def test_nothing_played_or_no_echo_is_never_echo(line, stop):
    mic = np.zeros(16000 * 3)
    mic[16000:16000 + len(stop)] += stop
    mic += np.random.default_rng(1).normal(0, 5, len(mic))
    assert not check(mic, line, played=False).only_echo(100.8, 101.8)  # no line played
    assert not check(mic, line).only_echo(100.8, 101.8)  # a line played, but not heard back (headphones)
    echo = check(room(line, 0.1, 1.0, 0.0), line)
    echo.cut(SOUNDED_AT + 1.0)  # cut off by a barge-in: what the microphone hears after is not the line
    assert not echo.only_echo(SOUNDED_AT + 2.0, SOUNDED_AT + 3.0)
