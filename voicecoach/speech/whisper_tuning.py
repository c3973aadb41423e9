"""The Whisper recognizer's settings: how it decodes, and the thresholds its judgement uses (``whisper_judge``).

Every figure was measured with ``scripts/bench`` on ``../shared/audio`` and the synthetic corpus, and checked on
voices and phrasings in neither; each field says what it guards against.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Look:
    """One more hearing of an utterance that meant nothing (``WhisperTuning.looks``)."""

    before_s: float
    """Silence added before the utterance."""
    after_s: float
    """Silence added after it."""
    rate: float = 1.0
    """How much longer the utterance is played (resampled: 1.2 is a fifth slower and lower). 1.2, after the look
    with other silence: bench clean 91.1 -> 93.3 %, 20 dB 85.6 -> 88.9 %, 10 dB 58.9 -> 61.1 %, real 97.2 -> 97.7 %,
    and one out-of-context word answered (a real "on" heard "1, 1..." where a digit was asked); 213 answers by 5
    outside voices (3 rotations, and 20 and 10 dB real background): 5 more right, none wrong. Alone after the
    first look, on the evidence of the same utterances: 0.9 gave 12 more right and 4 wrong (one a "no" taken as a
    red-flag yes), 1.1 8 and 4; on the bench alone 1.15 6 and 1, 1.3 8 and 2."""


@dataclass(frozen=True)
class WhisperTuning:
    """Decoding settings and decision thresholds (measured with scripts/bench on shared/audio and the corpus)."""

    pad_before_s: float = 2.0
    """Silence added before the utterance ..."""
    pad_after_s: float = 0.5
    """... and after it: Whisper, trained on 30 s windows, hears a short word far better with silence around it
    (real yes/no/stop/digits: 88 % with 0.15 s each side, 93 % with 0.4 s, 96 % with 3 s). 2 s before and 0.5 s
    after measured as well as 3 s each side or better (bench: real 96.3 % vs 94.9 %, clean 71.1 % vs 67.8 %,
    dangerous confusions 1 vs 3; but 3 of 120 unknown words answered, vs 0) in a window half as long: the encoder's
    time, most of a decode, falls by ~40 % (a one-word check 113 -> 66 ms). 1 s / 1 s and 3 s / 0.5 s did worse
    (more false accepts: "I'm going to go ahead" heard in silence)."""
    looks: tuple[Look, ...] = (Look(0.3, 2.0), Look(2.0, 0.5, 1.2))
    """An utterance that still means nothing is heard again (``second_look``), in turn, until one of these looks
    answers. Whisper tiny.en hears a short word differently with other silence around it (piper's "thigh": "Hey,
    hey?" with 2 s / 0.5 s, "thigh" with 0.3 s / 2 s) or played slower (a real "five": "size, size.", then
    "five"; piper's "bottom": "V Adam, V", then "Bottom,"). Bench, the first look: real 96.8 -> 97.2 %, clean
    86.7 -> 91.1 %, nothing lost; 1 s / 1 s, with answers from the scores alone, made 3 wrong answers, one
    dangerous ("A sandwich of 10." as ten for "a seven out of ten"). The second: see ``Look.rate``."""
    tokens_per_s: float = 12.0
    """Most transcript tokens per second of audio (plus ``extra_tokens``): a bound on decoding time."""
    extra_tokens: int = 4
    """Tokens allowed beyond ``tokens_per_s`` (punctuation, the end token)."""
    repetition_penalty: float = 1.1
    """Whisper repeats itself on short windows ("Yes, yes, yes"): a penalty on repeated tokens ends it sooner.
    1.3 also ended real sentences at their second "my" ("all the way from my back to" for "... to my foot",
    taken as back); 1.1 keeps them and answers 86 real yes/no/stop/digit clips the same as 1.3 (79 right)."""
    no_repeat_ngram: int = 2
    """No pair of tokens is written twice: with the light penalty above, Whisper still ran on "Repeat Repeat ..."
    (8 times, to the token bound) on live speech, which cost ~500 ms of decoding and the early end."""
    max_words: int = 2
    """Sentences of the context up to this many words are scored as short answers."""
    short_s: float = 1.6
    """Utterances up to this long (speech, without the endpointer's margins) are checked against the short answers."""
    short_words: int = 3
    """... and an understood transcript only when it may be a short answer (``_starts_short``): their scores say
    nothing about "it went further down my leg", but they catch "Left, right. Left." ."""
    prune: float = 8.0
    """Short answers whose first token is this much less likely (log) than the likeliest one are not scored."""
    max_scored: int = 8
    """Short answers are scored when their first token is among this many likeliest first tokens."""
    margin: float = 2.0
    """A short answer taken without the transcript must beat the next answer by this much (log probability)."""
    closeness: float = 3.0
    """... and come within this much of the transcript's first word (else Whisper heard another word) ..."""
    floor: float = -4.5
    """... and be at least this likely; a short answer this likely also vetoes a transcript that says another
    ("left, right. Left": Whisper repeats itself and invents words after a short one)."""
    opposite_margin: float = 3.0
    """An answer with a dangerous opposite must beat that opposite by this much when both were scored ..."""
    opposite_floor: float = -3.0
    """... and, when it was scored, be at least this likely (a breath before "no" was once transcribed "Yeah")."""
    strict_words: int = 4
    """Barge-in: a transcript longer than this is not a command, whatever it contains, and the command must be
    among its first two words (the coach's own "you can say stop, pause, ..." heard back through a loudspeaker)."""
    strict_pad_before_s: float = 1.0
    """Barge-in: silence added before the utterance in place of ``pad_before_s``: the encoder's window is a third
    shorter. Over the 940 real clips and 160 commands said by 8 flite/espeak voices, barge-in took stop on 117 of
    120 real "stop" (2 s: 115), 125 of 160 commands (120) and 9 of 820 other words (12); 0.5 s lost 6 real stops."""
    strict_tokens: int = 6
    """Barge-in: most transcript tokens ("Give me a second." is 5; the command is among the first two words, and
    Whisper's repetitions "Stop, stop, stop, stop" end sooner). 4 lost 28 of the 160 commands."""
    strict_floor: float = -7.0
    """Barge-in: stop/pause taken without the transcript must be at least this likely (no closeness to the
    transcript asked: pausing is the safe side; flite's "pause" is transcribed "plus", scored -5.1 with 3 s of
    silence each side and -6.2 with 2 s / 0.5 s, "pause please" "Pass, please." -6.6)."""
    strict_margin: float = 3.0
    """Barge-in: stop/pause taken without the transcript must beat the best other short answer by this much ..."""
    strict_scored_words: int = 2
    """... and the transcript be at most this many words ("Plus.", "Pass, please."): a longer one is a sentence,
    most likely the coach's own line heard back ("Hold for 6." scores "hold on" high)."""
    no_speech: float = 0.6
    """Above this no-speech probability (Whisper's own), an utterance with no understood transcript is noise."""
    sounds_like: float = 0.5
    """A short answer one of the transcript's first words sounds like (phone distance at most this, e.g. "Mine."
    for nine 0.33, "a" for eight 0.5) needs no ``closeness`` to the transcript, and an answer with dangerous
    opposites then needs only be ``sounds_like_floor`` likely (margins unchanged). Bench, on every clip: real
    digits "Mine." and "a" taken (8 and 9, 210 of 216 real), 4 more synthetic; nothing else changed. 0.67
    took a real "on" as 1."""
    sounds_like_floor: float = -4.5
    """See ``sounds_like`` (in place of ``opposite_floor``)."""
    sentence_words: int = 3
    """A transcript of this many words (``words_said``) that means nothing is a sentence: the short answers'
    scores, which see only how it starts, do not make it an answer ("I'll do next." was skip, "Not life, not
    love" right) unless one of its words sounds like it. Bench: 3 wrong answers of 1124 asked again instead."""
    hint_list: int = 3
    """A transcript that names this many of the context's answers is heard again without the context's hint
    (``echoes_hint``): with "Back, buttock, thigh, knee, calf or foot?" before it, Whisper went on with the list
    (piper's "thigh" at 20 dB SNR written "Thigh, thigh, knee, toe," and taken as foot; without the hint "Dike").
    No bench transcript of a real answer names more than two."""
    n_best: int = 5
    """When the greedy transcript means nothing, a beam search writes this many (``one_reading``) ..."""
    n_best_gap: float = 1.0
    """... and those within this much (Whisper's length-normalized log probability) of its likeliest are read."""
    n_best_words: int = 2
    """Only a greedy transcript of at least this many words is read again: a sentence heard a little wrong ("I
    will be next tension today.") may say its answer in another reading; one word heard clearly as another
    ("Cat...", "forward") would too often become an answer ("Can't", "Four worse"), and its short answers'
    scores have already been weighed. Over 60 real unknown words in all 7 contexts: 10 answered with one-word
    transcripts read again, 7 without; bench: 1 of 6 gains lost ("Roundaboute." for "around about eight")."""
    correct_distance: float = 0.5
    """A transcript of ``n_best_words`` or more that means nothing in any of its n-best is read again with one word
    corrected to a word of the context that sounds at most this far from it (``corrections``: "Let hand side." is
    left hand side, "It's a free." is three) ..."""
    correct_gap: float = 3.5
    """... taken when Whisper scores that reading at most this much (log probability) below its own transcript (and
    clear of other readings and dangerous opposites, never the riskier answer). Over 213 answers spoken by 5 outside
    voices (3 rotations clean, and with real background at 10 and 20 dB), readings came within 4.0 24 times: the 4
    wrong ones at 2.15, 2.65, 3.88 and 3.94 (two commands, "not worse", a digit), the right ones from -0.7 to 3.8.
    With 3.5: 14 more of the 1065 right, 2 more wrong ("map she hope" as help, "Not work." as "not worse", an item
    that expected to be asked again); bench phrasings 84.2 -> 87.5 %."""
    correct_words: int = 12
    """Transcripts longer than this are not corrected ..."""
    correct_meanings: int = 3
    """... nor those whose readings mean more answers than this (read too many ways) ..."""
    correct_per_meaning: int = 2
    """... and of each meaning only this many readings, the nearest in sound, are scored: each costs a decoder pass
    over the sentence (~30 ms for eleven words), and all of them a pain-context sentence about a door bell took 2.5 s."""
    sounds_like_name: float = 0.34
    """A transcript that says the start of longer answers ("Begin inflection.": begin) means the one whose last
    word sounds this near one of its unknown words ("inflection" 0.22 from "flexion"); "session" (0.43 from
    "flexion") is a known word and is never read so."""
