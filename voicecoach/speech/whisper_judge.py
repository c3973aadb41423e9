"""How the Whisper recognizer weighs what it heard: its settings, the evidence of one utterance, the decision.

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


@dataclass(frozen=True)
class WhisperTuning:
    """Decoding settings and decision thresholds (measured with scripts/bench on shared/audio and the corpus)."""

    pad_before_s: float = 2.0
    """Silence added before the utterance ..."""
    pad_after_s: float = 0.5
    """... and after it: Whisper, trained on 30 s windows, hears a short word far better with silence around it
    (real yes/no/stop/digits: 88 % with 0.15 s each side, 93 % with 0.4 s, 96 % with 3 s). 2 s before and 0.5 s
    after measured as well as 3 s each side or better (bench: real 96.3 % vs 94.9 %, clean 71.1 % vs 67.8 %,
    dangerous confusions 1 vs 3; but 3 of 120 unknown words answered, vs 0) in a window half as long: the encoder's
    time, most of a decode, falls by ~40 % (a one-word check 113 -> 66 ms). 1 s / 1 s and 3 s / 0.5 s did worse
    (more false accepts: "I'm going to go ahead" heard in silence)."""
    tokens_per_s: float = 12.0
    """Most transcript tokens per second of audio (plus ``extra_tokens``): a bound on decoding time."""
    extra_tokens: int = 4
    """Tokens allowed beyond ``tokens_per_s`` (punctuation, the end token)."""
    repetition_penalty: float = 1.1
    """Whisper repeats itself on short windows ("Yes, yes, yes"): a penalty on repeated tokens ends it sooner.
    1.3 also ended real sentences at their second "my" ("all the way from my back to" for "... to my foot",
    taken as back); 1.1 keeps them and answers 86 real yes/no/stop/digit clips the same as 1.3 (79 right)."""
    no_repeat_ngram: int = 2
    """No pair of tokens is written twice: with the light penalty above, Whisper still ran on "Repeat Repeat ..."
    (8 times, to the token bound) on live speech, which cost ~500 ms of decoding and the early end."""
    max_words: int = 2
    """Sentences of the context up to this many words are scored as short answers."""
    short_s: float = 1.6
    """Utterances up to this long (speech, without the endpointer's margins) are checked against the short answers."""
    short_words: int = 3
    """... and an understood transcript only when it may be a short answer (``_starts_short``): their scores say
    nothing about "it went further down my leg", but they catch "Left, right. Left." ."""
    prune: float = 8.0
    """Short answers whose first token is this much less likely (log) than the likeliest one are not scored."""
    max_scored: int = 8
    """Short answers are scored when their first token is among this many likeliest first tokens."""
    margin: float = 2.0
    """A short answer taken without the transcript must beat the next answer by this much (log probability)."""
    closeness: float = 3.0
    """... and come within this much of the transcript's first word (else Whisper heard another word) ..."""
    floor: float = -4.5
    """... and be at least this likely; a short answer this likely also vetoes a transcript that says another
    ("left, right. Left": Whisper repeats itself and invents words after a short one)."""
    opposite_margin: float = 3.0
    """An answer with a dangerous opposite must beat that opposite by this much when both were scored ..."""
    opposite_floor: float = -3.0
    """... and, when it was scored, be at least this likely (a breath before "no" was once transcribed "Yeah")."""
    strict_words: int = 4
    """Barge-in: a transcript longer than this is not a command, whatever it contains, and the command must be
    among its first two words (the coach's own "you can say stop, pause, ..." heard back through a loudspeaker)."""
    strict_pad_before_s: float = 1.0
    """Barge-in: silence added before the utterance in place of ``pad_before_s``: the encoder's window is a third
    shorter. Over the 940 real clips and 160 commands said by 8 flite/espeak voices, barge-in took stop on 117 of
    120 real "stop" (2 s: 115), 125 of 160 commands (120) and 9 of 820 other words (12); 0.5 s lost 6 real stops."""
    strict_tokens: int = 6
    """Barge-in: most transcript tokens ("Give me a second." is 5; the command is among the first two words, and
    Whisper's repetitions "Stop, stop, stop, stop" end sooner). 4 lost 28 of the 160 commands."""
    strict_floor: float = -7.0
    """Barge-in: stop/pause taken without the transcript must be at least this likely (no closeness to the
    transcript asked: pausing is the safe side; flite's "pause" is transcribed "plus", scored -5.1 with 3 s of
    silence each side and -6.2 with 2 s / 0.5 s, "pause please" "Pass, please." -6.6)."""
    strict_margin: float = 3.0
    """Barge-in: stop/pause taken without the transcript must beat the best other short answer by this much ..."""
    strict_scored_words: int = 2
    """... and the transcript be at most this many words ("Plus.", "Pass, please."): a longer one is a sentence,
    most likely the coach's own line heard back ("Hold for 6." scores "hold on" high)."""
    no_speech: float = 0.6
    """Above this no-speech probability (Whisper's own), an utterance with no understood transcript is noise."""
    sounds_like: float = 0.5
    """A short answer one of the transcript's first words sounds like (phone distance at most this, e.g. "Mine."
    for nine 0.33, "a" for eight 0.5) needs no ``closeness`` to the transcript, and an answer with dangerous
    opposites then needs only be ``sounds_like_floor`` likely (margins unchanged). Bench, on every clip: real
    digits "Mine." and "a" taken (8 and 9, 210 of 216 real), 4 more synthetic; nothing else changed. 0.67
    took a real "on" as 1."""
    sounds_like_floor: float = -4.5
    """See ``sounds_like`` (in place of ``opposite_floor``)."""
    sentence_words: int = 3
    """A transcript of this many words (``words_said``) that means nothing is a sentence: the short answers'
    scores, which see only how it starts, do not make it an answer ("I'll do next." was skip, "Not life, not
    love" right) unless one of its words sounds like it. Bench: 3 wrong answers of 1124 asked again instead."""
    hint_list: int = 3
    """A transcript that names this many of the context's answers is heard again without the context's hint
    (``echoes_hint``): with "Back, buttock, thigh, knee, calf or foot?" before it, Whisper went on with the list
    (piper's "thigh" at 20 dB SNR written "Thigh, thigh, knee, toe," and taken as foot; without the hint "Dike").
    No bench transcript of a real answer names more than two."""
    n_best: int = 5
    """When the greedy transcript means nothing, a beam search writes this many (``one_reading``) ..."""
    n_best_gap: float = 1.0
    """... and those within this much (Whisper's length-normalized log probability) of its likeliest are read."""
    n_best_words: int = 2
    """Only a greedy transcript of at least this many words is read again: a sentence heard a little wrong ("I
    will be next tension today.") may say its answer in another reading; one word heard clearly as another
    ("Cat...", "forward") would too often become an answer ("Can't", "Four worse"), and its short answers'
    scores have already been weighed. Over 60 real unknown words in all 7 contexts: 10 answered with one-word
    transcripts read again, 7 without; bench: 1 of 6 gains lost ("Roundaboute." for "around about eight")."""
    correct_distance: float = 0.5
    """A transcript of ``n_best_words`` or more that means nothing in any of its n-best is read again with one word
    corrected to a word of the context that sounds at most this far from it (``corrections``: "Let hand side." is
    left hand side, "It's a free." is three) ..."""
    correct_gap: float = 3.5
    """... taken when Whisper scores that reading at most this much (log probability) below its own transcript (and
    clear of other readings and dangerous opposites, never the riskier answer). Over 213 answers spoken by 5 outside
    voices (3 rotations clean, and with real background at 10 and 20 dB), readings came within 4.0 24 times: the 4
    wrong ones at 2.15, 2.65, 3.88 and 3.94 (two commands, "not worse", a digit), the right ones from -0.7 to 3.8.
    With 3.5: 14 more of the 1065 right, 2 more wrong ("map she hope" as help, "Not work." as "not worse", an item
    that expected to be asked again); bench phrasings 84.2 -> 87.5 %."""
    correct_words: int = 12
    """Transcripts longer than this are not corrected ..."""
    correct_meanings: int = 3
    """... nor those whose readings mean more answers than this (read too many ways) ..."""
    correct_per_meaning: int = 2
    """... and of each meaning only this many readings, the nearest in sound, are scored: each costs a decoder pass
    over the sentence (~30 ms for eleven words), and all of them a pain-context sentence about a door bell took 2.5 s."""
    sounds_like_name: float = 0.34
    """A transcript that says the start of longer answers ("Begin inflection.": begin) means the one whose last
    word sounds this near one of its unknown words ("inflection" 0.22 from "flexion"); "session" (0.43 from
    "flexion") is a known word and is never read so."""


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

