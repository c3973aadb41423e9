"""Assembles a coach from the content in prompts/ and the history: shared by every front end."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from datetime import datetime

from .coach.clock import Clock
from .coach.coach import Coach, Port
from .content.lines import Lines, Settings
from .content.phrases import Phrases
from .content.programs import Library, load_library, prompts_dir
from .content.yaml_fields import ContentError
from .store.history import History


@dataclass
class Content:
    """Everything the coach knows that a therapist may edit, loaded and validated once."""

    library: Library
    """Exercises and programs."""
    lines: Lines
    """What the coach says."""
    phrases: Phrases
    """What the user may say."""
    settings: Settings
    """Timing."""

    def fast(self) -> "Content":
        """The same content with short holds and rests, for demos."""
        return dataclasses.replace(self, settings=self.settings.fast())

    @classmethod
    def load(cls) -> "Content":
        root = prompts_dir()
        try:
            phrases = Phrases.load(root / "phrases.yaml")
        except ValueError as exc:
            raise ContentError(str(exc), str(root / "phrases.yaml"), None, None, None) from None
        return cls(load_library(root), Lines.load(root), phrases, Settings.load(root / "settings.yaml"))


def start_time() -> datetime | None:
    """The simulated start time from VOICECOACH_NOW (ISO 8601), if set."""
    value = os.environ.get("VOICECOACH_NOW")
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ContentError(f"'{value}' is not an ISO date and time", "VOICECOACH_NOW", None, None, None) from None
    return when if when.tzinfo else when.astimezone()


def build_coach(content: Content, history: History, clock: Clock, port: Port, program: str | None = None) -> Coach:
    """A coach in its idle state, after closing any session a crash left open."""
    chosen = content.library.program(program) if program else None
    coach = Coach(library=content.library, lines=content.lines, phrases=content.phrases,
                  settings=content.settings, history=history, clock=clock, port=port, program=chosen)
    if history.recover_interrupted(clock.wall()):
        coach.say("interrupted_notice")
    return coach
