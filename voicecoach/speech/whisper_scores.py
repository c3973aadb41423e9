"""Scores of a context's short answers for one utterance: teacher-forced log probabilities from Whisper's decoder.

``asr_whisper`` transcribes; this module weighs the context's short answers (``short_answers``) against the
same encoded audio, cheaply: the transcript's own decoder steps first, then only the spellings that could
change ``whisper_judge.judge``'s decision, one batched decoder step per depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..content.answer import opposite
from ..content.phrases import Answer
from .asr import meaning
from .short_answers import ShortAnswers
from .whisper_tuning import WhisperTuning
from .whisper_model import batched, log_softmax, log_sum_exp


@dataclass(frozen=True)
class AnswerScorer:
    """Scores one context's short answers on one model (a recognizer keeps one per context)."""

    model: object
    """The CTranslate2 Whisper model."""
    prompt: list[int]
    """The decoder's start in this context (its hint, then start of transcript)."""
    answers: ShortAnswers
    """The context's short answers, as token ids."""
    word_end: np.ndarray
    """Per token id: whether it ends the word before it (a new word, punctuation, the end)."""
    tuning: WhisperTuning
    """Thresholds: which answers are scored, and which could change the judgement."""
    strict: bool = False
    """Barge-in (stop/pause over the coach's voice): its own floor."""

    def score(self, encoded, steps: np.ndarray, ids: list[int], said: Answer | None = None) -> dict:
        """Log probability (teacher-forced: the spelling's tokens, then a word's end) of the likeliest short
        answers' spellings, best per meaning.

        The transcript's own steps give every token's probability after its prefix, so a spelling that
        follows the transcript costs nothing. Any other spelling first gets an upper bound (the tokens whose
        prefix is known); only spellings that could change the judgement (``_matters``, given what the
        transcript ``said``) are decoded further, one batched decoder step per depth: a clear answer costs no
        decoder call, a close one a few."""
        answers = self.answers.tokens
        if not answers:
            return {}
        t = self.tuning
        firsts = {tokens[0]: steps[0][tokens[0]] for _, tokens in answers}
        likely = sorted(firsts, key=lambda tok: -firsts[tok])[: t.max_scored]  # " My" counts once for "my thigh", "my back"...
        likely = {tok for tok in likely if firsts[tok] >= firsts[likely[0]] - t.prune}
        keep = [k for k, (_, tokens) in enumerate(answers) if tokens[0] in likely]
        known: dict[tuple[int, ...], np.ndarray] = {tuple(ids[:d]): steps[d] for d in range(min(len(ids), len(steps)))}
        while True:
            value = {k: self._bound(answers[k][1], known) for k in keep}
            best = max(value.values(), key=lambda v: v[0])[0]
            exact: dict = {}
            for k in keep:
                if value[k][1]:
                    exact[answers[k][0]] = max(exact.get(answers[k][0], -math.inf), value[k][0])
            unsure = [k for k in keep if not value[k][1] and value[k][0] > exact.get(answers[k][0], -math.inf)
                      and self._matters(answers[k][0], value[k][0], said, best, exact)]
            if not unsure:
                break
            needed = {tuple(answers[k][1][:d]) for k in unsure for d in range(1, len(answers[k][1]) + 1)} - known.keys()
            for depth in sorted({len(p) for p in needed}):
                prefixes = sorted(p for p in needed if len(p) == depth)
                known.update(zip(prefixes, self._next_steps(encoded, prefixes)))
        scores: dict = {}
        for k in keep:
            m = answers[k][0]
            scores[m] = max(scores.get(m, -math.inf), value[k][0])
        return scores

    def _matters(self, m: tuple, bound: float, said: Answer | None, best: float, exact: dict) -> bool:
        """Whether a spelling of meaning ``m`` (its score at most ``bound``) could change the judgement: with no
        understood transcript, any that comes near the best; with one (``said``), its own spellings, a dangerous
        opposite near it, and another answer that could clearly beat it (``judge``'s veto)."""
        t = self.tuning
        if said is None:  # nothing is taken below the floor: when no spelling can reach it, none matters
            floor = t.strict_floor if self.strict else t.floor
            return best >= floor and bound >= best - max(t.margin, t.opposite_margin)
        if m == meaning(said):
            return True
        mine = exact.get(meaning(said), best)
        if opposite(said, Answer(m[0], m[1], "")):
            return bound >= mine - t.opposite_margin
        return bound >= t.floor and bound > mine + t.margin

    def _bound(self, tokens: list[int], known: dict) -> tuple[float, bool]:
        """(log probability, exact): exact when every step is known, else an upper bound from the known ones."""
        total = 0.0
        for d, tok in enumerate(tokens):
            step = known.get(tuple(tokens[:d]))
            if step is None:
                return total, False
            total += step[tok]
        after = known.get(tuple(tokens))  # the word ends there: " Back" must not go on as "ward"
        if after is None:
            return total, False
        return float(total + log_sum_exp(after[: len(self.word_end)][self.word_end])), True

    def _next_steps(self, encoded, prefixes: list[tuple[int, ...]]) -> list[np.ndarray]:
        """The decoder's log probabilities for the token after each prefix (one batch)."""
        batch = batched(encoded, len(prefixes))
        prompts = [self.prompt + list(p) for p in prefixes]
        results = self.model.generate(batch, prompts, beam_size=1, max_length=len(prompts[0]) + 1,
                                      return_logits_vocab=True, suppress_blank=False, suppress_tokens=[])
        out = []
        for r in results:
            logits = np.asarray(r.logits[0]).astype(np.float64)[0]
            out.append(log_softmax(logits))
        return out
