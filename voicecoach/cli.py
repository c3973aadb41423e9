"""Command line: `voicecoach simulate | last | history | programs [check FILE]`.

Errors a user can cause (a bad program file, an unreadable history) print one sentence to
stderr and exit with status 2; they never print a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import simulate as sim
from .app import Content, build_coach, start_time
from .coach.clock import FakeClock
from .coach.record import summary_sentences
from .audio.devices import AudioError
from .content.programs import ContentError, check_program_file
from .speech.tts import TTSError
from .cli_voice import add_commands as add_voice_commands
from .models import add_commands as add_models_commands
from .store.history import History, HistoryError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (ContentError, HistoryError, AudioError, TTSError) as exc:
        print(f"voicecoach: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicecoach", description="Hands-free voice coach for low back pain exercises.")
    sub = parser.add_subparsers(metavar="COMMAND")
    add_models_commands(sub)
    add_voice_commands(sub)
    p = sub.add_parser("simulate", help="run one session with typed answers (stdin, one per line) and a fake clock")
    p.add_argument("--program", help="program id or program file used for 'start session'")
    p.add_argument("--json", action="store_true", help="print one JSON object: summary and transcript")
    p.set_defaults(func=cmd_simulate)
    p = sub.add_parser("last", help="the last session's summary")
    p.add_argument("--json", action="store_true", help="print the summary object")
    p.set_defaults(func=cmd_last)
    p = sub.add_parser("history", help="one line per session")
    p.add_argument("--json", action="store_true", help="print every summary as JSON")
    p.set_defaults(func=cmd_history)
    p = sub.add_parser("programs", help="list programs; 'programs check FILE' validates a program file")
    p.add_argument("action", nargs="?", choices=["check"], help="check a program file")
    p.add_argument("file", nargs="?", type=Path, help="the program file to check")
    p.set_defaults(func=cmd_programs)
    return parser


def cmd_simulate(args: argparse.Namespace) -> int:
    content = Content.load()
    clock = FakeClock(start_time())
    transcript = sim.Transcript(clock, echo=None if args.json else print)
    with History() as history:
        coach = build_coach(content, history, clock, transcript, args.program)
        started = sim.run(coach, clock, transcript, sys.stdin)
    if not started:
        print("voicecoach: the input ended before a session was started (say 'start session').", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"summary": coach.summary, "transcript": transcript.lines}, ensure_ascii=False))
    return 0


def cmd_last(args: argparse.Namespace) -> int:
    content = Content.load()
    with History() as history:
        history.recover_interrupted(FakeClock(start_time()).wall())
        summary = history.last_summary()
    if summary is None:
        print(content.lines.get("no_last_session"), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(" ".join(_sentences(content, summary)))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with History() as history:
        summaries = history.summaries()
    if args.json:
        print(json.dumps(summaries, ensure_ascii=False))
        return 0
    for s in summaries:
        done = ", ".join(f"{e['id']} {e['response']}" for e in s["exercises"]) or "no exercise"
        b = s.get("baseline") or {}
        print(f"{s['started_at'][:16]}  {s['program']:<10} {s['end_reason']:<18} "
              f"pain {b.get('score', '-')}->{s.get('pain_after', '-')}  {done}")
    return 0


def cmd_programs(args: argparse.Namespace) -> int:
    content = Content.load()
    if args.action == "check":
        if args.file is None:
            print("voicecoach: name the program file to check: voicecoach programs check FILE", file=sys.stderr)
            return 2
        errors = check_program_file(args.file, content.library.exercises)
        for error in errors:
            print(error, file=sys.stderr)
        if not errors:
            print(f"{args.file}: OK")
        return 1 if errors else 0
    for program in content.library.programs.values():
        print(f"{program.id:<10} {program.name} (seeds {', '.join(program.seeds)})")
        for step in program.steps:
            part = f" [{step.part}]" if step.part else ""
            print(f"    {step.exercise.id}{part}")
    return 0


def _sentences(content: Content, summary: dict) -> list[str]:
    return summary_sentences(summary, content.lines, content.library)


if __name__ == "__main__":
    sys.exit(main())
