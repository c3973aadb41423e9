"""The coach's exercise callbacks: introducing an exercise, counting its dose, asking about the pain.

A mixin of Coach (coach.py); the states these serve are "introducing", "exercising",
"resting" and "checking_pain" in machine.py.
"""

from __future__ import annotations

from .dose import remaining, set_beats, set_plans

OTHER_SIDE = {"left": "right", "right": "left"}


class ExerciseSteps:
    """Callbacks that run one exercise's dose and record how the pain responded."""

    # ---------------------------------------------------------------- conditions
    def set_complete(self, event) -> bool:
        return not self.beats

    def on_last_set(self, event) -> bool:
        return self.set_index >= len(self.sets) - 1

    def stops_exercise_now(self, event) -> bool:
        return self.answer.value in ("peripheralized", "unable")

    # ---------------------------------------------------------------- introducing
    def enter_introducing(self, event) -> None:
        step = self.progression.step
        exercise = step.exercise
        resumed = event.transition.source == "paused"
        if self.entry is None:
            self.entry = {"id": exercise.id, "response": None, "sets": 0, "reps": 0, "hold_s": 0}
            self.history.exercise_started(self.record.session_id, self.clock.wall(), exercise.id)
            self.sets, self.set_index = set_plans(exercise), 0
        if self.progression.retesting is not None and not resumed:
            self.say("exercise_retest", name=exercise.name)
        elif self.progression.round > 1 and not resumed:
            self.say("exercise_again", name=exercise.name, round=self.lines.number(self.progression.round))
            self.sets, self.set_index = set_plans(exercise), 0
        else:
            self.say("exercise_intro", name=exercise.name)
        self._setup_cues(self.sets[0].side)
        self.start_timer(self.settings.setup_s, "tick")

    def _setup_cues(self, side: str | None) -> None:
        values = self._cue_values(side)
        for cue in self.progression.step.exercise.setup:
            self.instruct(cue.format(**values))

    def _cue_values(self, side: str | None) -> dict[str, str]:
        """Placeholders of side-aware cues, from the side the pain is on."""
        pain = self.record.baseline.get("side")
        sides = self.lines.raw("sides")
        one_sided = pain in OTHER_SIDE
        values = {
            "pain_side": sides[pain] if one_sided else sides["both_pain"],
            "away_side": sides[OTHER_SIDE[pain]] if one_sided else sides["both_away"],
        }
        if side:
            values.update(side=sides[side], other_side=sides[OTHER_SIDE[side]])
        return values

    # ---------------------------------------------------------------- counting the dose
    def enter_exercising(self, event) -> None:
        exercise = self.progression.step.exercise
        plan = self.sets[self.set_index]
        if plan.of > 1:
            self.say("set_intro", set=self.lines.number(plan.number), sets=self.lines.number(plan.of))
        self.beats = set_beats(exercise, self.settings)
        self.set_started_at = self.clock.now()
        if event.transition.source != "paused":
            self.entry["sets"] += 1
        self.next_beat(event)

    def next_beat(self, event) -> None:
        """Speak beats until one asks to wait; then wait for the next tick."""
        while self.beats:
            beat = self.beats.pop(0)
            if beat.key == "number":
                self.port.say(f"{self.lines.number(beat.values['n']).capitalize()}.")
            elif beat.key:
                self.say(beat.key, **{k: self._spoken(k, v) for k, v in beat.values.items()})
            else:
                self.port.say(beat.values["text"].format(**self._cue_values(self.sets[self.set_index].side)))
            if beat.rep is not None:
                self.entry["reps"] = max(self.entry["reps"], beat.rep)
                if beat.mark == "rep_done":
                    self.port.mark("rep_done", n=beat.rep - 1)
            elif beat.mark:
                self.port.mark(beat.mark)
            if beat.wait_s > 0:
                self.start_timer(beat.wait_s * (self.tempo if beat.scaled else 1.0), "tick")
                return
        self.start_timer(0.5, "tick")

    def _spoken(self, key: str, value):
        if key == "duration":
            return self.lines.duration(value)
        return self.lines.number(value) if isinstance(value, int) else value

    def finish_set(self, event) -> None:
        """A set or hold ends (its beats ran out, or the user said "done")."""
        self._account_hold()
        self.beats = []
        self.set_index += 1

    def _account_hold(self) -> None:
        exercise = self.progression.step.exercise
        if exercise.is_hold:
            held = min(self.clock.now() - self.set_started_at, exercise.dose.hold_s)
            self.entry["hold_s"] = round(max(self.entry["hold_s"], held), 1)
        elif self.entry["reps"]:
            self.entry["hold_s"] = exercise.dose.hold_s

    def enter_resting(self, event) -> None:
        plan, exercise = self.sets[self.set_index], self.progression.step.exercise
        rest_s = exercise.dose.rest_s * self.settings.rest_scale
        self.say("rest", duration=self.lines.duration(rest_s))
        if plan.side and plan.side != self.sets[self.set_index - 1].side:
            self.say("side_intro", side=self.lines.raw("sides")[plan.side].capitalize())
            self._setup_cues(plan.side)
        self.start_timer(rest_s, "tick")

    # ---------------------------------------------------------------- the pain question
    def enter_checking_pain(self, event) -> None:
        self.ask("ask_pain")

    def record_response(self, event) -> None:
        response = self.answer.value
        if self.state == "exercising":
            self._account_hold()
        self.say(f"pain_ack.{response}")
        self.outcome = self.progression.record(response)
        self.entry["response"] = response
        if self.outcome.action != "repeat":
            self._close(self.entry)

    def acknowledge_midset(self, event) -> None:
        self._log("midset", response=self.answer.value)
        self.say("midset_ack")

    def acknowledge_while_paused(self, event) -> None:
        self._log("midset", response=self.answer.value)
        self.say("paused_ack")

    def record_skip(self, event) -> None:
        self.say("pain_ack.skipped")
        self.outcome = self.progression.record("skipped")
        self.entry["response"] = "skipped"
        self.entry["reason"] = "user"
        self._close(self.entry)

    def close_entry(self, response: str) -> None:
        """End the exercise under way, if any, with this response."""
        if self.entry is not None:
            if self.state == "exercising":
                self._account_hold()
            self.entry["response"] = response
            self._close(self.entry)

    def _close(self, entry: dict) -> None:
        self.entry = None
        self.record.exercises.append(entry)
        self.history.exercise_finished(self.record.session_id, self.clock.wall(), entry)

    # ---------------------------------------------------------------- tempo and progress
    def go_slower(self, event) -> None:
        self.tempo = min(self.settings.tempo_max, self.tempo * self.settings.tempo_step)
        self.say("slower")

    def go_faster(self, event) -> None:
        self.tempo = max(self.settings.tempo_min, self.tempo / self.settings.tempo_step)
        self.say("faster")

    def say_how_many_left(self, event) -> None:
        exercises = self.lines.number(self.progression.steps_left()) if self.progression else self.lines.number(0)
        if self.state != "exercising":
            self.say("how_many_left_none", exercises=exercises)
            return
        reps, seconds = remaining(self.beats, self.tempo)
        if self.timer is not None:
            seconds += max(0.0, self.timer[0] - self.clock.now())
        sets = self.lines.number(len(self.sets) - self.set_index - 1)
        if self.progression.step.exercise.is_hold:
            self.say("how_many_left_hold", duration=self.lines.duration(seconds), sets=sets, exercises=exercises)
        else:
            self.say("how_many_left_reps", reps=self.lines.number(reps), sets=sets, exercises=exercises)
