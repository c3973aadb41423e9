"""The recognizer interface every engine implements: per-context grammars, endpointing, ``Heard``.

What the user may say at each waiting point comes from ``Phrases`` (prompts/phrases.yaml):
a context's grammar is its sentences plus the global commands, generated at load time, and
``understand`` reads free text with the same phrase file. The engines (``asr_whisper``,
``asr_pocketsphinx``, ``asr_vosk``) subclass ``Recognizer``; ``engines.load_recognizer`` picks one.

Audio is 16 kHz mono int16. ``accept()`` streams it through an ``Endpointer`` (``endpoint``):
an utterance ends 300 ms after the speech does and is decoded then -- or after 120 ms when the engine
is already sure of a whole answer that no longer sentence changes (``decode_whole``, asked after 60 ms, so it
decodes while the rest of the pause arrives; barge-in: asked after 30 ms, ended after 60 ms);
no speech, no result. Each decoded utterance yields a ``Heard``
whose ``answer`` is None whenever the engine is unsure: asking again beats a wrong answer.
"""

from __future__ import annotations

import logging
import math
import os
import time
import wave
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio.wav import write_wav
from ..content.phrases import CONTEXTS, GLOBAL, Answer, Phrases, Understanding
from .endpoint import FRAME_BYTES, SAMPLE_RATE, Endpointer

log = logging.getLogger("voicecoach")

STRICT_KINDS = ("stop", "pause")
"""Global commands heard while the coach speaks (barge-in)."""
LISTENING = {
    False: dict(check_frames=2, early_frames=4, recheck=False, resume_frames=0, max_below_peak_db=35.0),
    True: dict(check_frames=1, early_frames=2, recheck=True, resume_frames=5, max_below_peak_db=math.inf),
}
"""``Endpointer`` settings by strict (barge-in) mode, measured on the real clips, the synthetic commands and live:
- check_frames: the early check decodes after 60 ms of pause (answers; asked after 30 ms it heard less of a
  word's end and took "forward" as "four") or 30 ms (barge-in: stopping by mistake is safe);
- early_frames: a sure, whole answer ends the utterance after 120 ms of pause, barge-in's stop/pause after 60
  (ending at the check itself took the coach's own echo, chopped at a comma, for a command: "Prop yourself,
  prop" was stop; the 30 ms after the check let such a sentence go on and void it);
- recheck: barge-in asks once more a frame later when the check says no (it can fall a frame before the
  word's last sound ended);
- resume_frames: barge-in's yes survives speech going on within 150 ms (flite's "pau... s");
- max_below_peak_db: answers end where a listener hears the fading vowel end; barge-in keeps counting it as
  speech, as the coach's own voice, heard back, dips that low between its words and was chopped there."""


@dataclass(frozen=True)
class Heard:
    """One utterance as the recognizer understood it."""

    text: str | None
    """What the engine recognized, None when rejected (or nothing was decoded)."""
    answer: Answer | None
    """``parse(text, context)``; None when rejected."""
    confidence: float
    """0..1: how sure the engine is of ``text`` (low for rejected utterances)."""
    engine: str
    """"whisper", "pocketsphinx" or "vosk"."""
    ms: float
    """Processing time for this utterance, in milliseconds."""
    early: bool = False
    """Ended at the early check (a sure, whole answer), not after the full 300 ms pause."""
    first_choice: str | None = None
    """What the engine made of the utterance before the rejection checks, kept when rejected (PocketSphinx: the
    grammar decode's best sentence, the benchmark's ceiling on accuracy; Whisper: the transcript); None when it
    heard no words at all, a noise the coach lets pass without asking again."""


