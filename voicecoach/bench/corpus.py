"""The clips every engine hears: the synthetic corpus, spoken phrasings and real recordings, as jobs.

A job is one clip heard in one context: ``{source, group, condition, context, file, text, expected}``
(``expected``: the (kind, value) it must give there, None: no answer may be given).

- Synthetic (source "synthetic"): ``scripts/make-corpus`` (a subprocess) speaks the accepted phrases of
  every context (the shortest sentence per answer and ``per_answer - 1`` at random) with 6 voices, clean
  and at 20 dB and 10 dB SNR, plus out-of-context sentences (each tried in one of yesno, number, pain).
- Spoken phrasings (source "phrasing"): the held-out everyday phrasings (``phrasings/heldout.yaml``)
  spoken clean by 3 voices, each heard in its item's context.
- Real (source "real"): ``../shared/audio/speech_commands`` (one word per clip). ``FOLDERS`` says in which
  contexts each folder is tried and what it should give there.

The corpus is cached under the work directory, keyed by the script, the phrase file, the phrasing file and
the options, so a second run only recognizes.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

from .phrasings import SETS, expected

REPO = Path(__file__).resolve().parents[2]
REAL_DIR = REPO.parent / "shared" / "audio" / "speech_commands"
MAKE_CORPUS = REPO / "scripts" / "make-corpus"
PHRASES_FILE = REPO / "prompts" / "phrases.yaml"
PHRASING_FILE = SETS["heldout"]

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
OTHER_FOLDERS = ("up", "down", "left", "right")
"""Real words heard in the context where they are answers, beside the budget's (up/down in pain, left/right in side)."""
OUT_OF_CONTEXT_REAL = ("left", "right", "go", "on", "off")

FULL_CORPUS = dict(per_answer=2, voices="piper-joe,piper-joe-slow,espeak-us,espeak-f3,flite-slt,flite-rms", snr="20,10",
                   phrasing_voices="piper-joe,espeak-us,flite-slt", phrasing_sample=0)
"""6 of make-corpus's 9 voices (both piper speeds, 2 espeak-ng, 2 flite), and the held-out phrasings (all
332) with one voice of each synthesizer."""
QUICK_CORPUS = dict(per_answer=1, voices="flite-slt,espeak-us", snr="20,10", phrasing_voices="flite-slt",
                    phrasing_sample=6)
"""Quick mode: 2 voices; 6 phrasing items (one per context of the held-out set), one voice."""
NEGATIVE_CONTEXTS = ("yesno", "number", "pain")
QUICK_PER_CONTEXT = 1
"""Quick mode: synthetic clips per context and condition, with an answer and without (and real clips per folder: 1)."""


def corpus_dir(work: Path, quick: bool) -> Path:
    """Where the corpus for these options lives: keyed by the script, the phrases, the phrasings and the options."""
    opts = QUICK_CORPUS if quick else FULL_CORPUS
    h = hashlib.sha256(MAKE_CORPUS.read_bytes() + PHRASES_FILE.read_bytes() + PHRASING_FILE.read_bytes()
                       + repr(sorted(opts.items())).encode())
    return work / f"corpus-{'quick' if quick else 'full'}-{h.hexdigest()[:12]}"


def make_corpus(work: Path, quick: bool, log=print) -> tuple[Path, list[dict]]:
    """Run scripts/make-corpus (kept clips are reused) and return (its directory, its rows)."""
    out = corpus_dir(work, quick)
    opts = QUICK_CORPUS if quick else FULL_CORPUS
    if not (out / "corpus.json").exists():
        cmd = [sys.executable, str(MAKE_CORPUS), str(out), "--per-answer", str(opts["per_answer"]),
               "--snr", opts["snr"], "--voices", opts["voices"], "--phrasings", str(PHRASING_FILE),
               "--phrasing-voices", opts["phrasing_voices"], "--phrasing-sample", str(opts["phrasing_sample"])]
        log(f"synthesizing the corpus into {out} ...")
        res = subprocess.run(cmd, capture_output=True, text=True, env=child_env())
        if res.returncode != 0:
            raise RuntimeError(f"scripts/make-corpus failed: {res.stderr.strip()[-500:]}")
    return out, json.loads((out / "corpus.json").read_text())


def child_env() -> dict:
    """The environment for the bench's child processes: no utterance saving."""
    env = dict(os.environ)
    env.pop("VOICECOACH_SAVE_UTTERANCES", None)
    return env


def condition(snr) -> str:
    return "clean" if snr is None else f"{float(snr):g}dB"


def synthetic_jobs(out: Path, rows: list[dict], quick: bool) -> list[dict]:
    """One job per synthetic corpus clip, heard in its own context (out-of-context ones in one of three)."""
    jobs = [dict(source="synthetic", group=r["voice"], condition=condition(r["snr"]), context=r["context"],
                 file=str(out / r["file"]), text=r["text"],
                 expected=tuple(r["expected"]) if r["expected"] is not None else None)
            for r in rows if r.get("source", "synthetic") == "synthetic"]
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


def phrasing_jobs(out: Path, rows: list[dict]) -> list[dict]:
    """One job per spoken phrasing clip, heard in its item's context."""
    return [dict(source="phrasing", group=r["voice"], condition="clean", context=r["context"],
                 file=str(out / r["file"]), text=r["text"], expect=r["expect"],
                 expected=expected(r["context"], r["expect"]))
            for r in rows if r.get("source") == "phrasing"]


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
            for context, want in contexts.items():
                jobs.append(dict(source="real", group=folder, condition="real", context=context, file=str(f),
                                 text=folder, expected=want))
    return jobs


def all_jobs(work: Path, quick: bool, log=print) -> list[dict]:
    """Every job of the run: synthetic, spoken phrasings, real."""
    out, rows = make_corpus(work, quick, log)
    return synthetic_jobs(out, rows, quick) + phrasing_jobs(out, rows) + real_jobs(quick)
