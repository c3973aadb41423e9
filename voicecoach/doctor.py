"""`voicecoach doctor`: what the voice app finds on this machine, in plain lines."""

from __future__ import annotations

import argparse
import time


def doctor(args: argparse.Namespace) -> int:
    """Devices, recognition engine, models, voice, and a one-second microphone level; 1 if anything is missing."""
    from .app import Content
    from .audio import AudioError, Microphone, list_devices
    from .models import found_models
    from .speech.engines import load_recognizer
    from .speech.tts import TTSError, Voice

    problems = 0
    try:
        devices = list_devices()
        for d in devices:
            print(f"device {d['index']:>2}: {d['name']} (in {d['inputs']}, out {d['outputs']}, {d['default_samplerate']:.0f} Hz)")
        if not devices:
            print("no audio devices found")
            problems += 1
    except AudioError as exc:
        print(f"audio: {exc}")
        problems += 1
    for name, path, source in found_models():
        print(f"model: {name}: {path if path else 'missing'} ({source})")
    content = Content.load()
    recognizer = load_recognizer(content.phrases, args.engine, args.vosk_model)
    print(f"recognition engine: {recognizer.choice.engine} ({recognizer.choice.why})")
    try:
        started = time.monotonic()
        speech = Voice(args.voice).speech("Voice coach ready.")
        print(f"voice: loaded, {len(speech.pcm) / 2 / speech.sample_rate:.1f} s of speech in {time.monotonic() - started:.2f} s")
    except TTSError as exc:
        print(f"voice: {exc}")
        problems += 1
    try:
        mic = Microphone(args.input)
        mic.start()
        time.sleep(1.0)
        print(f"microphone: {mic.device_name}, level {mic.level():.1f} dBFS over the last second")
        mic.stop()
    except AudioError as exc:
        print(f"microphone: {exc}")
        problems += 1
    return 1 if problems else 0
