"""A transcript that means nothing, read again with one word corrected to a word of the phrase file that sounds
like it: "Let hand side." (piper's "left-hand side"), "It's a free." (flite's "it's a three").

Whisper tiny.en often writes a word that sounds like the one said. ``Corrections`` proposes every reading the
phrase file understands with one word of the transcript replaced by a word of the context's sentences that sounds
at most ``WhisperTuning.correct_distance`` away (``sounds.sound_distance``), and the readings of that same word
that would mean a dangerous opposite. ``asr_whisper`` has Whisper score them all against its own transcript on
the same audio (teacher-forced), and ``choose`` takes a reading only when Whisper finds it nearly as likely as
what it wrote, clearly likelier than any reading with another meaning or a dangerous opposite, and, where the
phrase file names a safer answer (``safer``: yes to a red flag, no to the clearance), never the riskier one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..content.answer import opposite
from ..content.phrases import Answer, normalize
from .asr import Grammar, meaning
from .sounds import pronunciations, sound_distance
from .whisper_judge import WhisperTuning


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

    @classmethod
    def build(cls, grammar: Grammar, context: str) -> Corrections:
        """The corrections of ``context``."""
        listed = {w for sentence in grammar.sentences[context] for w in sentence.split()}
        words = (grammar.words.get(context) or listed) - grammar.negations
        kept = {w.replace("'", "") for w in listed} | grammar.negations
        return cls(tuple(sorted(w for w in words if pronunciations(w))), frozenset(kept))

    def readings(self, text: str, read, distance: float) -> list[Reading]:
        """Every reading of ``text`` with one word that is not ``kept`` replaced by one that sounds at most
        ``distance`` from it, which ``read`` (text -> (answer or None, why)) understands."""
        words = normalize(text).split()
        out = []
        for at, word in enumerate(words):
            if word in self.kept or word.replace("'", "") in self.kept or not pronunciations(word):
                continue
            for other in self.vocabulary:
                if other != word and sound_distance(word, other) <= distance:
                    corrected = " ".join(words[:at] + [other] + words[at + 1:])
                    answer, _ = read(corrected)
                    if answer is not None:
                        out.append(Reading(corrected, answer, at))
        return out

    def opposites(self, text: str, reading: Reading, read) -> list[str]:
        """The readings of ``text`` with the same word replaced by any word of the context that mean a dangerous
        opposite of ``reading``'s answer, however it sounds ("right hand side" for "left hand side")."""
        words = normalize(text).split()
        out = []
        for other in self.vocabulary:
            corrected = " ".join(words[:reading.at] + [other] + words[reading.at + 1:])
            answer, _ = read(corrected)
            if answer is not None and opposite(reading.answer, answer):
                out.append(corrected)
        return out


def choose(transcript: float, scored: list[tuple[Reading, float]], opposites: list[float], safer,
           t: WhisperTuning) -> Reading | None:
    """The reading to take, or None (ask again). ``transcript``: Whisper's log probability of its own
    (normalized) transcript; ``scored``: each reading's; ``opposites``: the dangerous opposite readings';
    ``safer``: the context's safer answer (``Grammar.safer``) or None."""
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
    if any(score - other < t.opposite_margin for other in opposites):
        return None
    if safer is not None and reading.answer.value not in (None, safer):
        return None  # a corrected word is weaker evidence: never the riskier answer ("no" to a red flag)
    return reading
