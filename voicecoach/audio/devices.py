"""Finding audio devices: PortAudio's device list and lookup by index, name or PulseAudio name.

How a device is chosen (``spec`` below is what the user or the CLI passes):

* ``None``: PortAudio's default device. With PulseAudio running, ALSA's ``default`` device is
  PulseAudio (libasound2-plugins), so this is PulseAudio's default sink or source.
* an ``int`` or a string of digits: a PortAudio device index (see :func:`list_devices`).
* ``"pulse:NAME"``: the PulseAudio sink or source called NAME, reached through PortAudio's ALSA
  ``pulse`` device. The stream is pointed at NAME with ``PULSE_SINK`` / ``PULSE_SOURCE`` set
  only while it is being opened (libpulse reads them when the stream's context is created), so
  the choice is per stream: it changes no global default, and PulseAudio's stream-restore
  does not override an explicitly requested device.
* any other string: a case-insensitive substring of a PortAudio device name; failing that, a
  PulseAudio sink or source name or description (so ``"voicecoach_mic"`` works as well as
  ``"pulse:voicecoach_mic"``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .backend import KIND_WORD as _KIND_WORD
from .backend import AudioError, Kind, backend, rescan
from .pulse import pulse_devices


@dataclass(frozen=True)
class Target:
    """Where a stream goes: a PortAudio device, plus a PulseAudio sink/source to ask for."""

    index: int | None
    """PortAudio device index; None means PortAudio's default device."""
    pulse_name: str | None = None
    """PulseAudio sink (output) or source (input) name set while opening, or None."""


def list_devices() -> list[dict]:
    """PortAudio's devices: name, index, inputs, outputs, default_samplerate (and hostapi)."""
    sd = backend()
    apis = sd.query_hostapis()
    out = []
    for d in sd.query_devices():
        out.append({
            "name": d["name"],
            "index": d["index"],
            "inputs": d["max_input_channels"],
            "outputs": d["max_output_channels"],
            "default_samplerate": d["default_samplerate"],
            "hostapi": apis[d["hostapi"]]["name"],
        })
    return out


def _channels_key(kind: Kind) -> str:
    return "inputs" if kind == "input" else "outputs"


def _pulse_index(devices: list[dict], kind: Kind) -> int | None:
    key = _channels_key(kind)
    for d in devices:
        if d["name"] == "pulse" and d[key] > 0:
            return d["index"]
    return None


def _match_pulse(query: str, kind: Kind) -> str | None:
    q = query.lower()
    found = pulse_devices(kind)
    exact = [d["name"] for d in found if d["name"].lower() == q]
    if exact:
        return exact[0]
    hits = [d["name"] for d in found if q in d["name"].lower() or q in d["description"].lower()]
    if len(hits) > 1:  # prefer a real source over a sink's monitor
        hits = [h for h in hits if not h.endswith(".monitor")] or hits
    if len(hits) > 1:
        raise AudioError(f"Several {_KIND_WORD[kind]}s match {query!r}: {', '.join(hits)}.")
    return hits[0] if hits else None


def resolve(spec: str | int | None, kind: Kind) -> Target:
    """Turn a device spec (see the module docstring) into a :class:`Target`; AudioError if none."""
    backend()
    word = _KIND_WORD[kind]
    if spec is None or spec == "":
        devices = list_devices()
        if not any(d[_channels_key(kind)] > 0 for d in devices) and rescan():
            devices = list_devices()
        if not any(d[_channels_key(kind)] > 0 for d in devices):
            raise AudioError(f"No {word} found.")
        return Target(None)
    for attempt in range(2):
        devices = list_devices()
        target = _resolve_in(spec, kind, devices)
        if target is not None:
            return target
        if attempt == 0 and not rescan():  # a device may have appeared since start-up
            break
    raise AudioError(f"No {word} matching {str(spec)!r} was found.")


def _resolve_in(spec: str | int, kind: Kind, devices: list[dict]) -> Target | None:
    key = _channels_key(kind)
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        idx = int(spec)
        ok = any(d["index"] == idx and d[key] > 0 for d in devices)
        return Target(idx) if ok else None
    text = spec.strip()
    if text.lower().startswith("pulse:"):
        name = text[6:]
        pidx = _pulse_index(devices, kind)
        if pidx is None or not any(d["name"] == name for d in pulse_devices(kind)):
            return None
        return Target(pidx, name)
    q = text.lower()
    usable = [d for d in devices if d[key] > 0]
    exact = [d for d in usable if d["name"].lower() == q]
    hits = exact or [d for d in usable if q in d["name"].lower()]
    if len(hits) > 1:
        names = ", ".join(f"{d['index']} {d['name']}" for d in hits)
        raise AudioError(f"Several {_KIND_WORD[kind]}s match {spec!r}: {names}.")
    if hits:
        return Target(hits[0]["index"])
    pidx = _pulse_index(devices, kind)
    if pidx is not None:
        name = _match_pulse(text, kind)
        if name is not None:
            return Target(pidx, name)
    return None


def find_device(spec: str | int | None, kind: Kind) -> int | None:
    """PortAudio index for ``spec`` (None = the default device); AudioError if not found."""
    return resolve(spec, kind).index


