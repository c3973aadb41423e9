"""Vosk backend: a Kaldi recognizer per context, restricted to that context's sentences.

The grammar is any word-list grammar (a JSON list of sentences plus "[unk]", the
model's out-of-vocabulary word), so the same class serves the English phrase file and the
Korean test model. An utterance is rejected when the recognizer heard "[unk]", when the
text is not a whole accepted sentence, or when any word's confidence (``SetWords``) is
below the threshold -- a stricter one while the coach speaks (barge-in).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..content.phrases import Answer
from ..models import default_vosk_dir
from .asr import SAMPLE_RATE, Grammar, Recognizer

log = logging.getLogger("voicecoach")


@dataclass(frozen=True)
class VoskTuning:
    """Rejection thresholds on Vosk's per-word confidences."""

    min_conf: float = 0.7
    """Every word of an accepted answer must have at least this confidence."""
    strict_min_conf: float = 0.85
    """The same while the coach speaks (barge-in: only stop/pause)."""


REQUIRED_VOSK = ("am", "conf", "graph")


def find_vosk_model(vosk_model: Path | None = None) -> Path | None:
    """The English Vosk model directory: the argument, $VOICECOACH_VOSK_MODEL, or <repo>/models/vosk."""
    env = os.environ.get("VOICECOACH_VOSK_MODEL")
    candidates = [Path(vosk_model)] if vosk_model else []
    candidates += [Path(env).expanduser()] if env else []
    candidates += [default_vosk_dir()]
    for base in candidates:
        for d in [base, *(sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else [])]:
            if all((d / r).exists() for r in REQUIRED_VOSK):
                return d
        if vosk_model is not None and base == Path(vosk_model):
            log.warning("no Vosk model (am/, conf/, graph/) in %s", base)
    return None


class VoskRecognizer(Recognizer):
    """Context grammars on a Vosk model directory (am/, conf/, graph/)."""

    engine = "vosk"

    def __init__(self, model_dir: Path, grammar: Grammar, tuning: VoskTuning | None = None) -> None:
        super().__init__(grammar)
        self.tuning = tuning or VoskTuning()
        import vosk  # only needed when a Vosk model is there

        self._vosk = vosk
        self.model_dir = Path(model_dir)
        vosk.SetLogLevel(-1)
        self.model = vosk.Model(str(self.model_dir))
        self._recs: dict[str, object] = {}

    def _recognizer(self):
        key = f"{self.context}|strict" if self.strict else self.context
        rec = self._recs.get(key)
        if rec is None:
            sentences = self.grammar.strict(self.context) if self.strict else list(self.grammar.sentences[self.context])
            spec = json.dumps(sorted(sentences) + ["[unk]"], ensure_ascii=False)
            rec = self._vosk.KaldiRecognizer(self.model, SAMPLE_RATE, spec)
            rec.SetWords(True)
            self._recs[key] = rec
        return rec

    def decode(self, pcm: bytes) -> tuple[str | None, Answer | None, float]:
        """Decode one utterance; reject [unk], partial sentences and low word confidences."""
        rec = self._recognizer()
        rec.AcceptWaveform(pcm)
        result = json.loads(rec.FinalResult())  # also resets the recognizer for the next utterance
        text = " ".join(result.get("text", "").split())
        words = result.get("result") or []
        if not text:
            return None, None, 0.0
        confidence = min((float(w.get("conf", 0.0)) for w in words), default=0.0)
        threshold = self.tuning.strict_min_conf if self.strict else self.tuning.min_conf
        answer = None if "[unk]" in text.split() else self.grammar.parse(text, self.context)
        if answer is not None and self.strict and answer.kind not in ("stop", "pause"):
            answer = None
        if answer is not None and confidence < threshold:
            answer = None
        log.debug("vosk %r conf=%.2f -> %s", text, confidence, "accept" if answer else "reject")
        return text, answer, confidence
