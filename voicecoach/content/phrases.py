"""Phrases: what the user may answer at each waiting point, from one YAML source.

``prompts/phrases.yaml`` holds hassil sentence templates (intents named
``<context>.<kind>``, the answer's value in the slot ``value``). At load time
hassil expands every template into every sentence it accepts, and that one
expansion serves three times:

- ``parse()`` looks the normalized text up in a table built from it: whole sentences only;
- ``understand()`` finds those sentences inside everyday answers, with the file's
  ``understanding:`` rules (``understanding.py``): fillers, hedges, negation, several answers;
  anything unclear is ``None``, and the coach asks again;
- ``sentences()`` lists them for the speech recognizers (blocks marked ``listen: false`` are
  understood in text but not listed).

A sentence that would mean two different answers within one context plus the
global commands is refused at load time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from hassil import Intents, TextSlotList
from hassil.sample import sample_sentence

from .programs import prompts_dir
from .yaml_fields import read_yaml

from .answer import CONTEXTS, GLOBAL, Answer, Meaning, normalize
from .rules import Rules
from .understanding import Understander, Understanding

__all__ = ["CONTEXTS", "GLOBAL", "Answer", "Meaning", "Phrases", "Understanding", "expand", "normalize"]


def _key(text: str) -> str:
    """Lookup key: normalized, apostrophes dropped ("its a seven" = "it's a seven")."""
    return normalize(text).replace("'", "")


def expand(intents: Intents) -> Iterator[tuple[str, str, Meaning, bool]]:
    """Yield (context, sentence, (kind, value), listened for) for every sentence hassil generates.

    Each list a template references is narrowed to one value at a time, so every
    generated sentence is known to carry that value in its slot.
    """
    for name, intent in intents.intents.items():
        context, _, kind = name.partition(".")
        if context not in CONTEXTS or not kind:
            raise ValueError(f"intent {name!r}: expected '<context>.<kind>' with context in {CONTEXTS}")
        for data in intent.data:
            rules = {**intents.expansion_rules, **data.expansion_rules}
            lists = {**intents.slot_lists, **data.slot_lists}
            for sentence in data.sentences:
                refs = {r.list_name: r.slot_name for r in sentence.expression.list_references(rules)}
                for list_name in refs:
                    if not isinstance(lists.get(list_name), TextSlotList):
                        raise ValueError(f"intent {name!r}: {{{list_name}}} must be a list with values")
                value_lists = [lists[n].values for n in refs]
                for combo in itertools.product(*value_lists):
                    narrowed = {n: TextSlotList(name=n, values=[v]) for n, v in zip(refs, combo)}
                    slots = {**data.slots, **{refs[n]: v.value_out for n, v in zip(refs, combo)}}
                    listen = (data.metadata or {}).get("listen", True)
                    for text in sample_sentence(sentence, {**lists, **narrowed}, rules):
                        yield context, " ".join(text.lower().split()), (kind, slots.get("value")), listen


def _global_means(table: dict[str, dict[str, Meaning]], commands: dict[str, Meaning], section, path: Path) -> None:
    """Apply the file's ``global_means``: a global command that is an answer in one context ("carry on" before a
    session starts one) means that answer there, in text and to the recognizers."""
    if not section:
        return
    if not isinstance(section, dict):
        raise ValueError(f"{path}: 'global_means' must map contexts to {{command: [kind, value]}}")
    for context, remap in section.items():
        if context not in CONTEXTS or context == GLOBAL or not isinstance(remap, dict):
            raise ValueError(f"{path}: global_means: {context!r} is not a context with commands to remap")
        kinds = {kind for kind, _ in table[context].values()}
        for command, new in remap.items():
            if command not in {kind for kind, _ in commands.values()} or not isinstance(new, list) or len(new) != 2 \
                    or new[0] not in kinds:
                raise ValueError(f"{path}: global_means: {context}: {command!r} -> {new!r} is not a global command "
                                 f"-> [kind, value] of {sorted(kinds)}")
            for key, meaning in commands.items():
                if meaning[0] == command and table[context].get(key) == meaning:
                    table[context][key] = (new[0], new[1])


class Phrases:
    """Accepted answers per context: parse text, list sentences, offer examples."""

    def __init__(
        self,
        table: dict[str, dict[str, Meaning]],
        spoken: dict[str, list[str]],
        examples: dict[str, list[str]],
        rules: Rules | None = None,
        hints: dict[str, str] | None = None,
        full_pause: frozenset[str] = frozenset(),
    ) -> None:
        self._table = table  # context -> key -> meaning, global merged into each context
        self._spoken = spoken
        self._examples = examples
        self._hints = hints or {}
        self.full_pause = full_pause
        """Answer kinds taken only after the full pause, never at the early check (a correction may follow)."""
        listed = {c: {_key(x) for x in spoken.get(c, []) + spoken.get(GLOBAL, [])} for c in table}
        self._rules = rules or Rules()
        self._understand = Understander(table, self._rules, self.parse, listed)

    @classmethod
    def load(cls, path: Path | None = None) -> Phrases:
        """Read and expand the phrase file (default: <prompts dir>/phrases.yaml)."""
        path = Path(path) if path is not None else prompts_dir() / "phrases.yaml"
        raw = read_yaml(path)
        if not isinstance(raw, dict) or "intents" not in raw:
            raise ValueError(f"{path}: not a hassil intents file")
        raw.setdefault("language", "en")
        own: dict[str, dict[str, Meaning]] = {c: {} for c in CONTEXTS}
        spoken: dict[str, set[str]] = {c: set() for c in CONTEXTS}
        for context, sentence, meaning, listen in expand(Intents.from_dict(raw)):
            key = _key(sentence)
            seen = own[context].setdefault(key, meaning)
            if seen != meaning:
                raise ValueError(f"{path}: {sentence!r} means both {seen} and {meaning} in {context!r}")
            if listen and not any(ch.isdigit() for ch in sentence):
                spoken[context].add(sentence)  # grammars need words; digits are for typed text

        table: dict[str, dict[str, Meaning]] = {}
        for context in CONTEXTS:
            clash = sorted(k for k in own[context].keys() & own[GLOBAL].keys()
                           if own[context][k] != own[GLOBAL][k])
            if clash:
                raise ValueError(f"{path}: {clash[:5]} mean different things in {context!r} and 'global'")
            table[context] = {**own[GLOBAL], **own[context]}
        _global_means(table, own[GLOBAL], raw.get("global_means"), path)

        examples = {c: [str(e) for e in (raw.get("examples") or {}).get(c, [])] for c in CONTEXTS}
        try:
            rules = Rules.from_dict(raw.get("understanding"))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ValueError(f"{path}: the 'understanding' section is malformed ({exc})") from None
        hints = raw.get("hints") or {}
        if not isinstance(hints, dict) or set(hints) - set(CONTEXTS) or not all(isinstance(h, str) for h in hints.values()):
            raise ValueError(f"{path}: 'hints' must map contexts {CONTEXTS} to one sentence each")
        full_pause = raw.get("full_pause") or []
        kinds = sorted({kind for meanings in table.values() for kind, _ in meanings.values()})
        if not isinstance(full_pause, list) or set(full_pause) - set(kinds):
            raise ValueError(f"{path}: 'full_pause' must list answer kinds of {kinds}")
        phrases = cls(table, {c: sorted(s) for c, s in spoken.items()}, examples, rules, hints, frozenset(full_pause))
        for context, texts in examples.items():
            for text in texts:
                if phrases.parse(text, context) is None:
                    raise ValueError(f"{path}: example {text!r} is not accepted in {context!r}")
        return phrases

    @staticmethod
    def _check(context: str) -> None:
        if context not in CONTEXTS:
            raise ValueError(f"unknown context {context!r}; expected one of {CONTEXTS}")

    def parse(self, text: str, context: str) -> Answer | None:
        """The answer ``text`` gives in ``context`` (global commands included), or None."""
        self._check(context)
        meaning = self._table[context].get(_key(text))
        if meaning is None:
            return None
        return Answer(kind=meaning[0], value=meaning[1], text=normalize(text))

    def understand(self, text: str, context: str) -> Understanding:
        """What ``text`` means in ``context``: an accepted sentence, or one found inside everyday words."""
        self._check(context)
        return self._understand(text, context)

    def sentences(self, context: str) -> list[str]:
        """Every spoken sentence accepted in ``context`` alone, lower-case, sorted, unique."""
        self._check(context)
        return list(self._spoken[context])

    def words(self, context: str) -> frozenset[str]:
        """Every word of every sentence understood in ``context`` (global commands and cues included)."""
        self._check(context)
        return frozenset(word for key in self._table[context] for word in key.split())

    def negation_words(self) -> frozenset[str]:
        """The words that negate ("not", "can't", "no"), as written and without apostrophes."""
        words = {w for phrase in self._rules.negations | self._rules.adjacent_negations for w in phrase.split()}
        return frozenset(words | {w.replace("'", "") for w in words})

    def kinds(self, context: str) -> frozenset[str]:
        """The kinds of answer ``context`` accepts, global commands included ("yesno", "stop", ...)."""
        self._check(context)
        return frozenset(kind for kind, _ in self._table[context].values())

    def hint(self, context: str) -> str:
        """What a recognizer may be told came before an answer in ``context`` (its offered choices), or ""."""
        self._check(context)
        return self._hints.get(context, "")

    def safer(self, context: str) -> object:
        """The answer of ``context`` that is the safer one to act on when unsure ("yes" to a red flag), or None."""
        self._check(context)
        return self._rules.safer.get(context)

    def examples(self, context: str) -> list[str]:
        """A few short canonical answers to offer when nothing matched."""
        self._check(context)
        return list(self._examples[context])
