"""Time for the coach: a real clock for the voice app, a fake one for simulations and tests."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the coach reads the time."""

    def now(self) -> float:
        """Seconds on a monotonic scale, for timers."""

    def wall(self) -> datetime:
        """The local date and time (timezone-aware), for the history."""


class SystemClock:
    """The real time."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now().astimezone()


class FakeClock:
    """Time that only moves when told to: simulations run without waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now().astimezone()
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    def advance(self, seconds: float) -> None:
        """Move time forward (never back)."""
        self.t += max(0.0, seconds)

    def advance_to(self, t: float) -> None:
        """Move time forward to t, if t is later."""
        self.t = max(self.t, t)
