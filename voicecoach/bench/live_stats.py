"""The live figures from what was measured: response and barge-in latency pooled over every run, per
run, per patient voice, and the worst run's, which the latency budgets judge (every run must meet
them); the sessions' CPU and memory pooled; the warm start-ups' median.

Pure functions of the measured dicts. Any part may be missing: a run that failed keeps the turns it
measured, and a run with no figure of some kind has None there.
"""

from __future__ import annotations

import statistics

from .accuracy import percentile

RUN_FIGURES = {"response_median_s": ("response", "median_s"), "response_p95_s": ("response", "p95_s"),
               "barge_in_median_s": ("barge_in", "median_s")}
"""The figures judged on the worst run: key in ``worst_run``/``best_run`` -> path in a run's figures."""


def summarize(out: dict) -> None:
    """Add the statistics to ``out`` (a live result: turns, barge_ins, sessions, startup, idle)."""
    turns, barge_ins, sessions = out.get("turns", []), out.get("barge_ins", []), out.get("sessions", [])
    out["response"] = response(turns)
    out["barge_in"] = barge_in(barge_ins)
    errors = {s["run"]: s.get("error") for s in sessions}
    runs = sorted(set(errors) | {x.get("run", 0) for x in [*turns, *barge_ins]})
    out["runs"] = [{"run": n, "error": errors.get(n), "response": _stats(_latencies(turns, run=n)),
                    "barge_in": _barge_in_stats([b for b in barge_ins if b.get("run", 0) == n])} for n in runs]
    out["worst_run"], out["best_run"] = {}, {}
    for key, (part, figure) in RUN_FIGURES.items():
        xs = [r[part][figure] for r in out["runs"] if r[part][figure] is not None]
        out["worst_run"][key], out["best_run"][key] = (max(xs), min(xs)) if xs else (None, None)
    voices = dict.fromkeys(x["voice"] for x in [*turns, *barge_ins] if x.get("voice"))
    out["by_voice"] = {v: {"response": _stats(_latencies(turns, voice=v)),
                           "barge_in": _barge_in_stats([b for b in barge_ins if b.get("voice") == v])} for v in voices}
    if sessions:
        out["session"] = pooled_sessions(sessions)
    startup = out.get("startup") or {}
    if startup.get("warm_s"):
        startup["warm_median_s"] = statistics.median(startup["warm_s"])
    peaks = [x for x in ((out.get("idle") or {}).get("peak_rss_mb"), (out.get("session") or {}).get("peak_rss_mb")) if x]
    out["peak_rss_mb"] = max(peaks) if peaks else None


def response(turns: list[dict]) -> dict:
    """Response latency over ``turns``, with the medians of its parts."""
    return {**_stats([t["latency_s"] for t in turns]), "ended_early": sum(t.get("early", False) for t in turns),
            "breakdown_median_s": {k: median([t[k] for t in turns if t.get(k) is not None])
                                   for k in ("recognized_s", "coach_s", "output_s")}}


def barge_in(barge_ins: list[dict]) -> dict:
    """Barge-in latency over the attempts timed, with what the others were and the medians of its parts."""
    return {**_barge_in_stats(barge_ins), "missed": sum(b["missed"] for b in barge_ins),
            "ended_early": sum(b.get("early", False) for b in barge_ins),
            "event_median_s": median([b["event_s"] for b in barge_ins if not b["missed"]]),
            "cut_after_event_median_s": median([b["cut_after_event_s"] for b in barge_ins
                                                 if b.get("cut_after_event_s") is not None])}


def pooled_sessions(sessions: list[dict]) -> dict:
    """The runs' sessions as one: CPU over all their seconds, the highest peak RSS, the sums."""
    done = [s for s in sessions if s.get("seconds")]
    seconds = sum(s["seconds"] for s in done)
    peaks = [s["peak_rss_mb"] for s in sessions if s.get("peak_rss_mb")]
    return {"runs": len(sessions), "seconds": seconds,
            "cpu_percent": sum(s["cpu_percent"] * s["seconds"] for s in done) / seconds if seconds else None,
            "peak_rss_mb": max(peaks) if peaks else None,
            "max_rss_mb": max((s.get("max_rss_mb") or 0 for s in sessions), default=0) or None,
            **{k: sum(s.get(k) or 0 for s in sessions)
               for k in ("pause_cycles", "pause_attempts", "lines_synthesized_by_coach")}}


def _latencies(turns: list[dict], run: int | None = None, voice: str | None = None) -> list[float]:
    return [t["latency_s"] for t in turns
            if (run is None or t.get("run", 0) == run) and (voice is None or t.get("voice") == voice)]


def _barge_in_stats(barge_ins: list[dict]) -> dict:
    return {**_stats([b["latency_s"] for b in barge_ins if b.get("latency_s") is not None]), "attempts": len(barge_ins)}


def median(xs):
    """The median, None for no values."""
    return statistics.median(xs) if xs else None


def _stats(xs: list[float]) -> dict:
    return {"n": len(xs), "median_s": median(xs), "p95_s": percentile(xs, 95),
            "min_s": min(xs) if xs else None, "max_s": max(xs) if xs else None}
