"""The live figures' rows in the benchmark's table (the default engine's `voicecoach run`), the header
line that says how the coach ran, and the lines under the table that say what happened (each run,
each patient voice, an error, words not understood, barge-ins heard late).

The latency cells show the worst run (what the budgets judge) and, with several runs, the range of
the runs' figures: ``389 ms worst of 3 (368-389), 48 turns``.
"""

from __future__ import annotations

from .budgets import fmt
from .live_stats import RUN_FIGURES


def _ms(x) -> str:
    return fmt(x, "ms")


def _worst(live: dict, key: str) -> str:
    """The worst run's figure; with several runs, of how many (measured/run) and the range."""
    worst, best = (live.get("worst_run") or {}).get(key), (live.get("best_run") or {}).get(key)
    runs = live.get("runs") or []
    part, figure = RUN_FIGURES[key]
    measured = sum(r[part][figure] is not None for r in runs)
    if len(runs) <= 1 or worst is None:
        return _ms(worst)
    return (f"{_ms(worst)} worst of {measured}{f'/{len(runs)}' if measured < len(runs) else ''} "
            f"({1000 * best:.0f}-{1000 * worst:.0f})")


def _response(live: dict, key: str) -> str:
    r = live.get("response") or {}
    if not r.get("n"):
        return "-"
    return _cell(live, key, f"{r['n']} turns")


def _barge_in(live: dict) -> str:
    b = live.get("barge_in") or {}
    if not b.get("n"):
        return f"none of {b.get('attempts')} heard" if b.get("attempts") else "-"
    return _cell(live, "barge_in_median_s", f"{b['n']} of {b.get('attempts', 0)}")


def _cell(live: dict, key: str, count: str) -> str:
    """The worst run's figure and how many it is pooled from: ``/4 turns`` for one run, ``, 48 turns`` for several."""
    return f"{_worst(live, key)}{', ' if len(live.get('runs') or []) > 1 else ' /'}{count}"


def _cpu(part: dict | None) -> str:
    return f"{fmt(part.get('cpu_percent'), 'cpu')} over {part.get('seconds', 0):.0f} s" \
        if part and part.get("cpu_percent") is not None else "-"


def _startup(live: dict, key: str) -> str:
    x = (live.get("startup") or {}).get(key)
    return fmt(x, "s") if x is not None else "-"


LIVE_ROWS = [
    # (label, cell from the live result, budget key or None)
    ("response latency, median (worst run)", lambda lv: _response(lv, "response_median_s"), "response_median"),
    ("response latency, p95 (worst run)", lambda lv: _response(lv, "response_p95_s"), "response_p95"),
    ("barge-in latency, median (worst run)", _barge_in, "barge_in_median"),
    ("peak RSS (idle and session)", lambda lv: fmt(lv["peak_rss_mb"], "MB") if lv.get("peak_rss_mb") else "-",
     "peak_rss"),
    ("CPU idle-listening, % of one core", lambda lv: _cpu(lv.get("idle")), "idle_cpu"),
    ("CPU in the session, % of one core", lambda lv: _cpu(lv.get("session")), None),
    ("start-up to the greeting, warm median", lambda lv: _startup(lv, "warm_median_s"), "warm_startup"),
    ("start-up to the greeting, cold", lambda lv: _startup(lv, "cold_s"), None),
]
"""The live rows: the default engine's column only."""


def live_header(live: dict | None) -> list[str]:
    """How the coach ran: its command on the server's default devices, and the runs."""
    if not live or not live.get("coach_command"):
        return []
    runs = (live.get("plan") or {}).get("runs", 1)
    return [f"Live coach: {live['coach_command']} (the PulseAudio server's default devices: our virtual speaker "
            f"and mic); " + (f"{runs} runs, each a warm start-up and a session" if runs != 1 else
                             "1 run: a warm start-up and a session")]


def _run_line(r: dict) -> str:
    resp, b = r["response"], r["barge_in"]
    figures = (f"{_ms(resp['median_s'])} / {_ms(resp['p95_s'])}, {_ms(b['median_s'])} ({resp['n']} turns, "
               f"{b['n']} of {b['attempts']} barge-ins)")
    return f"{r['run'] + 1}) " + (f"FAILED ({r['error']}); before: {figures}" if r.get("error") else figures)


def _voice_line(voice: str, v: dict) -> str:
    resp, b = v["response"], v["barge_in"]
    return (f"{voice} response median {_ms(resp['median_s'])} /{resp['n']} turns, barge-in median "
            f"{_ms(b['median_s'])} /{b['n']} of {b['attempts']}")


def live_notes(live: dict | None) -> list[str]:
    """What the table's live rows do not say: an error, each run, each voice, the latency parts, what went
    off the script."""
    if not live:
        return []
    out = []
    if live.get("error"):
        out.append(f"LIVE PART FAILED: {live['error']} (the live figures above are what was measured before)")
    runs = live.get("runs") or []
    if len(runs) > 1 or any(r.get("error") for r in runs):
        out.append("Runs (response median / p95, barge-in median): " + "; ".join(_run_line(r) for r in runs))
    if live.get("by_voice"):
        out.append(f"By patient voice{' (all runs)' if len(runs) > 1 else ''}: "
                   + "; ".join(_voice_line(voice, v) for voice, v in live["by_voice"].items()))
    r, b = live.get("response") or {}, live.get("barge_in") or {}
    br = r.get("breakdown_median_s") or {}
    if r.get("n"):
        out.append(f"Response{' (all runs)' if len(runs) > 1 else ''} (mic last sample -> first audible reply sample), "
                   f"medians of its parts: end of speech -> "
                   f"recognized {_ms(br.get('recognized_s'))}, -> reply started {_ms(br.get('coach_s'))}, -> audible "
                   f"{_ms(br.get('output_s'))}; max {_ms(r.get('max_s'))}")
    if b.get("attempts"):
        out.append(f"Barge-in{' (all runs)' if len(runs) > 1 else ''} (end of 'pause'/'stop' over the coach -> output "
                   f"silent): {b.get('n')} timed of "
                   f"{b['attempts']} said, {b['missed']} not timed; p95 {_ms(b.get('p95_s'))}; end of speech -> "
                   f"barge_in event median {_ms(b.get('event_median_s'))}")
    rises = [(s["run"], s["peak_rss_rise"]) for s in live.get("sessions") or [] if s.get("peak_rss_rise")]
    if rises:
        out.append("Peak RSS last raised (run: MB, seconds from its start, the coach's events then): " + "; ".join(
            f"{n + 1}) {r['mb']} MB at {r['from_s']:.1f}-{r['to_s']:.1f} s: {' / '.join(r['events']) or '-'}"
            for n, r in rises))
    if live.get("notes"):
        out.append(f"Off the script ({len(live['notes'])}): " + "; ".join(live["notes"][:8]))
    return out
