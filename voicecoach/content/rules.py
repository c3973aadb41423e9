"""The phrase file's ``understanding:`` section as ``Rules``: how everyday text is read.

Every list in the section (fillers, hedges, negations, corrections...) becomes normalized word sequences
here, once, so ``understanding.Understander`` only compares tuples of words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from .answer import normalize

Words = tuple[str, ...]
"""A phrase as lower-case words without apostrophes ("it's" = "its", as ``Phrases`` keys)."""


def _phrases(items) -> tuple[Words, ...]:
    """Normalized word sequences, longest first (so "a little bit" goes before "a little")."""
    return tuple(sorted({tuple(normalize(str(s)).replace("'", "").split()) for s in items or ()}, key=len, reverse=True))


@dataclass(frozen=True)
class Rules:
    """The phrase file's ``understanding:`` section: how free text is read."""

    fillers: tuple[Words, ...] = ()
    """Word sequences that carry no answer, dropped from text and sentences before matching."""
    hedges: Mapping[str, tuple[Words, ...]] = field(default_factory=dict)
    """Context (or "all") -> word sequences of doubt: an utterance with one is asked again."""
    negations: frozenset[str] = frozenset()
    """Words that negate a sentence said at most ``negation_reach`` words after them."""
    adjacent_negations: frozenset[str] = frozenset()
    """Words that negate only the sentence right after them ("no better"; "no, worse" is two clauses)."""
    negation_reach: int = 3
    """How many words before a sentence a negation may stand."""
    negated: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    """Context -> answer value -> what saying it negated means ("not worse" -> same); else nothing."""
    whole_only: frozenset[Words] = frozenset()
    """Sentences that count only as the whole utterance ("what", "sorry")."""
    sounds_like: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Context ("global": every context) -> a word a transcriber may write -> the answer's word ("write" -> "right")."""
    sounds_like_alone: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """The same, only when that word is all that was said ("to" alone is "two")."""
    about_others: frozenset[str] = frozenset()
    """A sentence after one of these in its clause is about someone else and says nothing ("my mum had cancer")."""
    corrections: tuple[Words, ...] = ()
    """Self-corrections: only what follows the last one counts ("no sorry", "make that")."""
    correction_words: frozenset[Words] = frozenset()
    """Clauses that correct what came before when they are all the clause says and no answer of the context."""
    combine: Mapping[str, str] = field(default_factory=dict)
    """Context -> how several of its answers combine: "furthest" (by ``order``) or "merge" (by ``merge``)."""
    order: Mapping[str, Sequence[object]] = field(default_factory=dict)
    """Context -> its values in order; "furthest" takes the last of those said."""
    merge: Mapping[str, Sequence[tuple[frozenset, object, str | None]]] = field(default_factory=dict)
    """Context -> (values said together, the value they mean, the word that must join them in one phrase or
    None): partial + centralized -> centralized; left "and" right -> both."""
    negating: Mapping[str, frozenset] = field(default_factory=dict)
    """Context -> answers that negate the rest of their clause ("no numbness", "I haven't had any falls")."""
    now_words: tuple[Words, ...] = ()
    """When answers disagree, those said in a clause with one of these ("now") win."""
    past_words: tuple[Words, ...] = ()
    """When answers disagree, those said in a clause with one of these ("before", "was") count only if alone."""
    now_contexts: frozenset[str] = frozenset()
    """Contexts that ask how things are now (pain score, where it is), where ``now_words``/``past_words`` apply;
    not yes/no: "I fell last week" answers "have you had a recent fall?"."""
    unfinished: frozenset[str] = frozenset()
    """Contexts where a sentence that starts longer ones of another meaning, followed by a word the context does
    not know, is asked again ("begin strands": which program?), not taken as the shorter one (start a session)."""
    alternatives: frozenset[str] = frozenset()
    """Words that offer a choice: different answers said in one clause with one of these ("buttock or thigh",
    "left or right") are a choice not made, asked again."""
    question_words: frozenset[str] = frozenset()
    """A clause that starts with one of these asks a question: no answer of the context in it counts."""
    safer: Mapping[str, object] = field(default_factory=dict)
    """Context -> the answer that wins a disagreement unless the other was said as a listed answer and it
    only as a cue (yesno: "yes" -- a red-flag yes only stops the session)."""

    @classmethod
    def from_dict(cls, raw: Mapping | None) -> Rules:
        """Build from the YAML section (every key optional)."""
        raw = raw or {}
        hedges = raw.get("hedges") or {}
        hedges = {"all": hedges} if isinstance(hedges, list) else hedges
        return cls(
            fillers=_phrases(raw.get("fillers")),
            hedges={c: _phrases(v) for c, v in hedges.items()},
            negations=frozenset(" ".join(w) for w in _phrases(raw.get("negations"))),
            adjacent_negations=frozenset(" ".join(w) for w in _phrases(raw.get("adjacent_negations"))),
            negation_reach=int(raw.get("negation_reach", 3)),
            negated={c: {str(k): v for k, v in m.items()} for c, m in (raw.get("negated") or {}).items()},
            whole_only=frozenset(_phrases(raw.get("whole_only"))),
            sounds_like={c: {" ".join(_phrases([k])[0]): normalize(str(v)).replace("'", "") for k, v in m.items()}
                         for c, m in (raw.get("sounds_like") or {}).items()},
            sounds_like_alone={c: {" ".join(_phrases([k])[0]): normalize(str(v)).replace("'", "") for k, v in m.items()}
                               for c, m in (raw.get("sounds_like_alone") or {}).items()},
            about_others=frozenset(" ".join(w) for w in _phrases(raw.get("about_others"))),
            now_words=_phrases(raw.get("now_words")), now_contexts=frozenset(raw.get("now_contexts") or ()), past_words=_phrases(raw.get("past_words")),
            question_words=frozenset(" ".join(w) for w in _phrases(raw.get("question_words"))),
            alternatives=frozenset(" ".join(w) for w in _phrases(raw.get("alternatives"))),
            unfinished=frozenset(raw.get("unfinished") or ()),
            corrections=_phrases(raw.get("corrections")),
            correction_words=frozenset(_phrases(raw.get("correction_words"))),
            combine=dict(raw.get("combine") or {}),
            order={c: list(v) for c, v in (raw.get("order") or {}).items()},
            merge={c: tuple((frozenset(m["said"]), m["means"], m.get("joined_by")) for m in ms)
                   for c, ms in (raw.get("merge") or {}).items()},
            negating={c: frozenset(v) for c, v in (raw.get("negating") or {}).items()},
            safer=dict(raw.get("safer") or {}),
        )

    @cached_property
    def _fillers_by_first(self) -> dict[str, list[Words]]:
        """The fillers by their first word, longest first (built once: the phrase file's 20,000 sentences use it)."""
        out: dict[str, list[Words]] = {}
        for f in self.fillers:
            out.setdefault(f[0], []).append(f)
        return out

    def drop_fillers(self, words: Sequence[str]) -> list[str]:
        """``words`` without any filler (longest first, whole words only)."""
        out, i = [], 0
        while i < len(words):
            hit = next((f for f in self._fillers_by_first.get(words[i], ()) if tuple(words[i:i + len(f)]) == f), None)
            if hit:
                i += len(hit)
            else:
                out.append(words[i])
                i += 1
        return out
