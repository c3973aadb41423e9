"""The clips every engine hears: the synthetic corpus, spoken phrasings and real recordings, as jobs.

A job is one clip heard in one context: ``{source, group, condition, context, file, text, expected}``
(``expected``: the (kind, value) it must give there, None: no answer may be given).

- Synthetic (source "synthetic"): ``scripts/make-corpus`` (a subprocess) speaks the accepted phrases of
  every context (the shortest sentence of each answer) with the voices of FULL_CORPUS, clean and at 20 dB
  and 10 dB SNR, plus out-of-context sentences (clean, each tried in one of yesno, number, pain).
- Spoken phrasings (source "phrasing"): held-out everyday phrasings (``phrasings/heldout.yaml``, never used
  for tuning; a sample spread over the contexts), spoken clean by piper joe, espeak-us and flite slt in
  turn, each heard in its item's context.
- Real (source "real"): ``../shared/audio/speech_commands`` (one word per clip). ``FOLDERS`` says in which
  contexts each folder may be tried and what it should give there; REAL_FULL how many clips and contexts.

The corpus is cached under the work directory, keyed by the script, the phrase file, the phrasing file and
the options, so a second run only recognizes. The full run's size keeps it well under 15 minutes on 2 cores
with two engines (each engine's time is in the report).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import zlib
from pathlib import Path

from ..content.answer import CONTEXTS
from .phrasings import SETS, expected

REPO = Path(__file__).resolve().parents[2]
REAL_DIR = REPO.parent / "shared" / "audio" / "speech_commands"
MAKE_CORPUS = REPO / "scripts" / "make-corpus"
PHRASING_FILE = SETS["heldout"]

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
REAL_FULL: dict[str, tuple[int | None, int | None]] = {
    "yes": (24, None), "no": (24, None), "stop": (24, 2), "up": (12, None), "down": (12, None),
    "left": (12, 2), "right": (12, 2), "go": (6, 1), "on": (6, 1), "off": (6, 1), "_unknown_": (None, 2)}
"""Full run: folder -> (clips taken, seeded; None: all, contexts each clip is tried in; None: all of its
FOLDERS contexts). A clip is always tried where it is an answer, unless every context is one (stop);
the other contexts are taken in turn, so every context is covered. Digits and _silence_: all, everywhere."""
REAL_QUICK: dict[str, tuple[int | None, int | None]] = {
    "yes": (1, None), "no": (1, None), "stop": (1, 2), "one": (1, None), "five": (1, None), "nine": (1, None),
    "up": (1, None), "left": (1, 2), "go": (1, 1), "_unknown_": (1, 2), "_silence_": (1, 2)}
"""Quick run: the folders tried, one clip each."""

FULL_CORPUS = dict(per_answer=1, voices="piper-joe,espeak-us", snr="20,10",
                   phrasing_voices="piper-joe,espeak-us,flite-slt", phrasing_sample=120, phrasing_rotate=True)
"""2 of make-corpus's 9 voices (piper joe, espeak-ng us; the live patient is flite slt), the shortest sentence
of every answer; 120 of the 332 held-out phrasings (20 per context), each spoken by one of piper joe,
espeak-us and flite slt in turn. Sized so that a full run with two engines stays near 10 minutes on 2 cores
(PocketSphinx takes longer than Whisper on noisy and long clips)."""
QUICK_CORPUS = dict(per_answer=1, voices="flite-slt,espeak-us", snr="20,10",
                    phrasing_voices="piper-joe,espeak-us,flite-slt", phrasing_sample=3, phrasing_rotate=True)
"""Quick mode: 2 voices; 3 phrasing items (of 3 contexts), one per phrasing voice."""
NEGATIVE_CONTEXTS = ("yesno", "number", "pain")
QUICK_PER_CONDITION = 4
"""Quick mode: synthetic clips per condition with an answer (each of another context), and 1 without one (clean)."""


def spoken_phrases(source=None) -> bytes:
    """What the corpus takes from the phrase file: every context's sentences and what each means there. An edit of
    the phrase file that changes neither (a rule, a hint, a threshold) keeps the corpus: piper speaks a word
    differently each time, and a corpus made again moved the clean figure by up to 7 points on the same code.
    ``source``: the phrase file, loaded (``Phrases``) or its path (default: prompts/phrases.yaml)."""
    from ..content.phrases import Phrases

    phrases = source if isinstance(source, Phrases) else Phrases.load(source)
    return repr([(c, s, (a.kind, a.value) if (a := phrases.parse(s, c)) else None)
                 for c in CONTEXTS for s in sorted(phrases.sentences(c))]).encode()


def corpus_dir(work: Path, quick: bool, phrases=None) -> Path:
    """Where the corpus for these options lives: keyed by the script, the phrase file's sentences and meanings, the
    phrasings and the options."""
    opts = QUICK_CORPUS if quick else FULL_CORPUS
    h = hashlib.sha256(MAKE_CORPUS.read_bytes() + spoken_phrases(phrases) + PHRASING_FILE.read_bytes()
                       + repr(sorted(opts.items())).encode())
    return work / f"corpus-{'quick' if quick else 'full'}-{h.hexdigest()[:12]}"


def make_corpus(work: Path, quick: bool, log=print, phrases=None) -> tuple[Path, list[dict]]:
    """Run scripts/make-corpus (kept clips are reused) and return (its directory, its rows)."""
    out = corpus_dir(work, quick, phrases)
    opts = QUICK_CORPUS if quick else FULL_CORPUS
    if not (out / "corpus.json").exists():
        cmd = [sys.executable, str(MAKE_CORPUS), str(out), "--per-answer", str(opts["per_answer"]),
               "--snr", opts["snr"], "--voices", opts["voices"], "--phrasings", str(PHRASING_FILE),
               "--phrasing-voices", opts["phrasing_voices"], "--phrasing-sample", str(opts["phrasing_sample"])]
        cmd += ["--phrasing-rotate"] if opts["phrasing_rotate"] else []
        log(f"synthesizing the corpus into {out} ...")
        res = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=1200)
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
    # out-of-context sentences: clean, each in one of the contexts make-corpus speaks it for, in turn
    jobs = [j for j in jobs if j["expected"] is not None or (
        j["condition"] == "clean" and NEGATIVE_CONTEXTS[zlib.crc32(f"{j['group']}|{j['text']}".encode()) % 3] == j["context"])]
    if quick:  # per condition: a few with an answer, each in another context, and one without
        rng, picked, contexts = random.Random(0), [], {}
        rng.shuffle(jobs)
        for j in jobs:
            seen = contexts.setdefault((j["condition"], j["expected"] is None), set())
            if j["context"] not in seen and len(seen) < (1 if j["expected"] is None else QUICK_PER_CONDITION):
                seen.add(j["context"])
                picked.append(j)
        jobs = picked
    return jobs


def phrasing_jobs(out: Path, rows: list[dict]) -> list[dict]:
    """One job per spoken phrasing clip, heard in its item's context."""
    return [dict(source="phrasing", group=r["voice"], condition="clean", context=r["context"],
                 file=str(out / r["file"]), text=r["text"], expect=r["expect"],
                 expected=expected(r["context"], r["expect"]))
            for r in rows if r.get("source") == "phrasing"]