@dataclass(frozen=True)
class Grammar:
    """What may be said per context, and how a recognized sentence is understood."""

    sentences: Mapping[str, Sequence[str]]
    """Context -> every accepted sentence (lower case, words only), global ones included."""
    parse: Callable[[str, str], Answer | None]
    """(text, context) -> the answer, or None when the text is no accepted sentence."""
    understand: Callable[[str, str], Understanding] | None = None
    """(free text, context) -> what everyday words mean (``Phrases.understand``); engines that
    transcribe freely (Whisper) read their text with it."""
    hints: Mapping[str, str] = field(default_factory=dict)
    """Context -> what came before the answer (``Phrases.hint``): Whisper is prompted with it."""
    full_pause: frozenset[str] = frozenset()
    """Answer kinds taken only after the full pause, never at the early check (``Phrases.full_pause``)."""
    full_pause_contexts: frozenset[str] = frozenset()
    """Contexts that accept such answers (there the endpointer holds on unvoiced sound, ``hold_on_sound``)."""
    words: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Context -> every word of the sentences understood there (``Phrases.words``: cues such as "fever" too)."""
    negations: frozenset[str] = frozenset()
    """Words that negate (``Phrases.negation_words``): a transcript is never corrected to or from one."""
    safer: Mapping[str, object] = field(default_factory=dict)
    """Context -> its safer answer when unsure (``Phrases.safer``: yes to a red flag, no to the clearance)."""

    @classmethod
    def from_phrases(cls, phrases: Phrases) -> Grammar:
        """Each context's sentences plus the global commands, straight from the phrase file."""
        glob = phrases.sentences(GLOBAL)
        sentences = {c: sorted(set(phrases.sentences(c)) | set(glob)) for c in CONTEXTS}
        return cls(sentences, phrases.parse, phrases.understand, {c: phrases.hint(c) for c in CONTEXTS},
                   phrases.full_pause, frozenset(c for c in CONTEXTS if phrases.kinds(c) & phrases.full_pause),
                   {c: phrases.words(c) for c in CONTEXTS}, phrases.negation_words(),
                   {c: safer for c in CONTEXTS if (safer := phrases.safer(c)) is not None})

    def strict(self, context: str) -> list[str]:
        """The barge-in grammar: the sentences of ``context`` that mean stop or pause."""
        out = []
        for s in self.sentences[context]:
            answer = self.parse(s, context)
            if answer is not None and answer.kind in STRICT_KINDS:
                out.append(s)
        return out


