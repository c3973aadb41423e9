"""What the live benchmark reads off its recordings and processes: when sound starts and stops,
where speech ends at the microphone, and where the coach's memory goes.

Recordings are ``voicecoach.audio.virtual.Recording`` objects (samples with monotonic times).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from ..audio.speaker import SILENCE
from ..demo import PATIENT_VOICE

REPO = Path(__file__).resolve().parents[2]
MIC_LOUD = 200
"""A microphone sample above this magnitude is speech (flite's silence is exact zeros)."""
CUT_PROBE_S = 0.02
"""The speaker monitor's delay: a cut made at the coach's barge_in event shows up this much later, at
most (measured: the cut shows up a few ms before the event, which is sent just after it)."""
GAP_S = 0.01
"""A silent run this long in the speaker output counts as the output having gone silent (the coach's
next line follows a cut by as little as ~20 ms)."""

# ---------------------------------------------------------------------- audio analysis
def first_audible_after(rec, t: float) -> float | None:
    """Monotonic time of the first audible speaker sample after time ``t``."""
    x = rec.samples()
    i0 = max(0, rec.index_at(t))
    loud = np.flatnonzero(np.abs(x[i0:].astype(np.int32)) > SILENCE)
    return rec.time_of(i0 + int(loud[0])) if len(loud) else None


def cut_time(rec, t_end: float, t_event: float) -> float | None:
    """When the speaker output went silent after a barge-in: the start of the last silent run (of
    at least GAP_S) that begins before the coach's barge_in event plus CUT_PROBE_S (the monitor's
    delay), after the end of the user's speech. None if the output never went silent there.

    The coach cuts the line and then emits the event, and its next line (e.g. "Paused.") starts
    20-50 ms later, so the cut is the last gap before the event."""
    x = np.abs(rec.samples().astype(np.int32))
    gap = max(1, int(GAP_S * rec.rate))
    lo = max(0, rec.index_at(t_end))
    hi = min(len(x), rec.index_at(t_event + CUT_PROBE_S))
    if hi <= lo:
        return None
    silent = x[lo:hi + gap] <= SILENCE
    # start of every silent run of at least `gap` samples beginning in [lo, hi)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], silent.astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]
    runs = [st for st, en in zip(starts, ends) if en - st >= gap and st < hi - lo]
    if not runs:
        return None
    return rec.time_of(lo + int(runs[-1]))


def mic_speech_end(rec, since: float) -> float | None:
    """Monotonic time of the last speech sample at the microphone after ``since``."""
    x = rec.samples()
    i0 = max(0, rec.index_at(since))
    loud = np.flatnonzero(np.abs(x[i0:].astype(np.int32)) > MIC_LOUD)
    return rec.time_of(i0 + int(loud[-1])) if len(loud) else None


_MEMORY_STEPS = """
import json, sys, time
t0 = time.monotonic()
import glob
def rss():  # this process and its children
    pids = ['self'] + [c for t in glob.glob('/proc/self/task/*/children') for c in open(t).read().split()]
    return sum(int(line.split()[1]) / 1024 for p in pids for line in open(f'/proc/{p}/status')
               if line.startswith('VmRSS:'))
out = {}
def step(name):
    out[name] = (rss(), time.monotonic())
step('python')
from voicecoach.app import Content
from voicecoach.audio import Microphone, Speaker
from voicecoach.speech.engines import load_recognizer
step('imports')
content = Content.load()
step('content')
rec = load_recognizer(content.phrases)
step('recognizer')
from voicecoach.speech.asr import read_wav
from voicecoach.content.phrases import CONTEXTS
for context in CONTEXTS:
    for strict in (False, True):
        rec.set_context(context, strict=strict)
        rec.recognize(read_wav(sys.argv[2]))
step('recognizer_decoding')
from voicecoach.speech.tts import Voice
voice = Voice(cache_dir=sys.argv[1])
voice._load()
step('piper_voice')
print(json.dumps({k: [mb, t - t0] for k, (mb, t) in out.items()}))
"""
"""A fresh process loading what `voicecoach run` loads, step by step: RSS (MB) and time after each step."""


def memory_breakdown(work: Path) -> dict:
    """RSS (MB) and seconds of each part `voicecoach run` loads, in a fresh process: where memory and
    start-up time go (``seconds["python"]``: the interpreter's own start is not in it)."""
    clip = work / "memory-probe.wav"
    try:
        subprocess.run([*PATIENT_VOICE, "-t", "start session", "-o", str(clip)], check=True, capture_output=True,
                       timeout=30)
        res = subprocess.run([sys.executable, "-c", _MEMORY_STEPS, str(work / "tts-scratch"), str(clip)],
                             capture_output=True, text=True, cwd=REPO, timeout=180)
    except subprocess.TimeoutExpired as exc:
        return {"error": f"timed out after {exc.timeout:.0f} s: {exc.cmd[:2]}"}
    if res.returncode != 0:
        return {"error": res.stderr.strip()[-300:]}
    steps = json.loads(res.stdout.strip().splitlines()[-1])
    out: dict = {"total_mb": steps[list(steps)[-1]][0], "seconds": {}}
    mb0 = t0 = 0.0
    for name, (mb, t) in steps.items():
        out[f"{name}_mb"] = mb - mb0
        out["seconds"][name] = round(t - t0, 3)
        mb0, t0 = mb, t
    return out


