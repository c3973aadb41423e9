"""Recognition accuracy per engine: every installed engine hears the same clips, and its figures.

The clips (:mod:`.corpus`: synthetic corpus, spoken everyday phrasings, real recordings) go through each
installed engine in turn (:mod:`.recognize`, as `voicecoach hear --engine E` does); ``summarize`` turns one
engine's recognized rows into its figures. The budgets apply to the default engine (:mod:`.budgets`).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

from .ceiling import ceiling
from .corpus import BUDGET_FOLDERS, CONDITIONS, CONTEXTS, FOLDERS, OTHER_FOLDERS, OUT_OF_CONTEXT_REAL, all_jobs
from .phrasings import same, score


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
    from ..content.answer import opposite
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


def summarize(rows: list[dict], engine: str) -> dict:
    """Every accuracy figure of one engine from its recognized rows."""
    syn = [r for r in rows if r["source"] == "synthetic"]
    real = [r for r in rows if r["source"] == "real"]
    phr = [r for r in rows if r["source"] == "phrasing"]
    syn_in = [r for r in syn if r["expected"] is not None]
    real_in = [r for r in real if r["expected"] is not None]
    out: dict = {"engine": engine, "clips": {"synthetic": len(syn), "real": len(real), "phrasing": len(phr)},
                 "heard_by": dict(Counter(r["engine"] for r in rows))}

    by_ctx = {}
    for c in CONTEXTS:
        by_ctx[c] = {cond: _tally([r for r in syn_in if r["context"] == c and r["condition"] == cond])
                     for cond in CONDITIONS}
        by_ctx[c]["real"] = _tally([r for r in real_in if r["context"] == c])
        by_ctx[c]["phrasing"] = score([r for r in phr if r["context"] == c])
    out["by_context"] = by_ctx
    out["synthetic"] = {cond: _tally([r for r in syn_in if r["condition"] == cond]) for cond in CONDITIONS}
    voices = sorted({r["group"] for r in syn})
    out["synthetic_by_voice"] = {v: {cond: _tally([r for r in syn_in if r["group"] == v and r["condition"] == cond])
                                     for cond in CONDITIONS} for v in voices}
    out["real"] = {"all": _tally(real_in),
                   "budget_set": _tally([r for r in real_in if r["group"] in BUDGET_FOLDERS]),
                   "other": _tally([r for r in real_in if r["group"] in OTHER_FOLDERS]),
                   "by_folder": {f: _tally([r for r in real_in if r["group"] == f])
                                 for f in FOLDERS if any(r["group"] == f for r in real_in)}}
    out["phrasings"] = phrasing_figures(phr)
    out["confusion"] = {"synthetic": confusion(syn), "real": confusion(real), "phrasing": confusion(phr)}
    danger = [r for r in rows if dangerous(r["expected"], r["got"])]
    out["dangerous"] = {"count": len(danger), **{s: sum(r["source"] == s for r in danger)
                                                 for s in ("synthetic", "real", "phrasing")},
                        "examples": [{k: r[k] for k in ("source", "group", "condition", "context", "file", "text",
                                                        "expected", "got", "heard_text", "decoded")} for r in danger[:50]]}
    out["false_accept"] = {
        "silence": _fa([r for r in real if r["group"] == "_silence_"]),
        "unknown": _fa([r for r in real if r["group"] == "_unknown_"]),
        "out_of_context_real": _fa([r for r in real if r["group"] in OUT_OF_CONTEXT_REAL and r["expected"] is None]),
        "out_of_context_synthetic": _fa([r for r in syn if r["expected"] is None]),
    }
    fa_examples = [r for r in rows if r["expected"] is None and r["got"] is not None]
    keys = ("source", "group", "context", "file", "got", "heard_text", "decoded")
    out["false_accept"]["examples"] = [{k: r[k] for k in keys} for r in fa_examples[:50]]
    if engine == "pocketsphinx":  # its grammar decode's first choice; Whisper's is only its transcript
        out["first_choice"] = first_choice(rows)
    if engine == "whisper":  # what its evidence could give at best, whatever the decision rule
        out["ceiling"] = ceiling(rows)
    out["processing_ms"] = processing(rows)
    out["processing_ms"]["by_source"] = {s: processing([r for r in rows if r["source"] == s])
                                         for s in ("synthetic", "phrasing", "real")}
    return out


def phrasing_figures(rows: list[dict]) -> dict:
    """Spoken everyday phrasings: items right (an item that expects nothing is right when nothing is taken),
    per context and per voice, false accepts on the items that expect nothing, dangerous confusions, misses."""
    out = score(rows, by="context")
    out["by_voice"] = score(rows, by="group")["by_group"]
    out["dangerous"] = sum(dangerous(r["expected"], r["got"]) for r in rows)
    misses = [r for r in rows if not same(r["got"], r["expected"])]
    out["misses"] = [{k: r[k] for k in ("group", "context", "text", "expect", "got", "heard_text", "decoded")} for r in misses]
    return out


def first_choice(rows: list[dict]) -> dict:
    """PocketSphinx only: the same figures if every grammar decode's first choice were taken (no rejection): a
    ceiling on accuracy (a perfect rejection keeps the right ones and asks again for the rest), and what
    guessing costs."""
    taken = [{**r, "got": tuple(r["first_choice"]) if r.get("first_choice") else None} for r in rows]
    syn_in = [r for r in taken if r["source"] == "synthetic" and r["expected"] is not None]
    real = [r for r in taken if r["source"] == "real"]
    return {"synthetic": {cond: _tally([r for r in syn_in if r["condition"] == cond]) for cond in CONDITIONS},
            "real_budget_set": _tally([r for r in real if r["expected"] is not None and r["group"] in BUDGET_FOLDERS]),
            "dangerous": sum(dangerous(r["expected"], r["got"]) for r in taken),
            "false_accept": {"silence": _fa([r for r in real if r["group"] == "_silence_"]),
                             "unknown": _fa([r for r in real if r["group"] == "_unknown_"])}}


def processing(rows: list[dict]) -> dict:
    """The recognizer's time per clip (``Heard.ms``: clips with speech), median, p95 and max."""
    ms = sorted(r["ms"] for r in rows if r["ms"])
    return {"median": statistics.median(ms) if ms else None, "p95": percentile(ms, 95), "max": ms[-1] if ms else None}


