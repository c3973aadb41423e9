"""Whisper backend: a free transcript read with the phrase file, checked against the context's answers.

Each utterance (16 kHz, cut by the endpointer) is encoded once with 2 s of silence before it and 0.5 s
after (``WhisperTuning``), not in Whisper's 30 s window, and then:

1. a greedy transcript (``listen``, after the context's hint from the phrase file) is read by
   ``Grammar.understand``: everyday answers, fillers, negation, hedges, two answers ("yes and no"); one
   that lists the context's answers like its hint is heard again without the hint (``echoes_hint``);
2. the context's short answers (``short_answers``: the phrase file's sentences of one or two words, as
   Whisper would write them) are scored by the decoder, teacher-forced (``whisper_scores``): only those whose
   first token the transcript's first step found likely; the transcript's words are read against them (which
   does it sound like, which begins inside its first word);
3. ``whisper_judge.judge`` weighs that evidence: an answer, or ask again;
4. a transcript of two words or more that means nothing is read again from Whisper's n-best (``reread``):
   the answer its likeliest transcripts agree on, with no dangerous opposite in any, is judged as in 3;
5. failing that, with one word corrected to a word of the context that sounds like it (``corrections``), when
   Whisper finds that reading nearly as likely as its own transcript (``correct``);
6. failing that, heard again (``WhisperTuning.looks``: other silence, slower) on ``second_look``'s terms.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections import OrderedDict

import numpy as np

from ..content.phrases import Answer, normalize
from .asr import Grammar, Recognizer, meaning
from .corrections import Corrections, choose, beats_opposites
from .endpoint import FRAME_MS
from .short_answers import ShortAnswers
from .whisper_judge import Evidence, drop_echo, judge, one_reading, second_look, words_said
from .whisper_model import ModelFiles, batched, find_model, load, log_mel, log_softmax, stretched
from .whisper_scores import AnswerScorer
from .whisper_tuning import Look, WhisperTuning

log = logging.getLogger("voicecoach")


class WhisperRecognizer(Recognizer):
    """Context answers on Whisper tiny.en (CTranslate2): transcribe, understand, score, judge."""

    engine = "whisper"
    endpointing = {"start_frames": 2, "min_voiced": 2}
    """Whisper rejects noise itself: quieter, shorter speech may pass (3 and 4 lost 7 of 940 real clips, 2 and 2 none)."""

    def __init__(self, grammar: Grammar, files: ModelFiles | None = None, tuning: WhisperTuning | None = None) -> None:
        super().__init__(grammar)
        self.tuning = tuning or WhisperTuning()
        self.files = files or find_model()
        self.model_dir = self.files.path
        self.model, self.tokenizer = load(self.files)
        tid = self.tokenizer.token_to_id
        self._start = [tid("<|startoftranscript|>"), tid("<|notimestamps|>")]
        self._prompts: dict[tuple[str, bool, bool], list[int]] = {}
        """The decoder's start per (context, strict, hint): the context's hint as previous text, then ``_start``."""
        self._short: dict[tuple[str, bool], ShortAnswers] = {}
        self._corrections: dict[str, Corrections] = {}
        self._heard: OrderedDict[bytes, tuple] = OrderedDict()
        """The latest transcripts by audio, silence and prompt: a recording heard again (hear, the bench) is not
        decoded again. Not used live."""
        pieces = [self.tokenizer.id_to_token(i) or "" for i in range(self.tokenizer.get_vocab_size())]
        self._word_end = np.array([p.startswith(("Ġ", "<|")) or not any(ch.isalnum() for ch in p) for p in pieces])
        """Tokens that end the word before them: a new word (leading space), punctuation, the end."""

    # ------------------------------------------------------------------ candidates
    def short(self) -> ShortAnswers:
        """The context's short answers (barge-in: stop/pause), built once per context."""
        key = (self.context, self.strict)
        if key not in self._short:
            encode = lambda text: self.tokenizer.encode(text, add_special_tokens=False).ids  # noqa: E731
            self._short[key] = ShortAnswers.build(self.grammar, self.context, self.strict, encode,
                                                  self.tuning.max_words)
        return self._short[key]

    def prompt(self, hint: bool = True) -> list[int]:
        """Where the decoder starts in this context: after the phrase file's hint, as if Whisper had just
        transcribed the coach offering those answers ("Back, buttock, thigh, knee, calf or foot?"); barge-in
        has none (stop/pause over the coach's voice), nor has ``hint=False``."""
        key = (self.context, self.strict, hint)
        if key not in self._prompts:
            hint = "" if self.strict or not hint else self.grammar.hints.get(self.context, "")
            previous = [self.tokenizer.token_to_id("<|startofprev|>"),
                        *self.tokenizer.encode(" " + hint, add_special_tokens=False).ids] if hint else []
            self._prompts[key] = previous + self._start
        return self._prompts[key]

    # ------------------------------------------------------------------ decoding
    def listen(self, pcm: bytes, look: Look | None = None) -> tuple[Evidence, object, np.ndarray, list[int]]:
        """Encode once, transcribe greedily: (evidence without scores, encoder output, every step's log
        probabilities, the transcript's token ids); ``look``: heard again, with its silence and rate."""
        t = self.tuning
        look = look or Look(t.strict_pad_before_s if self.strict else t.pad_before_s, t.pad_after_s)
        pcm, pads = stretched(pcm, look.rate), (look.before_s, look.after_s)
        if self.live:  # speech never comes twice the same to the sample; a test's clip played again does
            return self._listen(pcm, pads)
        key = hashlib.blake2b(pcm + bytes(np.array([self.strict, *(round(1000 * p) for p in pads), *self.prompt()],
                                                   np.int32)), digest_size=16).digest()
        if key not in self._heard:
            self._heard[key] = self._listen(pcm, pads)
            while len(self._heard) > 8:
                self._heard.popitem(last=False)
        ev, encoded, steps, ids = self._heard[key]
        return dataclasses.replace(ev), encoded, steps, ids

    def _listen(self, pcm: bytes, pads: tuple[float, float]) -> tuple[Evidence, object, np.ndarray, list[int]]:
        import ctranslate2

        t = self.tuning
        encoded = self.model.encode(ctranslate2.StorageView.from_array(log_mel(pcm, *pads)[None]), to_cpu=True)
        seconds = len(pcm) / 2 / self.sample_rate
        start = self.prompt()
        limit = self._limit(seconds)
        result = self.model.generate(encoded, [start], beam_size=1, max_length=limit, return_logits_vocab=True,
                                     return_no_speech_prob=True, repetition_penalty=t.repetition_penalty,
                                     no_repeat_ngram_size=t.no_repeat_ngram)[0]
        ids = result.sequences_ids[0]
        first = 1
        pieces = [self.tokenizer.id_to_token(i) or "" for i in ids]
        while first < len(ids) and not pieces[first].startswith("Ġ") and pieces[first].isalnum():
            first += 1
        # log probabilities of the steps the judgement reads only (first word, short answers' depth): of every
        # step of a 9 s transcript they raised peak RSS by 36 MB (now 6 MB) and left it 20 MB higher
        used = (result.logits[0] if result.logits else [])[: max(first, self.short().depth)]
        logp = log_softmax(np.asarray(used).astype(np.float64)) if len(used) else np.zeros((1, 1))
        first_word = float(sum(logp[k, ids[k]] for k in range(min(first, len(ids), len(logp)))))
        text = drop_echo(self.tokenizer.decode(ids).strip())
        cut = len(ids) >= limit - len(start)  # the token bound stopped it: the transcript may end mid-answer
        return Evidence(text=text, first_word=first_word, no_speech=float(result.no_speech_prob), seconds=seconds,
                        cut=cut), \
            encoded, logp, ids

    def _limit(self, seconds: float, hint: bool = True) -> int:
        """The decoder's most tokens, its start included, for an utterance this long."""
        t = self.tuning
        tokens = t.extra_tokens + int(t.tokens_per_s * seconds)
        return len(self.prompt(hint)) + (min(tokens, t.strict_tokens) if self.strict else tokens)

    def echoes_hint(self, text: str, said: Answer, encoded, seconds: float) -> bool:
        """Whether a transcript that lists the context's answers ("Thigh, thigh, knee, toe," for piper's "thigh"
        in noise) is Whisper going on with the hint it was given: heard again without the hint, it must mean
        the same answer."""
        if not self.grammar.hints.get(self.context) or self.strict or self.grammar.understand is None:
            return False
        found = {meaning(a) for a in (self.grammar.parse(n, self.context) for n in
                                      self.grammar.understand(text, self.context).found) if a is not None}
        if len(found) < self.tuning.hint_list:
            return False
        t = self.tuning
        result = self.model.generate(encoded, [self.prompt(hint=False)], beam_size=1,
                                     max_length=self._limit(seconds, hint=False),
                                     repetition_penalty=t.repetition_penalty, no_repeat_ngram_size=t.no_repeat_ngram)[0]
        again, _ = self.read(drop_echo(self.tokenizer.decode(result.sequences_ids[0]).strip()))
        return again is None or meaning(again) != meaning(said)

    def score(self, encoded, steps: np.ndarray, ids: list[int], said: Answer | None = None) -> dict:
        """The context's short answers scored on this utterance (``whisper_scores.AnswerScorer``)."""
        scorer = AnswerScorer(self.model, self.prompt(), self.short(), self._word_end, self.tuning, self.strict)
        return scorer.score(encoded, steps, ids, said)

    def read(self, text: str, cut: bool = False) -> tuple[Answer | None, str]:
        """What a transcript means in the context, and why (``Evidence.why``); ``cut``: the token bound stopped
        it, so an answer with a dangerous opposite may be cut mid-answer ("all the way from my back to" is not back)."""
        understood = self.grammar.understand(text, self.context) if self.grammar.understand else None
        if understood is None:
            answer = self.grammar.parse(text, self.context)
            answer, why = answer, "sentence" if answer else "not understood"
        else:
            answer, why = understood.answer, understood.why
        if cut and answer is not None and self.short().has_opposite(answer):
            return None, "cut off"
        return answer, why

    def measure(self, pcm: bytes, look: Look | None = None) -> tuple[Evidence, tuple]:
        """Transcribe, understand and (for short utterances) score one utterance: (evidence, what ``reread`` and
        ``correct`` use: encoder output, step log probabilities, token ids)."""
        ev, encoded, steps, ids = self.listen(pcm, look)
        understood_answer, why = self.read(ev.text, ev.cut)
        if understood_answer is not None and self.echoes_hint(ev.text, understood_answer, encoded, ev.seconds):
            understood_answer, why = None, "hint echo"
        if self.strict and understood_answer is not None and not self._command_first(ev.text, understood_answer):
            understood_answer, why = None, "not a barge-in command"  # a sentence with "stop" in it may be the coach's echo
        answers = self.short()
        named = answers.named(ev.text, understood_answer, self.tuning.sounds_like_name)
        if named is not None and why not in ("hedge", "two answers", "hint echo"):  # "Big inflection." is begin flexion
            understood_answer, why = named, "sounds like"
        ev.understood, ev.why = understood_answer, why
        kept = (self.endpointer.preroll_frames + self.endpointer.tail_frames) * FRAME_MS / 1000
        speech = ev.seconds - kept  # the endpointer keeps a little audio before and after the speech
        short = (understood_answer is None and not answers.says_more(ev.text)) \
            or answers.starts_short(ev.text, self.tuning.short_words)
        if self.strict and understood_answer is not None:  # barge-in's short answers all mean stop or pause:
            short = False  # their scores would only weigh one against the other
        if speech <= self.tuning.short_s and short and why not in ("hedge", "two answers", "hint echo"):
            ev.scores = self.score(encoded, steps, ids, understood_answer)
            ev.leads_to = answers.leads_to
            if understood_answer is None and not self.strict:  # barge-in's judgement uses neither
                ev.sounds_like = answers.sounding_like(ev.text, self.tuning.sounds_like)
                ev.inside_word = answers.inside_first_word(ev.text)
                ev.named = answers.named_in(ev.text) if why == "not understood" else frozenset()
        return ev, (encoded, steps, ids)

    def reread(self, ev: Evidence, encoded, steps: np.ndarray, ids: list[int]) -> tuple[Evidence, Answer | None, float]:
        """A greedy transcript that means nothing read again as Whisper's n-best (``one_reading``), the answer
        they agree on judged as if transcribed. Never an answer with a dangerous opposite in the context (flite
        kal's "The paint on my legs top, the paint down my leg." is not moving down), nor a whole one at the
        early check (confidence <= 0.7)."""
        t, limit = self.tuning, self._limit(ev.seconds)
        result = self.model.generate(encoded, [self.prompt()], beam_size=t.n_best, num_hypotheses=t.n_best,
                                     max_length=limit, return_scores=True,
                                     repetition_penalty=t.repetition_penalty, no_repeat_ngram_size=t.no_repeat_ngram)[0]
        transcripts = [(drop_echo(self.tokenizer.decode(seq).strip()), score)
                       for seq, score in zip(result.sequences_ids, result.scores)]
        bound = limit - len(self.prompt())
        cut = {text for (text, _), seq in zip(transcripts, result.sequences_ids) if len(seq) >= bound}
        found = one_reading(transcripts, lambda text: self.read(text, text in cut), t)
        if found is None or self.short().has_opposite(found[1]):  # not clear evidence for a dangerous choice
            return ev, None, 0.0
        text, said = found
        again = dataclasses.replace(ev, text=text, understood=said, why="n-best", sounds_like=frozenset(),
                                    inside_word=frozenset())
        # scored again (for its own spellings and opposites) only if it may be a short answer, as in ``measure``
        short = bool(ev.scores) and self.short().starts_short(text, t.short_words)
        again.scores = self.score(encoded, steps, ids, said) if short else {}
        answer, confidence = judge(again, t)
        return again, answer, min(confidence, 0.7)

    def correct(self, ev: Evidence, encoded) -> tuple[Evidence, Answer | None, float]:
        """A transcript that means nothing read with one word corrected (``corrections``): the reading Whisper
        finds nearly as likely as its own transcript (teacher-forced on the same audio, one batch), then clear of
        its dangerous opposites (a second batch, only then)."""
        if self.context not in self._corrections:
            self._corrections[self.context] = Corrections.build(self.grammar, self.context)
        corrections, t = self._corrections[self.context], self.tuning
        read = lambda text: self.read(text, ev.cut)  # noqa: E731
        readings = corrections.readings(ev.text, read, t)
        if not readings:
            return ev, None, 0.0
        scores = self.sentence_scores(encoded, [normalize(ev.text), *(r.text for r in readings)])
        found = choose(scores[0], list(zip(readings, scores[1:])), self.grammar.safer.get(self.context), t)
        if found is None:
            return ev, None, 0.0
        reading, score = found
        opposites = corrections.opposites(reading, read)
        if opposites and not beats_opposites(score, self.sentence_scores(encoded, opposites), t):
            return ev, None, 0.0
        return dataclasses.replace(ev, text=reading.text, understood=reading.answer, why="corrected"), reading.answer, 0.6

    def sentence_scores(self, encoded, texts: list[str]) -> list[float]:
        """Whisper's log probability of each text (teacher-forced after this context's prompt) for the audio."""
        tokens = [self.tokenizer.encode(" " + text, add_special_tokens=False).ids for text in texts]
        frames = np.asarray(encoded).shape[1] * 2  # the encoder halves the features' frames
        results = self.model.align(batched(encoded, len(texts)), self.prompt(), tokens, [frames] * len(texts))
        return [float(np.log(np.maximum(np.asarray(r.text_token_probs, np.float64), 1e-12)).sum()) for r in results]

    def _command_first(self, text: str, answer: Answer) -> bool:
        """Barge-in: stop/pause said first ("stop", "oh stop please"), in a short utterance: "you can say stop,
        pause..." is the coach's own voice heard back through a loudspeaker."""
        words = words_said(text)
        said = answer.text.split()[:1]
        return (answer.kind in ("stop", "pause") and len(words) <= self.tuning.strict_words
                and bool(said) and (said[0] in words[:2] or len(words) == 1))  # one word: "plus" is pause

    def decode(self, pcm: bytes) -> tuple[str | None, Answer | None, float]:
        t = self.tuning
        ev, heard = self.measure(pcm)
        answer, confidence = judge(ev, t, self.strict)
        unheard = answer is None and not self.strict and ev.why == "not understood" and ev.no_speech <= t.no_speech
        if unheard and len(words_said(ev.text)) >= t.n_best_words:
            again, answer, confidence = self.reread(ev, *heard)
            ev = again if answer is not None else ev
            if answer is None:
                ev, answer, confidence = self.correct(ev, heard[0])
        for look in t.looks if unheard and answer is None else ():  # other silence around the words, slower
            again, _ = self.measure(pcm, look)
            answer, confidence = second_look(again, self.short().has_opposite, self.grammar.safer.get(self.context), t)
            if answer is not None:
                ev = again
                break
        log.debug("whisper %r -> %s (%s, scores %s)", ev.text, answer, ev.why,
                  {f"{k[0]}:{k[1]}": round(v, 1) for k, v in ev.best()[:3]})
        words = answer is not None or (ev.why != "nothing said" and ev.no_speech <= t.no_speech)
        return (ev.text or None) if words else None, answer, confidence

    def decode_whole(self, pcm: bytes) -> tuple[str | None, Answer | None, float] | None:
        """The answer, when the transcript and the scores agree on it (barge-in: stop/pause taken at all, as
        pausing is the safe side: flite's "pause" is transcribed "plus"), it is short (a longer answer may go on
        after a pause: "from my back... down to my thigh") and no longer sentence starts with it."""
        ev, _ = self.measure(pcm)
        answer, confidence = judge(ev, self.tuning, self.strict)
        words = self.tuning.max_words + (0 if self.short().has_opposite(answer) else 1)  # "Repeat to that." is whole
        said = len(words_said(ev.text) if self.strict else ev.text.split())
        if answer is None or confidence < (0.5 if self.strict else 0.9) or said > words \
                or self.extendable(ev.text.lower().strip(" .!?,")):
            return None
        return ev.text, answer, confidence
