"""Voice runtime: drives the coach with a microphone and a speaker (`voicecoach run`).

One loop on one thread: microphone frames arrive on a queue from the audio thread and go to
the recognizer; what the coach says is synthesized (from the disk cache when it can) and
played one line at a time. Echo safety: while the coach speaks, and for a short tail after,
only the barge-in commands (stop, pause) are listened for, with a stricter threshold; "stop"
or "pause" cuts the speech off at once. The coach's timers count from the end of the speech
queued before them, as in `simulate`.
"""

from __future__ import annotations

import logging
import queue
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .audio.devices import AudioError
from .audio.echo import EchoCheck
from .coach.clock import SystemClock
from .coach.coach import Coach
from .content.answer import GLOBAL, spelled
from .content.phrases import normalize

log = logging.getLogger("voicecoach")

ECHO_TAIL_S = 0.35
"""After the coach stops speaking, its echo may still reach the microphone this long."""
BARGE_IN = ("stop", "pause")
"""Commands listened for while the coach speaks."""
RESTART_EVERY_S = 2.0
"""While the microphone is lost, try to reopen it this often."""
SPOKE_INTO_END_S = 0.15
"""Speech that started this close to the end of the coach's line (or later) is the patient's, kept whole when
the echo window closes: an echo starts with the line's words, not in its last moment ("resume" said as
"Paused. Say 'resume' when you are ready." ends was cut in two and lost)."""
UTTERANCE_LEAD_S = 0.25
"""An utterance's audio starts up to this long before the frame where the recognizer began hearing it (the
endpointer keeps what came before the speech)."""
AFTER_BARGE_IN_S = 0.4
"""Silence kept after the coach was cut off before it says anything: "pause, please" can end, and the patient
hears that the coach stopped (an outside client timing the cut needs that gap too)."""


COMMON_WORDS = frozenset("and the with you your for but are was this its from into then now all can will not".split())
"""Words too common to tell a transcript's source by."""


def heard_back(text: str, lines: Iterable[str], named: bool = True) -> bool:
    """Whether a barge-in transcript is the coach's own line heard through a loudspeaker: its words, each once,
    in order, are a run of one line's words, none of them "stop" or "pause" ("Prop yourself, prop", scored as
    stop, while the coach says "Prop yourself up on your elbows."; "8 Hold, 8", scored as pause, while it says
    "Eight. Hold."). A transcript that does not name the command itself (``named``: it was taken from the
    scores) is the coach's as soon as one of its words of three letters or more, bar ``COMMON_WORDS``, is a word
    of the line: "Hold first, hold", scored as pause over "Hold for six seconds.", paused the echo end-to-end
    test's session. A patient's "stop" always counts."""
    words = list(dict.fromkeys(spelled(text).split()))
    if not words or set(words) & set(BARGE_IN):
        return False
    telling = {w for w in words if len(w) >= 3} - COMMON_WORDS
    for line in lines:
        said = spelled(line).split()
        if any(said[i:i + len(words)] == words for i in range(len(said) - len(words) + 1)):
            return True
        if not named and telling & set(said):
            return True
    return False


@dataclass
class TurnTimes:
    """Moments of one exchange, for the status line and the benchmark."""

    heard_at: float = 0.0
    """Monotonic time the recognizer finished an utterance."""
    speech_end_at: float = 0.0
    """Monotonic time of the end of the user's speech, as captured."""
    reply_at: float = 0.0
    """Monotonic time the first sample of the reply went to the speaker."""
    decode_ms: float = 0.0
    """The recognizer's time on the utterance."""
    early: bool = False
    """Whether the utterance ended at the early check (a sure answer) rather than after the full pause."""


@dataclass
class VoicePort:
    """The coach's Port for sound: queues lines to speak and reports progress."""

    status: Callable[[str], None] = print
    """Where the terminal status line goes."""
    pending: deque = field(default_factory=deque)
    """Lines waiting to be spoken, in order."""
    marks: list = field(default_factory=list)
    """Progress marks since the runtime last looked."""

    def say(self, text: str) -> None:
        self.pending.append(text)

    def mark(self, name: str, **info: Any) -> None:
        self.marks.append((name, info))


