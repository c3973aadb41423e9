"""The PocketSphinx backend's rejection rules: the evidence about one utterance (``Checks``), the
thresholds (``SphinxTuning``) and the decision (``judge``).

A grammar decoder forces every sound onto some listed sentence, so the winner is accepted only when

1. an unconstrained decode of the same audio (the general US English language model, narrow
   beams) gives the same answer or the same sounds ("know" = "no"), and -- for answers that
   have opposites -- a free phone loop fits the audio not much better (``garbage``); or it
   sounds nearly the same ("star" for "stop") and the answer beats the others; or,
   only for answers without a dangerous opposite (commands, "same"...), the answer beats the
   best other answer (a decode without it: ``margin``) and the phone loop clearly, and the
   free decode heard words; and
2. it beats its opposite answers ("yes"/"no", digits more than one apart, better/worse...:
   a decode restricted to them) by ``opposite_margin``, verified or not; and
3. for answers that have opposites, the answer accounts for the speech: little loud sound before its
   first word or after its last was taken as silence (``outside``), else part was not understood; and
   the speech stands well over the noise (``snr``): in loud noise such answers were often wrong.

Margins between grammar decodes are acoustic log scores per frame of the answer's words (the
silence around a word must not dilute them); ``garbage`` is per frame of the utterance.
Thresholds were chosen on the benchmark's data (scripts/make-corpus, shared/audio): no dangerous
confusions on clean speech, fewer than 2 % false accepts on noise and other words.
Barge-in (strict) mode listens only for stop/pause and always requires check 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..audio.levels import levels_db
from ..content.phrases import Answer
from .endpoint import FRAME_BYTES

CAUTIOUS = ("stop", "pause", "repeat", "help", "slower", "how_many_left")
"""Answers whose only effect is to stop, wait, slow down or explain: accepting one by mistake is
safe, so unverified ones need a little less evidence; anything that goes on needs more."""


@dataclass(frozen=True)
class SphinxTuning:
    """Decoder settings and rejection thresholds (measured on shared/audio/speech_commands)."""

    lw: float = 3.0
    """Language weight of the grammar decoder (lower trusts the audio more)."""
    silprob: float = 0.1
    """Silence insertion probability in the grammar decoder."""
    pip: float = 0.5
    """Phone insertion penalty of the grammar decoder."""
    verified_max_garbage: float = 25.0
    """Most score per frame a phone loop may beat a verified answer that has opposites by."""
    min_margin: float = 20.0
    """Score per word frame an unverified answer must beat every other answer by."""
    max_garbage: float = 10.0
    """Most score per frame a free phone loop may beat an unverified answer by."""
    cautious_max_garbage: float = 16.0
    """The same for answers that only make the coach more careful (``CAUTIOUS``): a false one costs little."""
    min_frames: int = 15
    """An unverified answer needs this many frames (150 ms) of words: short blips inflate margins."""
    max_sound_distance: float = 0.67
    """An unverified answer that has opposites needs the free decode to sound this close to it
    (phone edit distance / length: "fight" for "thigh" is 0.67)."""
    near_distance: float = 0.25
    """A free decode this close in sounds ("star" for "stop": 1 phone of 4) nearly verifies an answer ..."""
    near_margin: float = 5.0
    """... that also beats every other answer by this much per word frame."""
    opposite_margin: float = 7.0
    """Score per word frame the answer must beat its opposite answers by (yes/no, far digits...), verified or not
    (6 let "zero out of ten" at 10 dB SNR through as two, at 6.1, once decodes no longer drifted; 7 costs 0.5 % clean)."""
    max_outside: int = 25
    """Most loud 10 ms frames (6 dB over the utterance's quiet frames) an answer that has opposites may leave
    unexplained before its first word or after its last: more, and part of what was said was not understood
    ("zero out of ten" at 10 dB SNR as "two" and 290 ms of speech taken as silence); 25 costs 0.5 % of real answers."""
    min_snr: float = 15.0
    """Least an answer that has opposites needs its speech to stand over the noise (``snr``, dB). Benchmark answers
    accepted at 10 dB SNR measure 10-13 here and were wrong 3 times in 14 (one "zero out of ten" heard as two),
    at 20 dB 19-22 (1 wrong in 71); 15 costs 6 of 297 real answers (2 %)."""
    early_min_margin: float = 5.0
    """Ending an utterance early (after a short pause) also needs the answer to beat every other answer
    by this much: one word of a longer answer, heard in noise, can verify on its own ("zero" as two)."""
    strict_max_garbage: float = 20.0
    """Barge-in: most score per frame the phone loop may beat stop/pause by."""
    verify_beam: float = 1e-40
    """Beam of the unconstrained verification decoder (1e-40: +3 % verified answers over 1e-30 for
    +16 % decode time, measured on 407 clips; wider gains nothing)."""


@dataclass
class Checks:
    """The evidence about one utterance's grammar answer (acoustic log scores per 10 ms frame)."""

    text: str | None
    """Best sentence of the context grammar."""
    answer: Answer | None
    """Its parsed answer."""
    strict: bool = False
    """Decoded in barge-in mode (stop/pause only)."""
    said: str | None = None
    """What the unconstrained decode heard."""
    verified: bool = False
    """The unconstrained decode gives the same answer or the same sounds."""
    frames: int = 0
    """Frames (10 ms) covered by the answer's words: margin and contrast are divided by it."""
    garbage: float = 0.0
    """How much better a free phone loop fits than the answer, per frame of the whole utterance (high: not a listed phrase)."""
    margin: float = 0.0
    """How much better the answer fits than the best other answer."""
    runner_up: str | None = None
    """The best other sentence."""
    runner_up_opposite: bool = False
    """The best other answer is the answer's opposite."""
    has_opposite: bool = False
    """The context has opposites of this answer (yes/no, far digits...)."""
    contrast: float = math.inf
    """How much better the answer fits than its best opposite."""
    sound_distance: float = 1.0
    """Phone edit distance between the free decode and the answer, over the longer one (0: same sounds)."""
    snr: float = math.inf
    """How far the utterance's loud 30 ms frames stand over its quiet ones (90th vs 10th percentile level, dB):
    the endpointer keeps silence around speech, so this is about the speech-to-noise ratio."""
    outside: int = 0
    """Loud 10 ms frames before the answer's first word or after its last (the larger side): speech it leaves out."""


def judge(c: Checks, t: SphinxTuning) -> bool:
    """Whether the checks are strong enough to accept the answer."""
    if c.answer is None:
        return False
    if c.strict:
        return c.verified and c.garbage < t.strict_max_garbage
    fits = not c.has_opposite or c.garbage < t.verified_max_garbage  # commands (stop...) have no opposite
    # Unverified answers count when the free decode heard something, and -- for answers with a
    # dangerous opposite -- something that sounds close to the answer.
    near = not c.has_opposite or c.sound_distance <= t.max_sound_distance
    max_garbage = t.cautious_max_garbage if c.answer.kind in CAUTIOUS else t.max_garbage
    unverified_ok = (near and bool(c.said) and c.frames >= t.min_frames
                     and c.margin > t.min_margin and c.garbage < max_garbage)
    nearly = (bool(c.said) and c.sound_distance <= t.near_distance and c.margin > t.near_margin
              and c.garbage < max(t.verified_max_garbage, max_garbage))
    ok = (c.verified and fits) or unverified_ok or nearly
    return ok and not vetoed(c, t)

def phone_loop_matters(c: Checks) -> bool:
    """Whether ``garbage`` can change ``judge``: not for a verified answer without opposites (outside barge-in)."""
    return c.strict or c.has_opposite or not c.verified


def vetoed(c: Checks, t: SphinxTuning) -> bool:
    """Rejected whatever the free decode and the phone loop say: too close to an opposite answer
    (or the runner-up is one), or (answers with opposites) it leaves loud speech out or the noise is too loud."""
    near_opposite = c.runner_up_opposite and c.margin < t.opposite_margin
    return c.contrast < t.opposite_margin or near_opposite or (
        c.has_opposite and (c.outside > t.max_outside or c.snr < t.min_snr))


def sound_distance(a: str | None, b: str | None) -> float:
    """Levenshtein distance between two phone strings, divided by the longer length (1.0 if either is missing)."""
    x, y = (a or "").split(), (b or "").split()
    if not x or not y:
        return 1.0
    row = list(range(len(y) + 1))
    for i, p in enumerate(x, 1):
        prev, row[0] = row[0], i
        for j, q in enumerate(y, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (p != q))
    return row[-1] / max(len(x), len(y))


def speech_over_noise(pcm: bytes) -> float:
    """``Checks.snr`` of an utterance: 90th minus 10th percentile of its 30 ms frame levels (dB)."""
    level = levels_db(pcm, FRAME_BYTES)
    return float(np.percentile(level, 90) - np.percentile(level, 10)) if len(level) else 0.0


def loud_outside(pcm: bytes, words: list[tuple[int, int]], loud_db: float = 6.0, pad: int = 3) -> int:
    """Frames (10 ms) at least ``loud_db`` over the utterance's quiet level (its 10th percentile: the
    endpointer keeps silence around speech) lying more than ``pad`` frames before the first of ``words``
    (start, end frame) or after the last: the larger count of the two sides."""
    level = levels_db(pcm, 320)  # 10 ms frames, as the decoder's
    if not words or len(level) == 0:
        return 0
    loud = level >= np.percentile(level, 10) + loud_db
    first, last = words[0][0], words[-1][1]
    return int(max(loud[: max(0, first - pad)].sum(), loud[last + 1 + pad:].sum()))


def confidence(verified: bool, margin: float, garbage: float) -> float:
    """0..1 summary of the three checks (verification weighs most)."""
    m = min(max(margin, 0.0), 20.0) / 20.0
    g = min(max(1.0 - garbage / 30.0, 0.0), 1.0)
    return 0.5 * verified + 0.25 * m + 0.25 * g
