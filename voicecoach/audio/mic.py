"""The microphone: 16 kHz mono int16 frames for the recognizer, from any input device.

PortAudio's callback only copies each block into a queue; a worker thread resamples (when the
device cannot do 16 kHz itself), cuts exact ``frame_ms`` frames, keeps the level meter, and
hands frames to ``on_frame`` or to the :meth:`Microphone.read` / :meth:`Microphone.frames`
queue. A lost device never raises in another thread: it sets :attr:`Microphone.error` and
calls ``on_error``; :meth:`Microphone.restart` tries again when the device is back.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import queue
import threading
import time
from typing import Callable, Iterator

import numpy as np

from . import backend as pa
from .backend import AudioError, describe, opening, pick_format, rescan, track, untrack
from .devices import resolve
from .pulse import pulse_devices
from .resample import Resampler

RATE = 16000
"""The rate every frame is delivered at (Hz)."""
STALL_SECONDS = 3.0
"""A running stream silent for this long (no blocks at all) counts as a lost device."""
PRESENCE_SECONDS = 1.0
"""How often a stream on a named PulseAudio source checks that the source still exists."""
FIRST_BLOCK_SECONDS = 8.0
"""How long a fresh stream may take to deliver its first block before it counts as lost."""

log = logging.getLogger(__name__)
_STOP = object()
_LOST = object()


class Microphone:
    """Captures 16 kHz mono int16 frames of ``frame_ms`` from an input device."""

    def __init__(self, device: str | int | None = None, frame_ms: int = 30,
                 on_frame: Callable[[bytes, float], None] | None = None,
                 on_error: Callable[[AudioError], None] | None = None,
                 max_queued_seconds: float = 10.0) -> None:
        self.device = device
        self.frame_ms = frame_ms
        self.frame_samples = RATE * frame_ms // 1000
        self.on_frame = on_frame
        self.on_error = on_error
        self.error: AudioError | None = None
        self.device_rate: int | None = None  # what the device actually runs at
        self.device_name: str | None = None
        self.dropped = 0  # frames thrown away because nobody read the queue
        self.overflows = 0  # blocks PortAudio reported as overflowed
        self._frames: queue.Queue = queue.Queue(maxsize=max(1, int(max_queued_seconds * 1000 / frame_ms)))
        self._raw: queue.SimpleQueue = queue.SimpleQueue()
        self._stream = None
        self._worker: threading.Thread | None = None
        self._running = False
        self._stopping = False
        self._energy: collections.deque = collections.deque()
        self._energy_sum = 0.0
        self._energy_n = 0
        self._last_block = 0.0
        self._ctl = threading.RLock()
        self._gen = 0  # bumped at each start(): a worker only ever closes its own stream
        self._pulse_name: str | None = None
        self._channels = 1

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Open the device and start delivering frames; AudioError if it cannot be opened."""
        with self._ctl:
            if self._running:
                return
            sd = pa.backend()
            target = resolve(self.device, "input")
            dev = target.index if target.index is not None else sd.default.device[0]
            rate, channels = pick_format(dev, "input", (RATE, int(sd.query_devices(dev)["default_samplerate"]),
                                                        48000, 44100), channels=(1, 2))
            self.error = None
            self._energy.clear()
            self._energy_sum, self._energy_n = 0.0, 0
            self._stopping = False
            self._raw = queue.SimpleQueue()
            self._frames = queue.Queue(maxsize=self._frames.maxsize)
            try:
                with opening(target, "input"):
                    stream = sd.RawInputStream(samplerate=rate, blocksize=max(1, rate * self.frame_ms // 1000),
                                               device=dev, channels=channels, dtype="int16", latency="low",
                                               callback=self._callback, finished_callback=self._finished)
                track(stream)
                stream.start()
            except sd.PortAudioError as exc:
                raise describe(exc, "input") from exc
            self._stream, self._gen = stream, self._gen + 1
            self.device_rate, self._channels, self._pulse_name = rate, channels, target.pulse_name
            self.device_name = sd.query_devices(dev)["name"] + (f" ({target.pulse_name})" if target.pulse_name else "")
            self._last_block = time.monotonic() + FIRST_BLOCK_SECONDS - STALL_SECONDS
            self._running = True
            self._worker = threading.Thread(target=self._work, args=(self._raw, self._frames, self._gen),
                                            name="microphone", daemon=True)
            self._worker.start()

    def stop(self) -> None:
        """Stop capturing; frames already queued can still be read. Safe to call twice."""
        with self._ctl:
            self._stopping = True
            self._close_stream(self._gen)
            self._running = False
            self._raw.put(_STOP)
            worker, self._worker = self._worker, None
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=2)

    def restart(self) -> None:
        """Stop, re-read the device list, and start again (recovery after a lost device).

        AudioError (e.g. "No microphone matching ... was found.") while it is still missing.
        """
        self.stop()
        rescan()
        self.start()

    def _close_stream(self, gen: int) -> None:
        with self._ctl:
            if gen != self._gen or self._stream is None:
                return
            stream, self._stream = self._stream, None
            try:
                stream.abort()
            finally:
                stream.close()
                untrack(stream)

    @property
    def running(self) -> bool:
        """True while frames are being captured."""
        return self._running

    def __enter__(self) -> "Microphone":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ reading
    def read(self, timeout: float | None = None) -> tuple[bytes, float] | None:
        """The next (pcm, t_capture) frame from the queue, or None on timeout or when stopped."""
        try:
            item = self._frames.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is _STOP:
            self._frames.put(_STOP)  # keep the end visible to other readers
            return None
        return item

    def frames(self, timeout: float | None = None) -> Iterator[tuple[bytes, float]]:
        """Iterate (pcm, t_capture) frames until stopped, lost, or ``timeout`` s with none."""
        while True:
            item = self.read(timeout)
            if item is None:
                return
            yield item

    def level(self) -> float:
        """RMS level of the last second in dBFS (-120.0 for silence or no data)."""
        if self._energy_n == 0 or self._energy_sum <= 0:
            return -120.0
        rms = math.sqrt(self._energy_sum / self._energy_n) / 32768.0
        return max(-120.0, 20.0 * math.log10(rms)) if rms > 0 else -120.0

    # ------------------------------------------------------------------ internals
    def _callback(self, indata, frames, time_info, status) -> None:
        now = time.monotonic()
        self._last_block = now  # the worker watches this to notice a stalled device
        if status.input_overflow:
            self.overflows += 1
        if self._raw.qsize() > self._frames.maxsize:  # the consumer is far behind: drop
            self.dropped += 1
            return
        lag = time_info.currentTime - time_info.inputBufferAdcTime
        if not 0.0 <= lag < 2.0:  # not reported: assume the block just filled
            lag = frames / (self.device_rate or RATE)
        self._raw.put((bytes(indata), now - lag))

    def _finished(self) -> None:
        # runs on PortAudio's thread: only signal; the worker reports (it may call stop())
        if not self._stopping and not pa.shutting_down:
            self._raw.put(_LOST)

    def _fail(self, err: AudioError) -> None:
        if self.error is not None:
            return
        self.error = err
        self._running = False
        log.warning("microphone: %s", err)
        if self.on_error is not None:
            try:
                self.on_error(err)
            except Exception:  # noqa: BLE001 - a listener's bug must not kill capture
                log.exception("microphone on_error callback failed")

    def _work(self, raw: queue.SimpleQueue, frames_q: queue.Queue, gen: int) -> None:
        rate, channels = self.device_rate or RATE, self._channels
        resampler = Resampler(rate, RATE) if rate != RATE else None
        pending = np.zeros(0, dtype=np.int16)
        pending_t = None  # capture time of pending[0]
        next_check = time.monotonic() + PRESENCE_SECONDS
        lost = False
        while True:
            try:
                item = raw.get(timeout=0.5)
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            now = time.monotonic()
            if item is _LOST or (not self._stopping and now - self._last_block > STALL_SECONDS):
                lost = True
                break
            if self._pulse_name and now >= next_check:
                next_check = now + PRESENCE_SECONDS
                # PulseAudio silently moves a stream whose source vanished; we report it instead
                if not self._stopping and self._pulse_name not in {d["name"] for d in pulse_devices("input")}:
                    lost = True
                    break
            if item is None:
                continue
            data, t_block = item
            x = np.frombuffer(data, dtype=np.int16)
            if channels > 1:
                x = x.reshape(-1, channels).mean(axis=1).astype(np.int16)
            if resampler is not None:
                t_block -= resampler.delay
                x = resampler.process(x)
            anchor = t_block - len(pending) / RATE
            if pending_t is None or abs(anchor - pending_t) > 0.05:  # keep a smooth clock
                pending_t = anchor
            pending = np.concatenate([pending, x]) if len(pending) else x
            while len(pending) >= self.frame_samples:
                frame, pending = pending[: self.frame_samples], pending[self.frame_samples:]
                self._deliver(frame, pending_t, frames_q)
                pending_t += self.frame_samples / RATE
        if lost:  # report first, so a reader that sees the frames end also sees the error
            self._close_stream(gen)
            self._fail(AudioError("The audio device was lost."))
        self._frames_end(frames_q)

    def _deliver(self, frame: np.ndarray, t: float, frames_q: queue.Queue) -> None:
        f = frame.astype(np.float64)
        self._energy.append((float(np.dot(f, f)), len(frame)))
        self._energy_sum += self._energy[-1][0]
        self._energy_n += len(frame)
        while self._energy_n - self._energy[0][1] >= RATE:
            e, n = self._energy.popleft()
            self._energy_sum -= e
            self._energy_n -= n
        pcm = frame.tobytes()
        if self.on_frame is not None:
            try:
                self.on_frame(pcm, t)
            except Exception:  # noqa: BLE001
                log.exception("microphone on_frame callback failed")
            return
        while True:
            try:
                frames_q.put_nowait((pcm, t))
                return
            except queue.Full:
                try:
                    frames_q.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    @staticmethod
    def _frames_end(frames_q: queue.Queue) -> None:
        while True:
            try:
                frames_q.put_nowait(_STOP)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    frames_q.get_nowait()
