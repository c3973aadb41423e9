"""Recognition accuracy: the synthetic corpus and the real recordings, through `voicecoach hear`'s code.

Every clip goes through ``load_recognizer(Phrases.load())``, ``set_context(ctx)`` and
``recognize(read_wav(path))``, exactly as `voicecoach hear --expect CTX` does, in a pool of
worker processes that each load the recognizer once.

- Synthetic: ``scripts/make-corpus`` (run as a subprocess) speaks the accepted phrases of every
  context (two sentences per answer: the shortest and one at random) with 6 voices, clean and
  at 20 dB and 10 dB SNR, plus out-of-context sentences (each tried in one of yesno, number, pain).
  The corpus is cached under the work directory, keyed by the script, the phrase file and the
  options, so a second run only recognizes.
- Real: ``../shared/audio/speech_commands`` (one word per clip). ``FOLDERS`` says in which
  contexts each folder is tried and what it should give there (None: nothing may be accepted).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
import zlib
from collections import Counter, defaultdict
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REAL_DIR = REPO.parent / "shared" / "audio" / "speech_commands"
MAKE_CORPUS = REPO / "scripts" / "make-corpus"
PHRASES_FILE = REPO / "prompts" / "phrases.yaml"

CONTEXTS = ("idle", "yesno", "location", "side", "number", "pain", "global")
CONDITIONS = ("clean", "20dB", "10dB")
DIGITS = "zero one two three four five six seven eight nine".split()
FOLDERS: dict[str, dict[str, tuple | None]] = {
    "yes": {"yesno": ("yesno", "yes")}, "no": {"yesno": ("yesno", "no")},
    "stop": {c: ("stop", None) for c in ("idle", "yesno", "number", "pain")},
    "up": {"pain": ("pain", "partial")}, "down": {"pain": ("pain", "peripheralized")},
    **{d: {"number": ("number", i)} for i, d in enumerate(DIGITS)},
    "left": {"side": ("side", "left"), "yesno": None, "number": None},
    "right": {"side": ("side", "right"), "yesno": None, "number": None},
    **{w: {"yesno": None, "number": None} for w in ("go", "on", "off")},
    "_unknown_": {c: None for c in CONTEXTS}, "_silence_": {c: None for c in CONTEXTS},
}
"""Real recordings: folder -> {context it is tried in: the answer it must give (None: no answer)}."""
BUDGET_FOLDERS = ("yes", "no", "stop", *DIGITS)
"""The real recordings the accuracy budget is about (yes/no, stop, digits)."""
OUT_OF_CONTEXT_REAL = ("left", "right", "go", "on", "off")

FULL_CORPUS = dict(per_answer=2, voices="piper-joe,piper-joe-slow,espeak-us,espeak-f3,flite-slt,flite-rms", snr="20,10")
"""6 of make-corpus's 9 voices, the least issue 4 asks for (both piper speeds, 2 espeak-ng, 2 flite): each
voice costs a seventh of the recognition time (about a minute here), and the run must stay under 15 minutes
from a fresh clone. flite kal16 (60 % clean, near the average) was the third flite voice until 2026-12-01."""
QUICK_CORPUS = dict(per_answer=1, voices="flite-slt,espeak-us", snr="20,10")
NEGATIVE_CONTEXTS = ("yesno", "number", "pain")
QUICK_PER_CONTEXT = 3
"""Quick mode: clips per context and condition (and real clips per folder: 1)."""


# ---------------------------------------------------------------------- the clips
def corpus_dir(work: Path, quick: bool) -> Path:
    """Where the corpus for these options lives: keyed by the script, the phrases and the options."""
    opts = QUICK_CORPUS if quick else FULL_CORPUS
    h = hashlib.sha256(MAKE_CORPUS.read_bytes() + PHRASES_FILE.read_bytes() + repr(sorted(opts.items())).encode())
    return work / f"corpus-{'quick' if quick else 'full'}-{h.hexdigest()[:12]}"


def make_corpus(work: Path, quick: bool, log=print) -> tuple[Path, list[dict]]:
    """Run scripts/make-corpus (kept clips are reused) and return (its directory, its rows)."""
    out = corpus_dir(work, quick)
    opts = QUICK_CORPUS if quick else FULL_CORPUS
    if not (out / "corpus.json").exists():
        cmd = [sys.executable, str(MAKE_CORPUS), str(out), "--per-answer", str(opts["per_answer"]),
               "--snr", opts["snr"]]
        if opts["voices"]:
            cmd += ["--voices", opts["voices"]]
        log(f"synthesizing the corpus into {out} ...")
        res = subprocess.run(cmd, capture_output=True, text=True, env=_child_env())
        if res.returncode != 0:
            raise RuntimeError(f"scripts/make-corpus failed: {res.stderr.strip()[-500:]}")
    return out, json.loads((out / "corpus.json").read_text())


def _child_env() -> dict:
    env = dict(os.environ)
    env.pop("VOICECOACH_SAVE_UTTERANCES", None)
    return env


def condition(snr) -> str:
    return "clean" if snr is None else f"{float(snr):g}dB"


def synthetic_jobs(work: Path, quick: bool, log=print) -> list[dict]:
    """One job per corpus clip: recognized in its own context."""
    out, rows = make_corpus(work, quick, log)
    jobs = [dict(source="synthetic", group=r["voice"], condition=condition(r["snr"]), context=r["context"],
                 file=str(out / r["file"]), text=r["text"],
                 expected=tuple(r["expected"]) if r["expected"] is not None else None) for r in rows]
    # out-of-context sentences: each in one of the contexts make-corpus speaks it for, in turn
    jobs = [j for j in jobs if j["expected"] is not None
            or NEGATIVE_CONTEXTS[zlib.crc32(f"{j['group']}|{j['text']}".encode()) % 3] == j["context"]]
    if quick:  # a few per context and condition, in-grammar and out-of-context alike
        rng, picked, seen = random.Random(0), [], Counter()
        rng.shuffle(jobs)
        for j in jobs:
            key = (j["context"], j["condition"], j["expected"] is None)
            if seen[key] < QUICK_PER_CONTEXT:
                seen[key] += 1
                picked.append(j)
        jobs = picked
    return jobs


def real_jobs(quick: bool) -> list[dict]:
    """One job per (real clip, context it is tried in); quick: one clip per folder."""
    jobs = []
    if not REAL_DIR.is_dir():
        return jobs
    for folder, contexts in FOLDERS.items():
        files = sorted((REAL_DIR / folder).glob("*.wav"))
        random.Random(0).shuffle(files)
        if quick:
            files = files[:1]
            if folder in ("_unknown_", "_silence_", "stop"):
                contexts = {c: contexts[c] for c in ("yesno", "number")}
        for f in files:
            for context, expected in contexts.items():
                jobs.append(dict(source="real", group=folder, condition="real", context=context, file=str(f),
                                 text=folder, expected=expected))
    return jobs


# ---------------------------------------------------------------------- recognition
_rec = None


def _init() -> None:
    global _rec
    import logging
    logging.getLogger("voicecoach").setLevel(logging.WARNING)
    from ..content.phrases import Phrases
    from ..speech.engines import load_recognizer
    _rec = load_recognizer(Phrases.load())


def _recognize(job: dict) -> dict:
    from ..speech.asr import read_wav
    _rec.set_context(job["context"])
    heard = _rec.recognize(read_wav(job["file"]), live=job.get("live", False))
    got = (heard.answer.kind, heard.answer.value) if heard.answer else None
    first = _rec.grammar.parse(heard.first_choice, job["context"]) if heard.first_choice else None
    return {**job, "got": got, "heard_text": heard.text, "confidence": heard.confidence, "ms": heard.ms,
            "engine": heard.engine, "first_choice": (first.kind, first.value) if first else None}


def engine_info() -> dict:
    """The engine `voicecoach hear` uses here, and its model."""
    import logging
    logging.getLogger("voicecoach").setLevel(logging.WARNING)
    from ..content.phrases import Phrases
    from ..speech.engines import load_recognizer
    rec = load_recognizer(Phrases.load())
    model = getattr(rec, "model_dir", None) or getattr(rec, "model", None)
    return {"engine": rec.engine, "model": str(model) if model else None}


def _recognize_clip(jobs: list[dict]) -> list[dict]:
    return [_recognize(job) for job in jobs]


def recognize_all(jobs: list[dict], workers: int = 2) -> list[dict]:
    """Recognize every job in ``workers`` processes (each loads the recognizer once). A clip's jobs (its
    contexts) go to one worker one after another, so the decodes that do not depend on the context are
    reused (the free decode and the phone loop)."""
    if not jobs:
        return []
    clips: dict[str, list[dict]] = defaultdict(list)
    for job in jobs:
        clips[job["file"]].append(job)
    # the longest clips first, so the pool does not end on one straggler
    order = sorted(clips.values(), key=lambda js: -os.path.getsize(js[0]["file"]) * len(js))
    with get_context("fork").Pool(workers, _init) as pool:
        return [row for rows in pool.imap_unordered(_recognize_clip, order, chunksize=4) for row in rows]


# ---------------------------------------------------------------------- figures
def label(answer) -> str:
    """An answer as a confusion-matrix label: "yesno:yes", "number:7", "stop"; "-" for none."""
    if answer is None:
        return "-"
    kind, value = answer
    return kind if value is None else f"{kind}:{value}"


def dangerous(expected, got) -> bool:
    """An answer heard as its opposite (voicecoach.speech.asr.opposite)."""
    from ..content.phrases import Answer
    from ..speech.asr import opposite
    if expected is None or got is None:
        return False
    return opposite(Answer(expected[0], expected[1], ""), Answer(got[0], got[1], ""))


def _tally(rows: list[dict]) -> dict:
    """Counts and accuracy of in-grammar rows: right, rejected (no answer), wrong (another answer)."""
    n = len(rows)
    correct = sum(1 for r in rows if r["got"] is not None and tuple(r["got"]) == tuple(r["expected"]))
    rejected = sum(1 for r in rows if r["got"] is None)
    return {"n": n, "correct": correct, "rejected": rejected, "wrong": n - correct - rejected,
            "accuracy": correct / n if n else None}


def _fa(rows: list[dict]) -> dict:
    """False accepts among rows that must give no answer."""
    n = len(rows)
    accepted = sum(1 for r in rows if r["got"] is not None)
    return {"n": n, "accepted": accepted, "rate": accepted / n if n else None}


def confusion(rows: list[dict]) -> dict[str, dict[str, int]]:
    """expected label -> heard label -> count ("-": no answer expected / rejected)."""
    m: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        m[label(r["expected"])][label(r["got"])] += 1
    return {e: dict(sorted(c.items())) for e, c in sorted(m.items())}


def summarize(rows: list[dict]) -> dict:
    """Every accuracy figure from the recognized rows."""
    syn = [r for r in rows if r["source"] == "synthetic"]
    real = [r for r in rows if r["source"] == "real"]
    syn_in = [r for r in syn if r["expected"] is not None]
    real_in = [r for r in real if r["expected"] is not None]
    out: dict = {"clips": {"synthetic": len(syn), "real": len(real)}}

    by_ctx = {}
    for c in CONTEXTS:
        by_ctx[c] = {cond: _tally([r for r in syn_in if r["context"] == c and r["condition"] == cond])
                     for cond in CONDITIONS}
        by_ctx[c]["real"] = _tally([r for r in real_in if r["context"] == c])
    out["by_context"] = by_ctx
    out["synthetic"] = {cond: _tally([r for r in syn_in if r["condition"] == cond]) for cond in CONDITIONS}
    voices = sorted({r["group"] for r in syn})
    out["synthetic_by_voice"] = {v: {cond: _tally([r for r in syn_in if r["group"] == v and r["condition"] == cond])
                                     for cond in CONDITIONS} for v in voices}
    out["real"] = {"all": _tally(real_in),
                   "budget_set": _tally([r for r in real_in if r["group"] in BUDGET_FOLDERS]),
                   "by_folder": {f: _tally([r for r in real_in if r["group"] == f])
                                 for f in FOLDERS if any(r["group"] == f for r in real_in)}}
    out["confusion"] = {"synthetic": confusion(syn), "real": confusion(real)}
    danger = [r for r in rows if dangerous(r["expected"], r["got"])]
    out["dangerous"] = {"count": len(danger), "synthetic": sum(r["source"] == "synthetic" for r in danger),
                        "real": sum(r["source"] == "real" for r in danger),
                        "examples": [{k: r[k] for k in ("source", "group", "condition", "context", "file", "text",
                                                        "expected", "got", "heard_text")} for r in danger[:50]]}
    out["false_accept"] = {
        "silence": _fa([r for r in real if r["group"] == "_silence_"]),
        "unknown": _fa([r for r in real if r["group"] == "_unknown_"]),
        "out_of_context_real": _fa([r for r in real if r["group"] in OUT_OF_CONTEXT_REAL and r["expected"] is None]),
        "out_of_context_synthetic": _fa([r for r in syn if r["expected"] is None]),
    }
    fa_examples = [r for r in rows if r["expected"] is None and r["got"] is not None]
    out["false_accept"]["examples"] = [{k: r[k] for k in ("source", "group", "context", "file", "got", "heard_text")}
                                       for r in fa_examples[:50]]
    out["first_choice"] = first_choice(rows)
    ms = sorted(r["ms"] for r in rows if r["ms"])
    out["processing_ms"] = {"median": statistics.median(ms) if ms else None, "p95": percentile(ms, 95),
                            "max": ms[-1] if ms else None}
    return out


def first_choice(rows: list[dict]) -> dict:
    """The same figures if every grammar decode's first choice were taken (no rejection): a ceiling on
    accuracy (a perfect rejection keeps the right ones and asks again for the rest), and what guessing costs."""
    taken = [{**r, "got": tuple(r["first_choice"]) if r.get("first_choice") else None} for r in rows]
    syn_in = [r for r in taken if r["source"] == "synthetic" and r["expected"] is not None]
    real = [r for r in taken if r["source"] == "real"]
    return {"synthetic": {cond: _tally([r for r in syn_in if r["condition"] == cond]) for cond in CONDITIONS},
            "real_budget_set": _tally([r for r in real if r["expected"] is not None and r["group"] in BUDGET_FOLDERS]),
            "dangerous": sum(dangerous(r["expected"], r["got"]) for r in taken),
            "false_accept": {"silence": _fa([r for r in real if r["group"] == "_silence_"]),
                             "unknown": _fa([r for r in real if r["group"] == "_unknown_"])}}


def percentile(values, p: float):
    """The p-th percentile (linear interpolation); None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def run_accuracy(work: Path, quick: bool, workers: int = 2, log=print) -> tuple[dict, list[dict]]:
    """Build the jobs, recognize them, and return (figures, every row)."""
    t0 = time.monotonic()
    jobs = synthetic_jobs(work, quick, log) + real_jobs(quick)
    t1 = time.monotonic()
    log(f"recognizing {len(jobs)} clips with {workers} workers ...")
    rows = recognize_all(jobs, workers)
    figures = summarize(rows)
    figures["timings_s"] = {"corpus": round(t1 - t0, 1), "recognition": round(time.monotonic() - t1, 1)}
    return figures, rows
