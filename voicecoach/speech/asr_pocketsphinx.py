"""PocketSphinx backend: grammar decoding with three independent checks before an answer counts.

Each context's sentences become a minimal word graph (a finite-state grammar whose last
words lead straight into its final state, decoded with ``bestpath`` off so a hypothesis
must complete a sentence). A grammar decoder forces every sound onto some listed sentence,
so ``measure`` gathers the evidence for and against its answer (more decodes, only while they can
change the decision; the slowest, the free decode, runs in its own process beside them:
``free_decode``) and ``rejection.judge`` decides.

Every decode starts with a fresh front end: the model's noise removal (``remove_noise``) otherwise
carries its noise estimate from one decode to the next, so the same audio scored differently on
each of the decodes being compared, and a recording's result depended on what was heard before it.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import pocketsphinx

from ..content.answer import opposite
from ..content.phrases import Answer
from .asr import Grammar, Recognizer, meaning
from .free_decode import FreeDecoder, audio_key, model_paths
from .rejection import (Checks, SphinxTuning, confidence, judge, loud_outside, phone_loop_matters, sound_distance,
                        speech_over_noise, vetoed)

log = logging.getLogger("voicecoach")

def dawg(sentences: list[str]) -> tuple[int, int, list[tuple]]:
    """A minimal acyclic word graph for ``sentences``: (n states, start, transitions).

    State ``n - 1`` is the single final state; a sentence's last word leads into it
    directly (not through a null transition, which fillers after it could not follow).
    """
    trie: list[dict[str, int]] = [{}]
    final: list[bool] = [False]
    for s in sentences:
        node = 0
        for w in s.split():
            if w not in trie[node]:
                trie.append({})
                final.append(False)
                trie[node][w] = len(trie) - 1
            node = trie[node][w]
        final[node] = True
    ids: dict[tuple, int] = {}
    state_of: dict[int, tuple] = {}

    def visit(node: int) -> int:  # merge nodes with equal futures (bottom-up)
        key = (final[node], tuple(sorted((w, visit(c)) for w, c in trie[node].items())))
        if key not in ids:
            ids[key] = len(ids)
            state_of[ids[key]] = key
        return ids[key]

    start = visit(0)
    end = len(ids)
    trans = []
    for state, (_, arcs) in state_of.items():
        for word, nxt in arcs:
            is_final, more = state_of[nxt]
            if more:
                trans.append((state, nxt, 1.0, word))
            if is_final:
                trans.append((state, end, 1.0, word))
    return end + 1, start, trans


def _derivations(word: str) -> list[tuple[str, bool]]:
    """Dictionary words a word CMUdict lacks may be said like: (word, True when a plural or possessive ending
    is added to it). British spellings ("-ised" as "-ized"), then "'s" and "s" endings."""
    out = [(word[:-4] + "ized", False)] if word.endswith("ised") else []
    return out + [(word[: -len(end)], True) for end in ("'s", "s") if word.endswith(end) and len(word) > len(end)]


def _guess(word: str, look: Callable[[str], str | None]) -> str | None:
    """Phones for a word CMUdict lacks, from the first of its ``_derivations`` that ``look`` knows."""
    for stem, ending in _derivations(word):
        phones = look(stem)
        if phones:
            last = phones.split()[-1]
            return phones if not ending else phones + (" IH Z" if last in ("S", "Z", "SH", "CH", "JH", "ZH")
                                                       else " S" if last in ("P", "T", "K", "F", "TH") else " Z")
    return None


class PocketSphinxRecognizer(Recognizer):
    """Context grammars on PocketSphinx, verified by an unconstrained decode."""

    engine = "pocketsphinx"

    def __init__(self, grammar: Grammar, tuning: SphinxTuning | None = None) -> None:
        super().__init__(grammar)
        self.tuning = t = tuning or SphinxTuning()
        hmm, _, _, phone_lm = model_paths()
        self.model_dir = hmm
        self._free = FreeDecoder(t.verify_beam)  # the free decode and the whole dictionary: in a child process
        pronunciations, self._dropped = self._pronunciations()
        self._phones = {w: p for w, p in pronunciations.items() if not w.endswith(")")}  # first pronunciations
        with tempfile.TemporaryDirectory(prefix="voicecoach-") as tmp:  # the grammar decoder needs only
            words = Path(tmp) / "grammar.dict"                           # the grammar's words (-22 MB)
            words.write_text("".join(f"{w} {p}\n" for w, p in sorted(pronunciations.items())), encoding="utf-8")
            self._dec = pocketsphinx.Decoder(hmm=str(hmm), dict=str(words), lm=None, bestpath=False, lw=t.lw,
                                             silprob=t.silprob, pip=t.pip, loglevel="FATAL")
        self._dec.add_allphone_file("_phones", str(phone_lm))
        self._math = self._dec.logmath
        self._searches: set[str] = set()
        self._phone_loop_last: tuple[bytes, float] = (b"", 0.0)
        for context in self.grammar.sentences:
            self._search(context)

    def close(self) -> None:
        self._free.close()

    # ------------------------------------------------------------------ grammars
    def _pronunciations(self) -> tuple[dict[str, str], set[str]]:
        """Every grammar word's phones (CMUdict, else derived from a known word, which the verification
        decoder learns too) and the words without any (sentences with them are left out)."""
        dropped: set[str] = set()
        found: dict[str, str] = {}
        added: dict[str, str] = {}
        words = sorted({w for ss in self.grammar.sentences.values() for s in ss for w in s.split()})
        known = self._free.pronunciations(words)
        unknown = [w for w in words if not known[w]]
        stems = self._free.pronunciations(sorted({stem for w in unknown for stem, _ in _derivations(w)}))
        for word in words:
            if not known[word]:
                phones = _guess(word, lambda w: (stems.get(w) or [None])[0])
                if phones is None:
                    dropped.add(word)
                    continue
                added[word] = phones
                known[word] = [phones]
            for k, phones in enumerate(known[word]):  # CMUdict's other pronunciations: "the(2)", "either(2)"
                found[word if k == 0 else f"{word}({k + 1})"] = phones
        if added:
            self._free.add_words(added)
        if dropped:
            log.warning("pocketsphinx: no pronunciation for %s; sentences with them are left out", sorted(dropped))
        return found, dropped

    def _sentences(self, context: str) -> list[str]:
        return [s for s in self.grammar.sentences[context] if not self._dropped.intersection(s.split())]

    def _search(self, name: str, sentences: list[str] | None = None) -> str:
        if name not in self._searches:
            n, start, trans = dawg(sentences if sentences is not None else self._sentences(name))
            fsg = self._dec.create_fsg(name, start, n - 1, trans)
            self._dec.add_fsg(name, fsg)
            self._searches.add(name)
        return name

    def _without(self, context: str, answer: Answer, max_words: int | None = None) -> str | None:
        """The search for ``context`` minus every sentence meaning ``answer`` (None if nothing is left);
        ``max_words``: only sentences of up to that many words."""
        name = f"{context}|not {answer.kind}={answer.value}" + (f"|<={max_words}" if max_words else "")
        if name not in self._searches:
            rest = [s for s in self._sentences(context) if meaning(self.grammar.parse(s, context)) != meaning(answer)
                    and (max_words is None or len(s.split()) <= max_words)]
            if not rest:
                return None
            self._search(name, rest)
        return name

    def _opposites(self, context: str, answer: Answer) -> str | None:
        """The search for the sentences of ``context`` whose answer is the opposite of ``answer``."""
        name = f"{context}|opposite {answer.kind}={answer.value}"
        if name not in self._searches:
            opp = [s for s in self._sentences(context) if opposite(answer, self.grammar.parse(s, context))]
            if not opp:
                return None
            self._search(name, opp)
        return name

    def _strict(self, context: str) -> str:
        name = f"{context}|strict"
        if name not in self._searches:
            self._search(name, [s for s in self.grammar.strict(context) if not self._dropped.intersection(s.split())])
        return name

    # ------------------------------------------------------------------ decoding
    def _run(self, search: str, pcm: bytes) -> tuple[str | None, float, list[tuple[int, int]]]:
        """Decode with one search: (hypothesis, acoustic score in log units, (first, last) frame of each word)."""
        d = self._dec
        d.activate_search(search)
        d.reinit_feat()  # a fresh noise estimate: every decode of an utterance hears the same features
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None or not hyp.hypstr:
            return None, -math.inf, []
        segments = list(d.seg() or [])
        acoustic = sum(self._log(s.ascore) for s in segments)
        return hyp.hypstr, acoustic, [(s.start_frame, s.end_frame) for s in segments if s.word[:1] not in "<[+"]

    def _phone_loop(self, pcm: bytes) -> float:
        """The acoustic score of the best sequence of any phones; the same audio (a recording heard in several
        contexts) is not decoded twice in a row."""
        digest = audio_key(pcm)
        if self._phone_loop_last[0] != digest:
            self._phone_loop_last = (digest, self._run("_phones", pcm)[1])
        return self._phone_loop_last[1]

    def _log(self, x: float) -> float:
        return self._math.log(x) if x > 0 else -1e12

    def _sounds(self, text: str | None) -> str | None:
        """The phones of the grammar sentence ``text`` (compared with the free decode's: "know" = "no")."""
        phones = [self._phones.get(w) for w in (text or "").split()]
        return " ".join(phones) if phones and None not in phones else None

    def measure(self, pcm: bytes, whole: bool = False) -> Checks:
        """Grammar decode plus the evidence for or against its answer (see module doc).

        ``whole``: only whole, sure answers count (the early check), so stop measuring as soon as
        the answer could go on, does not beat the others clearly, or the free decode heard something else."""
        if self.live:  # on the other core while the grammar decodes run here (a recording: only if needed)
            self._free.start(pcm)
        search = self._strict(self.context) if self.strict else self.context
        text, acoustic, words = self._run(search, pcm)
        answer = self.grammar.parse(text, self.context) if text else None
        checks = Checks(text, answer, strict=self.strict)
        if answer is None or (whole and self.extendable(text)):
            return checks
        frames = checks.frames = max(sum(last - first + 1 for first, last in words), 1)
        total = max(self._dec.n_frames(), 1)
        other = None if self.strict else self._without(self.context, answer)
        if other is not None:
            text2, acoustic2, _ = self._run(other, pcm)
            short = self._without(self.context, answer, len(text.split()) + 1) if whole and text2 is None else None
            if short is not None:  # the big graph's pruning lost every whole sentence ("continue" in idle): for
                text2, acoustic2, _ = self._run(short, pcm)  # the early end, compare with the short ones
            runner_up = self.grammar.parse(text2, self.context) if text2 else None
            if runner_up is not None:
                checks.margin = (acoustic - acoustic2) / frames
                checks.runner_up_opposite = opposite(answer, runner_up)
                checks.runner_up = runner_up.text
        against = None if self.strict else self._opposites(self.context, answer)
        if against is not None:
            checks.has_opposite = True
            text3, acoustic3, _ = self._run(against, pcm)
            checks.contrast = (acoustic - acoustic3) / frames if text3 else math.inf
            checks.outside = loud_outside(pcm, words)
            checks.snr = speech_over_noise(pcm)
        # the free decode's result (it began on the other core) and the phone loop only when they can change the decision
        if vetoed(checks, self.tuning) or (whole and not self.strict and checks.margin < self.tuning.early_min_margin):
            return checks
        # the phone loop matters whatever the free decode says for barge-in and answers with opposites: decode it
        # here while the free decode finishes on the other core
        if not self.live:
            self._free.start(pcm)
        garbage = self._phone_loop(pcm) if self.strict or checks.has_opposite else None
        free = self._free.result()
        said = checks.said = free.text
        heard = self.grammar.parse(said, self.context) if said else None
        sounds, expected = free.phones, self._sounds(text)
        checks.verified = (heard is not None and meaning(heard) == meaning(answer)) or (
            sounds is not None and sounds == expected)
        checks.sound_distance = sound_distance(sounds, expected)
        if (whole and not checks.verified) or not phone_loop_matters(checks):
            return checks
        checks.garbage = ((garbage if garbage is not None else self._phone_loop(pcm)) - acoustic) / total
        return checks

    def judge(self, c: Checks) -> bool:
        """Whether the checks are strong enough to accept the answer (``rejection.judge``)."""
        return judge(c, self.tuning)

    def decode_whole(self, pcm: bytes) -> tuple[str | None, Answer | None, float] | None:
        """Accepted, verified by the free decode (it heard the same words, so nothing is missing), clearly
        ahead of every other answer, and not the start of a longer sentence: the answer is complete.
        (Barge-in stop/pause have no other answers to beat; stopping by mistake is safe.)"""
        c = self.measure(pcm, whole=True)
        sure = c.verified and (c.strict or c.margin >= self.tuning.early_min_margin)
        if not (self.judge(c) and sure and c.text and not self.extendable(c.text)):
            return None
        return c.text, c.answer, confidence(c.verified, c.margin, c.garbage)

    def decode(self, pcm: bytes) -> tuple[str | None, Answer | None, float]:
        c = self.measure(pcm)
        ok = self.judge(c)
        log.debug("pocketsphinx %r verify=%r verified=%d margin=%.1f garbage=%.1f opposite=%.1f outside=%d snr=%.1f "
                  "runner-up=%r -> %s", c.text, c.said, c.verified, c.margin, c.garbage, c.contrast, c.outside, c.snr,
                  c.runner_up,
                  "accept" if ok else "reject")
        return c.text, (c.answer if ok else None), confidence(c.verified, c.margin, c.garbage)
