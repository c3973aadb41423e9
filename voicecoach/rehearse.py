"""Rehearsal: every fixed line the coach can say, found by running quick simulated sessions.

The voice runtime synthesizes these ahead of need (into the TTS disk cache), so a count or a
cue never waits for synthesis. Running the real coach, rather than listing lines by hand,
keeps the list exact: cues with their sides filled in, counts, questions and answers.
"""

from __future__ import annotations

from pathlib import Path

from . import simulate as sim
from .app import Content
from .coach.clock import FakeClock
from .coach.coach import DEFAULT_PROGRAM, Coach
from .coach.record import summary_sentences
from .store.history import History

SIDES = ("left", "right", "both")
"""Every answer to the side question, since cues depend on it."""


MUMBLE = "mm"
"""An answer no context understands."""


def coach_lines(content: Content) -> list[str]:
    """Every line of every program, for each side, in the order a session would say them."""
    seen: dict[str, None] = {content.lines.get("idle_ready"): None}
    programs = sorted(content.library.programs, key=lambda name: name != DEFAULT_PROGRAM)
    for program in programs:  # a session's lines first, the default program's first: a first run needs them first
        start = _start_command(content, program)
        for side in SIDES:
            for line in _rehearse(content, start, side):
                seen[line] = None
    for key in ("help_idle", "help_session", "paused", "resumed", "stopping", "paused_silence", "microphone_lost",
                "microphone_back", "summary_none", "sorry_paused", "sorry_paused_exercise"):
        seen[content.lines.get(key)] = None
    for reason in content.lines.raw("end_reasons").values():  # the summary's last sentence ("You stopped ...")
        if reason:
            seen[reason] = None
    return list(seen)


def _start_command(content: Content, program: str) -> str:
    """A sentence that starts this program."""
    for sentence in content.phrases.sentences("idle"):
        answer = content.phrases.parse(sentence, "idle")
        if answer.kind == "start" and answer.value == program:
            return sentence
    raise ValueError(f"no start command for program {program!r} in phrases.yaml")


def _rehearse(content: Content, start: str, side: str) -> list[str]:
    clock = FakeClock()
    transcript = sim.Transcript(clock)
    # each question also heard once not understood: its "Sorry, I didn't catch that ..." is prepared too
    answers = [start, *(x for a in ["no", "no", "no", "back", side, "three", "yes"] for x in (MUMBLE, a))] \
        + ["same"] * 12 + ["three"]
    with History(Path(":memory:")) as history:
        coach = Coach(library=content.library, lines=content.lines, phrases=content.phrases,
                      settings=content.settings, history=history, clock=clock, port=transcript)
        sim.run(coach, clock, transcript, answers)
    # The summary's first sentence names the session's date and time: never said twice, not worth caching.
    dated = summary_sentences(coach.summary, content.lines, content.library)[0]
    return [x["text"] for x in transcript.lines if x["who"] == "coach" and dated not in x["text"]]
