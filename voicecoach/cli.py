"""Command line: `voicecoach --version | simulate | last | history [--csv] | report | programs [check FILE]`.

Errors a user can cause (a bad program file, an unreadable history) print one sentence to
stderr and exit with status 2; they never print a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from importlib import metadata
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TextIO

from . import __version__, simulate as sim
from .memory import return_large_blocks
from .app import Content, build_coach, start_time
from .coach.clock import FakeClock
from .coach.record import summary_sentences
from .audio.devices import AudioError
from .content.answer import CONTEXTS, shown
from .content.programs import check_program_file
from .content.yaml_fields import ContentError
from .speech.tts import TTSError
from .cli_voice import add_commands as add_voice_commands
from .cli_settings import add_commands as add_settings_commands, add_pace_flag, apply as apply_settings, keep_pace
from .config import ConfigError
from .models import add_commands as add_models_commands
from .progress import rows as progress_rows, write_csv
from .store.history import History, HistoryError


REPORT_FILE = "voicecoach-report.html"
"""Where `voicecoach report` writes by default (in the current directory)."""


class OutputError(Exception):
    """An output file cannot be written."""


def main(argv: list[str] | None = None) -> int:
    return_large_blocks()  # before the recognizer and the voice load
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        apply_settings(args)  # the settings file under the flags
        return args.func(args)
    except (ContentError, HistoryError, AudioError, TTSError, OutputError, ConfigError) as exc:
        print(f"voicecoach: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader stopped early (`voicecoach programs | head`): no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicecoach", description="Hands-free voice coach for low back pain exercises.")
    parser.add_argument("--version", action="version", version=f"voicecoach {_version()}")
    sub = parser.add_subparsers(metavar="COMMAND", dest="command")
    add_models_commands(sub)
    add_voice_commands(sub)
    add_settings_commands(sub)
    p = sub.add_parser("simulate", help="run one session with typed answers (stdin, one per line) and a fake clock")
    p.add_argument("--program", help="program id or program file used for 'start session'")
    p.add_argument("--json", action="store_true", help="print one JSON object: summary and transcript")
    add_pace_flag(p)
    p.set_defaults(func=cmd_simulate)
    p = sub.add_parser("understand", help="what answers mean in a context (texts as arguments, or one per line on stdin)")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="what the patient said (default: one per line on stdin)")
    p.add_argument("--expect", required=True, choices=CONTEXTS, help="the context: what the coach asked")
    p.add_argument("--json", action="store_true", help="one JSON object per line: text, answer, kind, why")
    p.set_defaults(func=cmd_understand)
    p = sub.add_parser("last", help="the last session's summary")
    p.add_argument("--json", action="store_true", help="print the summary object")
    p.add_argument("--say", action="store_true", help="also speak it with the coach's voice")
    p.add_argument("--wav", type=Path, help="also write the spoken summary to this WAV file")
    p.add_argument("--output", help="speaker for --say (name or index)")
    p.set_defaults(func=cmd_last)
    p = sub.add_parser("history", help="one line per session")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print every summary as JSON")
    form.add_argument("--csv", action="store_true", help="every session and exercise as CSV, one row per exercise")
    p.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=cmd_history)
    p = sub.add_parser("report", help="a progress report with charts, as one self-contained HTML file")
    p.add_argument("--days", type=_positive, metavar="N", help="only the last N days (default: the whole history)")
    p.add_argument("--out", type=Path, default=Path(REPORT_FILE), metavar="FILE.html",
                   help=f"where to write it (default: {REPORT_FILE})")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("programs", help="list programs; 'programs check FILE' validates a program file")
    p.add_argument("action", nargs="?", choices=["check"], help="check a program file")
    p.add_argument("file", nargs="?", type=Path, help="the program file to check")
    p.set_defaults(func=cmd_programs)
    return parser


def _version() -> str:
    """The installed version (package metadata), else the source's own __version__."""
    try:
        return metadata.version("voicecoach")
    except metadata.PackageNotFoundError:
        return __version__


def cmd_simulate(args: argparse.Namespace) -> int:
    content = Content.load()
    clock = FakeClock(start_time())
    transcript = sim.Transcript(clock, echo=None if args.json else print)
    with History() as history:
        coach = build_coach(content, history, clock, transcript, args.program)
        coach.tempo = args.pace
        started = sim.run(coach, clock, transcript, sys.stdin)
    keep_pace(args, coach.tempo)
    if not started:
        print("voicecoach: the input ended before a session was started (say 'start session').", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"summary": coach.summary, "transcript": transcript.lines}, ensure_ascii=False))
    return 0


def cmd_understand(args: argparse.Namespace) -> int:
    content = Content.load()
    texts = args.texts if args.texts else (line.rstrip("\n") for line in sys.stdin)
    for text in texts:
        understood = content.phrases.understand(text, args.expect)
        answer = understood.answer
        if args.json:
            print(json.dumps({"text": text, "answer": shown(answer), "kind": answer.kind if answer else None,
                              "why": understood.why}, ensure_ascii=False), flush=True)
        else:
            print(f"{text} -> {'(ask again: ' + understood.why + ')' if answer is None else shown(answer)}", flush=True)
    return 0


def cmd_last(args: argparse.Namespace) -> int:
    content = Content.load()
    with History() as history:
        history.recover_interrupted(FakeClock(start_time()).wall())
        summary = history.last_summary()
    if summary is None:
        print(content.lines.get("no_last_session"), file=sys.stderr)
        return 1
    text = " ".join(_sentences(content, summary))
    print(json.dumps(summary, ensure_ascii=False) if args.json else text)
    if args.say or args.wav:
        from .cli_voice import speak

        speak(text, output=args.output, voice_file=args.voice, wav=args.wav)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with History() as history:
        summaries = history.summaries()
    with _output(args.out) as out:
        if args.csv:
            write_csv(progress_rows(summaries), out)
        elif args.json:
            print(json.dumps(summaries, ensure_ascii=False), file=out)
        else:
            for s in summaries:
                done = ", ".join(f"{e['id']} {e['response']}" for e in s["exercises"]) or "no exercise"
                before, after = (s.get("baseline") or {}).get("score"), s.get("pain_after")
                print(f"{s['started_at'][:16]}  {s['program']:<10} {s['end_reason']:<18} "
                      f"pain {_or_dash(before)}->{_or_dash(after)}  {done}", file=out)
    return 0


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    """stdout, or FILE written whole (a temporary file renamed into place, so never half written)."""
    if path is None:
        yield sys.stdout
        return
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    finally:
        tmp.unlink(missing_ok=True)


def cmd_report(args: argparse.Namespace) -> int:
    from . import report  # matplotlib loads only for this command

    content = Content.load()
    now = start_time() or datetime.now().astimezone()
    with History() as history:
        history.recover_interrupted(now)
        summaries = history.summaries()
    page = report.render(report.build(summaries, now, args.days, content), content, now)
    with _output(args.out) as out:
        out.write(page)
    print(args.out)
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of days, 1 or more")
    return int(text)


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
