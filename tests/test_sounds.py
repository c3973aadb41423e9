"""How words sound (speech/sounds.py): the CMU dictionary of PocketSphinx's wheel, searched in place."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pocketsphinx
import pytest

from voicecoach.speech.sounds import pronunciations, sound_distance

DICTIONARY = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"


def test_the_search_finds_what_reading_the_whole_file_finds():
    """Every pronunciation of 2,000 random words (and the file's first and last), as a plain read gives them."""
    whole: dict[str, list[tuple[str, ...]]] = {}
    for line in DICTIONARY.read_text().splitlines():
        word, *phones = line.split()
        whole.setdefault(word.split("(")[0], []).append(tuple(re.sub(r"\d", "", p) for p in phones))
    words = sorted(whole)
    for word in random.Random(7).sample(words, 2000) + words[:2] + words[-2:]:
        assert list(pronunciations(word)) == whole[word], word


@pytest.mark.parametrize(("word", "other", "distance"), [
    ("nine", "nine", 0.0), ("mine", "nine", 1 / 3), ("a", "eight", 0.5), ("high", "thigh", 0.5),
    ("inflection", "flexion", 2 / 9), ("hey", "eight", 1.0), ("no", "one", 1.0),
])
def test_how_far_apart_words_sound(word, other, distance):
    assert sound_distance(word, other) == pytest.approx(distance)
    assert sound_distance(other, word) == pytest.approx(distance)


@pytest.mark.parametrize("word", ["flexen", "", "Mc-Kenzie!", "zzzq", "7"])
def test_a_word_the_dictionary_lacks_sounds_like_nothing(word):
    assert pronunciations(word) == ()
    assert sound_distance(word, "nine") == 1.0
