"""The live figures' rows in the benchmark's table (the default engine's `voicecoach run`), the header
line that says how the coach ran, and the lines under the table that say what happened (an error,
words not understood, barge-ins heard late)."""

from __future__ import annotations

from .budgets import fmt


def _ms(x) -> str:
    return fmt(x, "ms")


def _response(live: dict, key: str) -> str:
    r = live.get("response") or {}
    return f"{_ms(r.get(key))} /{r.get('n', 0)} turns" if r.get("n") else "-"


def _barge_in(live: dict) -> str:
    b = live.get("barge_in") or {}
    return f"{_ms(b.get('median_s'))} /{b.get('n', 0)} of {b.get('attempts', 0)}" if b.get("n") else \
        (f"none of {b.get('attempts')} heard" if b.get("attempts") else "-")


def _cpu(part: dict | None) -> str:
    return f"{fmt(part.get('cpu_percent'), 'cpu')} over {part.get('seconds', 0):.0f} s" \
        if part and part.get("cpu_percent") is not None else "-"


def _startup(live: dict, key: str) -> str:
    x = (live.get("startup") or {}).get(key)
    return fmt(x, "s") if x is not None else "-"


LIVE_ROWS = [
    # (label, cell from the live result, budget key or None)
    ("response latency, median", lambda lv: _response(lv, "median_s"), "response_median"),
    ("response latency, p95", lambda lv: _response(lv, "p95_s"), "response_p95"),
    ("barge-in latency, median", _barge_in, "barge_in_median"),
    ("peak RSS (idle and session)", lambda lv: fmt(lv["peak_rss_mb"], "MB") if lv.get("peak_rss_mb") else "-",
     "peak_rss"),
    ("CPU idle-listening, % of one core", lambda lv: _cpu(lv.get("idle")), "idle_cpu"),
    ("CPU in the session, % of one core", lambda lv: _cpu(lv.get("session")), None),
    ("start-up to the greeting, warm median", lambda lv: _startup(lv, "warm_median_s"), "warm_startup"),
    ("start-up to the greeting, cold", lambda lv: _startup(lv, "cold_s"), None),
]
"""The live rows: the default engine's column only."""


def live_header(live: dict | None) -> list[str]:
    """How the coach ran: its command, on the server's default devices."""
    if not live or not live.get("coach_command"):
        return []
    return [f"Live coach: {live['coach_command']} (the PulseAudio server's default devices: our virtual speaker "
            f"and mic)"]


def _voice_line(voice: str, v: dict) -> str:
    resp, b = v["response"], v["barge_in"]
    return (f"{voice} response median {_ms(resp['median_s'])} /{resp['n']} turns, barge-in median "
            f"{_ms(b['median_s'])} /{b['n']} of {b['attempts']}")


def live_notes(live: dict | None) -> list[str]:
    """What the table's live rows do not say: an error, each voice, the latency parts, what went off the script."""
    if not live:
        return []
    out = []
    if live.get("error"):
        out.append(f"LIVE PART FAILED: {live['error']} (the live figures above are what was measured before)")
    if live.get("by_voice"):
        out.append("By patient voice: " + "; ".join(_voice_line(voice, v) for voice, v in live["by_voice"].items()))
    r, b = live.get("response") or {}, live.get("barge_in") or {}
    br = r.get("breakdown_median_s") or {}
    if r.get("n"):
        out.append(f"Response (mic last sample -> first audible reply sample), medians of its parts: end of speech -> "
                   f"recognized {_ms(br.get('recognized_s'))}, -> reply started {_ms(br.get('coach_s'))}, -> audible "
                   f"{_ms(br.get('output_s'))}; max {_ms(r.get('max_s'))}")
    if b.get("attempts"):
        out.append(f"Barge-in (end of 'pause'/'stop' over the coach -> output silent): {b.get('n')} timed of "
                   f"{b['attempts']} said, {b['missed']} not timed; p95 {_ms(b.get('p95_s'))}; end of speech -> "
                   f"barge_in event median {_ms(b.get('event_median_s'))}")
    if live.get("notes"):
        out.append(f"Off the script ({len(live['notes'])}): " + "; ".join(live["notes"][:8]))
    return out
