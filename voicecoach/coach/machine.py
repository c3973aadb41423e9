"""The coach's states and triggers, declared in one place as plain tables.

Every utterance the coach hears becomes one trigger (an answer, a command, or
"not_understood"), and so does every timer ("tick" while counting, "no_answer" when a
question meets silence). Callbacks and conditions are methods of the Coach named here.
"""

from __future__ import annotations

from transitions import Machine, State

QUESTIONS = ["screening", "asking_location", "asking_side", "asking_score", "asking_clearance",
             "checking_pain", "asking_final_score"]
"""States that ask one question and wait for its answer."""
EXERCISE = ["introducing", "exercising", "resting"]
"""States where an exercise is under way."""
IN_SESSION = QUESTIONS[:-1] + EXERCISE + ["paused"]
"""States from which "stop" ends a session."""
RESUMABLE = QUESTIONS + EXERCISE
"""States a pause returns to."""

STATES = ["idle", "paused", "deciding", "ended", *QUESTIONS, *EXERCISE]

CONTEXT = {
    "idle": "idle", "screening": "yesno", "asking_clearance": "clearance",
    "asking_location": "location", "asking_side": "side",
    "asking_score": "number", "asking_final_score": "number",
    "checking_pain": "pain", "introducing": "pain", "exercising": "pain", "resting": "pain",
}
"""The answers the coach listens for in each state (global commands are always valid)."""

ANSWER_TRIGGERS = {
    "start": "answer_start", "last_session": "answer_last_session", "yesno": "answer_yesno",
    "location": "answer_location", "side": "answer_side", "number": "answer_number",
    "pain": "answer_pain",
}
"""Trigger for each kind of answer; a global command's trigger is its own name."""

def _paused_from(state: str):
    """Condition: the pause was taken in `state`."""
    return lambda event: event.model.paused_from == state


