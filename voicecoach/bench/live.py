"""Live measurements through the real audio path: `voicecoach run` on virtual PulseAudio devices.

The coach runs as the demo runs it (``python -m voicecoach run --events --fast`` on a virtual
microphone and speaker); a patient (flite slt, as in the demo) speaks into the microphone.
Both devices are recorded here with their arrival times (``time.monotonic()``, the clock the
coach's events use too), so every figure is measured on the audio itself:

- response latency: last sample of the patient's speech at the microphone -> first audible
  sample of the reply at the speaker. Turns: "repeat" in idle (the coach says its greeting
  again), "start session", and "resume" after each pause.
- barge-in latency: last sample of "pause" (or the final "stop") said while the coach speaks
  -> the last audible sample before the cut, i.e. the moment the output went silent.
- CPU (percent of one core, /proc/PID/stat) and peak RSS (/proc/PID/status VmHWM) of the
  `voicecoach run` process and its child (the free decoder), summed, idle-listening and during the session.
- start-up: process start -> first audible sample of the greeting, cold (an empty
  VOICECOACH_HOME, so no TTS cache) and warm (every fixed line cached, as after a first run).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..audio import VirtualAudio, pulse
from ..demo import PATIENT_VOICE
from .accuracy import percentile
from .measure import cut_time, first_audible_after, memory_breakdown, mic_speech_end

REPO = Path(__file__).resolve().parents[2]
PREFIX = "vcbench"
"""Our own virtual devices, so a demo or test running at the same time is not disturbed."""
CLK_TCK = os.sysconf("SC_CLK_TCK")
SAY = {
    "repeat": ["repeat that", "pardon", "repeat", "say that again"],
    "start": ["start session", "start extension"],
    "pause": ["wait", "pause", "hold on", "take a break"],
    "resume": ["continue", "resume", "go on", "carry on"],
    "stop": ["stop", "stop the session"],
}
"""What the patient says for each intent, in order of preference: when one is not understood
(flite's voice and PocketSphinx disagree on some words), the next one is tried and the one that
worked is kept."""


@dataclass
class LivePlan:
    """How much to measure."""

    idle_turns: int = 17
    """Response turns in idle ("repeat"): with "start" and one "resume" per pause cycle, the 30 turns issue 4 asks for."""
    pause_cycles: int = 12
    """pause (barge-in) + resume (response) cycles in the session."""
    idle_s: float = 60.0
    """Idle-listening measurement."""
    warm_starts: int = 3
    """Warm start-ups measured (the session's own start counts as one)."""

    @classmethod
    def quick(cls) -> "LivePlan":
        return cls(idle_turns=3, pause_cycles=2, idle_s=5.0, warm_starts=1)


class Ended(Exception):
    """The coach process ended."""


class CoachProcess:
    """`python -m voicecoach run --events` on the virtual devices, its events and its /proc figures."""

    def __init__(self, audio: VirtualAudio, home: Path, log_path: Path) -> None:
        env = {**os.environ, "VOICECOACH_HOME": str(home)}
        env.pop("VOICECOACH_SAVE_UTTERANCES", None)
        env.pop("VOICECOACH_NOW", None)
        cmd = [sys.executable, "-m", "voicecoach", "run", "--events", "--fast", "--program", "extension",
               "--input", audio.mic_device, "--output", audio.speaker_device]
        self._log = open(log_path, "a")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, text=True, env=env,
                                     cwd=REPO, stdin=subprocess.DEVNULL)
        self.events: list[dict] = []
        self.state = ""
        self.ended = False
        self._lines: queue.Queue = queue.Queue()
        self.peak_rss_mb = 0.0
        self.max_rss_mb = 0.0
        threading.Thread(target=self._pump, daemon=True).start()
        self._sampling = True
        threading.Thread(target=self._sample_memory, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _sample_memory(self) -> None:
        while self._sampling and self.proc.poll() is None:
            self.memory()
            time.sleep(0.25)

    # ------------------------------------------------------------------ events
    def next(self, timeout: float) -> dict | None:
        """The next event, or None after ``timeout`` seconds; Ended once the process is gone."""
        if self.ended:
            raise Ended()
        try:
            line = self._lines.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if line is None:
            self.ended = True
            raise Ended()
        try:
            event = json.loads(line)
        except ValueError:
            return None
        self.events.append(event)
        self.state = event.get("state", self.state)
        return event

    def wait_for(self, pred, timeout: float) -> dict | None:
        """The first event for which ``pred`` holds within ``timeout`` seconds, else None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            event = self.next(left)
            if event is not None and pred(event):
                return event

    def drain(self, seconds: float) -> None:
        """Read events for ``seconds`` (keeps the pipe flowing while we only watch)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.next(min(left, 0.5))

    # ------------------------------------------------------------------ /proc
    def pids(self) -> list[int]:
        """The process and its descendants (the recognizer's free decoder runs in a child)."""
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                try:
                    todo.extend(int(c) for c in task.read_text().split())
                except (OSError, ValueError):
                    pass
        return out

    def cpu_seconds(self) -> float:
        """User + system CPU time so far of the process and its children (all their threads)."""
        total = 0.0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            except OSError:
                pass
        return total

    def memory(self) -> tuple[float, float]:
        """(current RSS, peak RSS) in MB of the process and its children, summed (the sum of each one's peak:
        never less than the peak of the sum); also kept as the maxima seen."""
        rss = hwm = 0.0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            rss += int(line.split()[1]) / 1024
                        elif line.startswith("VmHWM:"):
                            hwm += int(line.split()[1]) / 1024
            except OSError:
                pass
        self.max_rss_mb = max(self.max_rss_mb, rss)
        self.peak_rss_mb = max(self.peak_rss_mb, hwm)
        return rss, hwm

    def loaded(self, name: str) -> bool:
        """True if a shared library whose path contains ``name`` is mapped into the process."""
        try:
            with open(f"/proc/{self.proc.pid}/maps") as f:
                return any(name in line for line in f)
        except OSError:
            return False

    def stop(self, timeout: float = 30) -> None:
        """End the process (SIGTERM: it saves and exits), killing it if it hangs."""
        self._sampling = False
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


# ---------------------------------------------------------------------- the patient
class Patient:
    """Plays pre-synthesized flite words into the virtual microphone and times their end."""

    def __init__(self, audio: VirtualAudio, mic_rec, clip_dir: Path) -> None:
        self.audio, self.mic_rec, self.clips = audio, mic_rec, {}
        clip_dir.mkdir(parents=True, exist_ok=True)
        self.dir = clip_dir

    def clip(self, text: str) -> Path:
        path = self.dir / f"{text.replace(' ', '_')}.wav"
        if not path.exists():
            subprocess.run([*PATIENT_VOICE, "-t", text, "-o", str(path)], check=True, capture_output=True)
        return path

    def say(self, text: str) -> float | None:
        """Play ``text`` into the microphone; when its last sample reached the microphone."""
        play = self.audio.play_into_mic(self.clip(text))
        play.wait(15)
        time.sleep(0.05)  # the recorder's last chunk
        return mic_speech_end(self.mic_rec, play.started_at)


# ---------------------------------------------------------------------- the session
@dataclass
class Session:
    """Drives one warm `voicecoach run` through the scripted turns and collects the figures."""

    proc: CoachProcess
    patient: Patient
    speaker_rec: object
    log: object = print
    turns: list = field(default_factory=list)
    barge_ins: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    rejected: dict = field(default_factory=dict)
    _choice: dict = field(default_factory=dict)

    def wait_listening(self, timeout: float = 20.0) -> dict | None:
        return self.proc.wait_for(lambda e: e["event"] == "listening", timeout)

    def _phrase(self, intent: str) -> str:
        return SAY[intent][self._choice.get(intent, 0) % len(SAY[intent])]

    def _failed(self, intent: str, why: str) -> None:
        text = self._phrase(intent)
        self.rejected[text] = self.rejected.get(text, 0) + 1
        self.notes.append(f"'{text}' {why}")
        self._choice[intent] = self._choice.get(intent, 0) + 1  # try the next phrasing next time

    def response_turn(self, intent: str, tries: int = 3) -> dict | None:
        """Say ``intent`` while the coach listens; time it to the first audible sample of the reply."""
        for _ in range(tries):
            turn = self._response_turn(intent)
            if turn is not None:
                return turn
        return None

    def _response_turn(self, intent: str) -> dict | None:
        text = self._phrase(intent)
        time.sleep(0.3)  # a person pauses before answering
        said_at = time.monotonic()
        t_end = self.patient.say(text)
        first = self.proc.wait_for(lambda e: e["event"] in ("heard", "say"), 6)
        if first is None:
            self._failed(intent, "got no reaction (rejected)")
            return None
        heard = first if first["event"] == "heard" else None
        say = first if heard is None else self.proc.wait_for(lambda e: e["event"] == "say", 6)
        if heard is not None and not heard.get("answer"):
            self._failed(intent, "was not understood")  # the coach says sorry: wait it out
            self.wait_listening()
            return None
        if say is None or t_end is None:
            self.notes.append(f"'{text}': no reply" if say is None else f"'{text}': no speech seen at the mic")
            return None
        time.sleep(0.5)  # let the reply's first samples reach the recorder
        audible = first_audible_after(self.speaker_rec, t_end)
        if audible is None:
            self.notes.append(f"'{text}': the reply was not audible")
            return None
        turn = {"said": text, "heard": heard.get("text") if heard else None, "early": bool(heard and heard.get("early")),
                "state": say.get("state"), "reply": say.get("text"), "started_at": said_at,
                "latency_s": audible - t_end,
                "recognized_s": heard["t"] - t_end if heard else None,
                "coach_s": say["t"] - heard["t"] if heard else None,
                "output_s": audible - say["t"]}
        self.turns.append(turn)
        return turn

    def barge_in(self, intent: str) -> dict:
        """Say ``intent`` over the line the coach has just started; time it to the output going silent."""
        text = self._phrase(intent)
        time.sleep(0.6)  # well into the coach's line
        t_end = self.patient.say(text)
        event = self.proc.wait_for(lambda e: e["event"] == "barge_in", 5)
        if event is None or t_end is None:
            self._failed(intent, "was not heard over the coach (no barge-in)")
            b = {"said": text, "missed": True}
            self.barge_ins.append(b)
            return b
        time.sleep(0.5)
        silent_at = cut_time(self.speaker_rec, t_end, event["t"])
        b = {"said": text, "missed": False, "heard": event.get("text"), "state": event.get("state"),
             "early": bool(event.get("early")),
             "event_s": event["t"] - t_end}
        if silent_at is None or silent_at <= t_end:
            b["latency_s"] = None
            self.notes.append(f"barge-in '{text}': the coach was already silent when the speech ended")
        else:
            b["latency_s"] = silent_at - t_end
            b["cut_after_event_s"] = silent_at - event["t"]
        self.barge_ins.append(b)
        return b

    def run(self, plan: LivePlan) -> dict:
        """Idle turns, start, pause/resume cycles, final stop. Returns CPU/RSS of the session."""
        cpu0, wall0 = self.proc.cpu_seconds(), time.monotonic()
        done = 0
        for _ in range(2 * plan.idle_turns):
            if done >= plan.idle_turns or self.proc.state != "idle":
                break
            if self.response_turn("repeat", tries=1) is not None:
                done += 1
                self.wait_listening()
        if self.proc.state != "idle" or self.response_turn("start") is None \
                or self.proc.state not in ("screening", "asking_location"):
            raise RuntimeError(f"the session did not start (state {self.proc.state!r})")
        cycles = 0
        while cycles < plan.pause_cycles:
            # the coach is saying a question (or the screening intro): cut it with "pause"
            b = self.barge_in("pause")
            if b["missed"]:
                if len(self.barge_ins) > 3 * plan.pause_cycles:
                    break
                self.wait_listening()
                self.response_turn("repeat")  # hear the question again, and barge in on that
                continue
            cycles += 1
            if self.wait_listening() is None or self.proc.state != "paused":
                raise RuntimeError(f"no pause after the barge-in (state {self.proc.state!r})")
            if self.response_turn("resume") is None:
                raise RuntimeError("the coach did not resume")
            # "Resuming." then the question again: barge in on the question
            self.proc.wait_for(lambda e: e["event"] == "say", 8)
        cpu1, wall1 = self.proc.cpu_seconds(), time.monotonic()
        self.barge_in("stop")
        _, hwm = self.proc.memory()
        try:
            self.proc.wait_for(lambda e: e["event"] == "ended", 20)
        except Ended:
            pass
        return {"seconds": wall1 - wall0, "cpu_percent": 100 * (cpu1 - cpu0) / (wall1 - wall0),
                "peak_rss_mb": max(self.proc.peak_rss_mb, hwm), "max_rss_mb": self.proc.max_rss_mb}


# ---------------------------------------------------------------------- start-up and cache
def fill_tts_cache(cache: Path, log=print) -> float:
    """Synthesize every fixed line the coach can say into ``cache`` (as `voicecoach run` does ahead
    of need); seconds taken. Runs in a subprocess so the bench never loads piper."""
    code = ("import sys; from pathlib import Path; from voicecoach.app import Content; "
            "from voicecoach.rehearse import coach_lines; from voicecoach.speech.tts import Voice; "
            "print(Voice(cache_dir=Path(sys.argv[1])).prepare(coach_lines(Content.load().fast())))")
    t = time.monotonic()
    res = subprocess.run([sys.executable, "-c", code, str(cache)], capture_output=True, text=True, cwd=REPO)
    if res.returncode != 0:
        raise RuntimeError(f"filling the TTS cache failed: {res.stderr.strip()[-500:]}")
    n = int(res.stdout.strip() or 0)
    if n:
        log(f"synthesized {n} coach lines into the warm cache in {time.monotonic() - t:.0f} s")
    return time.monotonic() - t


def warm_home(root: Path, cache: Path, name: str) -> Path:
    """A fresh VOICECOACH_HOME whose TTS cache is a copy of the filled one."""
    home = root / name
    shutil.copytree(cache, home / "tts")
    return home


def startup(audio: VirtualAudio, home: Path, log_path: Path, keep: bool = False):
    """Start the coach; (seconds to the first audible greeting sample, the process if keep else None)."""
    with audio.record_speaker() as rec:
        proc = CoachProcess(audio, home, log_path)
        try:
            say = proc.wait_for(lambda e: e["event"] == "say", 180)
            if say is None:
                raise RuntimeError("the coach never spoke its greeting")
            time.sleep(0.5)
            audible = first_audible_after(rec, proc.t0)
        except BaseException:
            proc.stop()
            raise
    if audible is None:
        proc.stop()
        raise RuntimeError("the greeting was never audible at the speaker")
    if not keep:
        proc.stop()
        return audible - proc.t0, None
    return audible - proc.t0, proc


INTENT_CONTEXT = {"repeat": "idle", "start": "idle", "resume": "global", "pause": "yesno", "stop": "yesno"}
"""Where the session says each intent (pause and stop: over a screening question)."""


def latency_causes(patient: "Patient", said: set[str]) -> dict:
    """What the recognition part of a turn is made of: the endpointer's hangover (fixed) and the
    decode time of each phrase the patient said, recognized offline by the same code as live audio is."""
    from ..speech.asr import EARLY_FRAMES
    from ..speech.endpoint import FRAME_MS, Endpointer
    from .recognize import recognize_all

    jobs = [dict(source="live", group=intent, condition="live", context=INTENT_CONTEXT[intent],
                 file=str(patient.clip(text)), text=text, expected=None, live=True)
            for intent, texts in SAY.items() for text in texts if text in said]
    rows = recognize_all(jobs, workers=1)
    decode = {r["text"]: r["ms"] for r in rows}
    return {"endpoint_hangover_ms": Endpointer.hangover_frames * FRAME_MS, "frame_ms": FRAME_MS,
            "endpoint_early_ms": EARLY_FRAMES[False] * FRAME_MS, "endpoint_early_barge_in_ms": EARLY_FRAMES[True] * FRAME_MS,
            "decode_ms": decode, "decode_ms_median": _median(list(decode.values()))}


# ---------------------------------------------------------------------- all of it
def run_live(work: Path, plan: LivePlan, log=print) -> dict:
    """Every live figure (start-up, idle, session latency and barge-in, CPU, RSS)."""
    cache = work / "tts-warm"
    fill_s = fill_tts_cache(cache, log)
    out: dict = {"patient_voice": " ".join(PATIENT_VOICE), "tts_cache_fill_s": fill_s}
    root = Path(tempfile.mkdtemp(prefix="vcbench-", dir=work))
    logs = work / "coach-run.log"
    logs.write_text("")
    audio = VirtualAudio(prefix=PREFIX, stop_server=False)
    try:
        with audio:
            log("start-up, cold ...")
            cold, _ = startup(audio, root / "cold", logs)
            warm = []
            for k in range(plan.warm_starts - 1):
                log(f"start-up, warm {k + 1} ...")
                warm.append(startup(audio, warm_home(root, cache, f"warm{k}"), logs)[0])
            log("start-up, warm (the session's) ...")
            with audio.record_mic() as mic_rec, audio.record_speaker() as speaker_rec:
                t, proc = startup(audio, warm_home(root, cache, "session"), logs, keep=True)
                warm.append(t)
                try:
                    out["startup"] = {"cold_s": cold, "warm_s": warm, "warm_median_s": statistics.median(warm)}
                    if proc.wait_for(lambda e: e["event"] == "listening", 20) is None:
                        raise RuntimeError("the coach never listened after its greeting")
                    log(f"idle-listening {plan.idle_s:.0f} s ...")
                    proc.drain(2.0)  # let the start-up's rehearsal thread finish
                    cpu0, wall0 = proc.cpu_seconds(), time.monotonic()
                    proc.drain(plan.idle_s)
                    cpu1, wall1 = proc.cpu_seconds(), time.monotonic()
                    rss, hwm = proc.memory()
                    out["idle"] = {"seconds": wall1 - wall0, "cpu_percent": 100 * (cpu1 - cpu0) / (wall1 - wall0),
                                   "rss_mb": rss, "peak_rss_mb": hwm, "piper_loaded": proc.loaded("onnxruntime")}
                    log(f"session: {plan.idle_turns} idle turns, {plan.pause_cycles} pause/resume cycles ...")
                    session = Session(proc, Patient(audio, mic_rec, work / "patient"), speaker_rec, log)
                    out["session"] = session.run(plan)
                finally:
                    proc.stop()
                # lines the warm coach still had to synthesize (each loads piper if it is not loaded yet)
                n_cache = len(list(cache.glob("*.pcm")))
                out["session"]["lines_synthesized_by_coach"] = len(list((root / "session" / "tts").glob("*.pcm"))) - n_cache
            out["turns"] = session.turns
            out["barge_ins"] = session.barge_ins
            out["notes"] = session.notes
            out["not_understood"] = session.rejected
    finally:
        shutil.rmtree(root, ignore_errors=True)
        _stop_server_if_ours(audio)
    out["memory_breakdown"] = memory_breakdown(work)
    said = {t["said"] for t in out["turns"]} | {b["said"] for b in out["barge_ins"]}
    out["latency_causes"] = latency_causes(Patient(None, None, work / "patient"), said)
    out["response"] = _stats([t["latency_s"] for t in out["turns"]])
    out["response"]["ended_early"] = sum(t.get("early", False) for t in out["turns"])
    out["response"]["breakdown_median_s"] = {
        k: _median([t[k] for t in out["turns"] if t.get(k) is not None])
        for k in ("recognized_s", "coach_s", "output_s")}
    valid = [b["latency_s"] for b in out["barge_ins"] if b.get("latency_s") is not None]
    out["barge_in"] = {**_stats(valid), "attempts": len(out["barge_ins"]),
                       "missed": sum(b["missed"] for b in out["barge_ins"]),
                       "ended_early": sum(b.get("early", False) for b in out["barge_ins"]),
                       "event_median_s": _median([b["event_s"] for b in out["barge_ins"] if not b["missed"]]),
                       "cut_after_event_median_s": _median([b["cut_after_event_s"] for b in out["barge_ins"]
                                                            if b.get("cut_after_event_s") is not None])}
    return out


def _stop_server_if_ours(audio: VirtualAudio) -> None:
    """Stop the PulseAudio server if we started it and nobody else has devices on it now."""
    if not audio.started_server:
        return
    try:
        others = [s for s in pulse.names("sinks") if not s.startswith(PREFIX) and s != "auto_null"]
        if not others:
            pulse.stop()
    except Exception:  # noqa: BLE001 - a server that is gone already is fine
        pass


def _median(xs):
    return statistics.median(xs) if xs else None


def _stats(xs: list[float]) -> dict:
    return {"n": len(xs), "median_s": _median(xs), "p95_s": percentile(xs, 95),
            "min_s": min(xs) if xs else None, "max_s": max(xs) if xs else None}
