"""Live measurements through the real audio path: `voicecoach run` on virtual PulseAudio devices.

The coach runs as a user with PulseAudio runs it, on the default devices (``python -m voicecoach run
--events --fast --input pulse --output pulse``, :mod:`.live_coach`): on the benchmark's own PulseAudio
server, whose default sink and source are made our virtual speaker and microphone. A patient speaks
into the microphone in two voices, flite's slt and espeak-ng's US English, in turn (:mod:`.live_session`).
Both devices are recorded with their arrival times (``time.monotonic()``, the clock of the coach's
events too), so every figure is measured on the audio itself:

- start-up: process start -> first audible sample of the greeting, cold (an empty VOICECOACH_HOME, so
  no TTS cache, once) and warm (every fixed line cached, as after a first run: each run's start-up);
- idle CPU (percent of one core, /proc/PID/stat) and RSS while the coach listens in idle (once, in the
  first run);
- in each of ``LivePlan.runs`` runs (a warm start-up, then a scripted session), the session's response
  and barge-in latency, CPU and peak RSS (/proc/PID/status VmHWM, the process and its children summed);
  :mod:`.live_stats` pools them and finds the worst run, which the latency budgets judge;
- in the full run also where the memory goes (:func:`.measure.memory_breakdown`) and what a turn's
  recognition is made of (:func:`latency_causes`), once.

Each part has a deadline. A run that goes off the script or past its deadline is reported as failed
and the other runs are still measured; any other failure ends the live measurement with ``error`` in
the result. Everything measured until then is kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..audio import VirtualAudio, pulse
from .live_coach import CoachProcess, Ended, LiveTimeout, coach_args
from .live_session import SAY, VOICES, LiveError, Patient, Session
from .live_stats import median, summarize
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

    runs: int = 3
    """Runs, each a warm start-up of the coach and a session with it (the latency budgets judge the worst)."""
    idle_turns: int = 9
    """Response turns in idle ("repeat") per run: with "start" and one "resume" per pause cycle, 16 a run."""
    pause_cycles: int = 6
    """pause (barge-in) + resume (response) cycles in each run's session (and a final "stop")."""
    idle_s: float = 30.0
    """Idle-listening measurement (once, in the first run)."""
    session_s: float = 150.0
    """Deadline of each run's scripted session (it takes about a third of it on an idle machine)."""
    cold_start: bool = True
    """Also measure a cold start-up (no TTS cache: piper synthesizes the greeting first)."""
    causes: bool = True
    """Also measure where memory and recognition time go (a fresh process, the patient's phrases offline)."""

    @classmethod
    def quick(cls) -> "LivePlan":
        """One run: 4 response turns, 2 barge-ins, 5 s idle, its warm start-up only: about 45 s."""
        return cls(runs=1, idle_turns=2, pause_cycles=1, idle_s=5.0, session_s=60.0, cold_start=False, causes=False)


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
    from ..speech.asr import LISTENING
    from ..speech.endpoint import FRAME_MS, Endpointer
    from .recognize import recognize_all

    jobs = [dict(source="live", group=intent, condition="live", context=INTENT_CONTEXT[intent], voice=voice,
                 file=str(patient.clip(text, voice)), text=text, expected=None, live=True)
            for intent, texts in SAY.items() for text in texts for voice in VOICES if (voice, text) in said]
    rows = recognize_all(jobs, workers=1)
    decode = {f"{r['voice']}: {r['text']}": r["ms"] for r in rows}
    whole = {f"{r['voice']}: {r['text']}": r["wall_ms"] for r in rows}
    return {"endpoint_hangover_ms": Endpointer.hangover_frames * FRAME_MS, "frame_ms": FRAME_MS,
            "endpoint_early_ms": LISTENING[False]["early_frames"] * FRAME_MS,
            "endpoint_early_barge_in_ms": LISTENING[True]["early_frames"] * FRAME_MS,
            "decode_ms": decode, "decode_ms_median": median(list(decode.values())),
            "recognize_ms": whole, "recognize_ms_median": median(list(whole.values()))}


