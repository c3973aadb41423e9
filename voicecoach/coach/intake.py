"""The coach's intake callbacks: the safety screening, today's baseline, and whether the program suits today.

A mixin of Coach (coach.py); the states these serve are "screening", "asking_location", "asking_side",
"asking_score" and "asking_clearance" in machine.py. The red-flag questions are a clinical safety rule; the
acute rule is seed 004 (stretching while acute, strengthening as symptoms improve); the clearance
question is seed 003 ("Once you're cleared").
"""

from __future__ import annotations

ACUTE_SCORE = 7
"""Pain at or above this is acute today (seed 004: stretching while acute)."""
BELOW_KNEE = ("calf", "foot")
"""Pain reaching these is acute today."""


class Intake:
    """Callbacks and conditions that screen for red flags and record where, which side and how strong the pain is."""

    # ---------------------------------------------------------------- conditions
    def needs_screening(self, event) -> bool:
        return not self.history.screened_on(self.clock.wall().date())

    def answered_yes(self, event) -> bool:
        return self.answer.value == "yes"

    def answered_no(self, event) -> bool:
        return self.answer.value == "no"

    def on_last_screening_question(self, event) -> bool:
        return self.screen_index >= self.lines.count("screening") - 1

    def too_acute_for_program(self, event) -> bool:
        acute = self.answer.value >= ACUTE_SCORE or self.record.baseline["location"] in BELOW_KNEE
        return acute and all(s.part == "strengthening" for s in self.program.steps)

    def program_needs_clearance(self, event) -> bool:
        return self.program.requires_clearance

    # ---------------------------------------------------------------- screening and baseline
    def enter_screening(self, event) -> None:
        if self.screen_index == 0 and event.transition.source == "idle":
            self.say("screening_intro")
        self.ask(f"screening.{self.screen_index}")

    def next_screening_question(self, event) -> None:
        self.screen_index += 1

    def complete_screening(self, event) -> None:
        self.history.mark_screened(self.record.session_id, self.clock.wall())

    def stop_for_red_flag(self, event) -> None:
        self.record.end_reason = "red_flag"
        self.record.stop_detail = f"screening question {self.screen_index + 1}"
        self.say(f"red_flag.{self.screen_index}")

    def enter_asking_location(self, event) -> None:
        self.ask("ask_location")

    def enter_asking_side(self, event) -> None:
        self.ask("ask_side")

    def enter_asking_score(self, event) -> None:
        self.ask("ask_score")

    def enter_asking_clearance(self, event) -> None:
        self.ask("ask_clearance")

    def record_location(self, event) -> None:
        self.record.baseline["location"] = self.answer.value

    def record_side(self, event) -> None:
        self.record.baseline["side"] = self.answer.value

    def record_score(self, event) -> None:
        self.record.baseline["score"] = self.answer.value
        b = self.record.baseline
        self.history.set_baseline(self.record.session_id, b["location"], b["side"], b["score"])

    def acute_today(self) -> bool:
        b = self.record.baseline
        return b["score"] >= ACUTE_SCORE or b["location"] in BELOW_KNEE

    def stop_not_suitable_acute(self, event) -> None:
        self.record.end_reason = "not_suitable_today"
        self.record.stop_detail = "acute"
        self.say("not_suitable_acute")

    def stop_not_cleared(self, event) -> None:
        self.record.end_reason = "not_suitable_today"
        self.record.stop_detail = "not_cleared"
        self.say("not_suitable_clearance")
