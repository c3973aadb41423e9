"""Understanding: what an everyday answer means in a context, from the one phrase source.

``Phrases.parse`` takes only whole sentences of ``prompts/phrases.yaml``. People say more
("yeah, I've got some numbness down there", "it went further down my leg", "no, not yet"), so
``Understander`` finds the phrase file's sentences *inside* what was said, with the rules of
its ``understanding:`` section:

1. a whole accepted sentence is the answer at once;
2. doubt ("I'm not sure", "maybe": ``hedges``) is never an answer: the coach asks again;
3. after a self-correction ("eight... no, make that seven") only what follows counts; one that ends the
   answer takes it back ("left, no sorry": asked again), its "no" the answer where it is one ("yes, well
   no actually");
4. ``fillers`` ("um", "well", "please") are dropped from the text and from the sentences alike,
   repeats collapse ("yes yes yes"), and the longest sentences are found left to right in each
   clause (clauses end at punctuation and at "but");
5. a sentence after a negation ("not worse", "no better", "it isn't spreading") is not said:
   ``negated`` says what it means instead, if anything;
6. what was found must say one thing. "stop" wins over anything (stopping is always safe); an
   answer of the context wins over the other commands ("yes, go on"); several answers merge by
   the context's rule (``combine``: "back of my thigh" is the furthest place, "left and right"
   is both), else ("yes and no") the coach asks again; so it does when two answers are offered
   as a choice in one clause ("buttock or thigh", "left or right": ``alternatives``).
Short sentences that mean something only alone ("what", "sorry": ``whole_only``) count only
when nothing else was said.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .answer import GLOBAL, Answer, Meaning, normalize, opposite
from .rules import Rules, Words

PAUSE = r"[.,;:!?]+"
"""Punctuation: where a phrase ends."""
CLAUSE = re.compile(PAUSE + r"|\s(?:and|but|though|although|except|because|cause)\s")
"""Where a clause ends: punctuation, or a joining word ("and", "but", "because")."""

@dataclass(frozen=True)
class Understanding:
    """What one utterance means in one context."""

    answer: Answer | None
    """The answer, or None: the coach asks again."""
    why: str
    """"sentence" (a whole accepted sentence), "found" (found inside), "hedge", "two answers",
    "not understood" or "nothing said"."""
    found: tuple[str, ...] = ()
    """The accepted sentences found in the text, in order (negated ones as "not ...")."""


def _words(text: str) -> list[str]:
    """Lower-case words without apostrophes ("it's" = "its", as ``Phrases`` keys); "7/10" -> "7 out of 10"."""
    return normalize(text.replace("/", " out of ")).replace("'", "").split()


def _find_phrase(words: Sequence[str], phrase: Words) -> int:
    """Index of the first whole-word occurrence of ``phrase`` in ``words``, or -1."""
    n = len(phrase)
    return next((i for i in range(len(words) - n + 1) if tuple(words[i:i + n]) == phrase), -1)


def _collapse(words: list[str]) -> list[str]:
    """Drop immediate repeats of one to four words ("yes yes yes", "it's better it's better")."""
    out: list[str] = []
    for w in words:
        out.append(w)
        for n in (1, 2, 3, 4):
            if len(out) >= 2 * n and out[-n:] == out[-2 * n:-n]:
                del out[-n:]
                break
    return out


EMPTY = frozenset("i im it its my the a an is am are was that thats there theres this to in on of".split())
"""Words that say nothing alone: a sentence reduced to them by dropping fillers is not looked for."""


class Understander:
    """Reads free text in a context with the sentences of a phrase table and the ``Rules``."""

    def __init__(self, table: Mapping[str, Mapping[str, Meaning]], rules: Rules,
                 parse: Callable[[str, str], Answer | None], listed: Mapping[str, set[str]] | None = None) -> None:
        self.rules = rules
        self._parse = parse
        self._table: dict[str, dict[Words, Meaning]] = {}
        self._listed: dict[str, set[Words]] = {}
        for context, sentences in table.items():
            mine: dict[Words, Meaning] = {}
            clashes: set[Words] = set()
            for key, meaning in sentences.items():
                words = tuple(rules.drop_fillers(key.split()))
                if not words or set(words) <= EMPTY:
                    continue
                if mine.setdefault(words, meaning) != meaning:
                    clashes.add(words)  # two sentences that differ only in fillers: neither counts inside text
            self._table[context] = {k: m for k, m in mine.items() if k not in clashes}
            self._listed[context] = {tuple(rules.drop_fillers(k.split())) for k in (listed or {}).get(context, ())}
        self._longest = {c: max((len(k) for k in t), default=1) for c, t in self._table.items()}
        unfinished = {c: t for c, t in self._table.items() if c in rules.unfinished}
        self._leads_on = {c: {k for k in t if any(o[:len(k)] == k and len(o) > len(k) and t[o] != t[k] for o in t)}
                          for c, t in unfinished.items()}
        """In the ``unfinished`` contexts: sentences that start longer ones of another meaning ("begin": "begin
        flexion")."""
        self._known = {c: {w for k in (*t, *self._table.get(GLOBAL, {})) for w in k} for c, t in unfinished.items()}
        """... and every word of their sentences and of the commands."""
        self._commands = set(self._table.get(GLOBAL, {}).values())

    def __call__(self, text: str, context: str) -> Understanding:
        """What ``text`` answers in ``context`` (global commands included)."""
        whole = self._parse(text, context)
        if whole is not None:
            return Understanding(whole, "sentence", (whole.text,))
        words = _words(text)
        if not words:
            return Understanding(None, "nothing said")
        hedge = next((h for h in self.rules.hedges.get("all", ()) + self.rules.hedges.get(context, ())
                      if _find_phrase(words, h) >= 0), None)
        raw = self._after_correction([c for c in (_words(c) for c in CLAUSE.split(f" {text} ")) if c], context)
        clauses = [(r, c) for r, c in ((r, self._clean(r, context)) for r in raw) if c]
        said = _collapse([w for _, c in clauses for w in c])
        if not said:
            return Understanding(None, "nothing said")
        alone = _in_context(self.rules.sounds_like_alone, context).get(" ".join(said), " ".join(said))
        meaning = self._table[context].get(tuple(alone.split()))
        if meaning is not None and hedge is None:
            return Understanding(Answer(meaning[0], meaning[1], alone), "found", (alone,))
        found, choice = [], False
        for r, c in clauses:
            when = "now" if any(_find_phrase(r, w) >= 0 for w in self.rules.now_words) else (
                "past" if any(_find_phrase(r, w) >= 0 for w in self.rules.past_words) else "")
            asks = r[0] in self.rules.question_words and context not in ("idle", GLOBAL)
            others = next((k for k, w in enumerate(c) if w in self.rules.about_others), len(c))
            hits = [(name, m, whole, when) for name, m, whole in self._find(c[:others], context)
                    if not asks or m in self._commands]
            choice |= bool(self.rules.alternatives & set(c)) and len({h[1] for h in hits if h[1] is not None}) > 1
            found += hits
        if self._garbled_number(words, found):
            return Understanding(None, "not understood")
        if hedge is not None:  # doubt: only a command still counts ("I'm not sure, wait")
            found = [hit for hit in found if hit[1] in self._commands]
            if not found:
                return Understanding(None, "hedge", (" ".join(hedge),))
        return self._decide(found, context, text, choice)

    @staticmethod
    def _garbled_number(words: list[str], found: list) -> bool:
        """A number written inside another word ("3L, Pop 10.": a number heard but not written cleanly) two or
        more from the number found (the digits a patient must not be mistaken on); "S3 3 3 S2 3" is still 3."""
        numbers = [Answer(*m, "") for _, m, _, _ in found if m is not None and m[0] == "number"]
        inside = [Answer("number", int(d), "") for w in words if not w.isdigit() for d in re.findall(r"\d+", w)]
        return any(opposite(n, d) for n in numbers for d in inside)

    def _clean(self, words: list[str], context: str) -> list[str]:
        """A clause's words without fillers, transcription homophones read as the answer's word, repeats collapsed."""
        heard_as = _in_context(self.rules.sounds_like, context)
        return _collapse([heard_as.get(w, w) for w in self.rules.drop_fillers(words)])

    def _after_correction(self, clauses: list[list[str]], context: str) -> list[list[str]]:
        """The clauses after the last self-correction (the correction's own words dropped)."""
        for i in range(len(clauses) - 1, 0, -1):
            if tuple(clauses[i]) in self.rules.correction_words and tuple(clauses[i]) not in self._table[context]:
                return clauses[i + 1:] or clauses[:i]
        for i in range(len(clauses) - 1, -1, -1):
            for marker in self.rules.corrections:
                at = _find_phrase(clauses[i], marker)
                if at >= 0:
                    rest = [clauses[i][at + len(marker):]] + clauses[i + 1:]
                    rest = [c for c in rest if c]
                    if rest or "no" not in marker:  # "it's five, actually": nothing corrected
                        return rest if rest else clauses[:i] + [clauses[i][:at]]
                    # "yes, well no actually": the correction's own "no" is the answer where it is one; else
                    # ("left, no sorry"; "yes, no wait": a thought not finished) what came before was taken
                    # back and nothing replaces it: asked again
                    return [["no"]] if "actually" in marker and ("no",) in self._table[context] else []
        return clauses

    def _find(self, words: list[str], context: str) -> list[tuple[str, Meaning | None, bool]]:
        """The sentences in one clause, longest first wherever they are, then in order; each as
        (name, meaning, the clause is just a listed answer). A negated one has its ``negated`` meaning (None: nothing)."""
        table, longest = self._table[context], self._longest[context]
        spans = [(i, j) for i in range(len(words)) for j in range(i + 1, min(len(words), i + longest) + 1)
                 if tuple(words[i:j]) in table and tuple(words[i:j]) not in self.rules.whole_only]
        taken: list[tuple[int, int]] = []
        for i, j in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
            if all(j <= a or i >= b for a, b in taken):
                taken.append((i, j))
        out: list[tuple[str, Meaning | None, bool]] = []
        negating = self.rules.negating.get(context, ())
        carry = -1  # where the last negating answer ("no", "I haven't") ended: it negates the rest of the clause
        for i, j in sorted(taken):
            key = tuple(words[i:j])
            kind, value = meaning = table[key]
            name = " ".join(key)
            listed = key in self._listed.get(context, ()) and (i, j) == (0, len(words))  # the whole clause
            if self._negated(words, taken, i) or 0 <= carry <= i:
                instead = self.rules.negated.get(context, {}).get(str(value if value is not None else kind))
                out.append((f"not {name}", None if instead is None else (kind, instead), False))
            elif key in self._leads_on.get(context, ()) and j < len(words) and words[j] not in self._known[context]:
                out.append((f"{name} {words[j]}", None, False))  # "begin strands": which longer answer? unclear
            else:
                out.append((name, meaning, listed))
            if value in negating:
                carry = j
        return out

    def _negated(self, words: list[str], taken: list[tuple[int, int]], at: int) -> bool:
        """Whether a negation word (not inside another sentence found) stands at most ``negation_reach``
        words before ``words[at]``, or a "no" right before it."""
        inside = {k for a, b in taken for k in range(a, b)}
        window = [k for k in range(max(0, at - self.rules.negation_reach), at) if k not in inside]
        adjacent = at > 0 and at - 1 not in inside and words[at - 1] in self.rules.adjacent_negations
        return adjacent or any(words[k] in self.rules.negations for k in window)

    def _decide(self, found: list[tuple], context: str, text: str, choice: bool) -> Understanding:
        """One answer from the sentences found: "stop" first, then none when ``choice`` (answers offered as a
        choice: "buttock or thigh"), the context's answers before the other commands, then the context's rule
        for several; a clause said "now" beats one said "before"."""
        names = tuple(hit[0] for hit in found)
        meanings = list(dict.fromkeys(hit[1] for hit in found if hit[1] is not None))
        if not meanings:
            return Understanding(None, "not understood", names)
        if ("stop", None) in meanings:
            return Understanding(Answer("stop", None, "stop"), "found", names)
        if choice:
            return Understanding(None, "two answers", names)
        for when in ("all", "now", "not past") if context in self.rules.now_contexts else ("all",):
            hits = [h for h in found if h[1] is not None and (
                when == "all" or (h[3] == "now" if when == "now" else h[3] != "past"))]
            pool = list(dict.fromkeys(h[1] for h in hits))
            own = [m for m in pool if m not in self._commands]
            value = self._combine(own or pool, context, hits, text) if pool else None
            if value is not None:
                text = next(h[0] for h in hits if h[1] == value) if value in pool else names[-1]
                return Understanding(Answer(value[0], value[1], text), "found", names)
        return Understanding(None, "two answers", names)

    def _combine(self, pool: list[Meaning], context: str, found, text: str) -> Meaning | None:
        """One meaning for several said together, by the context's rule; None when they disagree. A merge
        with ``joined_by`` needs its answers joined by that word ("left and right"; "the right one, the left"
        may be a correction or a mishearing: asked again)."""
        if len(pool) == 1:
            return pool[0]
        kinds = {kind for kind, _ in pool}
        if len(kinds) != 1:
            return None
        kind, values = kinds.pop(), [value for _, value in pool]
        if self.rules.combine.get(context) == "furthest":
            order = list(self.rules.order.get(context, ()))
            return (kind, max(values, key=order.index)) if all(v in order for v in values) else None
        for said, means, joined_by in self.rules.merge.get(context, ()):
            if set(values) == set(said) and (joined_by is None or any(
                    joined_by in part and all(str(v) in part for v in said)
                    for part in (_words(p) for p in re.split(PAUSE, text)))):
                return kind, means
        safer = self.rules.safer.get(context)
        cue = any(hit[1] == (kind, safer) and tuple(hit[0].split()) not in self._listed[context] for hit in found)
        if cue and not any(hit[2] and hit[1] != (kind, safer) for hit in found if hit[1] in pool):
            return kind, safer  # a cue ("I fell"), unless another answer was said as a whole listed answer ("no")
        return None


def _in_context(by_context, context: str) -> dict:
    """A per-context table of the phrase file with its global entries under the context's own."""
    return {**by_context.get(GLOBAL, {}), **by_context.get(context, {})}
