"""Recognition for the benchmark: which engines are installed, and every job heard by one engine.

Each engine's jobs go through a pool of worker processes that each call
``load_recognizer(Phrases.load(), engine)`` once, then ``set_context(ctx)`` and
``recognize(read_wav(path))`` per job, exactly as `voicecoach hear --engine E --expect CTX` does; then
(``with_ceiling``) Whisper's missed clips are heard again on every look, for its ceiling (:mod:`.ceiling`).
Workers are spawned, not forked: a process forked from one that holds threads (the live part's
readers) or a CTranslate2 model can hang for good when it frees what it inherited.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
import multiprocessing as mp

_rec = None
_engine: str | None = None
_init_error: str | None = None
CLIP_TIMEOUT_S = 120.0
"""The longest wait for the next clip's rows: past it the engine's recognition is reported as failed
(a worker that died or hangs would otherwise keep the pool waiting for good)."""


def engines(phrases) -> list[dict]:
    """Every engine `--engine` accepts: installed or not (and why), its model, and which is the default
    (the one ``load_recognizer(phrases)`` picks). Loads the default once, to ask it."""
    import logging

    from ..speech.asr_vosk import find_vosk_model
    from ..speech.engines import ENGINES, load_recognizer
    from ..speech.whisper_model import WhisperModelError, check, find_model

    logging.getLogger("voicecoach").setLevel(logging.WARNING)
    rec = load_recognizer(phrases)
    default = {"engine": rec.engine, "installed": True, "default": True, "why": rec.choice.why,
               "model": str(getattr(rec, "model_dir", None) or "") or None}
    rec.close()
    del rec
    out = []
    for name in ENGINES:
        if name == default["engine"]:
            out.append(default)
            continue
        row = {"engine": name, "installed": True, "default": False, "why": "", "model": None}
        if name == "vosk":
            model = find_vosk_model(None)
            row.update(installed=model is not None, model=str(model) if model else None,
                       why=f"model {model}" if model else "not installed (no English model)")
        elif name == "whisper":
            try:
                files = find_model()
                check(files)
                row.update(model=str(files.path), why=f"model from {files.source}")
            except WhisperModelError as exc:
                row.update(installed=False, why=str(exc))
        else:
            row["why"] = "the US English model of its wheel"
        out.append(row)
    return out


def _init(engine: str | None) -> None:
    """Load the recognizer once per worker; a failure is kept and raised with the first clip (a pool
    whose initializer raises would start new workers for ever)."""
    global _rec, _engine, _init_error
    import logging
    logging.getLogger("voicecoach").setLevel(logging.WARNING)
    _engine = engine
    try:
        from ..content.phrases import Phrases
        from ..speech.engines import load_recognizer
        _rec = load_recognizer(Phrases.load(), engine)
    except Exception as exc:  # noqa: BLE001 - reported with the first clip
        _init_error = f"{type(exc).__name__}: {exc}"


def _recognize(job: dict) -> dict:
    from ..speech.asr import read_wav
    if _engine is not None and _rec.engine != _engine:
        raise RuntimeError(f"{_engine} was asked for, {_rec.engine} listens: {_rec.choice.why}")
    _rec.set_context(job["context"])
    pcm = read_wav(job["file"])
    t = time.monotonic()
    heard = _rec.recognize(pcm, live=job.get("live", False))
    wall_ms = 1000 * (time.monotonic() - t)
    got = (heard.answer.kind, heard.answer.value) if heard.answer else None
    first = None  # PocketSphinx's grammar decode before rejection (for Whisper it is the transcript)
    if heard.engine == "pocketsphinx" and heard.first_choice:
        first = _rec.grammar.parse(heard.first_choice, job["context"])
    return {**job, "got": got, "heard_text": heard.text, "decoded": heard.first_choice, "confidence": heard.confidence,
            "ms": heard.ms, "wall_ms": wall_ms, "engine": heard.engine, "first_choice": (first.kind, first.value) if first else None}


def _check_loaded() -> None:
    if _init_error:
        raise RuntimeError(f"the recognizer ({_engine or 'default'}) did not load: {_init_error}")


def _recognize_clip(jobs: list[dict]) -> list[dict]:
    _check_loaded()
    return [_recognize(job) for job in jobs]


def _point_clip(rows: list[dict]) -> list[dict]:
    from ..speech.asr import read_wav
    from .ceiling import pointed_answers
    _check_loaded()
    out = []
    for row in rows:
        _rec.set_context(row["context"])
        out.append({**row, "evidence_right": tuple(row["expected"]) in pointed_answers(_rec, read_wav(row["file"]))})
    return out


def with_ceiling(rows: list[dict], workers: int = 2) -> list[dict]:
    """Whisper's recognized rows, each it missed marked ``evidence_right`` (:mod:`.ceiling`): a pass of its
    own after recognition, so that it does not slow the recognition being timed."""
    from .phrasings import same

    missed = [r for r in rows if r["expected"] is not None and not same(r["got"], r["expected"])]
    return [r for r in rows if r["expected"] is None or same(r["got"], r["expected"])] + \
        recognize_all(missed, workers, "whisper", _point_clip)


def recognize_all(jobs: list[dict], workers: int = 2, engine: str | None = None, task=_recognize_clip) -> list[dict]:
    """Recognize every job with ``engine`` (None: the default) in ``workers`` processes (each loads the
    recognizer once). A clip's jobs (its contexts) go to one worker one after another, so what does not
    depend on the context is decoded once (Whisper's transcript, PocketSphinx's free decode and phone loop).
    ``task``: what a worker does with a clip's jobs (the ceiling's pass: ``with_ceiling``)."""
    if not jobs:
        return []
    clips: dict[str, list[dict]] = defaultdict(list)
    for job in jobs:
        clips[job["file"]].append(job)
    # the longest clips first, so the pool does not end on one straggler
    order = sorted(clips.values(), key=lambda js: -os.path.getsize(js[0]["file"]) * len(js))
    out: list[dict] = []
    with mp.get_context("spawn").Pool(workers, _init, (engine,)) as pool:
        results = pool.imap_unordered(task, order)  # chunksize 1: an iterator with next(timeout)
        while True:
            try:
                out += results.next(timeout=CLIP_TIMEOUT_S)
            except StopIteration:
                return out
            except mp.TimeoutError:
                raise RuntimeError(f"no clip recognized for {CLIP_TIMEOUT_S:.0f} s ({len(out)} of {len(jobs)} "
                                   f"done): a worker died or hangs") from None