def tried_in(contexts: dict, i: int, k: int | None) -> dict:
    """The contexts clip number ``i`` of a folder is tried in: where it is an answer (unless it is one
    everywhere), and ``k`` contexts in all, the others taken in turn from clip to clip."""
    names = list(contexts)
    if k is None or k >= len(names):
        return contexts
    answers = [c for c in names if contexts[c] is not None]
    keep = answers if 0 < len(answers) < len(names) else []
    turn = [c for c in names if c not in keep]
    n = max(0, k - len(keep))
    picked = {turn[(i * n + j) % len(turn)] for j in range(n)}
    return {c: contexts[c] for c in names if c in keep or c in picked}


def real_jobs(quick: bool) -> list[dict]:
    """One job per (real clip, context it is tried in): REAL_FULL or REAL_QUICK, the clips taken seeded."""
    jobs = []
    if not REAL_DIR.is_dir():
        return jobs
    plan = REAL_QUICK if quick else {f: REAL_FULL.get(f, (None, None)) for f in FOLDERS}
    for folder, (n, k) in plan.items():
        files = sorted((REAL_DIR / folder).glob("*.wav"))
        random.Random(0).shuffle(files)
        for i, f in enumerate(files[:n]):
            for context, want in tried_in(FOLDERS[folder], i, k).items():
                jobs.append(dict(source="real", group=folder, condition="real", context=context, file=str(f),
                                 text=folder, expected=want))
    return jobs


def all_jobs(work: Path, quick: bool, log=print, phrases=None) -> list[dict]:
    """Every job of the run: synthetic, spoken phrasings, real."""
    out, rows = make_corpus(work, quick, log, phrases)
    return synthetic_jobs(out, rows, quick) + phrasing_jobs(out, rows) + real_jobs(quick)
