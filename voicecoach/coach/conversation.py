"""The coach's conversation callbacks: pausing and resuming, a question asked again after silence, repeat,
help and "sorry, I didn't catch that".

A mixin of Coach (coach.py); the triggers these serve ("pause", "resume", "no_answer", "repeat", "help",
"not_understood") and the states they apply in ("paused", the QUESTIONS, the EXERCISE states) are in machine.py.
"""

from __future__ import annotations

from . import machine


class Conversation:
    """Callbacks that keep the exchange going: pause, silence, repeat, help and answers not understood."""

    def remember_place(self, event) -> None:
        self.paused_from = event.transition.source

    def enter_paused(self, event) -> None:
        self.start_timer(self.settings.pause_timeout_s, "no_answer")

    def say_paused(self, event) -> None:
        self.say("paused")

    def say_paused_for_silence(self, event) -> None:
        self.say("paused_silence")

    def pause_unclear_midset(self, event) -> None:
        self.say("midset_unclear")

    def say_resumed(self, event) -> None:
        self.say("resumed")

    def ask_again_briefly(self, event) -> None:
        self.silences += 1
        self._ask_briefly()

    def _ask_briefly(self) -> None:
        """The current question again in its brief form, its answer timer restarted."""
        self.instruct(self.lines.get(self._short(self.question)))
        self.start_timer(self.settings.answer_timeout_s, "no_answer")

    @staticmethod
    def _short(question: str) -> str:
        """The key of the brief form of a question."""
        if question.startswith("screening."):
            return question.replace("screening.", "screening_short.")
        return f"{question}_short"

    def repeat_instruction(self, event) -> None:
        self.port.say(self.last_instruction)
        self._restart_answer_timer()

    def say_help(self, event) -> None:
        self.say("help_idle" if self.state == "idle" else "help_session")
        self._restart_answer_timer()

    def say_sorry(self, event) -> None:
        if self.state == "paused":
            self.say("sorry_paused_exercise" if self.paused_from in machine.EXERCISE else "sorry_paused")
            return
        examples = self.phrases.examples(self.context or "global")
        self.say("sorry", examples=", ".join(examples[:-1]) + f", or {examples[-1]}" if len(examples) > 1 else examples[0])
        if self.state in machine.QUESTIONS:
            self._ask_briefly()

    def _restart_answer_timer(self) -> None:
        if self.state in machine.QUESTIONS:
            self.start_timer(self.settings.answer_timeout_s, "no_answer")