TRANSITIONS = [
    # Idle: start a session ("carry on" before one means "start session": the phrase file's global_means), or hear
    # the last one.
    {"trigger": "answer_start", "source": "idle", "dest": "screening", "conditions": "needs_screening", "before": "begin_session"},
    {"trigger": "answer_start", "source": "idle", "dest": "asking_location", "before": "begin_session"},
    {"trigger": "answer_last_session", "source": "idle", "dest": None, "after": "read_last_session"},
    # Red-flag screening, once a day: any "yes" stops everything.
    {"trigger": "answer_yesno", "source": "screening", "dest": "ended", "conditions": "answered_yes", "before": "stop_for_red_flag"},
    {"trigger": "answer_yesno", "source": "screening", "dest": "asking_location", "conditions": "on_last_screening_question", "before": "complete_screening"},
    {"trigger": "answer_yesno", "source": "screening", "dest": "screening", "before": "next_screening_question"},
    # Baseline and the acute rule (seed 004), clearance for strengthening (seed 003).
    {"trigger": "answer_location", "source": "asking_location", "dest": "asking_side", "before": "record_location"},
    {"trigger": "answer_side", "source": "asking_side", "dest": "asking_score", "before": "record_side"},
    {"trigger": "answer_number", "source": "asking_score", "dest": "ended", "conditions": "too_acute_for_program", "before": ["record_score", "stop_not_suitable_acute"]},
    {"trigger": "answer_number", "source": "asking_score", "dest": "asking_clearance", "conditions": "program_needs_clearance", "before": "record_score"},
    {"trigger": "answer_number", "source": "asking_score", "dest": "deciding", "before": ["record_score", "plan_exercises"]},
    {"trigger": "answer_yesno", "source": "asking_clearance", "dest": "ended", "conditions": "answered_no", "before": "stop_not_cleared"},
    {"trigger": "answer_yesno", "source": "asking_clearance", "dest": "deciding", "before": "plan_exercises"},
    # Running the dose.
    {"trigger": "tick", "source": "introducing", "dest": "exercising"},
    {"trigger": "tick", "source": "exercising", "dest": "checking_pain", "conditions": ["set_complete", "on_last_set"], "before": "finish_set"},
    {"trigger": "tick", "source": "exercising", "dest": "resting", "conditions": "set_complete", "before": "finish_set"},
    {"trigger": "tick", "source": "exercising", "dest": None, "after": "next_beat"},
    {"trigger": "done", "source": "exercising", "dest": "checking_pain", "conditions": "on_last_set", "before": "finish_set"},
    {"trigger": "done", "source": "exercising", "dest": "resting", "before": "finish_set"},
    {"trigger": "tick", "source": "resting", "dest": "exercising"},
    {"trigger": "done", "source": "resting", "dest": "exercising"},
    # Pain responses: mid-set peripheralization stops the exercise at once.
    {"trigger": "answer_pain", "source": EXERCISE, "dest": "deciding", "conditions": "stops_exercise_now", "before": "record_response"},
    {"trigger": "answer_pain", "source": EXERCISE, "dest": None, "after": "acknowledge_midset"},
    {"trigger": "not_understood", "source": ["exercising", "resting"], "dest": "paused", "before": ["remember_place", "pause_unclear_midset"]},
    {"trigger": "answer_pain", "source": "checking_pain", "dest": "deciding", "before": "record_response"},
    {"trigger": "answer_pain", "source": "paused", "dest": "deciding", "conditions": ["paused_in_exercise", "stops_exercise_now"], "before": "record_response"},
    {"trigger": "answer_pain", "source": "paused", "dest": None, "after": "acknowledge_while_paused"},
    {"trigger": "skip", "source": EXERCISE + ["checking_pain"], "dest": "deciding", "before": "record_skip"},
    {"trigger": "decide", "source": "deciding", "dest": "ended", "conditions": "nothing_to_run", "before": "stop_not_suitable_acute"},
    {"trigger": "decide", "source": "deciding", "dest": "asking_final_score", "conditions": "session_over"},
    {"trigger": "decide", "source": "deciding", "dest": "introducing"},
    # The end.
    {"trigger": "answer_number", "source": "asking_final_score", "dest": "ended", "before": "record_pain_after"},
    {"trigger": "stop", "source": IN_SESSION, "dest": "asking_final_score", "conditions": "an_exercise_ran", "before": "stop_by_user"},
    {"trigger": "stop", "source": IN_SESSION, "dest": "ended", "before": "stop_by_user"},
    {"trigger": "stop", "source": "asking_final_score", "dest": "ended"},
    {"trigger": "quit", "source": [*IN_SESSION, "asking_final_score"], "dest": "ended", "before": "quit_session"},
    # Pause and resume: resume returns to the state the pause was taken from.
    {"trigger": "pause", "source": RESUMABLE, "dest": "paused", "before": "remember_place", "after": "say_paused"},
    *[{"trigger": "resume", "source": "paused", "dest": s, "conditions": _paused_from(s), "before": "say_resumed"} for s in RESUMABLE],
    # Silence: ask again once, more briefly; then pause; a long pause ends the session.
    {"trigger": "no_answer", "source": QUESTIONS, "dest": None, "conditions": "first_silence", "after": "ask_again_briefly"},
    {"trigger": "no_answer", "source": "asking_final_score", "dest": "ended"},
    {"trigger": "no_answer", "source": QUESTIONS, "dest": "paused", "before": "remember_place", "after": "say_paused_for_silence"},
    {"trigger": "no_answer", "source": "paused", "dest": "ended", "before": "stop_no_response"},
    # Always available.
    {"trigger": "repeat", "source": "*", "dest": None, "after": "repeat_instruction"},
    {"trigger": "help", "source": "*", "dest": None, "after": "say_help"},
    {"trigger": "slower", "source": "*", "dest": None, "after": "go_slower"},
    {"trigger": "faster", "source": "*", "dest": None, "after": "go_faster"},
    {"trigger": "how_many_left", "source": "*", "dest": None, "after": "say_how_many_left"},
    {"trigger": "not_understood", "source": ["idle", "paused", *QUESTIONS], "dest": None, "after": "say_sorry"},
]
"""Every transition: the first whose conditions hold is taken."""


def build_machine(coach: object) -> Machine:
    """Attach the state machine to a coach object; its callbacks are the coach's methods."""
    states = [State(name, on_enter=f"enter_{name}", on_exit="cancel_timer") for name in STATES]
    return Machine(model=coach, states=states, transitions=TRANSITIONS, initial="idle",
                   auto_transitions=False, send_event=True, queued=True,
                   ignore_invalid_triggers=False)
