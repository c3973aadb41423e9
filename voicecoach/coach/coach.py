"""The coach: runs one session at a time, driven by what it hears and by its timers.

The same Coach is driven by text (`voicecoach simulate`) and, later, by the microphone: a
runtime calls `hear(text)` for each utterance and `fire_timer()` when `timer_due` passes,
and receives everything the coach says through its Port. States and triggers are declared
in machine.py; the clinical decisions are in progression.py. The callbacks of the intake (screening,
baseline), of an exercise (dose, pain question) and of the exchange itself (pause, silence, repeat, help) are
the mixins in intake.py, exercising.py and conversation.py.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..content.lines import Lines, Settings
from ..content.phrases import Answer, Phrases
from ..content.programs import Library, Program
from .. import progress
from ..store.history import History
from . import machine, plan
from .clock import Clock
from .conversation import Conversation
from .exercising import ExerciseSteps
from .intake import Intake
from .progression import Outcome, Progression
from .record import SessionRecord, advice_for, exercise_name, summary_sentences

def _sentence(text: str) -> str:
    """Text as spoken: starting with a capital."""
    return text[:1].upper() + text[1:]


DEFAULT_PROGRAM = "extension"
"""The program "start session" starts when no program was asked for and none was done before."""

class Port(Protocol):
    """Where the coach's words and progress go."""

    def say(self, text: str) -> None:
        """Speak one line (returns once the runtime has it)."""

    def mark(self, name: str, **info: Any) -> None:
        """A progress mark: "hold_started", "rep_done", "state", "ended"."""


