"""Virtual PulseAudio devices, so the coach runs and is tested on a machine with no sound card.

``with VirtualAudio() as va:`` makes sure a PulseAudio server runs (starting one, as root too)
and loads:

* ``<prefix>_speaker``: a null sink, the coach's output; ``record_speaker()`` captures its
  monitor, so a test can check what the coach said.
* ``<prefix>_mic_in``: a null sink that ``play_into_mic()`` plays into, and
  ``<prefix>_mic``: its monitor remapped as a real source, the virtual microphone.
* with ``echo=True``: a loopback from the speaker's monitor into ``<prefix>_mic_in``, so the
  coach hears itself as it would through a real speaker and microphone.

The coach reaches them as ``Speaker(va.speaker_device)`` / ``Microphone(va.mic_device)``, i.e.
``"pulse:<name>"``. A null sink renders in 2 s blocks while nobody asks for low latency, which
would delay its monitor by up to 2 s; a silent low-latency recorder ("keeper") on each monitor
keeps both paths as fast as a real sound card. On exit exactly the modules (and the server) this
instance started are removed.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

from . import pulse
from .backend import AudioError, rescan

MONITOR_RATE = 48000
"""Rate of the speaker sink and of its recordings (Hz)."""
MIC_RATE = 16000
"""Rate of the virtual microphone (Hz), the recognizer's own rate."""
INJECT_LATENCY_MS = 100
"""Buffer of the players feeding the microphone: small ones stutter on a loaded machine."""


