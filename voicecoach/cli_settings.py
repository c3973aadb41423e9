"""Settings on the command line: the file's values under the flags, and `voicecoach settings`.

Each command takes the settings listed in USES. A flag wins for that run; else the settings
file (config.py); else the default (None: the system's device, the automatic engine, the
default voice; pace 1.0). The resolved values are left on the parsed arguments under the
flag's name (`args.input`, `args.engine`, `args.pace`...), so the commands read them as flags.
"""

from __future__ import annotations

import argparse
import json
import sys

from .config import ENGINES, KEYS, ConfigError, check_pace, config_path, load, pace_problem, save_pace

USES = {
    "run": ("input", "output", "engine", "voice", "pace"),
    "doctor": ("input", "output", "engine", "voice"),
    "say": ("output", "voice"),
    "last": ("output", "voice"),
    "hear": ("engine",),
    "demo": ("engine",),
    "simulate": ("pace",),
    "settings": KEYS,
}
"""The settings each command takes, by command name."""
DEFAULT_PACE = 1.0
"""The pace when neither a flag nor the file sets one."""


def add_engine_flag(p: argparse.ArgumentParser) -> None:
    """--engine, for the commands that recognize speech."""
    p.add_argument("--engine", choices=ENGINES, help="recognition engine for this run (default: the settings "
                   "file's, else automatic)")


def add_pace_flag(p: argparse.ArgumentParser) -> None:
    """--pace, for the commands that coach."""
    p.add_argument("--pace", type=float, metavar="X", help="rep tempo for this run: 1.0 normal, larger slower "
                   "(default: the settings file's, else 1.0)")


def add_commands(sub) -> None:
    """Add `settings` to the voicecoach argument parser."""
    p = sub.add_parser("settings", help="the settings in effect and the settings file's path",
                       description="Show the settings in effect: the flags given here, else the settings file, "
                                   "else the defaults.")
    p.add_argument("--input", help="microphone (name or index)")
    p.add_argument("--output", help="speaker (name or index)")
    add_engine_flag(p)
    p.add_argument("--voice", help="a piper voice (.onnx)")
    add_pace_flag(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_settings)


def pace_limits() -> tuple[float, float]:
    """The tempo limits of prompts/settings.yaml, which a pace must keep within."""
    from .content.lines import Settings
    from .content.programs import prompts_dir

    timing = Settings.load(prompts_dir() / "settings.yaml")
    return timing.tempo_min, timing.tempo_max


def apply(args: argparse.Namespace) -> None:
    """Fill in the settings this command takes: flag, else the settings file, else the default.

    Sets `args.settings_file` and `args.setting_sources` (key -> "flag", "file" or "default");
    unknown keys in the file are reported on stderr. ConfigError for a malformed file or pace."""
    keys = USES.get(getattr(args, "command", None), ())
    if not keys:
        return
    limits = pace_limits()
    path = config_path()
    saved = load(path, limits)
    for sentence in saved.ignored:
        print(f"voicecoach: {sentence}", file=sys.stderr)
    sources = {}
    for key in keys:
        if getattr(args, key, None) is not None:
            sources[key] = "flag"
        elif getattr(saved, key) is not None:
            setattr(args, key, getattr(saved, key))
            sources[key] = "file"
        else:
            setattr(args, key, DEFAULT_PACE if key == "pace" else None)
            sources[key] = "default"
    if sources.get("pace") == "flag" and check_pace(args.pace, limits) is None:
        raise ConfigError(f"--pace {pace_problem(limits)}.")
    args.settings_file, args.setting_sources = path, sources


def keep_pace(args: argparse.Namespace, tempo: float) -> None:
    """After a run: a pace changed by voice ("slower", "faster") is kept in the settings file."""
    if tempo != args.pace:
        save_pace(args.settings_file, tempo)


_SHOWN_DEFAULT = {"input": "the system's default microphone", "output": "the system's default speaker",
                  "engine": "automatic", "voice": "the default voice, en_US-joe-medium"}


_SOURCE = {"flag": "from the command line", "file": "from the settings file", "default": "default"}


def cmd_settings(args: argparse.Namespace) -> int:
    """Print the file's path and each setting in effect with where it comes from."""
    values = {key: getattr(args, key) for key in KEYS}
    values["voice"] = values["voice"] and str(values["voice"])
    if args.json:
        print(json.dumps({"file": str(args.settings_file), "exists": args.settings_file.exists(),
                          "settings": values, "from": args.setting_sources}, ensure_ascii=False))
        return 0
    state = "" if args.settings_file.exists() else " (not there yet: every setting has its default)"
    print(f"settings file: {args.settings_file}{state}")
    for key in KEYS:
        shown = f"({_SHOWN_DEFAULT[key]})" if values[key] is None else values[key]
        print(f"{key:<6} = {shown:<40} {_SOURCE[args.setting_sources[key]]}")
    return 0
