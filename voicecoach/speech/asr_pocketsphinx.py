"""PocketSphinx backend: grammar decoding with three independent checks before an answer counts.

Each context's sentences become a minimal word graph (a finite-state grammar whose last
words lead straight into its final state, decoded with ``bestpath`` off so a hypothesis
must complete a sentence). A grammar decoder forces every sound onto some listed
sentence, so the winner is accepted only when

1. an unconstrained decode of the same audio (the general US English language model, narrow
   beams) gives the same answer or the same sounds ("know" = "no"), and -- for answers that
   have opposites -- a free phone loop fits the audio not much better (``garbage``); or,
   failing that, the answer beats both
   the best other answer (a decode without it: ``margin``) and the phone loop clearly; and
2. it beats its opposite answers ("yes"/"no", digits more than one apart, better/worse...:
   a decode restricted to them) by ``opposite_margin`` per frame, verified or not.

Scores compared between decodes are acoustic scores per frame, so grammar sizes don't bias them.
Barge-in (strict) mode listens only for stop/pause and always requires check 1.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import pocketsphinx

from ..content.phrases import Answer
from .asr import Grammar, Recognizer, opposite

log = logging.getLogger("voicecoach")


@dataclass(frozen=True)
class SphinxTuning:
    """Decoder settings and rejection thresholds (measured on shared/audio/speech_commands)."""

    lw: float = 3.0
    """Language weight of the grammar decoder (lower trusts the audio more)."""
    silprob: float = 0.1
    """Silence insertion probability in the grammar decoder."""
    pip: float = 0.5
    """Phone insertion penalty of the grammar decoder."""
    verified_max_garbage: float = 16.0
    """Most score per frame a phone loop may beat a verified answer that has opposites by."""
    min_margin: float = 12.0
    """Score per frame the answer must beat every other answer by when unverified."""
    max_garbage: float = 16.0
    """Most score per frame a free phone loop may beat the answer by when unverified."""
    opposite_margin: float = 6.0
    """Score per frame the answer must beat its opposite answers by (yes/no, far digits...), verified or not."""
    strict_max_garbage: float = 20.0
    """Barge-in: most score per frame the phone loop may beat stop/pause by."""
    verify_beam: float = 1e-30
    """Beam of the unconstrained verification decoder (narrow: fast, still discriminative)."""


def model_paths() -> tuple[Path, Path, Path, Path]:
    """(acoustic model, dictionary, language model, phone language model) shipped in the wheel."""
    base = Path(pocketsphinx.get_model_path()) / "en-us"
    return base / "en-us", base / "cmudict-en-us.dict", base / "en-us.lm.bin", base / "en-us-phone.lm.bin"


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


class PocketSphinxRecognizer(Recognizer):
    """Context grammars on PocketSphinx, verified by an unconstrained decode."""

    engine = "pocketsphinx"

    def __init__(self, grammar: Grammar, tuning: SphinxTuning | None = None) -> None:
        super().__init__(grammar)
        self.tuning = t = tuning or SphinxTuning()
        hmm, dic, lm, phone_lm = model_paths()
        self.model_dir = hmm
        self._dec = pocketsphinx.Decoder(hmm=str(hmm), dict=str(dic), lm=None, bestpath=False, lw=t.lw,
                                         silprob=t.silprob, pip=t.pip, loglevel="FATAL")
        self._ver = pocketsphinx.Decoder(hmm=str(hmm), dict=str(dic), lm=str(lm), beam=t.verify_beam,
                                         pbeam=t.verify_beam, wbeam=1e-20, lpbeam=1e-20, lponlybeam=1e-20,
                                         loglevel="FATAL")
        self._dec.add_allphone_file("_phones", str(phone_lm))
        self._math = self._dec.logmath
        self._searches: set[str] = set()
        self._dropped = self._add_words()
        for context in self.grammar.sentences:
            self._search(context)

    # ------------------------------------------------------------------ grammars
    def _add_words(self) -> set[str]:
        """Give words missing from CMUdict a pronunciation derived from a known word, else drop them."""
        dropped: set[str] = set()
        added: list[tuple[str, str]] = []
        words = {w for ss in self.grammar.sentences.values() for s in ss for w in s.split()}
        for word in sorted(words):
            if self._dec.lookup_word(word) is not None:
                continue
            phones = self._guess(word)
            if phones is None:
                dropped.add(word)
            else:
                added.append((word, phones))
        for dec in (self._dec, self._ver):
            for i, (word, phones) in enumerate(added):
                dec.add_word(word, phones, i == len(added) - 1)
        if dropped:
            log.warning("pocketsphinx: no pronunciation for %s; sentences with them are left out", sorted(dropped))
        return dropped

    def _guess(self, word: str) -> str | None:
        look = self._dec.lookup_word
        if word.endswith("ised") and look(word[:-4] + "ized"):  # British spelling
            return look(word[:-4] + "ized")
        for suffix in ("'s", "s"):
            base = word[: -len(suffix)]
            if word.endswith(suffix) and base and look(base):
                stem = look(base)
                return stem + (" IH Z" if stem.split()[-1] in ("S", "Z", "SH", "CH", "JH", "ZH")
                               else " S" if stem.split()[-1] in ("P", "T", "K", "F", "TH") else " Z")
        return None

    def _sentences(self, context: str) -> list[str]:
        return [s for s in self.grammar.sentences[context] if not self._dropped.intersection(s.split())]

    def _search(self, name: str, sentences: list[str] | None = None) -> str:
        if name not in self._searches:
            n, start, trans = dawg(sentences if sentences is not None else self._sentences(name))
            fsg = self._dec.create_fsg(name, start, n - 1, trans)
            self._dec.add_fsg(name, fsg)
            self._searches.add(name)
        return name

    def _without(self, context: str, answer: Answer) -> str | None:
        """The search for ``context`` minus every sentence meaning ``answer`` (None if nothing is left)."""
        name = f"{context}|not {answer.kind}={answer.value}"
        if name not in self._searches:
            rest = [s for s in self._sentences(context) if _meaning(self.grammar.parse(s, context)) != _meaning(answer)]
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
        return self._search(f"{context}|strict", [s for s in self.grammar.strict(context)
                                                  if not self._dropped.intersection(s.split())])

    # ------------------------------------------------------------------ decoding
    def _run(self, search: str, pcm: bytes) -> tuple[str | None, float, float]:
        """Decode with one search: (hypothesis, total score, acoustic score), in log units."""
        d = self._dec
        d.activate_search(search)
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None or not hyp.hypstr:
            return None, -math.inf, -math.inf
        acoustic = sum(self._log(s.ascore) for s in (d.seg() or []))
        return hyp.hypstr, self._log(hyp.score), acoustic

    def _log(self, x: float) -> float:
        return self._math.log(x) if x > 0 else -1e12

    def _sounds(self, text: str | None) -> str | None:
        """The phones of ``text`` (homophones match: "know" = "no", "for" = "four")."""
        phones = [self._dec.lookup_word(w) for w in (text or "").split()]
        return " ".join(phones) if phones and None not in phones else None

    def _verify(self, pcm: bytes) -> str | None:
        v = self._ver
        v.start_utt()
        v.process_raw(pcm, full_utt=True)
        v.end_utt()
        hyp = v.hyp()
        return hyp.hypstr if hyp is not None else None

    def decode(self, pcm: bytes) -> tuple[str | None, Answer | None, float]:
        """Grammar decode, then verification, margin and garbage checks (see module doc)."""
        t = self.tuning
        search = self._strict(self.context) if self.strict else self.context
        text, _, acoustic = self._run(search, pcm)
        answer = self.grammar.parse(text, self.context) if text else None
        if answer is None:
            return text, None, 0.0
        frames = max(self._dec.n_frames(), 1)
        said = self._verify(pcm)
        heard = self.grammar.parse(said, self.context) if said else None
        sounds = self._sounds(said)
        verified = (heard is not None and _meaning(heard) == _meaning(answer)) or (
            sounds is not None and sounds == self._sounds(text))
        _, _, free = self._run("_phones", pcm)
        garbage = (free - acoustic) / frames
        margin, runner_up = 0.0, None
        other = None if self.strict else self._without(self.context, answer)
        if other is not None:
            text2, _, acoustic2 = self._run(other, pcm)
            runner_up = self.grammar.parse(text2, self.context) if text2 else None
            margin = (acoustic - acoustic2) / frames if runner_up is not None else 0.0
        against = None if self.strict else self._opposites(self.context, answer)
        contrast = math.inf
        if against is not None:
            text3, _, acoustic3 = self._run(against, pcm)
            contrast = (acoustic - acoustic3) / frames if text3 else math.inf
        confidence = _confidence(verified, margin, garbage)
        if self.strict:
            ok = verified and garbage < t.strict_max_garbage
        else:
            fits = against is None or garbage < t.verified_max_garbage  # commands (stop...) have no opposite
            ok = (verified and fits) or (margin > t.min_margin and garbage < t.max_garbage)
            near_opposite = opposite(answer, runner_up) and margin < t.opposite_margin
            ok = ok and contrast >= t.opposite_margin and not near_opposite
        log.debug("pocketsphinx %r verify=%r verified=%d margin=%.1f garbage=%.1f opposite=%.1f runner-up=%r -> %s",
                  text, said, verified, margin, garbage, contrast, runner_up and runner_up.text,
                  "accept" if ok else "reject")
        return text, (answer if ok else None), confidence


def _meaning(answer: Answer | None) -> tuple | None:
    return None if answer is None else (answer.kind, answer.value)


def _confidence(verified: bool, margin: float, garbage: float) -> float:
    """0..1 summary of the three checks (verification weighs most)."""
    m = min(max(margin, 0.0), 20.0) / 20.0
    g = min(max(1.0 - garbage / 30.0, 0.0), 1.0)
    return 0.5 * verified + 0.25 * m + 0.25 * g