class Coach(Intake, ExerciseSteps, Conversation):
    """One coaching session's brain; its states and triggers come from machine.py."""

    def __init__(self, *, library: Library, lines: Lines, phrases: Phrases, settings: Settings,
                 history: History, clock: Clock, port: Port, program: Program | None = None) -> None:
        self.library, self.lines, self.phrases, self.settings = library, lines, phrases, settings
        self.history, self.clock, self.port = history, clock, port
        self.default_program = program
        self.timer: tuple[float, str] | None = None
        self.answer = None
        self.record: SessionRecord | None = None
        self.summary: dict | None = None
        self.program: Program | None = None
        self.resuming = False
        self.progression: Progression | None = None
        self.outcome = Outcome("next")
        self.entry: dict | None = None
        self.screen_index = 0
        self.silences = 0
        self.question = ""
        self.last_instruction = lines.get("idle_ready")
        self.paused_from = ""
        self.tempo = 1.0
        self.sets: list = []
        self.set_index = 0
        self.beats: list = []
        self.set_started_at = 0.0
        machine.build_machine(self)

    # ---------------------------------------------------------------- runtime API
    @property
    def context(self) -> str | None:
        """The answers valid now (global commands always are); None once ended."""
        if self.state == "paused":
            return "pain" if self.paused_from in machine.EXERCISE else "global"
        return machine.CONTEXT.get(self.state)

    @property
    def waiting(self) -> bool:
        """True at a point where the coach waits for the user to say something."""
        return self.state in ("idle", "paused", *machine.QUESTIONS)

    @property
    def ended(self) -> bool:
        return self.state == "ended"

    @property
    def timer_due(self) -> float | None:
        return self.timer[0] if self.timer else None

    def hear(self, text: str) -> None:
        """Act on one utterance, understood with the phrase file (everyday words, not only its sentences)."""
        if self.ended:
            return
        self.act(self.phrases.understand(text, self.context or "global").answer, text)

    def act(self, answer: Answer | None, text: str) -> None:
        """Act on an answer already understood (a recognizer's), or on None: not understood."""
        if self.ended:
            return
        self.answer = answer
        trigger = "not_understood"
        if self.answer is not None:
            trigger = machine.ANSWER_TRIGGERS.get(self.answer.kind, self.answer.kind)
            if not self.may_trigger(trigger):
                trigger = "not_understood"
        self._log("heard", text=text, answer=self.answer and [self.answer.kind, self.answer.value], trigger=trigger)
        if self.may_trigger(trigger):
            self.trigger(trigger)

    def fire_timer(self) -> None:
        """The pending timer is due: fire its trigger."""
        if self.timer is None:
            return
        _, trigger = self.timer
        self.timer = None
        self._log("timer", trigger=trigger)
        self.trigger(trigger)

    # ---------------------------------------------------------------- speaking and timers
    def say(self, key: str, **values: Any) -> None:
        self.port.say(_sentence(self.lines.get(key, **values)))

    def instruct(self, text: str) -> None:
        """Say a line the user may ask to hear again."""
        self.last_instruction = text
        self.port.say(text)

    def ask(self, key: str) -> None:
        """Ask a question afresh: full wording, silence count and answer timer reset."""
        self.question = key
        self.silences = 0
        self.instruct(self.lines.get(key))
        self.start_timer(self.settings.answer_timeout_s, "no_answer")

    def start_timer(self, seconds: float, trigger: str) -> None:
        self.timer = (self.clock.now() + seconds, trigger)

    def cancel_timer(self, event=None) -> None:
        self.timer = None

    def _log(self, kind: str, **data: Any) -> None:
        if self.record is not None:
            self.history.log_event(self.record.session_id, self.clock.wall(), kind, data)

    # ---------------------------------------------------------------- conditions
    def paused_in_exercise(self, event) -> bool:
        return self.paused_from in machine.EXERCISE

    def session_over(self, event) -> bool:
        return self.outcome.action in ("finish", "safety_stop")

    def nothing_to_run(self, event) -> bool:
        return self.outcome.action == "finish" and not any(e["response"] != "skipped" for e in self.record.exercises)

    def an_exercise_ran(self, event) -> bool:
        return self.entry is not None or any(e["response"] != "skipped" for e in self.record.exercises)

    def first_silence(self, event) -> bool:
        return self.silences == 0

    # ---------------------------------------------------------------- idle and start
    def enter_idle(self, event) -> None:
        pass

    def read_last_session(self, event) -> None:
        summary = self.history.last_summary()
        if summary is None:
            self.say("no_last_session")
            return
        self.say("last_session_intro")
        for sentence in self.summary_sentences(summary):
            self.port.say(sentence)

    def summary_sentences(self, summary: dict) -> list[str]:
        """A saved summary as spoken sentences."""
        return summary_sentences(summary, self.lines, self.library, self.program)

    def begin_session(self, event) -> None:
        wanted = self.answer.value
        self.resuming = wanted == "session"
        self.program = self._chosen_program(wanted)
        started = self.clock.wall()
        session_id = self.history.start_session(self.program.id, started)
        self.record = SessionRecord(session_id, self.program.id, self.program.name, started, self.program.rule)
        self._log("start", program=self.program.id, source=self.program.source)
        self.say("session_start", program=self.program.name)

    def _chosen_program(self, wanted: str) -> Program:
        if wanted != "session":
            return self.library.program(wanted)
        if self.default_program is not None:
            return self.default_program
        last = self.history.last_summary()
        if last and last["program"] in self.library.programs:
            return self.library.programs[last["program"]]
        return self.library.programs[DEFAULT_PROGRAM]

    def plan_exercises(self, event) -> None:
        skip = ("strengthening",) if self.acute_today() else ()
        b = self.record.baseline
        today = plan.today(self.library, self.program, progress.rows(self.history.summaries()),
                           self.record.started_at.date(), b["location"], b["score"],
                           resuming=self.resuming, acute=bool(skip))
        first = today.resume.index if today.resume else 0
        self.progression = Progression(self.program, self.settings.max_partial_rounds, skip, first, today.added)
        for sentence in plan.sentences(today, self.program, self.lines, self.library):
            self.port.say(_sentence(sentence))
        if skip and any(s.part in skip for s in self.program.steps) and any(s.part not in skip for s in self.program.steps):
            self.say("acute_skip")
        self.outcome = self.progression.start()

    # ---------------------------------------------------------------- deciding what comes next
    def enter_deciding(self, event) -> None:
        for step in self.outcome.skipped:
            self._close({"id": step.exercise.id, "response": "skipped", "sets": 0, "reps": 0,
                         "hold_s": 0, "reason": "acute"})
        if self.outcome.action == "safety_stop":
            self.record.end_reason, self.record.stop_detail = "safety_stop", self.outcome.reason
            self.say("two_peripheralized" if self.outcome.reason == "two_peripheralized" else "unable_prone")
        elif self.outcome.action == "finish":
            self.record.end_reason = "completed"
            self.record.working_exercise = self.progression.working
            if self.progression.working:
                self.say("progression_found", name=exercise_name(self.library, self.progression.working))
            elif any(e["response"] != "skipped" for e in self.record.exercises):
                self.say("program_done")
        self.trigger("decide")


    # ---------------------------------------------------------------- the end
    def enter_asking_final_score(self, event) -> None:
        self.ask("ask_final_score")

    def record_pain_after(self, event) -> None:
        self.record.pain_after = self.answer.value

    def stop_by_user(self, event) -> None:
        self.record.end_reason = self.record.end_reason or "user_stopped"
        self.say("stopping")
        self.close_entry("interrupted")

    def quit_session(self, event) -> None:
        """The program is closing (Ctrl-C): end now, keeping a reason already decided."""
        self.record.end_reason = self.record.end_reason or "user_stopped"
        self.close_entry("interrupted")

    def stop_no_response(self, event) -> None:
        self.record.end_reason = self.record.end_reason or "no_response"
        self.close_entry("interrupted")

    def enter_ended(self, event) -> None:
        record = self.record
        scores = [x for x in (record.baseline.get("score"), record.pain_after) if x is not None]
        settled = plan.settled_now(progress.rows(self.history.summaries()), record.started_at.date(), scores)
        advice = advice_for(record, self.lines, self.library, settled)
        self.summary = record.summary(self.clock.wall(), advice)
        self.history.finish_session(record.session_id, self.summary)
        if record.end_reason in ("red_flag", "not_suitable_today", "no_response"):
            self.port.say(advice)
        else:
            for sentence in self.summary_sentences(self.summary):
                self.port.say(sentence)
        self.port.mark("ended", end_reason=record.end_reason)
