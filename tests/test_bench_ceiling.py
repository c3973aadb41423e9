"""The Whisper ceiling (``bench.ceiling``): what the evidence of a missed clip points to, and the figures.

Real clips through the real recognizer (in this process, and in the bench's worker pool): a real "left" that
is asked again (its scores lean to left on every look, never clear of right) points to left; a real "zero" heard
as "Cida." and "Theta theta..." never points to zero.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voicecoach.bench.ceiling import ceiling, could_be_right, pointed_answers
from voicecoach.content.phrases import Phrases
from voicecoach.speech.asr import read_wav
from voicecoach.speech.engines import load_recognizer

DATA = Path(__file__).parents[2] / "shared" / "audio" / "speech_commands"


@pytest.fixture(scope="module")
def rec():
    recognizer = load_recognizer(Phrases.load())
    assert recognizer.engine == "whisper", recognizer.choice
    return recognizer


def test_a_missed_answer_the_scores_lean_to_is_within_the_ceiling(rec):
    pcm = read_wav(DATA / "left" / "1b4c9b89_nohash_4.wav")
    rec.set_context("side")
    assert rec.recognize(pcm).answer is None  # asked again: left is never clear of right
    assert ("side", "left") in pointed_answers(rec, pcm)


def test_a_word_the_evidence_never_points_to_is_beyond_it(rec):
    pcm = read_wav(DATA / "zero" / "zero_563aa4e6_nohash_2.wav")
    rec.set_context("number")
    assert rec.recognize(pcm).answer is None
    pointed = pointed_answers(rec, pcm)
    assert ("number", 0) not in pointed


def row(source, expected, got, evidence_right=None, condition="clean", group="piper-joe"):
    return {"source": source, "condition": condition, "group": group, "expected": expected, "got": got,
            "evidence_right": evidence_right}


def test_ceiling_counts_right_answers_and_misses_the_evidence_pointed_to():
    rows = [row("synthetic", ("side", "left"), ("side", "left")),            # right
            row("synthetic", ("side", "left"), None, True),                  # asked again, the evidence had it
            row("synthetic", ("side", "left"), ("side", "right"), False),    # wrong, and nothing pointed to left
            row("synthetic", ("number", 0), None, False),                    # asked again, beyond the evidence
            row("synthetic", ("number", 0), None, True, condition="10dB"),
            row("real", ("yesno", "no"), None, True, group="no"),
            row("real", ("yesno", "no"), None, True, group="_unknown_"),     # not of the budget set
            row("phrasing", None, None), row("phrasing", None, ("stop", None)),  # expecting nothing
            row("synthetic", None, ("stop", None))]                          # out of context: not in the figures
    top = ceiling(rows)
    assert top["synthetic"]["clean"] == {"n": 4, "correct": 2, "accuracy": 0.5}
    assert top["synthetic"]["10dB"]["correct"] == 1 and top["synthetic"]["20dB"]["n"] == 0
    assert top["real_budget_set"] == {"n": 1, "correct": 1, "accuracy": 1.0}
    assert top["phrasings"]["correct"] == 1 and top["phrasings"]["n"] == 2
    assert not could_be_right(row("synthetic", ("side", "left"), ("side", "right"), None))


def test_the_bench_marks_only_the_clips_whisper_missed():
    """``with_ceiling``: a worker process hears the missed rows again; rows answered right are left as they were."""
    from voicecoach.bench.recognize import with_ceiling

    left, zero = str(DATA / "left" / "1b4c9b89_nohash_4.wav"), str(DATA / "zero" / "zero_563aa4e6_nohash_2.wav")
    rows = [{**row("real", ("side", "left"), None, group="left"), "file": left, "context": "side"},
            {**row("real", ("number", 0), None, group="zero"), "file": zero, "context": "number"},
            {**row("real", ("side", "left"), ("side", "left"), group="left"), "file": left, "context": "side"}]
    for r in rows:
        del r["evidence_right"]
    marked = with_ceiling(rows, workers=1)
    assert sorted((r["context"], r["got"] is not None, r.get("evidence_right")) for r in marked) == [
        ("number", False, False), ("side", False, True), ("side", True, None)]