def percentile(values, p: float):
    """The p-th percentile (linear interpolation); None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def run_accuracy(work: Path, quick: bool, workers: int = 2, log=print, phrases=None) -> dict:
    """Every installed engine on the same jobs: {"engines": [...], "default_engine", "accuracy": {engine:
    figures}, "timings_s": {...}}."""
    from ..content.phrases import Phrases
    from .recognize import engines, recognize_all, with_ceiling

    t0 = time.monotonic()
    phrases = phrases or Phrases.load()
    listed = engines(phrases)
    jobs = all_jobs(work, quick, log, phrases)
    out: dict = {"engines": listed, "default_engine": next(e["engine"] for e in listed if e["default"]),
                 "accuracy": {}, "timings_s": {"corpus": round(time.monotonic() - t0, 1)}}
    for e in listed:
        if not e["installed"]:
            log(f"{e['engine']}: {e['why']}")
            continue
        t = time.monotonic()
        log(f"{e['engine']}: recognizing {len(jobs)} clips with {workers} workers ...")
        try:
            rows = recognize_all(jobs, workers, e["engine"])
            out["timings_s"][f"recognition {e['engine']}"] = round(time.monotonic() - t, 1)
            if e["engine"] == "whisper":  # what its evidence could give at best, in a pass of its own
                t = time.monotonic()
                log("whisper: hearing the clips it missed on every look (its ceiling) ...")
                rows = with_ceiling(rows, workers)
                out["timings_s"]["whisper ceiling"] = round(time.monotonic() - t, 1)
            out["accuracy"][e["engine"]] = summarize(rows, e["engine"])
        except Exception as exc:  # noqa: BLE001 - the other engines' figures still count
            log(f"{e['engine']} failed: {exc}")
            out["accuracy"][e["engine"]] = {"error": f"{type(exc).__name__}: {exc}"}
            out["timings_s"].setdefault(f"recognition {e['engine']}", round(time.monotonic() - t, 1))
    return out
