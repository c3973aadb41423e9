"""Which recognition engine listens, and why: Whisper by default, PocketSphinx or Vosk on request.

- ``whisper`` (``asr_whisper``): the default whenever its model package is installed and intact;
- ``vosk`` (``asr_vosk``): when asked for, or when a Vosk model is pointed to (``--vosk-model``,
  ``$VOICECOACH_VOSK_MODEL``), or found in the models folder while Whisper cannot be used;
- ``pocketsphinx`` (``asr_pocketsphinx``): when asked for, and the fallback: its wheel ships its model.

A Whisper model that is missing or altered is one sentence in the log, and PocketSphinx listens.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..content.phrases import Phrases
from .asr import Grammar, Recognizer

log = logging.getLogger("voicecoach")

ENGINES = ("whisper", "pocketsphinx", "vosk")
"""The engines `--engine` accepts."""


class EngineError(Exception):
    """The engine asked for cannot run here; the message is one sentence for the user."""


@dataclass(frozen=True)
class Choice:
    """The engine that listens and why it was chosen (`voicecoach doctor` prints it)."""

    engine: str
    """"whisper", "pocketsphinx" or "vosk"."""
    why: str
    """One sentence: asked for, the default, or what made the default unusable."""


def load_recognizer(phrases: Phrases, engine: str | None = None, vosk_model: Path | None = None,
                    whisper_model: Path | None = None) -> Recognizer:
    """The recognizer for ``engine`` (None: automatic); its ``choice`` says which and why."""
    if engine is not None and engine not in ENGINES:
        raise EngineError(f"Unknown recognition engine '{engine}': choose one of {', '.join(ENGINES)}.")
    grammar = Grammar.from_phrases(phrases)
    pointed_vosk = vosk_model is not None or bool(os.environ.get("VOICECOACH_VOSK_MODEL", "").strip())
    if engine == "vosk" or (engine is None and pointed_vosk):
        return _vosk(grammar, vosk_model, "asked for" if engine else "a Vosk model was pointed to")
    problem = None
    if engine in (None, "whisper"):
        from .asr_whisper import WhisperRecognizer
        from .whisper_model import WhisperModelError, find_model

        try:
            files = find_model(whisper_model)
            rec = WhisperRecognizer(grammar, files)
            return _chosen(rec, "whisper", f"{'asked for' if engine else 'the default'}, model from {files.source}, "
                                           "SHA-256 checked")
        except WhisperModelError as exc:
            problem = str(exc)
            log.warning("%s Falling back to PocketSphinx.", problem)
    if engine is None and problem is not None:
        from .asr_vosk import find_vosk_model

        if find_vosk_model(None) is not None:
            return _vosk(grammar, None, f"{problem} A Vosk model was found")
    from .asr_pocketsphinx import PocketSphinxRecognizer

    why = "asked for" if engine == "pocketsphinx" else f"{problem} Falling back to PocketSphinx"
    return _chosen(PocketSphinxRecognizer(grammar), "pocketsphinx", why)


def _vosk(grammar: Grammar, vosk_model: Path | None, why: str) -> Recognizer:
    from .asr_vosk import VoskRecognizer, find_vosk_model

    model = find_vosk_model(vosk_model)
    if model is None:
        raise EngineError("No Vosk model was found: point --vosk-model or $VOICECOACH_VOSK_MODEL to one "
                          "(voicecoach models fetch vosk-en).")
    return _chosen(VoskRecognizer(model, grammar), "vosk", f"{why}, model {model}")


def _chosen(recognizer: Recognizer, engine: str, why: str) -> Recognizer:
    recognizer.choice = Choice(engine, why)
    log.info("speech recognition: %s (%s)", engine, why)
    return recognizer
