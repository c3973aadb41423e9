"""Voice commands of the command line: `run`, `say`, `hear`, `demo`, `doctor`."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from .content.answer import CONTEXTS
from .cli_settings import add_engine_flag, add_pace_flag, keep_pace

log = logging.getLogger("voicecoach")


def add_commands(sub) -> None:
    """Add the voice commands to the `voicecoach` argument parser."""
    p = sub.add_parser("run", help="coach with the microphone and speaker")
    _voice_options(p)
    p.add_argument("--program", help="program id or file used for 'start session'")
    p.add_argument("--fast", action="store_true", help="short holds and rests (for demos)")
    p.add_argument("--events", action="store_true", help="print one JSON event per line instead of the status line")
    add_pace_flag(p)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("say", help="speak a line (or write it with --wav)")
    p.add_argument("text")
    p.add_argument("--wav", type=Path, help="write the speech to this WAV file instead of playing it")
    p.add_argument("--voice", type=Path, help="a piper voice (.onnx) instead of the default")
    p.add_argument("--output", help="output device (name or index)")
    p.set_defaults(func=cmd_say)
    p = sub.add_parser("hear", help="recognize WAV files in a given context")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--expect", default="global", choices=CONTEXTS, help="context: what the coach asked")
    p.add_argument("--json", action="store_true")
    p.add_argument("--vosk-model", type=Path)
    add_engine_flag(p)
    p.set_defaults(func=cmd_hear)
    p = sub.add_parser("demo", help="a whole session on virtual audio devices with a simulated patient")
    p.add_argument("--fast", action="store_true", help="short holds and rests (about two minutes)")
    p.add_argument("--out", type=Path, default=Path("demo.wav"), help="where to write both sides of the conversation")
    add_engine_flag(p)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("doctor", help="devices, engine, models, voice, and a microphone level check")
    _voice_options(p)
    p.set_defaults(func=cmd_doctor)


def _voice_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", help="microphone (name or index)")
    p.add_argument("--output", help="speaker (name or index)")
    p.add_argument("--voice", type=Path, help="a piper voice (.onnx) instead of the default")
    p.add_argument("--vosk-model", type=Path, help="a Vosk model directory (else PocketSphinx)")
    add_engine_flag(p)


def cmd_run(args: argparse.Namespace) -> int:
    from .app import Content, build_coach
    from .audio import Microphone, Speaker
    from .coach.clock import SystemClock
    from .speech.engines import load_recognizer
    from .speech.tts import Voice
    from .store.history import History
    from .voice import VoicePort, VoiceRuntime

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if os.environ.get("VOICECOACH_LOG", "").lower() == "debug":  # each turn's timing, each decode (ours, not piper's)
        log.setLevel(logging.DEBUG)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    content = Content.load()
    if args.fast:
        content = content.fast()
    status = _event_printer() if args.events else _status_printer()
    voice = Voice(args.voice)
    recognizer = load_recognizer(content.phrases, args.engine, args.vosk_model)
    interrupted = threading.Event()
    preparing = threading.Thread(target=_prepare, args=(voice, content, interrupted))
    preparing.start()
    port = VoicePort()
    clock = SystemClock()
    signal.signal(signal.SIGINT, lambda *_: interrupted.set())
    signal.signal(signal.SIGTERM, lambda *_: interrupted.set())
    try:
        with History() as history:
            coach = build_coach(content, history, clock, port, args.program)
            coach.tempo = args.pace
            coach.say("idle_ready")
            runtime = VoiceRuntime(recognizer, voice, Microphone(args.input), Speaker(args.output), port, clock, status)
            runtime.run(coach, should_stop=interrupted.is_set)
            if not coach.ended and coach.may_trigger("quit"):
                coach.trigger("quit")
    finally:  # also on a device error: stop preparing lines, so the error is reported at once
        interrupted.set()
        preparing.join()
    status({"event": "ended", "summary": coach.summary} if args.events else "session saved" if coach.summary else "no session was started")
    keep_pace(args, coach.tempo)
    return 0


def _prepare(voice, content, stop: threading.Event) -> None:
    """Synthesize every fixed line into the cache ahead of need, until told to stop.

    Runs on its own thread, so listing the lines (simulated sessions) does not delay start-up. Recognition
    comes first: the thread runs at a lower priority (on a first run, piper on both cores made the answers
    wait), and it is held while the patient speaks and the answer is decoded (``Voice.hold``)."""
    from .rehearse import coach_lines

    with contextlib.suppress(OSError, AttributeError):  # Linux: this thread only (and the threads it starts)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    for line in coach_lines(content):
        if stop.is_set():
            return
        voice.prepare([line], stop)


def _status_printer():
    from .voice import describe

    def show(message) -> None:
        print(describe(message) if isinstance(message, dict) else message, flush=True)
    return show


def _event_printer():
    def show(message) -> None:
        event = message if isinstance(message, dict) else {"event": "status", "text": message}
        try:
            print(json.dumps(event, ensure_ascii=False), flush=True)
        except BrokenPipeError:  # whoever read the events has gone; the session is saved anyway
            pass
    return show


def cmd_say(args: argparse.Namespace) -> int:
    speak(args.text, output=args.output, voice_file=args.voice, wav=args.wav)
    return 0


def speak(text: str, output: str | None = None, voice_file: Path | None = None, wav: Path | None = None) -> None:
    """Say ``text`` with the coach's voice on the speaker, sentence by sentence (or write it to ``wav``)."""
    from .audio import Speaker
    from .speech.tts import Voice

    voice = Voice(voice_file)
    if wav:
        voice.write_wav(text, wav)
        return
    speaker = Speaker(output)
    for speech in voice.sentences(text):
        speaker.play(speech.pcm, speech.sample_rate)
        speaker.wait()


def cmd_hear(args: argparse.Namespace) -> int:
    from .speech.hear import hear_main

    return hear_main(args.files, args.expect, args.json, args.vosk_model, args.engine)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(fast=args.fast, out=args.out, extra_args=("--engine", args.engine) if args.engine else ())


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import doctor

    return doctor(args)
