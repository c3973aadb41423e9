"""Live measurements through the real audio path: `voicecoach run` on virtual PulseAudio devices.

The coach runs as a user with PulseAudio runs it, on the default devices (``python -m voicecoach run
--events --fast --input pulse --output pulse``, :mod:`.live_coach`): on the benchmark's own PulseAudio
server, whose default sink and source are made our virtual speaker and microphone. A patient
speaks into the microphone in two voices, flite's slt and espeak-ng's US English, in turn (:mod:`.live_session`).
Both devices are recorded with their arrival times (``time.monotonic()``, the clock of the coach's
events too), so every figure is measured on the audio itself:

- start-up: process start -> first audible sample of the greeting, cold (an empty VOICECOACH_HOME, so
  no TTS cache) and warm (every fixed line cached, as after a first run);
- idle CPU (percent of one core, /proc/PID/stat) and RSS while the coach listens in idle;
- the session's response and barge-in latency, CPU and peak RSS (/proc/PID/status VmHWM, the
  process and its children summed);
- in the full run also where the memory goes (:func:`.measure.memory_breakdown`) and what a turn's
  recognition is made of (:func:`latency_causes`).

Each part has a deadline: a part that runs past it ends the live measurement with ``error`` in the
result, and everything measured until then is kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..audio import VirtualAudio, pulse
from .accuracy import percentile
from .live_coach import CoachProcess, LiveTimeout, coach_args
from .live_session import SAY, VOICES, Patient, Session
from .measure import first_audible_after, memory_breakdown

REPO = Path(__file__).resolve().parents[2]
PREFIX = "vcbench"
"""The names of our virtual devices (on a PulseAudio server of our own, :func:`private_pulse`)."""
COACH_DEVICES = ("pulse", "pulse")
"""The coach's --input and --output: PortAudio's "pulse" device, i.e. the server's default source and sink
(:func:`use_as_default` makes them our virtual microphone and speaker)."""


@dataclass
class LivePlan:
    """How much to measure, and how long each part may take."""

    idle_turns: int = 17
    """Response turns in idle ("repeat"): with "start" and one "resume" per pause cycle, the 30 turns issue 4 asks for."""
    pause_cycles: int = 12
    """pause (barge-in) + resume (response) cycles in the session."""
    idle_s: float = 30.0
    """Idle-listening measurement."""
    warm_starts: int = 2
    """Warm start-ups measured (the session's own start counts as one)."""
    session_s: float = 300.0
    """Deadline of the scripted session (it takes about a third of it on an idle machine)."""
    cold_start: bool = True
    """Also measure a cold start-up (no TTS cache: piper synthesizes the greeting first)."""
    causes: bool = True
    """Also measure where memory and recognition time go (a fresh process, the patient's phrases offline)."""

    @classmethod
    def quick(cls) -> "LivePlan":
        """4 response turns, 2 barge-ins, 5 s idle, the session's warm start only: about 45 s."""
        return cls(idle_turns=2, pause_cycles=1, idle_s=5.0, warm_starts=1, session_s=60.0, cold_start=False,
                   causes=False)


def _lines_key() -> str:
    """What the coach's fixed lines depend on: the content files and the code (not the benchmark's)."""
    h = hashlib.sha256()
    for path in sorted([*(REPO / "prompts").rglob("*.yaml"), *(REPO / "voicecoach").rglob("*.py")]):
        if "bench" not in path.relative_to(REPO).parts:
            h.update(path.read_bytes())
    return h.hexdigest()


def fill_tts_cache(cache: Path, log=print) -> float:
    """Synthesize every fixed line the coach can say into ``cache`` (as `voicecoach run` does ahead
    of need); seconds taken. Runs in a subprocess so the bench never loads piper; skipped when the
    content and code are those the cache was last filled for."""
    stamp, key = cache / "filled-for", _lines_key()
    if stamp.is_file() and stamp.read_text() == key:
        return 0.0
    code = ("import sys; from pathlib import Path; from voicecoach.app import Content; "
            "from voicecoach.rehearse import coach_lines; from voicecoach.speech.tts import Voice; "
            "print(Voice(cache_dir=Path(sys.argv[1])).prepare(coach_lines(Content.load().fast())))")
    t = time.monotonic()
    res = subprocess.run([sys.executable, "-c", code, str(cache)], capture_output=True, text=True, cwd=REPO,
                         timeout=600)
    if res.returncode != 0:
        raise RuntimeError(f"filling the TTS cache failed: {res.stderr.strip()[-500:]}")
    n = int(res.stdout.strip() or 0)
    stamp.write_text(key)
    if n:
        log(f"synthesized {n} coach lines into the warm cache in {time.monotonic() - t:.0f} s")
    return time.monotonic() - t


def warm_home(root: Path, cache: Path, name: str) -> Path:
    """A fresh VOICECOACH_HOME whose TTS cache is a copy of the filled one."""
    home = root / name
    shutil.copytree(cache, home / "tts")
    return home


def use_as_default(audio: VirtualAudio) -> dict:
    """Make the virtual speaker the server's default sink and the virtual microphone its default source;
    the defaults as the server reports them afterwards."""
    pulse.pactl("set-default-sink", audio.speaker_sink)
    pulse.pactl("set-default-source", audio.mic_source)
    info = dict(line.split(": ", 1) for line in pulse.pactl("info").splitlines() if ": " in line)
    got = {"sink": info.get("Default Sink"), "source": info.get("Default Source")}
    if got != {"sink": audio.speaker_sink, "source": audio.mic_source}:
        raise RuntimeError(f"the virtual devices did not become the server's defaults: {got}")
    return got


def startup(audio: VirtualAudio, home: Path, log_path: Path, keep: bool = False, timeout: float = 60):
    """Start the coach on the default devices; (seconds to the first audible greeting sample, the
    process if keep else None)."""
    with audio.record_speaker() as rec:
        proc = CoachProcess(*COACH_DEVICES, home, log_path)
        try:
            if proc.wait_for(lambda e: e["event"] == "say", timeout, "the greeting") is None:
                raise LiveTimeout(f"the coach did not speak its greeting within {timeout:.0f} s (see {log_path})")
            time.sleep(0.5)
            audible = first_audible_after(rec, proc.t0)
            if audible is None:
                raise RuntimeError("the greeting was never audible at the speaker")
        except BaseException:
            proc.stop()
            raise
    if not keep:
        proc.stop()
        return audible - proc.t0, None
    return audible - proc.t0, proc


INTENT_CONTEXT = {"repeat": "idle", "start": "idle", "resume": "global", "pause": "yesno", "stop": "yesno"}
"""Where the session says each intent (pause and stop: over a screening question)."""


def latency_causes(patient: Patient, said: set[tuple[str, str]]) -> dict:
    """What the recognition part of a turn is made of: the endpointer's waits (fixed), and for each phrase
    the patient said (``said``: (voice, text) pairs), recognized offline by the same code as live audio
    is, the final decode's time (``Heard.ms``) and the whole recognition's (the early checks' decodes
    included), keyed "voice: text"."""
    from ..speech.asr import EARLY_FRAMES
    from ..speech.endpoint import FRAME_MS, Endpointer
    from .recognize import recognize_all

    jobs = [dict(source="live", group=intent, condition="live", context=INTENT_CONTEXT[intent], voice=voice,
                 file=str(patient.clip(text, voice)), text=text, expected=None, live=True)
            for intent, texts in SAY.items() for text in texts for voice in VOICES if (voice, text) in said]
    rows = recognize_all(jobs, workers=1)
    decode = {f"{r['voice']}: {r['text']}": r["ms"] for r in rows}
    whole = {f"{r['voice']}: {r['text']}": r["wall_ms"] for r in rows}
    return {"endpoint_hangover_ms": Endpointer.hangover_frames * FRAME_MS, "frame_ms": FRAME_MS,
            "endpoint_early_ms": EARLY_FRAMES[False] * FRAME_MS, "endpoint_early_barge_in_ms": EARLY_FRAMES[True] * FRAME_MS,
            "decode_ms": decode, "decode_ms_median": _median(list(decode.values())),
            "recognize_ms": whole, "recognize_ms_median": _median(list(whole.values()))}


def _measure(audio: VirtualAudio, work: Path, root: Path, cache: Path, plan: LivePlan, out: dict, log) -> None:
    """The default devices, start-ups, idle and the session, into ``out`` as they are measured."""
    logs = work / "coach-run.log"
    logs.write_text("")
    out["default_devices"] = use_as_default(audio)
    out["startup"] = {"cold_s": None, "warm_s": []}
    if plan.cold_start:
        log("start-up, cold ...")
        out["startup"]["cold_s"] = startup(audio, root / "cold", logs, timeout=180)[0]  # piper speaks the greeting first
    for k in range(plan.warm_starts - 1):
        log(f"start-up, warm {k + 1} ...")
        out["startup"]["warm_s"].append(startup(audio, warm_home(root, cache, f"warm{k}"), logs)[0])
    log("start-up, warm (the session's) ...")
    with audio.record_mic() as mic_rec, audio.record_speaker() as speaker_rec:
        t, proc = startup(audio, warm_home(root, cache, "session"), logs, keep=True)
        out["startup"]["warm_s"].append(t)
        out["startup"]["warm_median_s"] = statistics.median(out["startup"]["warm_s"])
        session = Session(proc, Patient(audio, mic_rec, work / "patient"), speaker_rec)
        try:
            proc.deadline = time.monotonic() + 30 + plan.idle_s
            if proc.wait_for(lambda e: e["event"] == "listening", 20, "the coach to listen after its greeting") is None:
                raise LiveTimeout("the coach never listened after its greeting")
            log(f"idle-listening {plan.idle_s:.0f} s ...")
            proc.drain(2.0)  # let the start-up's rehearsal thread finish
            cpu0, wall0 = proc.cpu_seconds(), time.monotonic()
            proc.drain(plan.idle_s)
            cpu1, wall1 = proc.cpu_seconds(), time.monotonic()
            rss, hwm = proc.memory()
            out["idle"] = {"seconds": wall1 - wall0, "cpu_percent": 100 * (cpu1 - cpu0) / (wall1 - wall0),
                           "rss_mb": rss, "peak_rss_mb": hwm, "piper_loaded": proc.loaded("onnxruntime")}
            log(f"session: {plan.idle_turns} idle turns, {plan.pause_cycles} pause/resume cycles "
                f"(deadline {plan.session_s:.0f} s) ...")
            proc.deadline = time.monotonic() + plan.session_s
            out["session"] = session.run(plan.idle_turns, plan.pause_cycles)
        finally:
            out.update(turns=session.turns, barge_ins=session.barge_ins, notes=session.notes,
                       not_understood=session.rejected, events=proc.compact_events())
            out.setdefault("session", {})["peak_rss_mb"] = proc.peak_rss_mb or None
            proc.stop()
            n_cache = len(list(cache.glob("*.pcm")))  # lines the warm coach still had to synthesize
            out["session"]["lines_synthesized_by_coach"] = len(list((root / "session" / "tts").glob("*.pcm"))) - n_cache


@contextmanager
def private_pulse():
    """A PulseAudio server of the benchmark's own (its own runtime directory, set for this process and
    its children: the coach, the players and recorders). Tests and demos on the shared server start it
    and stop it when they end, which took the devices away from under a run (seen: "The audio device
    was lost" 60 s into the idle measurement while other tests ran); ours is stopped at the end."""
    runtime = Path(tempfile.mkdtemp(prefix="vcbench-pulse-"))  # short: the socket path is limited
    saved = {k: os.environ.pop(k, None) for k in ("PULSE_RUNTIME_PATH", "PULSE_SERVER")}
    os.environ["PULSE_RUNTIME_PATH"] = str(runtime)
    try:
        yield
    finally:
        try:
            pulse.stop()
        except Exception:  # noqa: BLE001 - a server that is gone already is fine
            pass
        os.environ.pop("PULSE_RUNTIME_PATH", None)
        os.environ.update({k: v for k, v in saved.items() if v is not None})
        shutil.rmtree(runtime, ignore_errors=True)


def run_live(work: Path, plan: LivePlan, log=print) -> dict:
    """Every live figure; on a failure, the figures measured so far and ``error`` saying what went wrong."""
    cache = work / "tts-warm"
    out: dict = {"patient_voice": ", ".join(" ".join(cmd) for cmd in VOICES.values()), "plan": vars(plan).copy(),
                 "coach_command": " ".join(["voicecoach", *coach_args(*COACH_DEVICES)])}
    root = Path(tempfile.mkdtemp(prefix="vcbench-", dir=work))
    try:
        out["tts_cache_fill_s"] = fill_tts_cache(cache, log)
        with private_pulse(), VirtualAudio(prefix=PREFIX) as audio:
            _measure(audio, work, root, cache, plan, out, log)
        if plan.causes:
            log("where memory and recognition time go ...")
            out["memory_breakdown"] = memory_breakdown(work)
            said = {(t["voice"], t["said"]) for t in [*out["turns"], *out["barge_ins"]]}
            out["latency_causes"] = latency_causes(Patient(None, None, work / "patient"), said)
    except Exception as exc:  # noqa: BLE001 - report what was measured, and why the rest is missing
        out["error"] = f"{type(exc).__name__}: {exc}"
        log(f"the live part failed: {out['error']}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    summarize(out)
    return out


def summarize(out: dict) -> None:
    """The latency statistics and the peak RSS from the turns and barge-ins measured (some may be missing)."""
    turns, barge_ins = out.get("turns", []), out.get("barge_ins", [])
    out["response"] = {**_stats([t["latency_s"] for t in turns]), "ended_early": sum(t.get("early", False) for t in turns),
                       "breakdown_median_s": {k: _median([t[k] for t in turns if t.get(k) is not None])
                                              for k in ("recognized_s", "coach_s", "output_s")}}
    valid = [b["latency_s"] for b in barge_ins if b.get("latency_s") is not None]
    out["barge_in"] = {**_stats(valid), "attempts": len(barge_ins), "missed": sum(b["missed"] for b in barge_ins),
                       "ended_early": sum(b.get("early", False) for b in barge_ins),
                       "event_median_s": _median([b["event_s"] for b in barge_ins if not b["missed"]]),
                       "cut_after_event_median_s": _median([b["cut_after_event_s"] for b in barge_ins
                                                            if b.get("cut_after_event_s") is not None])}
    voices = dict.fromkeys(x["voice"] for x in [*turns, *barge_ins] if x.get("voice"))
    out["by_voice"] = {v: {"response": _stats([t["latency_s"] for t in turns if t.get("voice") == v]),
                           "barge_in": {**_stats([b["latency_s"] for b in barge_ins if b.get("voice") == v
                                                  and b.get("latency_s") is not None]),
                                        "attempts": sum(b.get("voice") == v for b in barge_ins)}} for v in voices}
    peaks = [x for x in ((out.get("idle") or {}).get("peak_rss_mb"), (out.get("session") or {}).get("peak_rss_mb")) if x]
    out["peak_rss_mb"] = max(peaks) if peaks else None


def _median(xs):
    return statistics.median(xs) if xs else None


def _stats(xs: list[float]) -> dict:
    return {"n": len(xs), "median_s": _median(xs), "p95_s": percentile(xs, 95),
            "min_s": min(xs) if xs else None, "max_s": max(xs) if xs else None}
