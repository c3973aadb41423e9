"""Looking again: an utterance that still means nothing is heard again with other silence around it, then slower.

``whisper_judge.second_look`` decides on given evidence; the real recognizer hears a real speaker's "zero" on the
look with other silence and a real "five" on the slower one, each with a control without that look, and leaves
off-topic words unanswered; ``stretched`` plays audio slower.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from voicecoach.content.phrases import Answer, Phrases
from voicecoach.speech.asr import read_wav
from voicecoach.speech.engines import load_recognizer
from voicecoach.speech.whisper_judge import Evidence, second_look
from voicecoach.speech.whisper_model import stretched
from voicecoach.speech.whisper_tuning import WhisperTuning

from test_asr_whisper import heard_pcm, no_second_look

DATA = Path(__file__).parents[2] / "shared" / "audio" / "speech_commands"
T = WhisperTuning()
THIGH, NO, YES = Answer("location", "thigh", "thigh"), Answer("yesno", "no", "no"), Answer("yesno", "yes", "yes")


@pytest.fixture(scope="module")
def rec():
    recognizer = load_recognizer(Phrases.load())
    assert recognizer.engine == "whisper", recognizer.choice
    return recognizer


def never(answer: Answer) -> bool:
    return False


def always(answer: Answer) -> bool:
    return True


def test_an_answer_the_second_transcript_says_is_taken_less_sure_than_a_first_look():
    answer, confidence = second_look(Evidence(text="thigh", understood=THIGH, why="found"), never, None, T)
    assert answer == THIGH and confidence <= 0.7


def test_scores_alone_give_no_answer_on_a_second_look():
    """Evidence the first look's judgement takes from the scores (a clear, likely short answer close to what
    Whisper heard) is not enough when the transcript says nothing."""
    ev = Evidence(text="Hi.", why="not understood", first_word=-1.0, scores={("location", "thigh"): -1.2,
                                                                            ("location", "knee"): -6.0},
                  sounds_like=frozenset({("location", "thigh")}))
    assert second_look(dataclasses.replace(ev, understood=THIGH, why="found"), never, None, T)[0] == THIGH
    assert second_look(ev, never, None, T) == (None, 0.0)


@pytest.mark.parametrize("scores, safer, taken", [
    ({}, None, False),                                      # a sentence, not scored: its opposite was never weighed
    ({}, "yes", False),                                     # the riskier answer of a red flag question
    ({("yesno", "no"): -0.5, ("yesno", "yes"): -6.0}, None, True),  # scored, clear of its opposite
    ({("yesno", "no"): -0.5, ("yesno", "yes"): -1.0}, None, False),  # scored, not clear of it
])
def test_an_answer_with_a_dangerous_opposite_needs_its_scores_or_to_be_the_safer_one(scores, safer, taken):
    ev = Evidence(text="no I haven't", understood=NO, why="found", scores=scores)
    assert (second_look(ev, always, safer, T)[0] == NO) == taken
    said_yes = dataclasses.replace(ev, text="I fell over last week.", understood=YES, scores={})
    assert second_look(said_yes, always, "yes", T)[0] == YES  # the safer answer of a red flag question


def test_hedges_are_asked_again_on_a_second_look_too():
    assert second_look(Evidence(text="maybe thigh", why="hedge"), never, None, T) == (None, 0.0)


def heard(rec, path: Path, context: str):
    return heard_pcm(rec, read_wav(path), context)


def test_a_real_zero_is_heard_on_the_second_look(rec, monkeypatch):
    """A real speaker's "zero": "You will..." with 2 s of silence before and 0.5 s after, "0" with 0.3 s and 2 s
    (a short answer, scored clear of the far digits)."""
    zero = DATA / "zero" / "zero_bb05582b_nohash_0.wav"
    assert heard(rec, zero, "number") == ("number", 0)
    monkeypatch.setattr(rec, "tuning", no_second_look(rec.tuning))  # control: not heard again
    assert heard(rec, zero, "number") is None
    monkeypatch.setattr(rec, "tuning", dataclasses.replace(T, looks=T.looks[:1]))  # the other silence alone hears it
    assert heard(rec, zero, "number") == ("number", 0)


def test_a_real_five_is_heard_on_the_slower_look(rec, monkeypatch):
    """A real speaker's "five": "size, size." with either silence (a sound-alike, not clear of the far digits),
    "five" played a fifth slower."""
    five = DATA / "five" / "five_798f702a_nohash_0.wav"
    assert T.looks[-1].rate > 1
    assert heard(rec, five, "number") == ("number", 5)
    monkeypatch.setattr(rec, "tuning", dataclasses.replace(T, looks=T.looks[:-1]))  # control: no slower look
    assert heard(rec, five, "number") is None


def test_stretched_plays_audio_slower_and_lower():
    """A 500 Hz tone a fifth longer is a fifth lower (400 Hz), as loud; rate 1 is the audio itself."""
    t = np.arange(16000) / 16000
    tone = (8000 * np.sin(2 * np.pi * 500 * t)).astype(np.int16).tobytes()
    assert stretched(tone, 1.0) == tone
    slow = np.frombuffer(stretched(tone, 1.25), np.int16).astype(float)
    assert len(slow) == 20000
    crossings = np.count_nonzero(np.diff(np.signbit(slow)))  # two per period
    assert crossings / 2 / 1.25 == pytest.approx(400, abs=2)
    assert np.abs(slow).max() == pytest.approx(8000, rel=0.01)


@pytest.mark.parametrize("folder, name, context", [
    ("_unknown_", "cat_8fe67225_nohash_0", "pain"),
    ("_unknown_", "backward_f2e59fea_nohash_4", "location"),
])
def test_an_off_topic_word_stays_unanswered_on_the_second_look(rec, folder, name, context):
    assert heard(rec, DATA / folder / f"{name}.wav", context) is None
