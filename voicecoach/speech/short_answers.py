"""A context's short answers as Whisper may write them, and what a transcript says about them.

The phrase file's sentences of one or two words ("yes", "my thigh", "begin mckenzie") are what the Whisper
recognizer scores teacher-forced; this module builds them per context (token ids of every spelling) and
reads a transcript against them: may it be one of them (``starts_short``), does it say more than one
(``says_more``), which answers does it sound like, begin inside another word, or lead into
(``Evidence`` fields that ``whisper_judge.judge`` weighs).
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass

from ..content.answer import DIGITS, opposite
from ..content.phrases import Answer, normalize
from .asr import Grammar, meaning
from .sounds import sound_distance
from .whisper_judge import words_said



def spellings(sentence: str) -> list[str]:
    """How Whisper may write a short answer at the start of a transcript: " Yes", " yes", " 7"."""
    out = {" " + sentence[:1].upper() + sentence[1:], " " + sentence}
    if sentence in DIGITS:
        out.add(f" {DIGITS.index(sentence)}")
    return sorted(out)


@dataclass(frozen=True)
class ShortAnswers:
    """The short answers of one context (barge-in: of stop and pause)."""

    tokens: list[tuple[tuple, list[int]]]
    """(meaning, token ids) of every spelling of every short sentence."""
    vocabulary: frozenset[str]
    """The words of those spellings ("yes", "7", "my", "thigh")."""
    first_words: dict[tuple, frozenset[str]]
    """Meaning -> the first words of its short sentences ("nine"; "my" for "my thigh")."""
    leads_to: dict[tuple, frozenset[tuple]]
    """Meaning -> the other meanings of the context's longer sentences that start with one of its short ones
    ("begin" -> "begin mckenzie", "begin flexion"...)."""
    last_words: dict[tuple, frozenset[str]]
    """Meaning -> the last words of its two-word sentences ("mckenzie", "extension" for the extension program)."""
    own_words: dict[tuple, frozenset[str]] = dataclasses.field(default_factory=dict)
    """Meaning -> its one-word sentences that no other meaning has ("back", "seven", "worse")."""

    @property
    def depth(self) -> int:
        """Decoder steps that scoring reads: the longest spelling's tokens and the step after its last."""
        return max((len(tokens) for _, tokens in self.tokens), default=0) + 1

    @classmethod
    def build(cls, grammar: Grammar, context: str, strict: bool, encode, max_words: int) -> ShortAnswers:
        """The short answers of ``context``; ``encode``: text -> token ids."""
        sentences = grammar.strict(context) if strict else grammar.sentences[context]
        tokens, words, firsts, leads, lasts, alone = [], set(), {}, {}, {}, {}
        ordered = sorted(sentences)
        for s in sentences:
            if len(s.split()) > max_words:
                continue
            m = meaning(grammar.parse(s, context))
            for spelling in spellings(s):
                tokens.append((m, encode(spelling)))
                words.update(normalize(spelling).split())
            firsts.setdefault(m, set()).add(s.split()[0])
            if len(s.split()) > 1:
                lasts.setdefault(m, set()).add(s.split()[-1])
            else:
                alone.setdefault(m, set()).add(normalize(s))
            longer = ordered[bisect.bisect_left(ordered, s + " "): bisect.bisect_left(ordered, s + "!")]  # s + " ..."
            leads.setdefault(m, set()).update(meaning(grammar.parse(x, context)) for x in longer)
        own = {m: frozenset(w for w in ws if not any(w in o for n, o in alone.items() if n != m))
               for m, ws in alone.items()}
        return cls(tokens, frozenset(words), {m: frozenset(w) for m, w in firsts.items()},
                   {m: frozenset(x for x in later if x != m) for m, later in leads.items()},
                   {m: frozenset(w) for m, w in lasts.items()}, own)

    def named_in(self, text: str) -> frozenset[tuple]:
        """The meanings one of whose own words the transcript says ("back" in "Bank of the bike, back of this
        bike."): when the phrase file read the transcript and found no answer, it has weighed that word already."""
        words = set(normalize(text).split())
        return frozenset(m for m, own in self.own_words.items() if own & words)

    @property
    def meanings(self) -> set[tuple]:
        """Every meaning a short answer has."""
        return {m for m, _ in self.tokens}

    def has_opposite(self, answer: Answer) -> bool:
        """Whether one of the short answers is a dangerous opposite of ``answer``."""
        return any(opposite(answer, Answer(m[0], m[1], "")) for m in self.meanings)

    def starts_short(self, text: str, most_words: int) -> bool:
        """Whether a transcript may be one of the short answers, so their scores speak to it: at most
        ``most_words`` words, all of them words of short answers ("Yeah.", "Left, right. Left."); not
        "About a seven." or "It's worse." when those are not short answers themselves."""
        words = normalize(text).split()
        return 0 < len(words) <= most_words and all(w in self.vocabulary for w in words)

    def says_more(self, text: str) -> bool:
        """Whether a transcript starts with a word of the short answers and goes on with two words or more of
        none (or with three words, one of none): Whisper heard the word and more, and the phrase file refused
        the whole ("what time is it" is no "what"), so the short answers' scores, which only see its start,
        must not take it back. One odd word after is most often the answer's own misheard ("Last section.")."""
        words = words_said(text)
        odd = sum(w not in self.vocabulary for w in words[1:])
        return bool(words) and words[0] in self.vocabulary and odd > 0 and (odd >= 2 or len(words) >= 4)

    def sounding_like(self, text: str, distance: float, first: int = 3) -> frozenset[tuple]:
        """The meanings one of whose first words sounds like one of the transcript's ``first`` words
        (``sounds.sound_distance`` at most ``distance``): "Mine." for nine, "a" for eight."""
        words = normalize(text).split()[:first]
        return frozenset(m for m, firsts in self.first_words.items()
                         if any(sound_distance(w, a) <= distance for w in words for a in firsts))

    def inside_first_word(self, text: str) -> frozenset[tuple]:
        """The meanings whose first word begins the transcript's first, longer word ("Backward" for back,
        "Fourteen" for four): Whisper heard another word, which only starts like the answer."""
        words = normalize(text).split()[:1]
        return frozenset(m for m, firsts in self.first_words.items()
                         for w in words if any(w.startswith(a) and len(w) > len(a) + 1 for a in firsts))

    def named_after(self, text: str, said: tuple, distance: float) -> tuple | None:
        """What a transcript that means ``said`` ("Begin inflection." is "begin") means when a word of it that is
        no short answer's word sounds like the last word of one of the longer answers that start with ``said``
        ("inflection" ~ "flexion": begin flexion): that one answer, else None."""
        words = [w for w in normalize(text).split()[1:] if w not in self.vocabulary]
        named = {m for m in self.leads_to.get(said, ()) if any(
            sound_distance(w, last) <= distance for w in words for last in self.last_words.get(m, ()))}
        return named.pop() if len(named) == 1 else None

    def named(self, text: str, said: Answer | None, distance: float) -> Answer | None:
        """The one longer answer the transcript names after what it says (``named_after``; said nothing: after
        any short answer that leads to longer ones): "Big inflection." is begin flexion. Never an answer with
        a dangerous opposite (yes/no, a side): only names, such as the programs'."""
        starts = [meaning(said)] if said is not None else self.leads_to
        found = {m for m in (self.named_after(text, s, distance) for s in starts)
                 if m and not self.has_opposite(Answer(m[0], m[1], ""))}
        return Answer(*found.pop(), text) if len(found) == 1 else None
