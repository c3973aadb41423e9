"""The `hear` command: recognize WAV files in one context and print one line per file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..content.answer import shown
from ..content.phrases import Phrases
from .asr import read_wav
from .engines import load_recognizer


def hear_main(files: list[Path], expect: str, as_json: bool, vosk_model: Path | None, engine: str | None = None) -> int:
    """Recognize each file in context ``expect``; 0, or 2 when a file can't be read."""
    phrases = Phrases.load()
    recognizer = load_recognizer(phrases, engine, vosk_model)  # once for all files
    recognizer.set_context(expect)
    status = 0
    for path in files:
        try:
            pcm = read_wav(path)
        except (OSError, EOFError, ValueError, KeyError) as exc:
            print(f"voicecoach: {path}: not a readable WAV file ({exc})", file=sys.stderr)
            status = 2
            continue
        heard = recognizer.recognize(pcm)
        value = shown(heard.answer)
        if as_json:
            print(json.dumps({"file": str(path), "text": heard.text, "answer": value,
                              "confidence": heard.confidence, "engine": heard.engine, "ms": heard.ms},
                             ensure_ascii=False), flush=True)
        else:
            result = "(rejected)" if value is None else f"-> {value}"
            print(f"{path}: {heard.text or '-'} {result} [{heard.engine} {heard.confidence:.2f} {heard.ms:.0f} ms]",
                  flush=True)
    return status
