"""A transcript that means nothing, read again with one word corrected to a word of the phrase file that sounds
like it: "Let hand side." (piper's "left-hand side"), "It's a free." (flite's "it's a three").

Whisper tiny.en often writes a word that sounds like the one said. ``Corrections`` proposes the readings the
phrase file understands with one word of the transcript replaced by a word the context understands (its answers,
commands and cues) that sounds at most ``WhisperTuning.correct_distance`` away (``sounds.sound_distance``); a word
of the context's own answers or a negation is never replaced, nor replaced by a negation, and a sentence that could
be read too many ways is not read at all. ``asr_whisper`` has Whisper score the readings against its own transcript
on the same audio (teacher-forced); ``choose`` takes one only when Whisper finds it nearly as likely as what it
wrote, clearly likelier than any reading with another meaning and, where the phrase file names a safer answer
(``safer``: yes to a red flag, no to the clearance), never the riskier one; then its dangerous opposites (the same
word read as "right" for "left") are scored, and it must beat them clearly (``beats_opposites``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..content.answer import opposite
from ..content.phrases import Answer, normalize
from .asr import Grammar, meaning
from .sounds import pronunciations, sound_distance
from .whisper_tuning import WhisperTuning


@dataclass(frozen=True)
class Reading:
    """The transcript with one word corrected, and what it then means."""

    text: str
    """The corrected transcript (normalized: lower case, no punctuation)."""
    answer: Answer
    """What the phrase file understands in it."""
    at: int
    """Which word (index) was corrected."""


@dataclass(frozen=True)
class Corrections:
    """The words a transcript of one context may be corrected to, and the words it keeps."""

    vocabulary: tuple[str, ...]
    """What a word may become: the words of the sentences the context understands (``Grammar.words``: global
    commands and cues such as "fever" too) that the pronouncing dictionary knows, no negation among them."""
    kept: frozenset[str]
    """Words never corrected: those of the context's own answers (a "session" heard is not "extension") and
    negations ("can" is not "can't")."""
    alone: dict[str, Answer]
    """The vocabulary's words that are an answer said alone ("right", "down", "seven"): where opposites come from."""

    @classmethod
    def build(cls, grammar: Grammar, context: str) -> Corrections:
        """The corrections of ``context``."""
        listed = {w for sentence in grammar.sentences[context] for w in sentence.split()}
        words = sorted(w for w in (grammar.words.get(context) or listed) - grammar.negations if pronunciations(w))
        kept = {w.replace("'", "") for w in listed} | grammar.negations
        alone = {w: a for w in words if (a := grammar.parse(w, context)) is not None}
        return cls(tuple(words), frozenset(kept), alone)

    def readings(self, text: str, read, t: WhisperTuning) -> list[Reading]:
        """The readings of ``text`` with one word that is not ``kept`` replaced by one that sounds at most
        ``t.correct_distance`` from it, which ``read`` (text -> (answer or None, why)) understands: per meaning
        the ``t.correct_per_meaning`` nearest in sound; none when the transcript is longer than
        ``t.correct_words`` words or the readings mean more than ``t.correct_meanings`` answers (it could be
        read too many ways, and each reading costs a decoder pass)."""
        words = normalize(text).split()
        if len(words) > t.correct_words:
            return []
        near: dict[tuple, list[tuple[float, Reading]]] = {}
        for at, word in enumerate(words):
            if word.replace("'", "") in self.kept or not pronunciations(word):  # kept: both spellings
                continue
            for other in self.vocabulary:
                if other != word and (far := sound_distance(word, other)) <= t.correct_distance:
                    corrected = _replaced(words, at, other)
                    answer, _ = read(corrected)
                    if answer is not None:
                        near.setdefault(meaning(answer), []).append((far, Reading(corrected, answer, at)))
        if len(near) > t.correct_meanings:
            return []
        return [r for found in near.values() for _, r in sorted(found, key=lambda fr: fr[0])[: t.correct_per_meaning]]

    def opposites(self, reading: Reading, read) -> list[str]:
        """``reading`` with its corrected word replaced by a word of the context that alone means a dangerous
        opposite of its answer, however it sounds ("right hand side" for "left hand side"), and that then means it."""
        words = reading.text.split()
        out = []
        for other, answer in self.alone.items():
            if opposite(reading.answer, answer):
                corrected = _replaced(words, reading.at, other)
                said, _ = read(corrected)
                if said is not None and opposite(reading.answer, said):
                    out.append(corrected)
        return out


def _replaced(words: list[str], at: int, other: str) -> str:
    """The words as one text, word ``at`` replaced by ``other``."""
    return " ".join(words[:at] + [other] + words[at + 1:])


def choose(transcript: float, scored: list[tuple[Reading, float]], safer, t: WhisperTuning) -> tuple[Reading, float] | None:
    """The reading to take and its score, or None (ask again), before its opposites are weighed
    (``beats_opposites``). ``transcript``: Whisper's log probability of its own (normalized) transcript;
    ``scored``: each reading's; ``safer``: the context's safer answer (``Grammar.safer``) or None."""
    best: dict[tuple, tuple[Reading, float]] = {}
    for reading, score in scored:
        m = meaning(reading.answer)
        if m not in best or score > best[m][1]:
            best[m] = (reading, score)
    if not best:
        return None
    ranked = sorted(best.values(), key=lambda rs: -rs[1])
    reading, score = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else None
    if transcript - score > t.correct_gap or (runner is not None and score - runner < t.margin):
        return None
    if safer is not None and reading.answer.value not in (None, safer):
        return None  # a corrected word is weaker evidence: never the riskier answer ("no" to a red flag)
    return reading, score


def beats_opposites(score: float, opposites: list[float], t: WhisperTuning) -> bool:
    """Whether a reading scored ``score`` beats every dangerous opposite reading by ``t.opposite_margin``."""
    return all(score - other >= t.opposite_margin for other in opposites)