def _measure(audio: VirtualAudio, work: Path, root: Path, cache: Path, plan: LivePlan, out: dict, log) -> None:
    """The default devices, start-ups, idle and the runs, into ``out`` as they are measured."""
    logs = work / "coach-run.log"
    logs.write_text("")
    out["default_devices"] = use_as_default(audio)
    out["startup"] = {"cold_s": None, "warm_s": []}
    if plan.cold_start:
        log("start-up, cold ...")
        out["startup"]["cold_s"] = startup(audio, root / "cold", logs, timeout=180)[0]  # piper speaks the greeting first
    out.update(turns=[], barge_ins=[], notes=[], not_understood={}, events=[], sessions=[])
    for n in range(plan.runs):
        part = {"run": n}
        out["sessions"].append(part)
        try:
            _run(audio, work, root, cache, plan, n, out, part, log, logs)
        except (LiveError, LiveTimeout, Ended) as exc:  # this run failed: the others are still measured
            part["error"] = f"{type(exc).__name__}: {exc}"
            log(f"run {n + 1} failed: {part['error']}")


def _run(audio: VirtualAudio, work: Path, root: Path, cache: Path, plan: LivePlan, n: int, out: dict, part: dict,
         log, logs: Path) -> None:
    """Run ``n``: a warm start-up, idle listening (the first run only) and a session; ``part`` gets its figures."""
    home = warm_home(root, cache, f"run{n}")
    log(f"run {n + 1} of {plan.runs}: start-up, warm ...")
    with audio.record_mic() as mic_rec, audio.record_speaker() as speaker_rec:
        part["startup_s"], proc = startup(audio, home, logs, keep=True)
        out["startup"]["warm_s"].append(part["startup_s"])
        session = Session(proc, Patient(audio, mic_rec, work / "patient"), speaker_rec, run_index=n)
        try:
            proc.deadline = time.monotonic() + 30 + (plan.idle_s if n == 0 else 0)
            if proc.wait_for(lambda e: e["event"] == "listening", 20, "the coach to listen after its greeting") is None:
                raise LiveTimeout("the coach never listened after its greeting")
            proc.drain(2.0)  # let the start-up's rehearsal thread finish
            if n == 0:
                log(f"idle-listening {plan.idle_s:.0f} s ...")
                cpu0, wall0 = proc.cpu_seconds(), time.monotonic()
                proc.drain(plan.idle_s)
                cpu1, wall1 = proc.cpu_seconds(), time.monotonic()
                rss, hwm = proc.memory()
                out["idle"] = {"seconds": wall1 - wall0, "cpu_percent": 100 * (cpu1 - cpu0) / (wall1 - wall0),
                               "rss_mb": rss, "peak_rss_mb": hwm, "piper_loaded": proc.loaded("onnxruntime")}
            log(f"run {n + 1}: {plan.idle_turns} idle turns, {plan.pause_cycles} pause/resume cycles "
                f"(deadline {plan.session_s:.0f} s) ...")
            proc.deadline = time.monotonic() + plan.session_s
            part.update(session.run(plan.idle_turns, plan.pause_cycles))
        finally:
            out["turns"] += session.turns
            out["barge_ins"] += session.barge_ins
            out["notes"] += [f"run {n + 1}: {note}" if plan.runs > 1 else note for note in session.notes]
            for text, k in session.rejected.items():
                out["not_understood"][text] = out["not_understood"].get(text, 0) + k
            out["events"] += [{**e, "run": n} for e in proc.compact_events()]
            part["peak_rss_mb"] = max(part.get("peak_rss_mb") or 0, proc.peak_rss_mb) or None
            part["peak_rss_rise"] = proc.peak_rise()
            proc.stop()
            n_cache = len(list(cache.glob("*.pcm")))  # lines the warm coach still had to synthesize
            part["lines_synthesized_by_coach"] = len(list((home / "tts").glob("*.pcm"))) - n_cache


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
