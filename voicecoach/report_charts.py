"""The progress report's charts, drawn with matplotlib's Agg backend into PNG bytes.

Each function takes the report's rows (voicecoach/report.py) and returns one PNG; nothing is
shown on a screen and nothing is read from the network. Colours: pain before is orange,
after is blue; centralization is green, peripheralization and safety events are red.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import matplotlib

matplotlib.use("Agg")  # no display: draw straight into image buffers
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from .progress import LOCATIONS, SessionRow  # noqa: E402

WIDTH, HEIGHT, DPI = 9.0, 3.2, 100
"""Chart size in inches and resolution: 900 x 320 pixels, sharp enough to print."""
GREEN, RED, ORANGE, BLUE, GREY = "#2e7d32", "#c62828", "#ef6c00", "#1565c0", "#9e9e9e"


def _figure():
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT), dpi=DPI)
    ax.grid(True, axis="y", color="#e0e0e0")
    ax.set_axisbelow(True)
    return fig, ax


def _png(fig, ax, first: datetime, last: datetime) -> bytes:
    """Finish a time axis from `first` to `last` (labels at noon of each day) and return the PNG."""
    ax.set_xlim(first, last)
    every = max(1, (last - first).days // 14 + 1)  # at most about 14 labels
    ax.xaxis.set_major_locator(mdates.RRuleLocator(mdates.rrulewrapper(mdates.DAILY, interval=every, byhour=12)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b", tz=first.tzinfo))
    ax.xaxis.set_minor_locator(mdates.DayLocator(tz=first.tzinfo))  # a line between days
    ax.tick_params(axis="x", which="major", length=0, labelsize=8)
    ax.grid(True, axis="x", which="minor", color="#e0e0e0")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _safety_lines(ax, sessions: list[SessionRow]) -> None:
    for i, r in enumerate(s for s in sessions if s.safety_event):
        ax.axvline(r.started_at, color=RED, linestyle="--", linewidth=1,
                   label="red flag or safety stop" if i == 0 else None)


def pain_chart(sessions: list[SessionRow], first: datetime, last: datetime) -> bytes:
    """Pain 0-10 before and after each session, joined by a line per session."""
    fig, ax = _figure()
    rated = [r for r in sessions if r.pain_before is not None]
    for r in rated:
        if r.pain_after is not None:
            ax.plot([r.started_at] * 2, [r.pain_before, r.pain_after], color=GREY, linewidth=1)
    ax.scatter([r.started_at for r in rated], [r.pain_before for r in rated], color=ORANGE,
               label="before the session", zorder=3)
    after = [r for r in rated if r.pain_after is not None]
    ax.scatter([r.started_at for r in after], [r.pain_after for r in after], color=BLUE, marker="s",
               label="after the session", zorder=3)
    _safety_lines(ax, sessions)
    ax.set_ylim(-0.5, 10.5)
    ax.set_yticks(range(0, 11, 2))
    ax.set_ylabel("pain (0-10)")
    ax.legend(loc="upper right", fontsize=8)
    return _png(fig, ax, first, last)


def location_chart(sessions: list[SessionRow], first: datetime, last: datetime) -> bytes:
    """How far down the leg the pain reached at the start of each session; sessions in which
    an exercise centralized the pain get a green up-triangle, peripheralized a red down-triangle."""
    fig, ax = _figure()
    rank = {name: i for i, name in enumerate(LOCATIONS)}
    placed = [r for r in sessions if r.location in rank]
    ax.plot([r.started_at for r in placed], [rank[r.location] for r in placed], color=GREY,
            marker="o", markersize=4, linewidth=1, label="pain reached")
    for response, marker, colour, label, dy in (("centralized", "^", GREEN, "centralized", -0.25),
                                                 ("peripheralized", "v", RED, "peripheralized", 0.25)):
        marked = [r for r in placed if response in r.responses()]
        ax.scatter([r.started_at for r in marked], [rank[r.location] + dy for r in marked],
                   marker=marker, color=colour, s=60, label=label, zorder=3)
    ax.set_yticks(range(len(LOCATIONS)), LOCATIONS)
    ax.set_ylim(len(LOCATIONS) - 0.5, -0.5)  # back at the top, foot at the bottom
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig, ax, first, last)


def rhythm_chart(days: list, first: datetime, last: datetime) -> bytes:
    """Sessions done each day (bars) against the recommended range (shaded), seed 002."""
    fig, ax = _figure()
    noon = [datetime.combine(d.day, datetime.min.time(), first.tzinfo) + timedelta(hours=12) for d in days]
    ax.bar(noon, [d.done for d in days], width=0.6, color=BLUE, label="sessions done")
    for i, (x, d) in enumerate(zip(noon, days)):
        ax.fill_between([x - timedelta(hours=12), x + timedelta(hours=12)], d.low - 0.1, d.high + 0.1,
                        color=GREEN, alpha=0.25, linewidth=0, label="recommended" if i == 0 else None)
    ax.set_ylim(0, max([5] + [d.done + 1 for d in days]))
    ax.set_ylabel("sessions")
    ax.legend(loc="upper right", fontsize=8)
    return _png(fig, ax, first, last)


def working_chart(sessions: list[SessionRow], order: list[str], names: dict[str, str],
                  first: datetime, last: datetime) -> bytes:
    """The working exercise found in each session, on the progression's steps (first at the top)."""
    fig, ax = _figure()
    found = [r for r in sessions if r.working_exercise]
    rows = order + [w for w in dict.fromkeys(r.working_exercise for r in found) if w not in order]
    rank = {exercise: i for i, exercise in enumerate(rows)}
    ax.plot([r.started_at for r in found], [rank[r.working_exercise] for r in found], color=GREEN,
            marker="o", drawstyle="steps-post", label="working exercise")
    ax.set_yticks(range(len(rows)), [names.get(x, x) for x in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig, ax, first, last)
