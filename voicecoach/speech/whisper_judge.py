"""How the Whisper recognizer weighs what it heard: the evidence of one utterance, the decision (its settings:
``whisper_tuning``).

``asr_whisper`` gathers the evidence (a transcript, what it means, the short answers' scores), the
transcript read here first (``drop_echo``, ``words_said``); ``judge`` takes an answer or asks again:

- a transcript answer that the scores do not clearly contradict is taken;
- a transcript that says nothing the context knows ("star" for "stop", "now" for "no") gives the
  best-scoring short answer only if it is likely, beats the next one clearly and comes close to what
  Whisper heard, and the transcript does not say that answer's own word (the phrase file weighed it);
- an answer with a dangerous opposite (yes/no, left/right, up/down, far digits) must be clear of it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from ..content.answer import opposite
from ..content.phrases import Answer, normalize
from .asr import meaning
from .whisper_tuning import WhisperTuning


@dataclass
class Evidence:
    """What Whisper made of one utterance in one context."""

    text: str = ""
    """The greedy transcript."""
    understood: Answer | None = None
    """What the transcript means in the context (``Grammar.understand``), if anything."""
    why: str = ""
    """Why the transcript means nothing, when it does not ("hedge", "two answers", "not understood"...)."""
    first_word: float = 0.0
    """Log probability of the transcript's first word (its tokens, as decoded)."""
    no_speech: float = 0.0
    """Whisper's probability that nothing was said."""
    scores: dict = field(default_factory=dict)
    """Meaning (kind, value) -> log probability of its best-scoring short spelling."""
    seconds: float = 0.0
    """Length of the utterance's audio."""
    cut: bool = False
    """Whether the transcript was stopped by the token bound (it may end mid-answer)."""
    sounds_like: frozenset = frozenset()
    """Meanings of short answers that one of the transcript's first words sounds like ("Mine." -> 9)."""
    inside_word: frozenset = frozenset()
    """Meanings of short answers whose word begins the transcript's longer first word ("Backward" -> back)."""
    leads_to: dict = field(default_factory=dict)
    """Meaning -> meanings of longer sentences starting with its short ones ("begin" -> "begin mckenzie")."""
    named: frozenset = frozenset()
    """Meanings whose own word the transcript says though the phrase file found no answer in it ("back" in "back
    of this bike"): the text reading weighed that word and refused it."""

    def best(self) -> list[tuple[tuple, float]]:
        """Scored meanings, best first."""
        return sorted(self.scores.items(), key=lambda kv: -kv[1])


def judge(ev: Evidence, t: WhisperTuning, strict: bool = False) -> tuple[Answer | None, float]:
    """The answer to take (None: ask again) and a 0..1 confidence (``strict``: barge-in, over the coach's voice)."""
    ranked = ev.best()
    if ev.why in ("hedge", "two answers", "hint echo"):
        return None, 0.0
    top, top_score = ranked[0] if ranked else (None, -math.inf)
    runner = ranked[1][1] if len(ranked) > 1 else -math.inf
    said = ev.understood
    if said is not None:
        m = meaning(said)
        if ranked and m in ev.scores and not clear_of_opposites(said, ev, t):
            return None, 0.2
        if ranked and m != top and top_score >= t.floor and top_score - ev.scores.get(m, -math.inf) > t.margin \
                and not _leads_to(top, said, ev):
            return None, 0.3  # the transcript says one answer, the scores clearly another
        return said, 0.9 if (not ranked or m == top or _leads_to(top, said, ev)) else 0.7
    if top is None or ev.no_speech > t.no_speech:
        return None, 0.0
    if strict:  # stop/pause over the coach's voice: the safe action, taken on weaker evidence ("plus" for "pause")
        if (top_score - runner < t.strict_margin or top_score < t.strict_floor
                or len(words_said(ev.text)) > t.strict_scored_words):
            return None, 0.1
    elif (top_score - runner < t.margin or top_score < t.floor or top in ev.inside_word or top in ev.named
          or (top not in ev.sounds_like and (top_score < ev.first_word - t.closeness
                                             or len(words_said(ev.text)) >= t.sentence_words))):
        return None, 0.1
    answer = Answer(top[0], top[1], ev.text)
    if top in ev.sounds_like:
        t = replace(t, opposite_floor=t.sounds_like_floor)
    if not clear_of_opposites(answer, ev, t):
        return None, 0.2
    return answer, 0.6


