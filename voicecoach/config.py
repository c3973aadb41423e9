"""The user's settings file: one TOML file, read and checked, and the pace written back.

It lives in the platform's config directory (`~/.config/voicecoach/settings.toml` on Linux),
or wherever `VOICECOACH_CONFIG` points. Every key is optional and at the top level:

    input = "USB"       # microphone: a device name (or part of it) or index
    output = 3          # speaker: the same
    engine = "vosk"     # recognition engine: whisper, pocketsphinx or vosk (absent: automatic)
    voice = "~/voices/en_US-amy-medium.onnx"   # a piper voice (relative: to this file's folder)
    pace = 1.25         # rep tempo: 1.0 normal, larger slower ("slower" multiplies it by 1.25)

A malformed file is a ConfigError naming the file, the line and the key, and the file is left
as it is. Nothing writes it but `save_pace`, which edits that one line (or adds it) and
replaces the file atomically, so comments, other keys and unknown keys stay as they were.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from .speech.engines import ENGINES
KEYS = ("input", "output", "engine", "voice", "pace")
"""Every key the file may hold, in the order they are shown."""
NEW_FILE_HEADER = "# VoiceCoach settings: every key is described in the README's Install section.\n"
"""The first line of a settings file that save_pace creates."""


class ConfigError(Exception):
    """The settings file cannot be read, is malformed, or cannot be written; str() is one sentence."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.path, self.line, self.key = path, line, key
        where = ", ".join(w for w in (path and str(path), line and f"line {line}", key and f"key '{key}'") if w)
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class UserSettings:
    """What the settings file says; None where it says nothing."""

    input: str | None = None
    """Microphone: a device name (or part of it) or index; None: the system default."""
    output: str | None = None
    """Speaker: a device name (or part of it) or index; None: the system default."""
    engine: str | None = None
    """Recognition engine, one of ENGINES; None: chosen automatically."""
    voice: Path | None = None
    """A piper voice file (.onnx, its .onnx.json beside it); None: the default voice."""
    pace: float | None = None
    """Rep tempo factor: 1.0 normal, larger slower; None: 1.0."""
    ignored: tuple[str, ...] = field(default=())
    """One sentence per unknown key: kept in the file, otherwise ignored."""


def config_path() -> Path:
    """$VOICECOACH_CONFIG if set, else settings.toml in the platform's user config directory."""
    env = os.environ.get("VOICECOACH_CONFIG", "").strip()
    return Path(env).expanduser() if env else Path(platformdirs.user_config_dir("voicecoach")) / "settings.toml"


def load(path: Path, pace_limits: tuple[float, float]) -> UserSettings:
    """The settings in `path` (all None when there is no such file); ConfigError if it is malformed."""
    text = _read(path)
    if text is None:
        return UserSettings()
    values: dict[str, object] = {}
    ignored = []
    for key, value in _parse(path, text).items():
        if key not in KEYS:
            line = _key_line(text, key)
            ignored.append(f"{path}, {f'line {line}, ' if line else ''}key '{key}': unknown, so ignored "
                           f"(the keys are {', '.join(KEYS)}).")
            continue
        values[key] = _check(key, value, path, pace_limits)
        if values[key] is None:
            raise ConfigError(f"{_PROBLEM[key](pace_limits)}.", path, _key_line(text, key), key)
    return UserSettings(**values, ignored=tuple(ignored))


def check_pace(value: object, pace_limits: tuple[float, float]) -> float | None:
    """The pace as a float, or None if it is not a number within the limits."""
    low, high = pace_limits
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value) if low <= value <= high else None


def pace_problem(pace_limits: tuple[float, float]) -> str:
    """What is wrong with a pace out of range, as the end of a sentence."""
    low, high = (float(x) for x in pace_limits)
    return f"must be a number from {low!r} to {high!r} (1.0 is normal, larger is slower)"


_PROBLEM = {
    "input": lambda _: "must be a microphone's name (in quotes) or index (a whole number)",
    "output": lambda _: "must be a speaker's name (in quotes) or index (a whole number)",
    "engine": lambda _: f"must be one of: {', '.join(ENGINES)} (or leave it out to choose automatically)",
    "voice": lambda _: "must be the path of a piper voice file (.onnx), in quotes",
    "pace": pace_problem,
}