class Playback:
    """A clip being played into the virtual microphone by ``pacat``/``paplay``."""

    def __init__(self, cmd: list[str], pcm: bytes | None) -> None:
        self.started_at = time.monotonic()  # monotonic time the player was launched
        stdin = subprocess.PIPE if pcm is not None else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if pcm is not None:
            threading.Thread(target=self._feed, args=(pcm,), daemon=True).start()

    def _feed(self, pcm: bytes) -> None:
        try:
            self.proc.stdin.write(pcm)
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def wait(self, timeout: float | None = None) -> bool:
        """Until the clip has played; False on timeout, AudioError if the player failed."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        if self.proc.returncode not in (0, -15):  # -15: cut short by stop()
            why = self.proc.stderr.read().decode(errors="replace").strip().splitlines()
            raise AudioError(f"Playing into the microphone failed ({why[-1] if why else self.proc.returncode}).")
        return True

    def stop(self) -> None:
        """Cut the clip."""
        _end(self.proc)


def _end(proc: subprocess.Popen) -> None:
    """Terminate a helper process, killing it if it does not go within 2 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Recording:
    """What the coach played, captured from the speaker sink's monitor by ``parec``."""

    def __init__(self, source: str, rate: int = MONITOR_RATE, latency_ms: int = 10,
                 keep: bool = True, wait: bool = True) -> None:
        self.rate = rate  # Hz of samples()
        self.source = source  # the PulseAudio source recorded
        self.keep = keep  # False: read and discard (a keeper only holds the latency low)
        self._chunks: list[bytes] = []
        self._marks: list[tuple[int, float]] = []  # (samples so far, monotonic arrival time)
        self._n = 0
        self._started = threading.Event()
        self.proc = subprocess.Popen(
            ["parec", f"--device={source}", "--format=s16le", f"--rate={rate}", "--channels=1",
             f"--latency-msec={latency_ms}", "--raw"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if wait:
            self.wait_started()

    def wait_started(self, timeout: float = 10.0) -> None:
        """Block until the first samples arrive; AudioError if they do not."""
        if not self._started.wait(timeout):
            self.stop()
            raise AudioError(f"Recording from {self.source} did not start.")

    def _read(self) -> None:
        fd = self.proc.stdout.fileno()
        carry = b""
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            now = time.monotonic()
            data, carry = (carry + data), b""
            if len(data) % 2:
                data, carry = data[:-1], data[-1:]
            self._started.set()
            if not self.keep:
                continue
            self._chunks.append(data)
            self._n += len(data) // 2
            self._marks.append((self._n, now))

    def stop(self) -> "Recording":
        """Stop recording (idempotent); returns self."""
        _end(self.proc)
        self._thread.join(5)
        return self

    def samples(self) -> np.ndarray:
        """Everything recorded so far, int16 mono at ``rate``."""
        return np.frombuffer(b"".join(list(self._chunks)), dtype=np.int16)

    def time_of(self, index: int) -> float:
        """Monotonic time at which sample ``index`` reached the monitor (±one chunk)."""
        for n, t in list(self._marks):
            if n > index:
                return t - (n - 1 - index) / self.rate
        n, t = self._marks[-1]
        return t + (index - n + 1) / self.rate

    def index_at(self, t: float) -> int:
        """Sample index that reached the monitor at monotonic time ``t`` (inverse of time_of)."""
        for n, arrived in list(self._marks):
            if arrived >= t:
                return max(0, n - 1 - int((arrived - t) * self.rate))
        n, arrived = self._marks[-1]
        return n - 1 + int((t - arrived) * self.rate)

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class VirtualAudio:
    """Context manager: a PulseAudio server with a virtual speaker and microphone."""

    def __init__(self, prefix: str = "voicecoach", echo: bool = False, stop_server: bool | None = None) -> None:
        self.prefix = prefix
        self.echo = echo
        self.speaker_sink = f"{prefix}_speaker"  # null sink the coach plays into
        self.mic_sink = f"{prefix}_mic_in"  # null sink whose monitor feeds the microphone
        self.mic_source = f"{prefix}_mic"  # the virtual microphone (remapped monitor)
        self.stop_server = stop_server  # None: stop the server on exit only if we started it
        self.started_server = False
        self.modules: list[int] = []
        self._keepers: list[Recording] = []

    @property
    def speaker_device(self) -> str:
        """Device spec for ``Speaker``: the virtual speaker."""
        return f"pulse:{self.speaker_sink}"

    @property
    def mic_device(self) -> str:
        """Device spec for ``Microphone``: the virtual microphone."""
        return f"pulse:{self.mic_source}"

    def __enter__(self) -> "VirtualAudio":
        try:
            self.started_server = pulse.start()
            have = set(pulse.names("sinks")) | set(pulse.names("sources"))
            for sink, rate, desc in ((self.speaker_sink, MONITOR_RATE, "VoiceCoach virtual speaker"),
                                     (self.mic_sink, MIC_RATE, "VoiceCoach virtual microphone input")):
                if sink not in have:
                    self._load("module-null-sink", f"sink_name={sink}", f"rate={rate}", "channels=1",
                               f"sink_properties='device.description=\"{desc}\"'")
            if self.mic_source not in have:
                self.plug_mic()
            if self.echo:
                self.set_echo(True)
            self._keepers = [Recording(f"{sink}.monitor", keep=False, wait=False)
                             for sink in (self.speaker_sink, self.mic_sink)]
            for keeper in self._keepers:  # up to one 2 s block of an idle null sink
                keeper.wait_started()
            rescan()  # PortAudio enumerates once: let it see a server started just now
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _load(self, name: str, *args: str) -> int:
        idx = pulse.load_module(name, *args)
        self.modules.append(idx)
        return idx

    def plug_mic(self) -> None:
        """(Re)create the virtual microphone source."""
        self._load("module-remap-source", f"master={self.mic_sink}.monitor", f"source_name={self.mic_source}",
                   "source_properties='device.description=\"VoiceCoach virtual microphone\"'")

    def unplug_mic(self) -> None:
        """Remove the virtual microphone source, as if its cable were pulled."""
        for idx, name, arg in pulse.modules():
            if name == "module-remap-source" and f"source_name={self.mic_source}" in arg.split():
                pulse.unload_module(idx)
                if idx in self.modules:
                    self.modules.remove(idx)

    def set_echo(self, on: bool) -> None:
        """Route (or stop routing) the speaker into the microphone, like a real room."""
        src = f"source={self.speaker_sink}.monitor"
        loops = [m for m in pulse.modules() if m[1] == "module-loopback" and src in m[2]]
        if on and not loops:
            self._load("module-loopback", src, f"sink={self.mic_sink}", "latency_msec=30",
                       "source_dont_move=true", "sink_dont_move=true")
        elif not on:
            for idx, _, _ in loops:
                pulse.unload_module(idx)
                if idx in self.modules:
                    self.modules.remove(idx)
        self.echo = on

    def __exit__(self, *exc) -> None:
        for keeper in self._keepers:
            keeper.stop()
        self._keepers.clear()
        if pulse.running():
            for idx in reversed(self.modules):
                pulse.unload_module(idx)
        self.modules.clear()
        if self.stop_server or (self.stop_server is None and self.started_server):
            pulse.stop()
            self.started_server = False

    # ------------------------------------------------------------------ helpers
    def play_into_mic(self, wav_path_or_pcm: str | Path | bytes | np.ndarray,
                      sample_rate: int = MIC_RATE) -> Playback:
        """Play a WAV file or int16 mono PCM into the virtual microphone; returns once launched."""
        if isinstance(wav_path_or_pcm, (str, Path)):
            return Playback(["paplay", f"--device={self.mic_sink}", f"--latency-msec={INJECT_LATENCY_MS}",
                             str(wav_path_or_pcm)], None)
        pcm = wav_path_or_pcm.astype(np.int16).tobytes() if isinstance(wav_path_or_pcm, np.ndarray) \
            else bytes(wav_path_or_pcm)
        return Playback(["pacat", "--playback", f"--device={self.mic_sink}", "--format=s16le",
                         f"--rate={sample_rate}", "--channels=1", f"--latency-msec={INJECT_LATENCY_MS}", "--raw"], pcm)

    def record_speaker(self, rate: int = MONITOR_RATE) -> Recording:
        """Start capturing what the coach outputs; returns once samples flow. Use as a context."""
        return Recording(f"{self.speaker_sink}.monitor", rate)

    def record_mic(self, rate: int = MIC_RATE) -> Recording:
        """Capture the virtual microphone directly (bypassing PortAudio), for comparisons."""
        return Recording(self.mic_source, rate)
