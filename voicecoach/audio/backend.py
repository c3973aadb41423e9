"""The PortAudio backend: loaded lazily, its streams tracked, and its failures as AudioError.

Importing this module never touches PortAudio: ``sounddevice`` is imported on first use, and a
missing libportaudio2 becomes :class:`AudioError` then, never a traceback at import time.
PortAudio only enumerates devices when it starts, so :func:`rescan` restarts it (closing idle
streams first) when a device appears or returns.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
from typing import Iterator, Literal

Kind = Literal["input", "output"]
log = logging.getLogger(__name__)


class AudioError(Exception):
    """An audio problem the user can act on, said in one clear sentence."""


_sd_module = None
generation = 0
"""Bumped by every rescan: device indices cached before it may be stale."""
_lock = threading.RLock()
_open_streams: set = set()
KIND_WORD = {"input": "microphone", "output": "speaker"}
"""How a direction is called in messages."""


def backend():
    """The ``sounddevice`` module, imported on first use; AudioError if PortAudio is missing."""
    global _sd_module
    if _sd_module is None:
        try:
            import sounddevice  # noqa: PLC0415 - deliberately lazy
        except OSError as exc:
            raise AudioError("PortAudio is not installed (apt install libportaudio2).") from exc
        except ImportError as exc:
            raise AudioError("The sounddevice package is not installed (pip install sounddevice).") from exc
        _sd_module = sounddevice
        atexit.register(_at_exit)  # runs before sounddevice's own handler (LIFO)
        _quiet_alsa()
    return _sd_module


_alsa_handler = None


def _quiet_alsa() -> None:
    """Send ALSA's error prints (e.g. "underrun occurred" as a stream starts) to the log."""
    global _alsa_handler
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("asound")
        if not name or _alsa_handler is not None:
            return
        proto = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                 ctypes.c_char_p)

        def handler(file, line, func, err, fmt):  # noqa: ANN001 - C signature
            log.debug("ALSA %s:%s %s", (file or b"").decode(errors="replace"), line,
                      (fmt or b"").decode(errors="replace"))

        _alsa_handler = proto(handler)
        ctypes.CDLL(name).snd_lib_error_set_handler(_alsa_handler)
    except (OSError, AttributeError):
        pass


shutting_down = False
"""True once the interpreter exits: streams ending then are not lost devices."""


def _at_exit() -> None:
    global shutting_down
    shutting_down = True


def track(stream) -> None:
    """Remember an open PortAudio stream, so that :func:`rescan` never frees it under us."""
    with _lock:
        _open_streams.add(stream)


def untrack(stream) -> None:
    """Forget a stream that has been closed."""
    with _lock:
        _open_streams.discard(stream)


def rescan() -> bool:
    """Re-read the device list (PortAudio only enumerates at start-up).

    Needed after a device appears or returns (or PulseAudio starts after the first use).
    Closes idle streams first; returns False, doing nothing, while any stream is playing or
    recording. A no-op (True) if PortAudio was never loaded.
    """
    if _sd_module is None:
        return True
    sd = _sd_module
    with _lock:
        if any(getattr(s, "active", False) for s in _open_streams):
            return False
        for s in list(_open_streams):
            with contextlib.suppress(Exception):
                s.close()
        _open_streams.clear()
        try:
            sd._terminate()
        except sd.PortAudioError:
            pass
        try:
            sd._initialize()
        except sd.PortAudioError as exc:
            raise AudioError("The audio system could not be restarted.") from exc
        global generation
        generation += 1
    return True


@contextlib.contextmanager
def opening(target, kind: Kind) -> Iterator[None]:
    """Hold while opening a stream: points libpulse at the target's sink/source, serialised."""
    var = "PULSE_SOURCE" if kind == "input" else "PULSE_SINK"
    with _lock:
        if target.pulse_name is None:
            yield
            return
        old = os.environ.get(var)
        os.environ[var] = target.pulse_name
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = old


def describe(exc: BaseException, kind: Kind) -> AudioError:
    """A PortAudio failure to open a stream, as one sentence (the details go to the log)."""
    log.info("PortAudio: %s", exc)
    return AudioError(f"The {KIND_WORD[kind]} could not be opened.")


def pick_format(dev: int, kind: Kind, rates: tuple[int, ...], channels: tuple[int, ...] = (1,)) -> tuple[int, int]:
    """The first (rate, channels) the device accepts for int16, trying in the given order."""
    sd = backend()
    info = sd.query_devices(dev)
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    limit = info["max_input_channels" if kind == "input" else "max_output_channels"]
    for ch in channels:
        if ch > limit:
            break
        for rate in rates:
            try:
                check(device=dev, channels=ch, dtype="int16", samplerate=rate)
                return rate, ch
            except (sd.PortAudioError, ValueError):
                continue
    raise AudioError(f"The {KIND_WORD[kind]} {info['name']!r} cannot handle 16-bit audio.")
