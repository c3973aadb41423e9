"""Reading the prompt files' YAML with line numbers, and checking each field's value: every problem is a
ContentError that names the file, line, exercise and field, so a physical therapist can fix it."""

from __future__ import annotations

import math
import string
from pathlib import Path
from typing import Any, Callable, NamedTuple

import yaml


class ContentError(Exception):
    """A program or exercise file is malformed; str() is one clear sentence naming file, line, exercise and field."""

    def __init__(self, message: str, file: str | Path = "", line: int | None = None,
                 exercise: str | None = None, field: str | None = None):
        self.file, self.line, self.exercise, self.field = str(file), line, exercise, field
        self.message = message
        where = [self.file, line and f"line {line}", exercise and f"exercise '{exercise}'",
                 field and f"field '{field}'"]
        where = ", ".join(w for w in where if w)
        super().__init__(f"{where}: {message}" if where else message)


def read_yaml(path: Path) -> Any:
    """A YAML file's data (with libyaml's fast loader when PyYAML has it), or a ContentError naming the
    file and, for a syntax error, the line."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as exc:  # e.g. prompts not installed: one sentence, not a traceback
        raise ContentError(f"cannot read the file ({exc.strerror or exc})", path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ContentError("is not valid YAML", path, mark.line + 1 if mark else None) from None


# --- reading YAML with line numbers ------------------------------------------------------------

class LineMap(dict):
    """A YAML mapping that remembers its line and the line of each value."""

    line: int | None = None
    lines: dict[Any, int] = {}


class LineList(list):
    """A YAML sequence that remembers the line of each item."""

    lines: list[int] = []


class _Loader(yaml.SafeLoader):
    """SafeLoader that builds LineMap and LineList, and rejects duplicate keys."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LineMap:
    out = LineMap(loader.construct_mapping(node, deep=True))
    out.line, out.lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in out.lines:
            raise yaml.constructor.ConstructorError(
                None, None, f"'{key}' appears twice in the same block", key_node.start_mark)
        out.lines[key] = value_node.start_mark.line + 1
    return out


def _construct_list(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_sequence(node, deep=True))
    out.lines = [item.start_mark.line + 1 for item in node.value]
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_list)


def read_lines(path: Path, first_key: str) -> LineMap:
    """Parse a YAML file whose top level is a mapping that starts with first_key, keeping lines."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError) as error:
        raise ContentError(f"cannot be read ({getattr(error, 'strerror', None) or error})", path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        raise ContentError(f"is not valid YAML: {problem}" + (f" ({context})" if context else ""),
                           path, mark and mark.line + 1)
    if not isinstance(data, LineMap):
        raise ContentError(f"should be a YAML mapping that starts with '{first_key}:'", path, 1)
    return data


# --- checking values ---------------------------------------------------------------------------

Kind = Callable[[Any], "str | None"]  # says what is wrong with a value, or None if it fits


def kind(fits: Callable[[Any], Any], says: str) -> Kind:
    """A Kind: ``says`` for a value that does not ``fit``."""
    return lambda v: None if fits(v) else says


def number(v: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def placeholders(text: str) -> set[str]:
    """The {names} in a text (ValueError for a stray brace)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def one_of(*options: str) -> Kind:
    """One of these words."""
    return kind(lambda v: isinstance(v, str) and v in options, f"must be one of: {', '.join(options)}")


some_text = kind(lambda v: isinstance(v, str) and v.strip(), "must be some text")
whole_number = kind(lambda v: number(v) and isinstance(v, int) and v >= 1, "must be a whole number, 1 or more")
seconds = kind(lambda v: number(v) and v >= 0, "must be a number of seconds, 0 or more")
true_or_false = kind(lambda v: isinstance(v, bool), "must be true or false")
block = kind(lambda v: isinstance(v, dict), "must be a block of 'field: value' lines")


class ListOf(NamedTuple):
    """A list whose every item must fit `item`; `nonempty` if it needs at least one."""

    item: Kind
    """What each item must be."""
    nonempty: bool
    """Whether the list needs at least one item."""


class Checker:
    """Collects every ContentError found in one file."""

    def __init__(self, file: Path):
        self.file = str(file)
        self.errors: list[ContentError] = []

    def error(self, line: int | None, exercise: str | None, field: str | None, message: str) -> None:
        self.errors.append(ContentError(message, self.file, line, exercise, field))

    def in_order(self) -> list[ContentError]:
        """The errors from the top of the file down, as a therapist reads it."""
        return sorted(self.errors, key=lambda e: e.line or 0)

    def value(self, v: Any, kind: Kind | ListOf, line: int | None, exercise: str | None,
              field: str, label: str = "") -> bool:
        """Check one value; report and return False if it does not fit."""
        if isinstance(kind, ListOf):
            if not isinstance(v, list) or (kind.nonempty and not v):
                says = "must be a list of at least one item" if kind.nonempty else "must be a list"
                self.error(line, exercise, field, says)
                return False
            return all([self.value(item, kind.item, item_line, exercise, field, f"item {i} ")
                        for i, (item, item_line) in enumerate(zip(v, v.lines), 1)])
        problem = kind(v)
        if problem:
            self.error(line, exercise, field, label + problem)
        return not problem

    def fields(self, m: LineMap, spec: dict, exercise: str | None, prefix: str = "",
               optional: tuple | dict = ()) -> dict[str, Any]:
        """Check a mapping against spec {field: kind}; return the fields present that fit."""
        for key in m:
            if key not in spec:
                self.error(m.lines[key], exercise, f"{prefix}{key}",
                           f"is not a known field; expected one of: {', '.join(spec)}")
        out = {}
        for key, kind in spec.items():
            if key not in m:
                if key not in optional:
                    self.error(m.line, exercise, prefix + key, "is missing")
            elif self.value(m[key], kind, m.lines[key], exercise, prefix + key):
                out[key] = m[key]
        return out