class Recognizer:
    """Streaming recognizer: endpointing here, decoding and rejection in an engine subclass."""

    engine = "none"
    sample_rate = SAMPLE_RATE
    endpointing: dict = {}
    """Endpointer settings this engine changes (``Endpointer`` fields)."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.context = GLOBAL
        self.strict = False
        self.endpointer = Endpointer(complete=self._complete, **self.endpointing)
        self._extendable: dict[tuple[str, bool, str], bool] = {}
        self._early: deque[tuple[bytes, tuple[str | None, Answer | None, float], float, bool]] = deque(maxlen=4)
        """Checks that found a whole answer: (audio so far, decode, ms, held for the full pause)."""
        save = os.environ.get("VOICECOACH_SAVE_UTTERANCES", "").strip()
        self.save_dir: Path | None = Path(save) if save else None
        """Where every decoded utterance is written as a WAV (for debugging and benchmarks), or None."""
        self.live = True
        """Audio arrives as it is spoken (``accept``): engines may spend CPU on work that may not be needed to
        answer sooner. False while ``recognize`` goes through a recording, where only the total time counts."""
        self._saved = 0

    def close(self) -> None:
        """Release what the engine holds outside this process (a helper process); safe to call twice."""

    @property
    def hearing(self) -> bool:
        """Whether someone is speaking to the recognizer now (an utterance has started and not ended)."""
        return self.endpointer.in_utterance

    def set_context(self, context: str, strict: bool = False) -> None:
        """Listen for ``context`` (plus global commands); strict: barge-in, only stop/pause."""
        if context not in self.grammar.sentences:
            raise ValueError(f"unknown context {context!r}; expected one of {sorted(self.grammar.sentences)}")
        self.context, self.strict = context, strict
        for name, value in LISTENING[strict].items():
            setattr(self.endpointer, name, value)
        self.endpointer.hold_on_sound = not strict and context in self.grammar.full_pause_contexts
        self._early.clear()  # a check's answer holds in the context it was decoded in only

    def accept(self, pcm: bytes) -> Heard | None:
        """Feed 16 kHz mono int16 audio; a Heard when an utterance has ended, else None."""
        return next(reversed([self._decode_timed(u) for u, _ in self.endpointer.feed(pcm)]), None)

    def flush(self) -> Heard | None:
        """Force the current utterance to end; its Heard, or None when there was no speech."""
        return next(reversed([self._decode_timed(u) for u, _ in self.endpointer.flush()]), None)

    def recognize(self, pcm: bytes, live: bool = False) -> Heard:
        """Recognize a whole recording: the first accepted utterance, else the last one heard.
        ``live``: spend CPU as for audio arriving live (same answers; ``Heard.ms`` is then a live turn's)."""
        self.live = live
        try:
            results = [self._decode_timed(u) for u in self.utterances(pcm)]
        finally:
            self.live = True
        accepted = [h for h in results if h.answer is not None]
        if accepted:
            return accepted[0]
        return results[-1] if results else Heard(None, None, 0.0, self.engine, 0.0)

    def utterances(self, pcm: bytes) -> list[bytes]:
        """The utterances the endpointer cuts from a whole recording, as ``recognize`` decodes them."""
        self.endpointer.flush()
        self.endpointer.prime(pcm)
        self._early.clear()
        return [u for u, _ in self.endpointer.feed(pcm) + self.endpointer.flush()]

    def _complete(self, pcm: bytes) -> bool:
        """The endpointer's early check: keep the decode when it is a whole, sure answer."""
        t = time.perf_counter()
        result = self.decode_whole(pcm)
        ms = (time.perf_counter() - t) * 1000.0
        log.debug("check after %.2f s of audio%s: %s in %.0f ms", len(pcm) / 2 / SAMPLE_RATE,
                  " (barge-in)" if self.strict else "", "whole" if result else "not yet", ms)
        held = result is not None and result[1].kind in self.grammar.full_pause  # taken at the full pause
        if result is not None:  # kept until the utterance is decoded (a recording may end several first)
            self._early.append((pcm, result, ms, held))
        return result is not None and not held

    def _decode_timed(self, pcm: bytes) -> Heard:
        # a check's result belongs to the utterance that ended at most the pause (and a sure check's resume) after
        # it, or, held for the full pause, that kept only the hangover's tail after it
        ep = self.endpointer
        gap = max(ep.early_frames + ep.resume_frames, ep.tail_frames - ep.check_frames) * FRAME_BYTES
        early = next((e for e in self._early if pcm.startswith(e[0]) and len(pcm) - len(e[0]) <= gap), None)
        if early is not None:
            self._early.remove(early)
            (text, answer, confidence), ms, held = early[1:]
        else:
            held = False
            t = time.perf_counter()
            text, answer, confidence = self.decode(pcm)
            ms = (time.perf_counter() - t) * 1000.0
        if answer is None:
            log.debug("%s rejected %r (%.2f) in %s", self.engine, text, confidence, self.context)
        if self.save_dir is not None:
            self._save(pcm, text if answer is not None else None)
        return Heard(text if answer is not None else None, answer, round(confidence, 3), self.engine, round(ms, 1),
                     early is not None and not held, text)

    def decode(self, pcm: bytes) -> tuple[str | None, Answer | None, float]:
        """One utterance -> (best text, answer or None when rejected, confidence)."""
        raise NotImplementedError

    def decode_whole(self, pcm: bytes) -> tuple[str | None, Answer | None, float] | None:
        """``decode(pcm)`` when it is an answer the engine is sure of and no longer sentence of the
        context starts with it (the person has finished); else None and the endpointer waits on."""
        return None

    def extendable(self, text: str) -> bool:
        """Whether a longer sentence of the current context (strict: of stop/pause) that starts with
        ``text`` means something else ("my" -> "my thigh"; not "yes" -> "yes please")."""
        key = (self.context, self.strict, text)
        if key not in self._extendable:
            sentences = self.grammar.strict(self.context) if self.strict else self.grammar.sentences[self.context]
            parse = self.grammar.parse
            means = meaning(parse(text, self.context))
            self._extendable[key] = any(s.startswith(text + " ") and meaning(parse(s, self.context)) != means
                                        for s in sentences)
        return self._extendable[key]

    def _save(self, pcm: bytes, text: str | None) -> None:
        """Write one utterance as <n>-<context>-<text or REJECTED>.wav; failures only cost the copy."""
        self._saved += 1
        name = f"{self._saved:04d}-{self.context}{'-strict' if self.strict else ''}-{(text or 'REJECTED').replace(' ', '_')}"
        try:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            write_wav(self.save_dir / f"{name}.wav", pcm, SAMPLE_RATE)
        except OSError as exc:
            log.warning("cannot save utterance %s: %s", name, exc)


def read_wav(path: str | os.PathLike) -> bytes:
    """A WAV file (any rate, channels, 8/16/24/32-bit PCM) as 16 kHz mono int16 bytes."""
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) * 256.0
    elif width == 3:
        x = np.frombuffer(raw, np.uint8).reshape(-1, 3)[:, 1:].copy().view("<i2").ravel().astype(np.float64)
    else:
        x = np.frombuffer(raw, {2: np.int16, 4: np.int32}[width]).astype(np.float64) / (1 << (8 * width - 16))
    x = x.reshape(-1, channels).mean(axis=1) if channels > 1 else x
    return _resample(x, rate, SAMPLE_RATE).clip(-32768, 32767).astype(np.int16).tobytes()


def _resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Windowed-sinc low-pass (when going down) then linear interpolation."""
    if rate == target or len(x) == 0:
        return x
    if target < rate:
        cutoff = 0.45 * target / rate  # cycles per input sample, a little under the new Nyquist
        n = np.arange(-32, 33)
        taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(len(n))
        x = np.convolve(x, taps / taps.sum(), mode="same")
    count = int(round(len(x) * target / rate))
    return np.interp(np.arange(count) * (rate / target), np.arange(len(x)), x)


def meaning(answer: Answer | None) -> tuple | None:
    """What an answer means, whatever the words: (kind, value), or None."""
    return None if answer is None else (answer.kind, answer.value)