def _check(key: str, value: object, path: Path, pace_limits: tuple[float, float]) -> object:
    """The value of a known key as the program uses it, or None when it is not acceptable."""
    if key in ("input", "output"):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return str(value)
        return value.strip() if isinstance(value, str) and value.strip() else None
    if key == "engine":
        return value if value in ENGINES else None
    if key == "voice":
        if not isinstance(value, str) or not value.strip():
            return None
        return path.parent / Path(value.strip()).expanduser()  # an absolute path stays as it is
    return check_pace(value, pace_limits)


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")  # line ends as they are (read_text would turn \r\n into \n)
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ConfigError("is not UTF-8 text.", path) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read ({exc.strerror or exc}).", path) from None


_AT = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)\s*$")
_KEY_AT_START = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*[=.]""")


def _parse(path: Path, text: str) -> dict:
    """The TOML document; a syntax error names its line and, when that line sets one, the key."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _AT.search(message)
        lines = text.splitlines()
        line = (int(at.group(1)) if at.group(1) else len(lines)) if at else None
        key = None
        if line and line <= len(lines) and (m := _KEY_AT_START.match(lines[line - 1])):
            key = m.group(1).strip("\"'")
        reason = _AT.sub("", message).strip()
        reason = reason[:1].lower() + reason[1:]
        bare_word = line and line <= len(lines) and re.search(r"=\s*[A-Za-z]", lines[line - 1])
        hint = '; text needs quotes, e.g. engine = "vosk"' if bare_word else ""
        raise ConfigError(f"is not valid TOML ({reason}){hint}.", path, line, key) from None


def _key_pattern(key: str) -> re.Pattern:
    """A line that sets `key` at the top level (bare or quoted, maybe dotted)."""
    return re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*[=.]""")


def _top_level_lines(text: str) -> list[str]:
    """The lines before the first table header."""
    lines = text.splitlines()
    first_table = next((i for i, s in enumerate(lines) if s.lstrip().startswith("[")), len(lines))
    return lines[:first_table]


def _key_line(text: str, key: str) -> int | None:
    """The 1-based line where `key` is set at the top level (else where a table of that name starts)."""
    pattern = _key_pattern(key)
    for i, line in enumerate(_top_level_lines(text), 1):
        if pattern.match(line):
            return i
    header = re.compile(rf"""^\s*\[+\s*(?:{re.escape(key)}|"{re.escape(key)}")\s*[\].]""")
    return next((i for i, line in enumerate(text.splitlines(), 1) if header.match(line)), None)


def save_pace(path: Path, pace: float) -> None:
    """Keep `pace` in the settings file for next time, changing nothing else in it.

    The `pace = ...` line is rewritten in place (its comment kept), or added before the first
    table (a new file starts with NEW_FILE_HEADER); the new text must parse to the same
    document with only the pace changed before it atomically replaces the file."""
    text = _read(path)
    before = _parse(path, text or "")
    value = repr(round(float(pace), 4))
    lines = (text or NEW_FILE_HEADER).splitlines(keepends=True)
    top = len(_top_level_lines(text or NEW_FILE_HEADER))
    pattern = _key_pattern("pace")
    at = next((i for i in range(top) if pattern.match(lines[i])), None)
    if at is not None:
        old = lines[at]
        body, newline = old.rstrip("\r\n"), old[len(old.rstrip("\r\n")):]
        m = re.match(r"^(\s*\S+?\s*=\s*)([^#]*?)(\s*#.*)?$", body)
        lines[at] = f"{m.group(1)}{value}{m.group(3) or ''}{newline}" if m else f"pace = {value}{newline}"
    else:
        newline = "\r\n" if lines[0].endswith("\r\n") else "\n"
        if top and not lines[top - 1].endswith("\n"):
            lines[top - 1] += newline
        lines.insert(top, f"pace = {value}{newline}")
    new = "".join(lines)
    if _loads_or_none(new) != {**before, "pace": float(value)}:
        raise ConfigError("the pace could not be written without changing other settings, so the file "
                          "was left as it is.", path, _key_line(text or "", "pace"), "pace")
    _write_atomically(path, new)


def _loads_or_none(text: str) -> dict | None:
    """The TOML document, or None when the text is not valid TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def _write_atomically(path: Path, text: str) -> None:
    """Write a temporary file beside `path`, then rename it over `path` (keeping its permissions)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o644)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        raise ConfigError(f"cannot be written ({exc.strerror or exc}); the pace was not saved.", path) from None