def one_reading(transcripts: list[tuple[str, float]], read, t: WhisperTuning) -> tuple[str, Answer] | None:
    """(transcript, answer) when Whisper's likeliest transcripts (``n_best_gap`` of the best; ``read``: text ->
    (answer or None, why)) all mean one answer or nothing ("0" below "You will...", "The right hand one."
    below "the right hand one, the left hand"); None when none means anything, one hedges or says two things,
    two mean different answers, or any of them, however unlikely, means a dangerous opposite of it."""
    if not transcripts:
        return None
    best = max(score for _, score in transcripts)
    found: dict[tuple, tuple[str, Answer]] = {}
    everything: set[tuple] = set()
    for text, score in transcripts:
        answer, why = read(text)
        if score >= best - t.n_best_gap:
            if why in ("hedge", "two answers"):
                return None
            if answer is not None:
                found.setdefault(meaning(answer), (text, answer))
        if answer is not None:
            everything.add(meaning(answer))
    if len(found) != 1:
        return None
    (text, answer), = found.values()
    if any(opposite(answer, Answer(o[0], o[1], "")) for o in everything):
        return None
    return text, answer


def second_look(ev: Evidence, has_opposite, safer, t: WhisperTuning) -> tuple[Answer | None, float]:
    """The answer of an utterance heard again (a ``WhisperTuning.looks``) after the first look meant nothing: one
    its transcript says and ``judge`` takes (from the scores alone, a real unknown word heard "C-" was calf); one
    with a dangerous opposite (``has_opposite``) only when its scores cleared it of that opposite or it is the
    context's ``safer`` answer: that the first look heard nothing is doubt ("The top of fin.", then "They talk of
    10.", for "eight out of ten" in a noisy room)."""
    answer, confidence = judge(ev, t)
    if answer is None or ev.understood is None:
        return None, 0.0
    if has_opposite(answer) and meaning(answer) not in ev.scores and (safer is None or answer.value != safer):
        return None, 0.0
    return answer, min(confidence, 0.7)


def _leads_to(top: tuple, said: Answer, ev: Evidence) -> bool:
    """Whether the best-scoring short answer only starts what the transcript says ("begin" for "Begin
    McKenzie."): its score sees the first word and that the word ends, so it cannot tell the two apart.
    Never for a dangerous opposite."""
    return meaning(said) in ev.leads_to.get(top, ()) and not opposite(said, Answer(top[0], top[1], ""))


def words_said(text: str) -> list[str]:
    """A transcript's distinct words in order, a run of single letters or digits as one word: what Whisper
    invents around a short word it hears badly ("Hold on Hold On HoldOn Hold ON", "B O S B" for espeak's
    "pause", "4 6 4 4 5 4") does not make a barge-in command a sentence."""
    out: list[str] = []
    for word in re.sub(r"\b(\w) (?=\w\b)", r"\1", normalize(text)).split():
        if word not in out:
            out.append(word)
    return out


def drop_echo(text: str) -> str:
    """The transcript without Whisper's echo of it: on a short window Whisper writes what was said again, as a
    new sentence ("Repeat that. Repeat the dot.": later sentences that start with the first one's first word
    go) or as the same words once more ("Start session, start session.", "Continue Continue": one copy stays).
    That made a two-word answer four or five words long, never whole, so it waited for the full pause. A
    sentence that starts differently stays ("No. Yes.": two answers, asked again)."""
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", text) if s]
    first = normalize(sentences[0]).split()[:1] if sentences else []
    kept = [s for k, s in enumerate(sentences) if k == 0 or normalize(s).split()[:1] != first]
    if len(kept) == 1 and len(sentences) > 1:
        return kept[0]
    words = normalize(text).split()
    for size in range(1, len(words) // 2 + 1):
        if len(words) % size == 0 and words == words[:size] * (len(words) // size):
            return " ".join(words[:size])
    return text


def clear_of_opposites(answer: Answer, ev: Evidence, t: WhisperTuning) -> bool:
    """No scored opposite of ``answer`` comes within ``opposite_margin`` of it, and an answer that has
    scored opposites is itself at least ``opposite_floor`` likely when it was said alone (one word) or
    taken from the scores."""
    mine = ev.scores.get(meaning(answer))
    if mine is None:
        return True
    opposites = [s for m, s in ev.scores.items() if m != meaning(answer) and opposite(answer, Answer(m[0], m[1], ""))]
    alone = ev.understood is None or len(ev.text.split()) == 1  # the floor speaks to a lone word
    return not opposites or ((mine >= t.opposite_floor or not alone)
                             and all(mine - s >= t.opposite_margin for s in opposites))

