"""VoiceCoach's audio layer: microphone frames in, spoken lines out, through PortAudio.

``Microphone`` gives 16 kHz mono int16 frames with their capture time; ``Speaker`` plays a line
without blocking and can be cut at once (barge-in); ``list_devices`` / ``find_device`` choose
devices (see :mod:`voicecoach.audio.devices` for the ``"pulse:NAME"`` form); ``VirtualAudio``
makes a virtual speaker and microphone on PulseAudio for tests and demos on a headless machine.

Importing this package never loads PortAudio: a missing libportaudio2 or PulseAudio shows up as
an :class:`AudioError` with one clear sentence when a device is first used.
"""

from .backend import AudioError, rescan
from .devices import find_device, list_devices
from .pulse import pulse_devices
from .mic import Microphone
from .speaker import Speaker
from .virtual import VirtualAudio

__all__ = [
    "AudioError", "Microphone", "Speaker", "VirtualAudio",
    "find_device", "list_devices", "pulse_devices", "rescan",
]