class VoiceRuntime:
    """Runs a coach on real (or virtual) audio devices until its session ends."""

    def __init__(self, recognizer, voice, microphone, speaker, port: VoicePort, clock=None,
                 status: Callable[[str], None] = print) -> None:
        self.recognizer, self.voice, self.mic, self.speaker = recognizer, voice, microphone, speaker
        self.held = False
        """Whether the voice's preparation of lines ahead of need is held: from the patient's first sound to the
        answer, recognition has the machine to itself (``Voice.hold``)."""
        self.port, self.clock, self.status = port, clock or SystemClock(), status
        self.frames: queue.Queue = queue.Queue()
        self.speaking_line = ""
        self.lines_played: deque[str] = deque(maxlen=2)
        """The coach's last two lines: a barge-in utterance made of their words is the coach heard back."""
        self.mode: tuple[str | None, bool] | None = None
        self.timer_seen: tuple[float, str] | None = None
        self.timer_span = 0.0
        self.quiet_since = 0.0
        self.turns: list[TurnTimes] = []
        self._turn: TurnTimes | None = None
        self.device_error: str | None = None
        self._last_restart = 0.0
        self._cut_at = -AFTER_BARGE_IN_S  # when the last barge-in cut the coach off
        self._speech_from = 0.0  # capture time of the frames that started the current utterance
        self.echo = EchoCheck()
        """What was played and heard: whether a command taken from the scores alone was the coach's echo."""
        self._unplaced: tuple[bytes, int] | None = None  # the line playing, until the speaker says when it sounded

    # ---------------------------------------------------------------- the loop
    def run(self, coach: Coach, should_stop: Callable[[], bool] = lambda: False, stop_when_ended: bool = True) -> None:
        """Listen and speak until the session ends (or should_stop() says so)."""
        self.mic.on_frame = lambda pcm, t: self.frames.put((pcm, t))
        self.mic.start()
        self.quiet_since = self.clock.now()
        try:
            while not should_stop() and not (stop_when_ended and coach.ended and not self._speech_busy()):
                self._speak(coach)
                self._listen(coach, timeout=0.01)
                self._check_devices(coach)
                self._timers(coach)
        finally:
            self.speaker.stop()
            self.mic.stop()
            self.voice.hold(False)

    def _speech_busy(self) -> bool:
        return bool(self.port.pending) or self.speaker.playing

    def _echo_window(self) -> bool:
        """True while the coach speaks or its echo may still be heard."""
        return self._speech_busy() or self.clock.now() < self.speaker.last_sound_time + ECHO_TAIL_S

    # ---------------------------------------------------------------- speaking
    def _note_quiet(self) -> None:
        """Remember when the coach last fell silent: its timers count from there."""
        if self.speaking_line and not self._speech_busy():
            self.speaking_line = ""
            self.quiet_since = self.clock.now()

    def _speak(self, coach: Coach) -> None:
        self._note_quiet()
        if self.speaker.playing or not self.port.pending or self.clock.now() < self._cut_at + AFTER_BARGE_IN_S:
            return
        text = self.port.pending.popleft()
        speech = self.voice.speech(text)
        self.speaker.play(speech.pcm, speech.sample_rate)
        self._unplaced = (speech.pcm, speech.sample_rate)
        self.speaking_line = text
        self.lines_played.append(text)
        if self._turn is not None:
            self._turn.reply_at = self.speaker.first_sound_time or self.clock.now()
            self.turns.append(self._turn)
            t = self._turn
            log.debug("turn: last frame captured -> heard %.0f ms (recognizer %.0f ms%s) -> reply playing %.0f ms",
                      1000 * (t.heard_at - t.speech_end_at), t.decode_ms, ", early" if t.early else "",
                      1000 * (t.reply_at - t.speech_end_at))
            self._turn = None
        self._emit("say", coach, text=text)

    # ---------------------------------------------------------------- listening
    def _listen(self, coach: Coach, timeout: float) -> None:
        self._set_mode(coach)
        if self._unplaced is not None and self.speaker.first_sound_time:
            self.echo.played(*self._unplaced, self.speaker.first_sound_time)
            self._unplaced = None
        try:
            pcm, t = self.frames.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self.echo.heard(pcm, t)
            heard = self.recognizer.accept(pcm)
            if heard is not None:
                self._act(coach, heard, t)
            try:
                pcm, t = self.frames.get_nowait()
            except queue.Empty:
                break
        if self.recognizer.hearing != self.held:
            self.held = self.recognizer.hearing
            if self.held:
                self._speech_from = t
            self.voice.hold(self.held)

    def _set_mode(self, coach: Coach) -> None:
        mode = (coach.context, self._echo_window())
        if mode != self.mode:
            keep = (self.mode == (mode[0], True) and not mode[1] and self.recognizer.hearing
                    and self._speech_from >= self.speaker.last_sound_time - SPOKE_INTO_END_S)
            self.mode = mode
            if not keep:  # each context and mode starts afresh, but not speech begun as the line ended
                self.recognizer.flush()
            self.recognizer.set_context(mode[0] or "global", strict=mode[1])
            if not mode[1] and coach.waiting:
                self._emit("listening", coach, context=mode[0])

    def _emit(self, event: str, coach: Coach, **info: Any) -> None:
        """One event for the status line (or the demo's patient)."""
        self.status({"event": event, "state": coach.state, "t": round(self.clock.now(), 3), **info})

    def _act(self, coach: Coach, heard, captured_at: float) -> None:
        answer = heard.answer
        if self.mode and self.mode[1]:
            if answer is None or answer.kind not in BARGE_IN:
                return
            said = coach.phrases.understand(heard.text or "", GLOBAL).answer
            named = said is not None and said.kind == answer.kind
            if heard_back(heard.text or "", self.lines_played, named=named):
                log.info("barge-in %r ignored: the coach's own line heard back", heard.text)
                return
            if not named and self.echo.only_echo(self._speech_from - UTTERANCE_LEAD_S, captured_at):
                log.info("barge-in %r ignored: the microphone heard only the coach's own voice", heard.text)
                return
            already_paused = answer.kind == "pause" and not coach.may_trigger("pause")
            if already_paused and normalize(self.speaking_line) == normalize(coach.lines.get("paused")):
                return  # its "Paused..." heard back (a loudspeaker): cutting it would leave the patient no cue
            silent_at = self.speaker.stop()
            if silent_at:
                self.echo.cut(silent_at)
            self._cut_at = self.clock.now()
            self.port.pending.clear()
            self._emit("barge_in", coach, text=heard.text, early=heard.early)
            if already_paused:
                return  # silence was asked for, and the session is paused already
        if answer is None:
            log.info("rejected: %r (confidence %.2f)", heard.first_choice, heard.confidence)
            if not coach.waiting or coach.state == "idle" or heard.first_choice is None:
                return  # no words at all (a noise): nothing to ask again about
        self._emit("heard", coach, text=heard.text or "", answer=answer and [answer.kind, answer.value],
                   confidence=round(heard.confidence, 2), early=heard.early)
        self._turn = TurnTimes(heard_at=self.clock.now(), speech_end_at=captured_at, decode_ms=heard.ms, early=heard.early)
        coach.act(answer, heard.text or "")

    # ---------------------------------------------------------------- timers and faults
    def _timers(self, coach: Coach) -> None:
        self._note_quiet()
        if coach.timer != self.timer_seen:
            self.timer_seen = coach.timer
            if coach.timer is not None:
                self.timer_span = coach.timer[0] - self.clock.now()
        if coach.timer is None or self._speech_busy():
            return
        due = max(coach.timer[0], self.quiet_since + self.timer_span)
        if self.clock.now() >= due:
            coach.fire_timer()

    def _check_devices(self, coach: Coach) -> None:
        """A lost microphone: say so (the speaker may still work), pause, keep trying to reopen it."""
        error = getattr(self.mic, "error", None)
        if error and not self.device_error:
            self.device_error = str(error)
            self._emit("device", coach, text=f"{error} The session is paused and saved.")
            self.port.pending.clear()
            self.speaker.stop()
            coach.say("microphone_lost")
            if coach.may_trigger("pause"):
                coach.trigger("pause")
        elif self.device_error and not error:
            self.device_error = None
            self._emit("device", coach, text="The microphone is back. Say 'resume' to go on.")
            coach.say("microphone_back")
        elif error and self.clock.now() - self._last_restart >= RESTART_EVERY_S:
            self._last_restart = self.clock.now()
            try:
                self.mic.restart()
            except AudioError:  # still missing: the session stays paused, and the next attempt comes
                pass


def describe(event: dict) -> str:
    """An event as the terminal status line shows it."""
    state, kind = event.get("state", ""), event["event"]
    text = event.get("text", "")
    if kind == "say":
        return f"[{state}] coach: {text}"
    if kind == "heard":
        return f"[{state}]   you: {text}" if event.get("answer") else f"[{state}]   (not understood: {text})"
    if kind == "listening":
        return f"[{state}] listening ({event.get('context')})"
    if kind == "barge_in":
        return f"[{state}] barge-in: {text}"
    return f"[{state}] {text}" if text else f"[{state}] {kind}"
