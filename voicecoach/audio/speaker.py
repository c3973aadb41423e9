"""The speaker: non-blocking playback of one spoken line at a time, stoppable at once.

Each line gets its own PortAudio output stream (opening one through ALSA/PulseAudio takes a few
milliseconds), fed from memory by the callback. :meth:`Speaker.stop` aborts the stream, which
drops whatever is buffered in PortAudio, ALSA and PulseAudio, so a barge-in silences the output
within milliseconds. Timestamps for echo safety and latency measurement are ``time.monotonic()``.

Buffering, measured through ALSA's pulse plugin: a 100 ms buffer plays cleanly on a loaded
machine and still starts sounding ~25 ms after play(), because PulseAudio starts as soon as
data arrives. "low" (~9 ms) stutters under CPU load, and 30-45 ms ("high" is 35 ms) loses data.
A stream's first ~period and its last ~1.25 buffers can be lost as it starts and drains, so
each line gets a little silence before it and two buffers of silence after it; :meth:`wait`
returns once the audible part has played, without waiting for that silent tail.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from . import backend as pa
from .backend import AudioError, describe, opening, pick_format, track, untrack
from .devices import resolve
from .resample import resample

LATENCY = 0.1
"""Output buffer in seconds (see the module docstring for why not "low")."""
PAD_MS = 20
"""Silence before each line, so that the start of its first sound is never lost."""
SILENCE = 64
"""Samples at or below this magnitude (about -54 dBFS) do not count as audible."""

log = logging.getLogger(__name__)


class Speaker:
    """Plays int16 mono PCM on an output device, one line at a time."""

    def __init__(self, device: str | int | None = None, latency: str | float = LATENCY,
                 pad_ms: int = PAD_MS) -> None:
        self.device = device
        self.latency = latency
        self.pad_ms = pad_ms
        self.error: AudioError | None = None  # set when the device was lost mid-line
        self.first_sample_time = 0.0  # monotonic: first sample of the current line handed over
        self.last_sample_time = 0.0  # monotonic: last audible sample handed to the device
        self.first_sound_time = 0.0  # monotonic: when that first sample sounds (PortAudio's DAC estimate)
        self.last_sound_time = 0.0  # monotonic: when the last audible sample sounds (echo tails start here)
        self.output_latency = 0.0  # seconds PortAudio reports from hand-over to the speaker
        self.device_rate: int | None = None
        self.device_name: str | None = None
        self._lock = threading.RLock()
        self._target = None
        self._rates: dict = {}
        self._gen = -1
        self._stream = None
        self._done = threading.Event()  # the audible part has played, or was stopped / lost
        self._done.set()
        self._stopped = False
        self._pcm = np.zeros(0, dtype=np.int16)
        self._pos = 0
        self._lead = 0
        self._last_audible = -1
        self._done_at = 0  # sample index whose hand-over means the audible part has played

    def play(self, pcm: bytes, sample_rate: int) -> None:
        """Start playing int16 mono ``pcm`` and return at once (cuts any line still playing)."""
        sd = pa.backend()
        self.stop()
        if self._target is None or self._gen != pa.generation:  # resolving may ask pactl
            self._target, self._rates, self._gen = resolve(self.device, "output"), {}, pa.generation
        target = self._target
        dev = target.index if target.index is not None else sd.default.device[1]
        key = (dev, sample_rate)
        if key not in self._rates:  # checking a format opens the device: once per rate
            default = int(sd.query_devices(dev)["default_samplerate"])
            self._rates[key] = pick_format(dev, "output", (sample_rate, default, 48000, 44100))[0]
        rate = self._rates[key]
        x = np.frombuffer(pcm, dtype=np.int16)
        if rate != sample_rate:
            x = resample(x, sample_rate, rate)
        with self._lock:
            self._pos, self._stopped, self.error = 0, False, None
            self.first_sample_time = self.first_sound_time = 0.0
            self._done.clear()
            try:
                with opening(target, "output"):
                    stream = sd.RawOutputStream(samplerate=rate, channels=1, dtype="int16", device=dev,
                                                latency=self.latency, callback=self._callback,
                                                finished_callback=self._finished)
                track(stream)
            except sd.PortAudioError as exc:
                self._done.set()
                self._target, self._rates = None, {}
                raise describe(exc, "output") from exc
            self._stream, self.device_rate = stream, rate
            self.output_latency = float(stream.latency)
            self.device_name = sd.query_devices(dev)["name"] + (
                f" ({target.pulse_name})" if target.pulse_name else "")
            lead = int(rate * self.pad_ms / 1000)
            tail = int(rate * (self.pad_ms / 1000 + 2 * self.output_latency))
            self._lead = lead
            self._pcm = np.concatenate([np.zeros(lead, np.int16), x, np.zeros(tail, np.int16)])
            loud = np.nonzero(np.abs(self._pcm.astype(np.int32)) > SILENCE)[0]
            last_audible = int(loud[-1]) if len(loud) else -1
            self._last_audible = last_audible
            self._done_at = last_audible + 1 + int(rate * self.output_latency) if len(loud) else 0
            try:
                stream.start()
            except sd.PortAudioError as exc:
                self._done.set()
                self._close()
                self._target, self._rates = None, {}
                raise describe(exc, "output") from exc

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the line has been heard or was stopped; False if ``timeout`` ran out."""
        done = self._done.wait(timeout)
        if done:
            with self._lock:
                if self._stream is not None and not self._stream.active:
                    self._close()
        return done

    def stop(self) -> float:
        """Cut playback at once (barge-in); returns the monotonic time the output went silent."""
        with self._lock:
            stream = self._stream
            if stream is not None:
                self._stopped = True
                try:
                    stream.abort()
                except Exception:  # noqa: BLE001 - a lost device is already silent
                    log.debug("abort failed", exc_info=True)
                silent_at = time.monotonic()
                self._close()
                self.last_sample_time = min(self.last_sample_time, silent_at)
                self.last_sound_time = min(self.last_sound_time, silent_at)
            else:
                silent_at = time.monotonic()
            self._done.set()
            return silent_at

    @property
    def playing(self) -> bool:
        """True from play() until the line has been heard or was stopped."""
        return not self._done.is_set()

    def close(self) -> None:
        """Stop and release the device."""
        self.stop()

    # ------------------------------------------------------------------ internals
    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            finally:
                untrack(stream)

    def _callback(self, outdata, frames, time_info, status) -> None:
        now = time.monotonic()
        pos, x = self._pos, self._pcm
        n = max(0, min(frames, len(x) - pos))
        outdata[: 2 * n] = x[pos:pos + n].tobytes()
        if n < frames:
            outdata[2 * n:] = b"\x00" * (len(outdata) - 2 * n)
        rate = self.device_rate or 16000
        delay = time_info.outputBufferDacTime - time_info.currentTime
        if not 0.0 <= delay < 2.0:  # not reported: assume a full buffer
            delay = self.output_latency
        if pos <= self._lead < pos + n:
            self.first_sample_time = now + (self._lead - pos) / rate
            self.first_sound_time = self.first_sample_time + delay
        if n and pos <= self._last_audible:  # this block still holds audible sound
            self.last_sample_time = now + (min(self._last_audible, pos + n - 1) - pos) / rate
            self.last_sound_time = self.last_sample_time + delay
        self._pos = pos + n
        if self._pos >= self._done_at:
            self._done.set()  # heard: the rest is the silent tail that protects it from the drain
        if self._pos >= len(x):
            raise pa.backend().CallbackStop  # plays out what is buffered, then _finished

    def _finished(self) -> None:
        # PortAudio's thread: the line has played out, was stopped, or the device failed
        # a device lost during the silent tail cost nothing audible: not worth reporting
        if not self._stopped and self._pos < self._done_at and not pa.shutting_down:
            self.error = AudioError("The audio device was lost.")
            log.warning("speaker: %s", self.error)
        self._done.set()
