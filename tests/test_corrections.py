"""A transcript that means nothing, read with one word corrected to a word of the context that sounds like it
(``speech/corrections.py``), taken only when Whisper finds that reading nearly as likely as its own transcript.

The readings come from the real phrase file, the scores from the real Whisper model on speech made at test time
by flite; ``choose`` is also checked alone, on given scores, for the rules that keep it safe.
"""

from __future__ import annotations

import dataclasses

import pytest

from voicecoach.content.phrases import Answer, Phrases, normalize
from voicecoach.speech.asr import Grammar, meaning
from voicecoach.speech.corrections import Corrections, Reading, choose, beats_opposites
from voicecoach.speech.engines import load_recognizer
from voicecoach.speech.whisper_tuning import WhisperTuning

from test_asr_whisper import heard_pcm, synth


@pytest.fixture(scope="module")
def phrases() -> Phrases:
    return Phrases.load()


@pytest.fixture(scope="module")
def grammar(phrases) -> Grammar:
    return Grammar.from_phrases(phrases)


@pytest.fixture(scope="module")
def rec(phrases):
    recognizer = load_recognizer(phrases)
    assert recognizer.engine == "whisper", recognizer.choice
    return recognizer


T = WhisperTuning()


def reader(grammar: Grammar, context: str):
    return lambda text: (grammar.parse(text, context) if grammar.understand is None
                         else grammar.understand(text, context).answer, "")


# ---------------------------------------------------------------- the readings (phrase file only)
def test_a_word_that_sounds_like_a_word_of_the_context_gives_a_reading(grammar):
    corrections = Corrections.build(grammar, "side")
    readings = corrections.readings("Let hand side.", reader(grammar, "side"), T)
    assert {(r.text, meaning(r.answer)) for r in readings} == {("left hand side", ("side", "left"))}
    left = readings[0]
    assert "right hand side" in corrections.opposites(left, reader(grammar, "side"))


def test_a_word_may_become_a_cue_the_context_understands(grammar):
    """"fever" is no listed answer but a red-flag cue of the phrase file: "fevers" may be read as it."""
    readings = Corrections.build(grammar, "yesno").readings("I'm a bit fevers today.", reader(grammar, "yesno"), T)
    assert ("i'm a bit fever today", ("yesno", "yes")) in {(r.text, meaning(r.answer)) for r in readings}


@pytest.mark.parametrize("context, text, word", [
    ("side", "left hand side", "left"),              # a word of the context's own answers was said
    ("idle", "can use part of my session.", "session"),  # not "extension", a program of its own
    ("pain", "Now I can see you within my foot.", "can"),  # never to or from a negation ("can't": unable)
])
def test_answer_words_and_negations_are_never_corrected(grammar, context, text, word):
    corrections = Corrections.build(grammar, context)
    at = normalize(text).split().index(word)
    assert all(r.at != at for r in corrections.readings(text, reader(grammar, context), T))
    assert not set(corrections.vocabulary) & grammar.negations


def test_words_nobody_can_say_are_not_corrected(grammar):
    corrections = Corrections.build(grammar, "side")
    read = reader(grammar, "side")
    assert corrections.readings("Lefft handd", read, T) == []  # not in the pronouncing dictionary
    assert corrections.readings("Let hand side.", read, dataclasses.replace(T, correct_distance=0.0)) == []


def test_a_sentence_that_could_be_read_too_many_ways_is_not_read_at_all(grammar):
    """Each reading costs a decoder pass over the sentence: a long one, or one whose readings mean many answers,
    is asked again instead (a pain-context sentence about a door bell had 7 readings and took 2.5 s)."""
    corrections, read = Corrections.build(grammar, "pain"), reader(grammar, "pain")
    text = "My length feels clear now, it's just my mark."
    assert corrections.readings(text, read, T)
    assert corrections.readings(text, read, dataclasses.replace(T, correct_words=5)) == []
    assert corrections.readings(text, read, dataclasses.replace(T, correct_meanings=1)) == []
    few = corrections.readings(text, read, dataclasses.replace(T, correct_per_meaning=1))
    assert len(few) == len({meaning(r.answer) for r in few})


# ---------------------------------------------------------------- the choice (given scores)
def _reading(context: str, kind: str, value, text: str = "x") -> Reading:
    return Reading(text, Answer(kind, value, text), 0)


@pytest.mark.parametrize("transcript, left, right_hand, taken", [
    (-3.0, -6.0, [-10.5], True),    # 3.0 below the transcript, the opposite far below
    (-3.0, -7.0, [-10.5], False),   # 4.0 below: Whisper heard another word
    (-3.0, -6.0, [-8.0], False),    # the opposite reading within 3 of it
])
def test_a_reading_is_taken_when_nearly_as_likely_as_the_transcript_and_clear_of_its_opposite(
        transcript, left, right_hand, taken):
    found = choose(transcript, [(_reading("side", "side", "left"), left)], None, T)
    assert (found is not None and beats_opposites(found[1], right_hand, T)) == taken


def test_two_readings_that_mean_different_answers_must_be_far_apart():
    t = WhisperTuning()
    three, help_ = _reading("number", "number", 3), _reading("number", "help", None)
    assert choose(-2.0, [(three, -4.0), (help_, -5.0)], None, t) is None
    assert choose(-2.0, [(three, -4.0), (help_, -7.0)], None, t) == (three, -4.0)


@pytest.mark.parametrize("context, safer, value, taken", [
    ("yesno", "yes", "yes", True),   # a red flag: yes stops the session, the safe side
    ("yesno", "yes", "no", False),   # never the riskier answer from a corrected word
    ("clearance", "no", "yes", False),
    ("clearance", "no", "no", True),
])
def test_a_corrected_word_never_gives_the_riskier_answer(context, safer, value, taken, phrases):
    assert phrases.safer(context) == safer  # the phrase file's own rule
    found = choose(-5.0, [(_reading(context, "yesno", value), -5.5)], phrases.safer(context), T)
    assert (found is not None) == taken


# ---------------------------------------------------------------- on speech
@pytest.mark.parametrize("voice, context, text, answer", [
    ("flite:awb", "number", "it's a three", ("number", 3)),   # greedy: "It's a free."
    ("flite:slt", "side", "my left, yep", ("side", "left")),  # greedy: "My list, yep."
])
def test_a_word_whisper_wrote_as_another_is_corrected(rec, tmp_path, monkeypatch, voice, context, text, answer):
    pcm = synth(tmp_path, voice, text)
    assert heard_pcm(rec, pcm, context) == answer
    monkeypatch.setattr(rec, "tuning", dataclasses.replace(rec.tuning, correct_gap=-99.0))  # control: no correction
    assert heard_pcm(rec, pcm, context) is None


@pytest.mark.parametrize("context, text", [
    ("number", "the weather is nice today"),
    ("pain", "the door bell just went"),
    ("yesno", "my cat just jumped on my back"),
])
def test_a_sentence_about_something_else_is_not_corrected_into_an_answer(rec, tmp_path, context, text):
    assert heard_pcm(rec, synth(tmp_path, "flite:slt", text), context) is None


def test_whisper_scores_its_own_transcript_above_other_words(rec, tmp_path):
    rec.set_context("side")
    ev, encoded, _, _ = rec.listen(synth(tmp_path, "flite:slt", "my left, yep"))
    own, other = rec.sentence_scores(encoded, ["my list yep", "the weather is nice today"])
    assert own > other + 10
