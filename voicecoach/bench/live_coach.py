"""The coach under measurement: `python -m voicecoach run --events` as a subprocess, its events and
its /proc figures (CPU time, RSS of the process and its children).

Every wait is bounded: each call has its own timeout, and a ``deadline`` (monotonic time) bounds a
whole part of the run; past it, :class:`LiveTimeout` says what was being waited for and where the
coach was, so the benchmark reports it instead of hanging.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")
KEEP_EVENTS = 400
"""Events kept for the JSON (the last ones), to see what the coach did when a part went wrong."""
PEAK_STEP_MB = 5.0
"""A rise of the peak RSS this large between two samples is remembered (``peak_rise``): what the coach was
doing when it reached its peak."""


def events_between(events: list[dict], start: float, end: float, before_s: float = 0.5) -> list[dict]:
    """The events whose time ``t`` falls between ``start - before_s`` and ``end``; else the last one before."""
    timed = [e for e in events if isinstance(e.get("t"), (int, float)) and e["t"] <= end]
    near = [e for e in timed if e["t"] >= start - before_s]
    return near or timed[-1:]


def coach_args(input_device: str, output_device: str) -> list[str]:
    """The arguments of `voicecoach` under measurement, as the demo runs it."""
    return ["run", "--events", "--fast", "--program", "extension", "--input", input_device, "--output", output_device]


class Ended(Exception):
    """The coach process ended."""


class LiveTimeout(Exception):
    """A part of the live measurement ran past its deadline."""


class CoachProcess:
    """`python -m voicecoach run --events` on the given devices, its events and its /proc figures."""

    def __init__(self, input_device: str, output_device: str, home: Path, log_path: Path) -> None:
        env = {**os.environ, "VOICECOACH_HOME": str(home)}
        for name in ("VOICECOACH_SAVE_UTTERANCES", "VOICECOACH_NOW", "PULSE_SINK", "PULSE_SOURCE"):
            env.pop(name, None)  # PULSE_*: "pulse" is the server's default sink and source, nothing else
        cmd = [sys.executable, "-m", "voicecoach", *coach_args(input_device, output_device)]
        self._log = open(log_path, "a")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, text=True, env=env,
                                     cwd=REPO, stdin=subprocess.DEVNULL)
        self.events: list[dict] = []
        self.state = ""
        self.ended = False
        self.deadline: float | None = None
        self.waiting_for = ""
        self._lines: queue.Queue = queue.Queue()
        self.peak_rss_mb = 0.0
        self.max_rss_mb = 0.0
        self.peak_rose: tuple[float, float] | None = None
        """The two samples (monotonic times) between which the peak RSS last rose by ``PEAK_STEP_MB`` or more."""
        self._sampled_at = self.t0
        self._sampling = True
        threading.Thread(target=self._pump, daemon=True).start()
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
    def _bounded(self, timeout: float) -> float:
        """``timeout`` cut to the deadline; LiveTimeout once the deadline has passed."""
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise LiveTimeout(f"past the deadline while waiting for {self.waiting_for or 'the coach'} "
                              f"(coach state {self.state!r}, last event {self.last_event()})")
        return min(timeout, left)

    def last_event(self) -> str:
        if not self.events:
            return "none"
        e = self.events[-1]
        return f"{e.get('event')} {e.get('text', '')!r}".strip()

    def next(self, timeout: float) -> dict | None:
        """The next event, or None after ``timeout`` seconds; Ended once the process is gone."""
        if self.ended:
            raise Ended(self.why_ended())
        try:
            line = self._lines.get(timeout=max(0.0, self._bounded(timeout)))
        except queue.Empty:
            return None
        if line is None:
            self.ended = True
            raise Ended(self.why_ended())
        try:
            event = json.loads(line)
        except ValueError:
            return None
        self.events.append(event)
        del self.events[:-KEEP_EVENTS]
        self.state = event.get("state", self.state)
        return event

    def wait_for(self, pred, timeout: float, what: str = "") -> dict | None:
        """The first event for which ``pred`` holds within ``timeout`` seconds, else None."""
        self.waiting_for = what
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            event = self.next(left)
            if event is not None and pred(event):
                return event
        self._bounded(0)  # a wait cut short by the deadline is the deadline's
        return None

    def drain(self, seconds: float) -> None:
        """Read events for ``seconds`` (keeps the pipe flowing while we only watch)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.next(min(left, 0.5))

    def why_ended(self) -> str:
        """The coach's exit code, last event and last log line (why the process is gone)."""
        try:
            code = self.proc.wait(2)
        except subprocess.TimeoutExpired:
            code = None
        self._log.flush()
        try:
            last = Path(self._log.name).read_text(errors="replace").strip().splitlines()[-1:]
        except OSError:
            last = []
        return (f"the coach exited (code {code}, state {self.state!r}, last event {self.last_event()})"
                + (f": {last[0]}" if last else ""))

    def compact_events(self) -> list[dict]:
        """The kept events, as {t relative to the start, event, state, text} (for the JSON)."""
        return [{"t": round(e["t"] - self.t0, 3) if isinstance(e.get("t"), (int, float)) else None,
                 "event": e.get("event"), "state": e.get("state"), "text": e.get("text")} for e in self.events]

    # ------------------------------------------------------------------ /proc
    def pids(self) -> list[int]:
        """The process and its descendants."""
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:  # a child may end while it is being read
                tasks = list(Path(f"/proc/{pid}/task").glob("*/children"))
            except OSError:
                continue
            for task in tasks:
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
        now = time.monotonic()
        if hwm >= self.peak_rss_mb + PEAK_STEP_MB:
            self.peak_rose = (self._sampled_at, now)
        self._sampled_at = now
        self.max_rss_mb = max(self.max_rss_mb, rss)
        self.peak_rss_mb = max(self.peak_rss_mb, hwm)
        return rss, hwm

    def peak_rise(self) -> dict | None:
        """When the peak RSS was last raised (seconds from the start) and the coach's events then."""
        if self.peak_rose is None:
            return None
        start, end = self.peak_rose
        return {"mb": round(self.peak_rss_mb), "from_s": round(start - self.t0, 2), "to_s": round(end - self.t0, 2),
                "events": [f"{e.get('event')} ({e.get('state')}) {e.get('text') or ''}".strip()[:70]
                           for e in events_between(self.events, start, end)][-4:]}

    def loaded(self, name: str) -> bool:
        """True if a shared library whose path contains ``name`` is mapped into the process."""
        try:
            with open(f"/proc/{self.proc.pid}/maps") as f:
                return any(name in line for line in f)
        except OSError:
            return False

    def stop(self, timeout: float = 10) -> None:
        """End the process (SIGTERM: it saves and exits), killing it if it hangs."""
        self._sampling = False
        self.deadline = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
